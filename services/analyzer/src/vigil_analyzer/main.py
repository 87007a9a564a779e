"""vigil-analyzer: frames → object detection → detections, occupancy, heatmaps, Claude.

This is the service's skeleton: it connects to PostgreSQL and Redis (retrying with backoff
while they are down, /readyz answering 503 with the reason), serves /metrics, /healthz and
/readyz on its HTTP port, heartbeats `vigil:service:analyzer:<instance>` for `vigil status`,
and drains cleanly on SIGTERM. It does no analyzer work yet: consuming `vigil:frames`,
running the detector, writing detections, occupancy and heatmaps, asking Claude about the
frames that matter and publishing alert candidates arrive with their own issues.
"""

from __future__ import annotations

from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.service import ServiceContext, service_main

SERVICE = "analyzer"


async def body(ctx: ServiceContext) -> None:
    """Hold the connections and heartbeat until a stop is requested."""
    async with ctx.dependencies():
        await ctx.stopping.wait()


def main() -> None:
    """Console script `vigil-analyzer`."""
    service_main(SERVICE, AnalyzerSettings, body)


if __name__ == "__main__":
    main()
