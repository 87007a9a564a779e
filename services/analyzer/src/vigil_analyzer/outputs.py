"""Where one handled batch of frames goes, in the order that makes a crash harmless.

:meth:`Outputs.commit` runs before the consumer acknowledges the batch's entries:

1. rows are COPYed and committed: ``detections``, ``occupancy_events``, ``heatmap_minutes``
   (the runtime's :class:`~vigil_runtime.copy_writer.CopyWriter` with ``conflict=True``: a
   row whose dedup key is stored already is skipped and counted, so a redelivered frame
   writes nothing twice);
2. stream entries are added: one ``vigil:detections`` entry per analysed frame and the alert
   candidates on ``vigil:alerts``, through the bounded, idempotent XADD (each entry's key is
   a function of its rows or of the candidate's fingerprint and start, so a redelivered frame
   cannot raise a second candidate);
3. per-camera live state is written in one pipeline: the open heatmap minutes (checkpoints,
   restored by whichever replica analyses the camera next) and the ``analyzer_*`` fields of
   ``vigil:camera:{id}:state`` that ``vigil status`` shows.

A crash between any two steps redelivers the batch; every step is idempotent. A row the
database refuses for its own data (not expected: rows are built from validated frames) goes
to ``vigil:dlq`` as a dead letter naming the table, is logged, and does not block the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from vigil_runtime.copy_writer import CopyWriter, Row
from vigil_runtime.faults import describe_error
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.partitions import PartitionHelper
from vigil_runtime.stream_producer import StreamProducer
from vigil_schema.messages import AlertCandidate, DeadLetter, DetectionMessage
from vigil_schema.streams import ALERTS, DETECTIONS, DLQ, Envelope, camera_state_key
from vigil_schema.tables import DETECTIONS as DETECTIONS_TABLE
from vigil_schema.tables import HEATMAP_MINUTES, OCCUPANCY_EVENTS, TableSpec

__all__ = ["BatchOutput", "Outputs", "heatmap_checkpoint_key"]

_log = get_logger(__name__)
CHECKPOINT_TTL_S = 15 * 60
"""An open heatmap minute's checkpoint outlives the minute (and a replica's restart)."""


def heatmap_checkpoint_key(camera_id: str) -> str:
    """Redis key of a camera's open heatmap minute (``HeatmapAccumulator.snapshot``)."""
    return f"vigil:analyzer:heatmap:{camera_id}"


@dataclass(slots=True)
class BatchOutput:
    """Everything one handled batch produced."""

    detections: list[Row] = field(default_factory=list)
    occupancy: list[Row] = field(default_factory=list)
    heatmaps: list[Row] = field(default_factory=list)
    messages: list[DetectionMessage] = field(default_factory=list)
    alerts: list[AlertCandidate] = field(default_factory=list)
    checkpoints: dict[str, bytes] = field(default_factory=dict)
    """Camera → its open heatmap minute, serialised."""
    status: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """Camera → ``analyzer_*`` state fields for ``vigil status``."""


class Outputs:
    """The analyzer's COPY writers and stream producer (see the module docstring)."""

    def __init__(self, pool: Any, redis: aioredis.Redis, *, max_rows: int = 5000) -> None:
        self._redis = redis
        self._producer = StreamProducer(redis)
        self._warn = RateLimitedLogger(_log, interval_s=60.0)
        partitions = PartitionHelper(pool)
        self.writers = {
            spec.name: self._writer(pool, spec, partitions, max_rows)
            for spec in (DETECTIONS_TABLE, OCCUPANCY_EVENTS, HEATMAP_MINUTES)
        }

    def _writer(
        self, pool: Any, spec: TableSpec, partitions: PartitionHelper, max_rows: int
    ) -> CopyWriter:
        async def on_reject(row: Row, exc: BaseException) -> None:
            await self._dead_letter(spec.name, row, exc)

        return CopyWriter(pool, spec, max_rows=max_rows, max_age_s=0.05, partitions=partitions,
                          conflict=True, on_reject=on_reject)  # fmt: skip

    @property
    def fault(self) -> str | None:
        """Why rows cannot be committed right now, if any writer is stuck."""
        faults = [f"{name}: {w.fault}" for name, w in self.writers.items() if w.fault]
        return "; ".join(faults) or None

    async def commit(self, out: BatchOutput) -> None:
        """Rows, then stream entries, then live state (see the module docstring)."""
        parts = ((DETECTIONS_TABLE.name, out.detections), (OCCUPANCY_EVENTS.name, out.occupancy),
                 (HEATMAP_MINUTES.name, out.heatmaps))  # fmt: skip
        used = [self.writers[name] for name, rows in parts if rows]
        for name, rows in parts:
            if rows:
                await self.writers[name].add_many(rows)
        await asyncio.gather(*(writer.flush() for writer in used))
        entries: list[tuple[str, Any]] = [(DETECTIONS, Envelope.wrap(m)) for m in out.messages]
        entries += [(ALERTS, Envelope.wrap(candidate)) for candidate in out.alerts]
        if entries:
            await self._producer.publish_many(entries)
        await self._write_state(out.checkpoints, out.status)

    async def _write_state(
        self, checkpoints: Mapping[str, bytes], status: Mapping[str, Mapping[str, str]]
    ) -> None:
        if not checkpoints and not status:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for camera_id, blob in checkpoints.items():
                pipe.set(heatmap_checkpoint_key(camera_id), blob, ex=CHECKPOINT_TTL_S)
            for camera_id, fields in status.items():
                pipe.hset(camera_state_key(camera_id), mapping=dict[Any, Any](fields))
            await pipe.execute()

    async def load_checkpoint(self, camera_id: str) -> bytes | None:
        """The camera's open heatmap minute as last committed, if any."""
        blob = await self._redis.get(heatmap_checkpoint_key(camera_id))
        return blob.encode() if isinstance(blob, str) else blob

    async def _dead_letter(self, table: str, row: Row, exc: BaseException) -> None:
        detail = f"the database refused a {table} row: {describe_error(exc)}"
        self._warn.error("row refused by the database", key=f"db:{table}", error=detail)
        fields = {"table": table, "row": json.dumps(row, default=str)}
        letter = DeadLetter(stream=f"table:{table}", group="analyzer", entry_id="0-0",
                            deliveries=0, error=detail[:8192], fields=fields)  # fmt: skip
        await self._producer.publish(DLQ, Envelope.wrap(letter))

    async def close(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Flush and stop the writers."""
        await asyncio.gather(*(w.close(timeout) for w in self.writers.values()))
