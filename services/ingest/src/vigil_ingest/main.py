"""vigil-ingest: MQTT → PostgreSQL (batched COPY) → Redis Streams.

This is the service's skeleton: it connects to PostgreSQL and Redis (retrying with backoff
while they are down, /readyz answering 503 with the reason), serves /metrics, /healthz and
/readyz on its HTTP port, heartbeats `vigil:service:ingest:<instance>` for `vigil status`,
and drains cleanly on SIGTERM. It does no ingest work yet: subscribing to camera topics
(MQTT v5 shared subscription, manual ack), validating payloads, batching rows into
PostgreSQL with COPY, recording rejects and publishing to `vigil:events` / `vigil:frames` /
`vigil:health` after commit arrive with their own issues.
"""

from __future__ import annotations

from vigil_ingest.settings import IngestSettings
from vigil_runtime.service import ServiceContext, service_main

SERVICE = "ingest"


async def body(ctx: ServiceContext) -> None:
    """Hold the connections and heartbeat until a stop is requested."""
    async with ctx.dependencies():
        await ctx.stopping.wait()


def main() -> None:
    """Console script `vigil-ingest`."""
    service_main(SERVICE, IngestSettings, body)


if __name__ == "__main__":
    main()
