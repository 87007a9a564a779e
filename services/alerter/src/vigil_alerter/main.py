"""vigil-alerter: alert candidates → alerts → notifications.

This is the service's skeleton: it connects to PostgreSQL and Redis (retrying with backoff
while they are down, /readyz answering 503 with the reason), serves /metrics, /healthz and
/readyz on its HTTP port, heartbeats `vigil:service:alerter:<instance>` for `vigil status`,
and drains cleanly on SIGTERM. It does no alerter work yet: consuming `vigil:alerts`,
deduplicating into alerts, applying silences and routing notifications through Apprise
arrive with their own issues.
"""

from __future__ import annotations

from vigil_alerter.settings import AlerterSettings
from vigil_runtime.service import ServiceContext, service_main

SERVICE = "alerter"


async def body(ctx: ServiceContext) -> None:
    """Hold the connections and heartbeat until a stop is requested."""
    async with ctx.dependencies():
        await ctx.stopping.wait()


def main() -> None:
    """Console script `vigil-alerter`."""
    service_main(SERVICE, AlerterSettings, body)


if __name__ == "__main__":
    main()
