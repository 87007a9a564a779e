"""Keep a checked snapshot: the JPEG on disk, a ``snapshots`` row and ``health_metrics`` rows.

:meth:`SnapshotStore.save` writes, for one camera and capture time:

* the JPEG at ``<root>/<camera_id>/<YYYY>/<MM>/<DD>/<captured_at>.jpg`` (UTC; the ISO time
  with its colons replaced by ``-`` and ``Z`` for UTC, e.g. ``2026-12-02T05-30-00.250000Z``),
  written to a temporary file in the same folder, flushed to disk and renamed over the final
  name, so a reader never sees half a picture; ``snapshots.file_path`` holds the path relative
  to the root (:func:`relative_path`), so the folder can move;
* a ``snapshots`` row (``SNAPSHOTS`` spec: SHA-256 of the bytes, size, dimensions, the health
  level, seed 000's ``health_metrics`` object and ``anomalies`` list);
* three ``health_metrics`` rows at ``ts = captured_at``: ``brightness`` (mean grey level, the
  exposure group's status), ``noise_level`` (noise σ, the noise group's) and ``blur_score``
  (the motionBlur group's), the metric types the table's CHECK allows.

The rows are written in one transaction and the file inside it (a failed write rolls the rows
back). A second save of the same ``(camera_id, captured_at)`` changes nothing (``ON CONFLICT DO
NOTHING`` on both tables' dedup keys, the file is left alone) and returns the first one's id
with ``inserted=False``. Both tables are partitioned without a default partition (snapshots
monthly, health_metrics daily): when a partition is missing the transaction is rolled back,
the runtime's ``PartitionHelper`` creates both partitions (``vigil_ensure_partition``) and the
save is retried once. Written as the ``vigil_optimizer`` role (INSERT and SELECT on both).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final

import asyncpg

from vigil_optimizer.health.assess import Assessment
from vigil_runtime.partitions import PartitionHelper, is_missing_partition_error
from vigil_schema.ids import validate_camera_id
from vigil_schema.tables import HEALTH_METRICS, SNAPSHOTS

__all__ = ["SnapshotStore", "StoredSnapshot", "relative_path"]

_SNAPSHOT_COLUMNS: Final = (
    "camera_id", "captured_at", "file_path", "content_sha256", "width", "height", "size_bytes",
    "health_level", "health_metrics", "anomalies",
)  # fmt: skip
_INSERT_SNAPSHOT: Final = (
    f"INSERT INTO {SNAPSHOTS.name} ({', '.join(_SNAPSHOT_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_SNAPSHOT_COLUMNS) + 1))})"
    f" ON CONFLICT ({', '.join(SNAPSHOTS.dedup_key or ())}) DO NOTHING RETURNING id"
)
_SELECT_SNAPSHOT: Final = (
    f"SELECT id, file_path FROM {SNAPSHOTS.name} WHERE camera_id = $1 AND captured_at = $2"
)
_INSERT_METRIC: Final = (
    f"INSERT INTO {HEALTH_METRICS.name} (camera_id, ts, metric_type, value, status)"
    f" VALUES ($1, $2, $3, $4, $5)"
    f" ON CONFLICT ({', '.join(HEALTH_METRICS.dedup_key or ())}) DO NOTHING"
)
_METRIC_ROWS: Final = (
    # (metric_type, health_metrics group, the group's value key)
    ("brightness", "exposure", "meanBrightness"),
    ("noise_level", "noise", "noiseLevel"),
    ("blur_score", "motionBlur", "blurScore"),
)


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """Where a snapshot was kept; ``inserted`` is False when it had been saved before."""

    snapshot_id: int
    file_path: str
    inserted: bool


def _utc(captured_at: datetime) -> datetime:
    if captured_at.tzinfo is None or captured_at.utcoffset() is None:
        raise ValueError("captured_at must carry a time zone")
    return captured_at.astimezone(UTC)


def relative_path(camera_id: str, captured_at: datetime) -> PurePosixPath:
    """``<camera_id>/<YYYY>/<MM>/<DD>/<UTC ISO time, '-' for ':'>Z.jpg`` (module docstring)."""
    validate_camera_id(camera_id)
    utc = _utc(captured_at)
    stamp = utc.replace(tzinfo=None).isoformat().replace(":", "-") + "Z"
    return PurePosixPath(camera_id, f"{utc:%Y}", f"{utc:%m}", f"{utc:%d}", f"{stamp}.jpg")


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class SnapshotStore:
    """Saves snapshots under ``root`` and into PostgreSQL through ``pool`` (module docstring)."""

    def __init__(self, pool: asyncpg.Pool, root: Path, *, timeout_s: float = 30.0) -> None:
        self._pool = pool
        self._root = Path(root)
        self._timeout_s = timeout_s
        self._partitions = PartitionHelper(pool, timeout=timeout_s)

    @property
    def root(self) -> Path:
        """The snapshot folder that ``file_path`` values are relative to."""
        return self._root

    async def save(
        self, camera_id: str, captured_at: datetime, jpeg: bytes, assessment: Assessment
    ) -> StoredSnapshot:
        """Keep one snapshot and its verdict (see the module docstring)."""
        path = relative_path(camera_id, captured_at)
        try:
            return await self._save_once(camera_id, captured_at, path, jpeg, assessment)
        except asyncpg.PostgresError as exc:
            if not is_missing_partition_error(exc):
                raise
        await self._partitions.ensure(SNAPSHOTS.name, captured_at)
        await self._partitions.ensure(HEALTH_METRICS.name, captured_at)
        return await self._save_once(camera_id, captured_at, path, jpeg, assessment)

    async def _save_once(
        self, camera_id: str, captured_at: datetime, path: PurePosixPath, jpeg: bytes,
        assessment: Assessment,
    ) -> StoredSnapshot:  # fmt: skip
        health = assessment.health
        row = (camera_id, captured_at, str(path), hashlib.sha256(jpeg).hexdigest(),
               assessment.measurements.width, assessment.measurements.height, len(jpeg),
               health.level, health.metrics, health.anomalies)  # fmt: skip
        timeout = self._timeout_s
        async with self._pool.acquire() as conn, conn.transaction():
            snapshot_id = await conn.fetchval(_INSERT_SNAPSHOT, *row, timeout=timeout)
            if snapshot_id is None:
                first = await conn.fetchrow(_SELECT_SNAPSHOT, camera_id, captured_at,
                                            timeout=timeout)  # fmt: skip
                if first is None:  # deleted between the two statements
                    raise RuntimeError(f"snapshot of {camera_id} at {captured_at} vanished")
                return StoredSnapshot(int(first["id"]), str(first["file_path"]), inserted=False)
            metric_rows = _metric_rows(camera_id, captured_at, health.metrics)
            await conn.executemany(_INSERT_METRIC, metric_rows, timeout=timeout)
            await asyncio.to_thread(_write_atomically, self._root / path, jpeg)
        return StoredSnapshot(int(snapshot_id), str(path), inserted=True)


def _metric_rows(
    camera_id: str, ts: datetime, metrics: dict[str, Any]
) -> list[tuple[str, datetime, str, float, str]]:
    rows = []
    for metric_type, group, key in _METRIC_ROWS:
        values = metrics[group]
        rows.append((camera_id, ts, metric_type, float(values[key]), str(values["status"])))
    return rows
