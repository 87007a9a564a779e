"""One mode of the ingest benchmark (events per message): its measurements, in order.

1. **live**: camsim publishes at full speed for the duration while the consumer runs, first
   the bare subscriber, then ``vigil-ingest`` (once per replica count asked for: replicas
   share one subscription group, as a scaled-out StatefulSet would). On two cores the
   publisher shares the CPU with broker, database and consumer, so this is the end-to-end
   rate of the whole box.
2. **backlog**: with every consumer offline (persistent sessions), camsim publishes one
   more run, which the broker queues for each of them; then the bare subscriber and then
   each ingest setup drain their queue alone. This is the consumer's own capacity, without
   a Python publisher competing for the same cores.
3. **baselines**: the rows the ingest stored in the backlog run, loaded again by
   ``psql \\copy`` and (a subset) by one INSERT + commit per row.

After each ingest run the rows are counted against the events the broker acknowledged to
camsim (lost, duplicated) and against the ``vigil:events`` stream entries (fan-out). Each
consumer run also records where the box's CPU went (:mod:`bench.harness.cpu`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from bench.harness.cpu import CpuMeter
from bench.harness.processes import ServiceReplicas
from bench.harness.stack import service_env
from bench.ingest.bare import purge_session
from bench.ingest.consumers import (
    BareSubscriber,
    Workload,
    ingest_client_ids,
    ingest_service,
    run_camsim,
)
from bench.ingest.rows import measure_naive, measure_psql_copy, reset_tables, verify_rows
from vigil_runtime.stack import StackInfo
from vigil_schema.streams import EVENTS


@dataclass
class ModeRun:
    """The stack, the workload and where logs go, for one mode."""

    info: StackInfo
    workdir: Path
    pool: asyncpg.Pool
    redis: aioredis.Redis
    workload: Workload
    backlog_workload: Workload
    mode: str
    replica_counts: tuple[int, ...] = (1,)
    servers: dict[str, int] = field(default_factory=dict)
    """The stack's server pids by CPU label (:func:`bench.harness.stack.server_pids`)."""

    @property
    def drain_timeout_s(self) -> float:
        """How long a consumer may take to catch up after the publisher stopped."""
        return max(120.0, 3 * self.workload.duration_s)

    def ingest_client_id(self, replicas: int) -> str:
        """The ingest's MQTT client id prefix (and shared group) in this mode with
        ``replicas`` replicas: each replica count has its own sessions and group."""
        return f"bench-ingest-{self.mode}-x{replicas}"

    def _say(self, what: str) -> None:
        print(f"[bench-ingest] {self.mode}: {what}", flush=True)

    async def measure(self) -> dict[str, Any]:
        """Live, backlog and baselines; the mode's result. The ingest is measured once per
        replica count (``replica_counts``), each on its own sessions and shared group."""
        group = f"bare-{self.mode}"
        self._say("live, bare subscriber")
        live_bare = await self.live_bare(group)
        live_ingest = {}
        for replicas in self.replica_counts:
            self._say(f"live, vigil-ingest x{replicas}")
            live_ingest[str(replicas)] = await self.live_ingest(replicas)
        self._say("backlog: publishing while every consumer is offline")
        backlog = await self.publish_backlog(group)
        self._say("backlog, bare subscriber draining")
        drain_bare = await self.drain_bare(group, backlog)
        drain_ingest = {}
        for replicas in self.replica_counts:
            self._say(f"backlog, vigil-ingest x{replicas} draining")
            drain_ingest[str(replicas)] = await self.drain_ingest(backlog, replicas)
        self._say("psql \\copy and naive INSERT of the same rows")
        psql_copy = await measure_psql_copy(self.info.database_url, self.pool, self.workdir)
        naive = await measure_naive(self.info.database_url, self.pool)
        await reset_tables(self.pool)
        return {
            "batch": self.workload.batch,
            "live": {"bare": live_bare, "ingest": live_ingest},
            "backlog": {"publisher": backlog, "bare": drain_bare, "ingest": drain_ingest},
            "psql_copy": psql_copy,
            "naive_insert": naive,
        }

    async def live_bare(self, group: str) -> dict[str, Any]:
        """The bare subscriber while camsim publishes (its session ends with it)."""
        subscriber = BareSubscriber(self.info.mqtt_url, group)
        meter = CpuMeter.start(self.servers)
        async with subscriber.running():
            camsim = await run_camsim(self.workload, self.workdir, f"live-bare-{self.mode}")
            await subscriber.wait_quiet(camsim["events_acked"], self.drain_timeout_s)
        return _bare_result(subscriber, camsim, meter, camsim["cpu_s"]) | {
            "publisher": publisher_summary(camsim)
        }

    async def live_ingest(self, replicas: int) -> dict[str, Any]:
        """vigil-ingest while camsim publishes; its sessions are purged afterwards (else the
        broker would queue the next live runs for them)."""
        await self._reset()
        service = self._ingest("live", replicas)
        meter = CpuMeter.start(self.servers)
        async with service.running():
            tag = f"live-ingest-{self.mode}-x{replicas}"
            camsim = await run_camsim(self.workload, self.workdir, tag)
            drained = await service.wait_quiet(camsim["events_acked"], self.drain_timeout_s)
        result = await self._ingest_result(service, camsim, drained, meter, camsim["cpu_s"])
        await self._purge(service)
        return result | {"publisher": publisher_summary(camsim)}

    async def publish_backlog(self, group: str) -> dict[str, Any]:
        """Queue one camsim run in the broker for the offline bare and ingest sessions: each
        consumer subscribes once and leaves, then camsim publishes."""
        await self._reset()
        await BareSubscriber(self.info.mqtt_url, group, persistent=True).create_session()
        for replicas in self.replica_counts:
            async with self._ingest("session", replicas).running():
                pass  # ready: connected and subscribed; stopping keeps the sessions
        camsim = await run_camsim(self.backlog_workload, self.workdir, f"backlog-{self.mode}")
        return publisher_summary(camsim)

    async def drain_bare(self, group: str, backlog: dict[str, Any]) -> dict[str, Any]:
        """The bare subscriber takes over its session and drains the backlog."""
        subscriber = BareSubscriber(self.info.mqtt_url, group, resume=True)
        meter = CpuMeter.start(self.servers)
        async with subscriber.running():
            await subscriber.wait_quiet(backlog["events_acked"], self.drain_timeout_s)
        return _bare_result(subscriber, backlog, meter)

    async def drain_ingest(self, backlog: dict[str, Any], replicas: int) -> dict[str, Any]:
        """vigil-ingest restarts on its sessions and drains the backlog; then they are
        purged. The rows of the last drain stay for the psql and INSERT baselines."""
        await self._reset()
        service = self._ingest("backlog", replicas)
        meter = CpuMeter.start(self.servers)
        async with service.running(wait_ready=False):
            drained = await service.wait_quiet(backlog["events_acked"], self.drain_timeout_s)
        result = await self._ingest_result(service, backlog, drained, meter)
        await self._purge(service)
        return result

    async def _purge(self, service: ServiceReplicas) -> None:
        for client_id in ingest_client_ids(
            self.ingest_client_id(service.replicas), service.replicas
        ):
            await asyncio.to_thread(purge_session, self.info.mqtt_url, client_id)

    def _ingest(self, phase: str, replicas: int) -> ServiceReplicas:
        log = self.workdir / f"ingest-{self.mode}-x{replicas}-{phase}.log"
        return ingest_service(
            service_env(self.info, "ingest"), log, self.ingest_client_id(replicas), replicas
        )

    async def _reset(self) -> None:
        """Empty tables and the whole (private) Redis between runs: besides the streams,
        the producers' idempotency markers (``{stream}:added:{key}``, 2 min) must go, or a
        run draining the same backlog as the run before would add no entry at all."""
        await reset_tables(self.pool)
        await self.redis.flushdb()

    async def _ingest_result(
        self,
        service: ServiceReplicas,
        camsim: dict[str, Any],
        drained: bool,
        meter: CpuMeter,
        publisher_cpu_s: float = 0.0,
    ) -> dict[str, Any]:
        """Rate, row verification, fan-out count and CPU by part of one ingest run.

        An ingest stopped before it caught up (``drained`` false: the drain timeout passed)
        leaves the missing events queued at the broker, not lost: they are then reported as
        ``not_stored_when_stopped`` and the run as unverified.
        """
        cpu = meter.stop(service.cpu_s, publisher_cpu_s)
        verification = await verify_rows(self.pool, camsim["events_acked"])
        verification["drained"] = drained
        if not drained:
            verification["not_stored_when_stopped"] = verification["lost"]
            verification["lost"] = None
        # one vigil:events entry per events message (a batch of B is one entry of B events);
        # counted as entries added (XINFO STREAM, Redis 7), not XLEN: the stream's length
        # cap (StreamPolicy, ~1,000,000) trims a long live run's oldest entries
        messages = int(camsim["acked"]["events"])
        info = await self.redis.xinfo_stream(EVENTS)
        fanned_out = int(info["entries-added"])
        verification |= {"event_messages_acknowledged": messages, "stream_entries": fanned_out}
        verification["ok"] = verification["ok"] and fanned_out >= messages
        return service.series.summary() | {
            "replicas": service.replicas,
            "verification": verification,
            "cpu_s": service.cpu_s,
            "startup_cpu_s": service.startup_cpu_s,
            "cpu": cpu,
            "exit_code": service.exit_code,
            "log_tail": None if verification["ok"] else service.log_tail(),
        }


def _bare_result(
    subscriber: BareSubscriber,
    camsim: dict[str, Any],
    meter: CpuMeter,
    publisher_cpu_s: float = 0.0,
) -> dict[str, Any]:
    return subscriber.series.summary() | {
        "received_of_acknowledged": f"{subscriber.series.total}/{camsim['events_acked']}",
        "cpu_s": subscriber.cpu_s,
        "cpu": meter.stop(subscriber.cpu_s, publisher_cpu_s),
        "subscriber": subscriber.summary,
    }


def publisher_summary(camsim: dict[str, Any]) -> dict[str, Any]:
    """The publisher's side of a run: what it sent and how fast."""
    keys = ("events", "events_acked", "acked", "messages", "duration_s", "events_rate", "rate",
            "failed", "unacked", "reconnects", "clients", "window", "exit_code",
            "cpu_s")  # fmt: skip
    return {key: camsim.get(key) for key in keys}
