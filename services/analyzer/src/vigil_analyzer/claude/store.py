"""`AnalysisStore`: one `claude_analyses` row per analysed frame, whatever the redeliveries.

`insert(row)` takes a row in `CLAUDE_ANALYSES` column order without the generated `id`
(`camera_id, ts, trigger_event_id, frame_number, request_type, ..., created_at`; `response`
a JSON-able object, the pool encodes jsonb) and runs `INSERT ... ON CONFLICT (camera_id,
frame_number, ts) DO NOTHING` (the unique index of migration 0005): True if the row was
inserted, False if that frame's analysis was already stored (a redelivered frame, another
replica). A row without a frame number never conflicts (NULLs are distinct).

The table has no default partition: when the month's partition is missing the store
creates it through the runtime's `PartitionHelper` (the SQL function
`vigil_ensure_partition`, which the analyzer's role may execute) and retries once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_runtime.partitions import PartitionHelper, is_missing_partition_error
from vigil_schema.tables import CLAUDE_ANALYSES

__all__ = ["COLUMNS", "AnalysisStore"]

COLUMNS: Final[tuple[str, ...]] = tuple(
    column.name for column in CLAUDE_ANALYSES.columns if not column.generated
)
"""The columns `insert` takes, in order."""

_TS_INDEX: Final = COLUMNS.index("ts")
_CONFLICT: Final = ", ".join(CLAUDE_ANALYSES.dedup_key or ())
_INSERT_SQL: Final = (
    f"INSERT INTO {CLAUDE_ANALYSES.name} ({', '.join(COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"
    f" ON CONFLICT ({_CONFLICT}) DO NOTHING"
)


class AnalysisStore:
    """Writes analyses through an asyncpg pool (the `vigil_analyzer` role's)."""

    def __init__(self, pool: asyncpg.Pool, *, timeout_s: float = 30.0) -> None:
        self._pool = pool
        self._partitions = PartitionHelper(pool, timeout=timeout_s)
        self._timeout_s = timeout_s

    async def insert(self, row: tuple[Any, ...]) -> bool:
        """Store one analysis; False if that frame's analysis was already there."""
        if len(row) != len(COLUMNS):
            raise ValueError(f"a claude_analyses row has {len(COLUMNS)} values, got {len(row)}")
        try:
            return await self._insert(row)
        except asyncpg.PostgresError as exc:
            if not is_missing_partition_error(exc):
                raise
        ts: datetime = row[_TS_INDEX]
        await self._partitions.ensure(CLAUDE_ANALYSES.name, ts)
        return await self._insert(row)

    async def _insert(self, row: tuple[Any, ...]) -> bool:
        async with self._pool.acquire() as conn:
            status: str = await conn.execute(_INSERT_SQL, *row, timeout=self._timeout_s)
        return status == "INSERT 0 1"
