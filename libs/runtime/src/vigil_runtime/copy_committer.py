"""Commit one batch of rows exactly once: retries, partitions, conflicts, bisection.

:class:`BatchCommitter` is the part of :class:`vigil_runtime.copy_writer.CopyWriter` that
talks to PostgreSQL. Each attempt is one transaction, so a failed COPY commits nothing and
the batch is retried; what happens next depends on :func:`vigil_runtime.faults.classify_pg_error`:

* missing partition → the partitions the batch needs are created, then retry; a partition
  that cannot be created is an infrastructure fault (below), never the rows' fault;
* transient (connection loss, timeout, disk full) → back off, retry on a fresh connection;
  if the connection died while COMMIT was in flight, ``pg_xact_status`` of the transaction
  decides whether it committed, so a row is never written twice;
* unique violation (``conflict=True``) → retry through a temporary staging table and
  ``INSERT ... ON CONFLICT DO NOTHING``, counting the duplicates;
* a bad row (class 22/23, or a value the driver cannot encode) → the batch is bisected
  until the bad rows are isolated; each goes to ``on_reject(row, exc)`` and the good rows
  commit. A writer without ``on_reject`` has nowhere to keep a refused row, so for it a
  refused row is a fault like the next one; so is an ``on_reject`` that raises;
* anything else (a revoked privilege, a missing table, ...) is an infrastructure fault: the
  rows are kept, :attr:`BatchCommitter.fault` says why (services report it on /readyz,
  ``vigil_copy_fault_active{table}`` is 1) and the attempt is repeated with backoff until
  it succeeds. ``commit`` only returns once every row is committed or rejected, so nothing
  is acknowledged meanwhile.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from prometheus_client import Counter, Gauge

from vigil_runtime.backoff import Backoff
from vigil_runtime.db import is_transient_error
from vigil_runtime.faults import PgFault, classify_pg_error, describe_error
from vigil_runtime.logging import get_logger
from vigil_runtime.partitions import PartitionHelper

__all__ = ["BatchCommitter", "CommitResult", "CopyTarget", "OnReject", "Row"]

Row = tuple[Any, ...]
OnReject = Callable[[Row, BaseException], object]
"""Called (and awaited if it returns an awaitable) with a row that cannot be stored; if it
raises, the row is not done: the writer retries it with backoff (reported as a fault)."""

_log = get_logger(__name__)

COPY_REJECTED = Counter(
    "vigil_copy_rejected_total", "Rows that could not be stored (passed to on_reject)", ["table"]
)
COPY_RETRIES = Counter(
    "vigil_copy_retries_total", "COPY attempts repeated, by reason", ["table", "reason"]
)
COPY_FAULT = Gauge(
    "vigil_copy_fault_active",
    "1 while a writer cannot commit for a reason that is no row's fault (see /readyz)",
    ["table"],
)

_XID_SQL = "SELECT pg_current_xact_id()::text"
_XID_STATUS_SQL = "SELECT pg_xact_status($1::text::xid8)"
_PARTITION_ATTEMPTS = 3
"""Partition creations in a row after which a still-missing partition is a fault."""
_RETRY_REASONS = ("connection", "partition", "conflict", "bisect", "error", "reject")


class CopyTarget(Protocol):
    """What the writer needs of a table (``vigil_schema.tables.TableSpec`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def column_names(self) -> Sequence[str]: ...

    @property
    def partition_key(self) -> str | None: ...


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class CommitResult:
    """What became of a batch's rows."""

    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def __add__(self, other: CommitResult) -> CommitResult:
        return CommitResult(
            self.inserted + other.inserted,
            self.duplicates + other.duplicates,
            self.rejected + other.rejected,
        )


@dataclass
class _Attempt:
    """What one transaction got to: the xid it sent COMMIT for, its insert count."""

    commit_xid: str | None = None
    inserted: int = 0
    committed: bool = False


class _RowDataError(Exception):
    """Some row of the batch is bad; the cause is the database's error."""


class BatchCommitter:
    """See the module docstring."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        spec: CopyTarget,
        *,
        partitions: PartitionHelper | None,
        conflict: bool,
        on_reject: OnReject | None,
        timeout: float,
        backoff_max: float,
    ) -> None:
        self._pool = pool
        self._table = spec.name
        self._columns = list(spec.column_names)
        # Only needed (and only set) when partitions are created on demand.
        self._key_index = (
            self._columns.index(spec.partition_key) if partitions and spec.partition_key else None
        )
        self._partitions = partitions
        self._conflict = conflict
        self._on_reject = on_reject
        self._timeout = timeout
        self._backoff_max = backoff_max
        cols = ", ".join(_quote_ident(c) for c in self._columns)
        stage = _quote_ident(f"vigil_stage_{self._table}"[:63])
        parent = _quote_ident(self._table)
        self._stage_name = f"vigil_stage_{self._table}"[:63]
        self._create_stage_sql = (
            f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {parent} WITH NO DATA"
        )
        self._insert_stage_sql = (
            f"INSERT INTO {parent} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING"
        )
        self._retries = {r: COPY_RETRIES.labels(self._table, r) for r in _RETRY_REASONS}
        self._rejected = COPY_REJECTED.labels(self._table)
        self._fault_gauge = COPY_FAULT.labels(self._table)
        self.fault: str | None = None
        """Why the current batch cannot be committed, while it cannot (else ``None``)."""

    # -- fault state -----------------------------------------------------------------

    def _set_fault(self, fault: str, rows: int) -> None:
        if fault != self.fault:
            _log.error("copy_fault", table=self._table, rows=rows, fault=fault)
        self.fault = fault
        self._fault_gauge.set(1)

    def _clear_fault(self) -> None:
        if self.fault is not None:
            _log.info("copy_fault_cleared", table=self._table, was=self.fault)
            self.fault = None
            self._fault_gauge.set(0)

    def _backoff(self) -> Backoff:
        """A fresh backoff (about 10 µs: it seeds its own ``random.Random``)."""
        return Backoff(initial=0.05, maximum=self._backoff_max)

    # -- commit ----------------------------------------------------------------------

    async def commit(self, rows: Sequence[Row]) -> CommitResult:
        """Store ``rows``; bad rows are isolated by bisection and rejected."""
        backoff: Backoff | None = None  # made on the first failure: none on the success path
        while True:
            try:
                return await self._commit_with_retries(rows)
            except _RowDataError as err:
                cause = err.__cause__ or err
                if len(rows) > 1:
                    self._retries["bisect"].inc()
                    mid = len(rows) // 2
                    return await self.commit(rows[:mid]) + await self.commit(rows[mid:])
                if await self._reject(rows[0], cause):
                    self._clear_fault()
                    return CommitResult(rejected=1)
            self._retries["reject"].inc()
            backoff = backoff or self._backoff()
            await asyncio.sleep(backoff.next_delay())

    async def _commit_with_retries(self, rows: Sequence[Row]) -> CommitResult:
        backoff: Backoff | None = None  # as in commit()
        slow = False
        partition_attempts = 0
        while True:
            attempt = _Attempt()
            try:
                inserted = await self._attempt(rows, slow, attempt)
            except Exception as exc:
                kind = classify_pg_error(exc, conflict_handled=self._conflict and not slow)
                if kind is PgFault.ROW:
                    raise _RowDataError() from exc
                if kind is PgFault.CONFLICT:
                    slow = True
                    self._retries["conflict"].inc()
                    continue
                backoff = backoff or self._backoff()
                if kind is PgFault.MISSING_PARTITION:
                    partition_attempts += 1
                    if await self._ensure_partitions(rows, exc, partition_attempts):
                        continue
                elif kind is PgFault.TRANSIENT:
                    if attempt.commit_xid is not None and await self._committed(attempt, backoff):
                        self._clear_fault()
                        return CommitResult(attempt.inserted, len(rows) - attempt.inserted)
                    self._retries["connection"].inc()
                    self._set_fault(f"database unavailable: {describe_error(exc)}", len(rows))
                else:
                    self._retries["error"].inc()
                    self._set_fault(describe_error(exc), len(rows))
                await asyncio.sleep(backoff.next_delay())
                continue
            self._clear_fault()
            return CommitResult(inserted=inserted, duplicates=len(rows) - inserted)

    async def _attempt(self, rows: Sequence[Row], slow: bool, attempt: _Attempt) -> int:
        """One transaction: COPY (fast) or stage + INSERT ON CONFLICT (slow)."""
        try:
            async with self._pool.acquire(timeout=self._timeout) as conn:
                async with conn.transaction():
                    xid = await conn.fetchval(_XID_SQL, timeout=self._timeout)
                    if slow:
                        attempt.inserted = await self._copy_slow(conn, rows)
                    else:
                        await self._copy(conn, self._table, rows)
                        attempt.inserted = len(rows)
                    attempt.commit_xid = xid  # COMMIT is sent when the block exits
                attempt.committed = True
        except Exception:
            if attempt.committed:  # only returning the connection to the pool failed
                return attempt.inserted
            raise
        return attempt.inserted

    async def _copy(self, conn: asyncpg.Connection, table: str, rows: Sequence[Row]) -> None:
        await conn.copy_records_to_table(
            table, records=rows, columns=self._columns, timeout=self._timeout
        )

    async def _copy_slow(self, conn: asyncpg.Connection, rows: Sequence[Row]) -> int:
        await conn.execute(self._create_stage_sql, timeout=self._timeout)
        await self._copy(conn, self._stage_name, rows)
        status: str = await conn.execute(self._insert_stage_sql, timeout=self._timeout)
        return int(status.rsplit(" ", 1)[-1])

    async def _ensure_partitions(
        self, rows: Sequence[Row], missing: BaseException, attempts: int
    ) -> bool:
        """Create the batch's partitions; True to retry at once, False to back off first
        (the fault is then set: the partitions cannot be created, or do not help)."""
        self._retries["partition"].inc()
        if self._partitions is None or self._key_index is None:
            self._set_fault(f"missing partition: {describe_error(missing)}", len(rows))
            return False
        if attempts > _PARTITION_ATTEMPTS:
            self._set_fault(
                f"partition still missing after creating it: {describe_error(missing)}",
                len(rows),
            )
        key = self._key_index
        try:
            await self._partitions.ensure_for(self._table, (row[key] for row in rows))
        except Exception as exc:
            self._set_fault(f"cannot create a partition: {describe_error(exc)}", len(rows))
            return False
        return attempts <= _PARTITION_ATTEMPTS

    async def _committed(self, attempt: _Attempt, backoff: Backoff) -> bool:
        """Whether the transaction whose COMMIT got no answer did commit."""
        while True:
            try:
                async with self._pool.acquire(timeout=self._timeout) as conn:
                    status = await conn.fetchval(
                        _XID_STATUS_SQL, attempt.commit_xid, timeout=self._timeout
                    )
            except Exception as exc:
                if not is_transient_error(exc):
                    raise
                status = "unknown"
            if status == "committed":
                return True
            if status in ("aborted", None):
                return False
            await asyncio.sleep(backoff.next_delay())  # "in progress" or unreachable

    async def _reject(self, row: Row, exc: BaseException) -> bool:
        """Hand a refused row to ``on_reject``; False (fault set) if it could not be kept."""
        if self._on_reject is None:
            self._set_fault(f"a row was refused and this writer keeps no rejects: "
                            f"{describe_error(exc)}", 1)  # fmt: skip
            return False
        try:
            result = self._on_reject(row, exc)
            if inspect.isawaitable(result):
                await result
        except Exception as reject_exc:
            self._set_fault(f"a refused row ({describe_error(exc)}) could not be kept: "
                            f"{describe_error(reject_exc)}", 1)  # fmt: skip
            return False
        self._rejected.inc()
        return True
