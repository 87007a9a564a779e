"""One mode of the ingest benchmark (events per message): its measurements, in order.

1. **live**: camsim publishes at full speed for the duration while the consumer runs, first
   the bare subscriber, then ``vigil-ingest``. On two cores the publisher shares the CPU
   with broker, database and consumer, so this is the end-to-end rate of the whole box.
2. **backlog**: with both consumers offline (persistent sessions), camsim publishes one
   more run, which the broker queues for each of them; then the bare subscriber and then the
   ingest drain their queue alone. This is the consumer's own capacity, without a Python
   publisher competing for the same cores.
3. **baselines**: the rows the ingest stored in the backlog run, loaded again by
   ``psql \\copy`` and (a subset) by one INSERT + commit per row.

After each ingest run the rows are counted against the events the broker acknowledged to
camsim (lost, duplicated) and against the ``vigil:events`` stream entries (fan-out).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from bench.ingest_bare import purge_session
from bench.ingest_db import measure_naive, measure_psql_copy, reset_tables, verify_rows
from bench.ingest_procs import BareSubscriber, IngestProcess, Workload, run_camsim
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

    @property
    def drain_timeout_s(self) -> float:
        """How long a consumer may take to catch up after the publisher stopped."""
        return max(120.0, 3 * self.workload.duration_s)

    @property
    def ingest_client_id(self) -> str:
        """The ingest's MQTT client id (its persistent session) in this mode."""
        return f"bench-ingest-{self.mode}"

    def _say(self, what: str) -> None:
        print(f"[bench-ingest] {self.mode}: {what}", flush=True)

    async def measure(self) -> dict[str, Any]:
        """Live, backlog and baselines; the mode's result."""
        group = f"bare-{self.mode}"
        self._say("live, bare subscriber")
        live_bare = await self.live_bare(group)
        self._say("live, vigil-ingest")
        live_ingest = await self.live_ingest()
        self._say("backlog: publishing while both consumers are offline")
        backlog = await self.publish_backlog(group)
        self._say("backlog, bare subscriber draining")
        drain_bare = await self.drain_bare(group, backlog)
        self._say("backlog, vigil-ingest draining")
        drain_ingest = await self.drain_ingest(backlog)
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
        async with subscriber.running():
            camsim = await run_camsim(self.workload, self.workdir, f"live-bare-{self.mode}")
            await subscriber.wait_quiet(camsim["events_acked"], self.drain_timeout_s)
        return _bare_result(subscriber, camsim) | {"publisher": publisher_summary(camsim)}

    async def live_ingest(self) -> dict[str, Any]:
        """vigil-ingest while camsim publishes; its persistent session stays for the backlog."""
        await self._reset()
        service = self._ingest("live")
        async with service.running():
            camsim = await run_camsim(self.workload, self.workdir, f"live-ingest-{self.mode}")
            drained = await service.wait_quiet(camsim["events_acked"], self.drain_timeout_s)
        return await self._ingest_result(service, camsim, drained) | {
            "publisher": publisher_summary(camsim)
        }

    async def publish_backlog(self, group: str) -> dict[str, Any]:
        """Queue one camsim run in the broker for the offline bare and ingest sessions."""
        await self._reset()
        await BareSubscriber(self.info.mqtt_url, group, persistent=True).create_session()
        camsim = await run_camsim(self.backlog_workload, self.workdir, f"backlog-{self.mode}")
        return publisher_summary(camsim)

    async def drain_bare(self, group: str, backlog: dict[str, Any]) -> dict[str, Any]:
        """The bare subscriber takes over its session and drains the backlog."""
        subscriber = BareSubscriber(self.info.mqtt_url, group, resume=True)
        async with subscriber.running():
            await subscriber.wait_quiet(backlog["events_acked"], self.drain_timeout_s)
        return _bare_result(subscriber, backlog)

    async def drain_ingest(self, backlog: dict[str, Any]) -> dict[str, Any]:
        """vigil-ingest restarts on its session and drains the backlog; then it is purged."""
        service = self._ingest("backlog")
        async with service.running(wait_ready=False):
            drained = await service.wait_quiet(backlog["events_acked"], self.drain_timeout_s)
        await asyncio.to_thread(purge_session, self.info.mqtt_url, self.ingest_client_id)
        return await self._ingest_result(service, backlog, drained)

    def _ingest(self, phase: str) -> IngestProcess:
        log = self.workdir / f"ingest-{self.mode}-{phase}.log"
        return IngestProcess(self.info.env(), log, self.ingest_client_id)

    async def _reset(self) -> None:
        await reset_tables(self.pool)
        await self.redis.delete(EVENTS)

    async def _ingest_result(
        self, service: IngestProcess, camsim: dict[str, Any], drained: bool
    ) -> dict[str, Any]:
        """Rate, row verification and fan-out count of one ingest run.

        An ingest stopped before it caught up (``drained`` false: the drain timeout passed)
        leaves the missing events queued at the broker, not lost: they are then reported as
        ``not_stored_when_stopped`` and the run as unverified.
        """
        verification = await verify_rows(self.pool, camsim["events_acked"])
        verification["drained"] = drained
        if not drained:
            verification["not_stored_when_stopped"] = verification["lost"]
            verification["lost"] = None
        # one vigil:events entry per events message (a batch of B is one entry of B events)
        messages = int(camsim["acked"]["events"])
        fanned_out = int(await self.redis.xlen(EVENTS))
        verification |= {"event_messages_acknowledged": messages, "stream_entries": fanned_out}
        verification["ok"] = verification["ok"] and fanned_out >= messages
        return service.series.summary() | {
            "verification": verification,
            "cpu_s": service.cpu_s,
            "exit_code": service.exit_code,
            "log_tail": None if verification["ok"] else service.log_tail(),
        }


def _bare_result(subscriber: BareSubscriber, camsim: dict[str, Any]) -> dict[str, Any]:
    return subscriber.series.summary() | {
        "received_of_acknowledged": f"{subscriber.series.total}/{camsim['events_acked']}",
        "cpu_s": subscriber.cpu_s,
        "subscriber": subscriber.summary,
    }


def publisher_summary(camsim: dict[str, Any]) -> dict[str, Any]:
    """The publisher's side of a run: what it sent and how fast."""
    keys = ("events", "events_acked", "acked", "messages", "duration_s", "events_rate", "rate",
            "failed", "unacked", "reconnects", "clients", "window", "exit_code")  # fmt: skip
    return {key: camsim.get(key) for key in keys}
