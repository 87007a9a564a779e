"""vigil-retention: partitions ahead, drop/detach/archive, rollups.

This is the service's skeleton: it connects to PostgreSQL and Redis (retrying with backoff
while they are down, /readyz answering 503 with the reason), serves /metrics, /healthz and
/readyz on its HTTP port, heartbeats `vigil:service:retention:<instance>` for `vigil status`,
and drains cleanly on SIGTERM. It does no retention work yet: creating partitions ahead of
time, dropping or archiving expired partitions within the retention budget and computing
rollups arrive with their own issues.
"""

from __future__ import annotations

from vigil_retention.settings import RetentionSettings
from vigil_runtime.service import ServiceContext, service_main

SERVICE = "retention"


async def body(ctx: ServiceContext) -> None:
    """Hold the connections and heartbeat until a stop is requested."""
    async with ctx.dependencies():
        await ctx.stopping.wait()


def main() -> None:
    """Console script `vigil-retention`."""
    service_main(SERVICE, RetentionSettings, body)


if __name__ == "__main__":
    main()
