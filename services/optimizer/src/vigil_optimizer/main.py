"""vigil-optimizer: camera health → settings recommendations → ONVIF apply.

This is the service's skeleton: it connects to PostgreSQL and Redis (retrying with backoff
while they are down, /readyz answering 503 with the reason), serves /metrics, /healthz and
/readyz on its HTTP port, heartbeats `vigil:service:optimizer:<instance>` for `vigil status`,
and drains cleanly on SIGTERM. It does no optimizer work yet: consuming `vigil:health` and
`vigil:optimizer:requests`, recommending camera settings (heuristics or Claude) and applying
and verifying them over ONVIF arrive with their own issues.
"""

from __future__ import annotations

from vigil_optimizer.settings import OptimizerSettings
from vigil_runtime.service import ServiceContext, service_main

SERVICE = "optimizer"


async def body(ctx: ServiceContext) -> None:
    """Hold the connections and heartbeat until a stop is requested."""
    async with ctx.dependencies():
        await ctx.stopping.wait()


def main() -> None:
    """Console script `vigil-optimizer`."""
    service_main(SERVICE, OptimizerSettings, body)


if __name__ == "__main__":
    main()
