"""Batched binary COPY into one table, with exactly-once commits.

:class:`CopyWriter` buffers rows (tuples in ``spec.column_names`` order) and a
background task writes them in batches of up to ``max_rows``, or sooner when
the oldest buffered row is ``max_age_s`` old, with asyncpg's binary
``copy_records_to_table``. Each batch is one transaction, so a failed COPY
commits nothing and the batch is simply retried:

* missing partition → the partitions the batch needs are created, then retry;
* connection loss / timeout → back off, retry on a fresh connection; if the
  connection died while COMMIT was in flight, ``pg_xact_status`` of the
  transaction decides whether it committed, so a row is never written twice;
* unique violation (``conflict=True``) → retry through a temporary staging
  table and ``INSERT ... ON CONFLICT DO NOTHING``, counting the duplicates;
* a bad row (data error, CHECK or NOT NULL violation) → the batch is bisected
  until the bad rows are isolated; each goes to ``on_reject(row, exc)`` and
  the good rows commit.

``on_commit`` callbacks run in order once every row added before them is
committed (or rejected): the ingest acknowledges MQTT messages there. The
buffer is bounded: ``add`` waits while ``max_buffered_rows`` are pending.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from vigil_runtime.backoff import Backoff
from vigil_runtime.db import is_transient_error
from vigil_runtime.logging import get_logger
from vigil_runtime.partitions import PartitionHelper, is_missing_partition_error

__all__ = ["CopyTarget", "CopyWriter", "OnCommit", "OnReject", "Row"]

Row = tuple[Any, ...]
OnCommit = Callable[[], object]
"""Called (and awaited if it returns an awaitable) after the rows are committed."""
OnReject = Callable[[Row, BaseException], object]
"""Called (and awaited if it returns an awaitable) with a row that cannot be stored."""

_log = get_logger(__name__)

COPY_ROWS = Counter("vigil_copy_rows_total", "Rows committed by COPY writers", ["table"])
COPY_BATCHES = Counter("vigil_copy_batches_total", "Batches committed by COPY writers", ["table"])
COPY_DUPLICATES = Counter(
    "vigil_copy_duplicates_total", "Rows skipped as duplicates of stored rows", ["table"]
)
COPY_REJECTED = Counter(
    "vigil_copy_rejected_total", "Rows that could not be stored (passed to on_reject)", ["table"]
)
COPY_RETRIES = Counter(
    "vigil_copy_retries_total", "COPY attempts repeated, by reason", ["table", "reason"]
)
COPY_BATCH_ROWS = Histogram(
    "vigil_copy_batch_rows",
    "Rows per committed batch",
    ["table"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000),
)
COPY_SECONDS = Histogram(
    "vigil_copy_seconds",
    "Time to commit one batch, retries included",
    ["table"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COPY_BUFFERED = Gauge("vigil_copy_buffered_rows", "Rows added but not yet committed", ["table"])

_XID_SQL = "SELECT pg_current_xact_id()::text"
_XID_STATUS_SQL = "SELECT pg_xact_status($1::text::xid8)"
_PARTITION_ATTEMPTS = 3
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    ValueError,
    TypeError,
    OverflowError,
)


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
class _Result:
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def __add__(self, other: _Result) -> _Result:
        return _Result(
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


class _BatchCommitter:
    """Commits one batch exactly once: retries, partitions, conflicts, bisection."""

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
        self._retries = {
            reason: COPY_RETRIES.labels(self._table, reason)
            for reason in ("connection", "partition", "conflict", "bisect", "error")
        }
        self._rejected = COPY_REJECTED.labels(self._table)

    async def commit(self, rows: Sequence[Row]) -> _Result:
        """Store ``rows``; bad rows are isolated by bisection and rejected."""
        try:
            return await self._commit_with_retries(rows)
        except _RowDataError as err:
            cause = err.__cause__ or err
            if len(rows) == 1:
                await self._reject(rows[0], cause)
                return _Result(rejected=1)
            self._retries["bisect"].inc()
            mid = len(rows) // 2
            return await self.commit(rows[:mid]) + await self.commit(rows[mid:])

    async def _commit_with_retries(self, rows: Sequence[Row]) -> _Result:
        backoff = Backoff(initial=0.05, maximum=self._backoff_max)
        slow = False
        partition_attempts = 0
        while True:
            attempt = _Attempt()
            try:
                inserted = await self._attempt(rows, slow, attempt)
                return _Result(inserted=inserted, duplicates=len(rows) - inserted)
            except Exception as exc:
                if is_missing_partition_error(exc):
                    if self._key_index is None or partition_attempts >= _PARTITION_ATTEMPTS:
                        raise _RowDataError() from exc
                    partition_attempts += 1
                    self._retries["partition"].inc()
                    if not await self._ensure_partitions(self._key_index, rows, backoff):
                        partition_attempts -= 1  # transient failure: not the partition's fault
                    continue
                if self._conflict and not slow and isinstance(exc, asyncpg.UniqueViolationError):
                    slow = True
                    self._retries["conflict"].inc()
                    continue
                if is_transient_error(exc):
                    if attempt.commit_xid is not None and await self._committed(attempt, backoff):
                        return _Result(attempt.inserted, len(rows) - attempt.inserted)
                    self._retries["connection"].inc()
                elif isinstance(exc, _DATA_ERRORS):
                    raise _RowDataError() from exc
                else:
                    # Not a row's fault and not known to be transient (a missing table,
                    # a revoked privilege): keep the rows and wait for an operator.
                    self._retries["error"].inc()
                    _log.error("copy_failed", table=self._table, rows=len(rows), error=repr(exc))
                await asyncio.sleep(backoff.next_delay())

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

    async def _ensure_partitions(self, key: int, rows: Sequence[Row], backoff: Backoff) -> bool:
        """Create the batch's partitions; False if a transient error got in the way."""
        if self._partitions is None:
            return False
        try:
            await self._partitions.ensure_for(self._table, (row[key] for row in rows))
        except Exception as exc:
            if not is_transient_error(exc):
                raise _RowDataError() from exc
            await asyncio.sleep(backoff.next_delay())
            return False
        return True

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

    async def _reject(self, row: Row, exc: BaseException) -> None:
        self._rejected.inc()
        if self._on_reject is None:
            _log.warning("copy_row_rejected", table=self._table, error=str(exc))
            return
        try:
            result = self._on_reject(row, exc)
            if inspect.isawaitable(result):
                await result
        except Exception:
            _log.exception("copy_on_reject_failed", table=self._table, error=str(exc))


class CopyWriter:
    """Buffers rows for one table and COPYs them in the background.

    Use as ``async with CopyWriter(...) as writer:`` or call :meth:`close`.
    The background task starts on the first :meth:`add`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        spec: CopyTarget,
        *,
        max_rows: int = 5000,
        max_age_s: float = 0.25,
        partitions: PartitionHelper | None = None,
        max_buffered_rows: int | None = None,
        conflict: bool = False,
        on_reject: OnReject | None = None,
        timeout: float = 60.0,
        backoff_max: float = 5.0,
    ) -> None:
        if max_rows < 1 or max_age_s <= 0:
            raise ValueError("max_rows must be >= 1 and max_age_s > 0")
        self._max_buffered = max_buffered_rows or 4 * max_rows
        if self._max_buffered < max_rows:
            raise ValueError("max_buffered_rows must be >= max_rows")
        if partitions is not None and not spec.partition_key:
            raise ValueError(f"{spec.name} has no partition key")
        self.table = spec.name
        self._ncols = len(spec.column_names)
        self._max_rows = max_rows
        self._max_age = max_age_s
        self._committer = _BatchCommitter(
            pool,
            spec,
            partitions=partitions,
            conflict=conflict,
            on_reject=on_reject,
            timeout=timeout,
            backoff_max=backoff_max,
        )
        self._buffer: list[Row] = []
        self._callbacks: deque[tuple[int, OnCommit]] = deque()
        self._added = 0  # rows ever added
        self._taken = 0  # rows handed to the committer
        self._done = 0  # rows committed or rejected
        self._flush_target = 0
        self._first_at = 0.0
        self._closing = False
        self._failure: BaseException | None = None
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._metrics = (
            COPY_ROWS.labels(self.table),
            COPY_BATCHES.labels(self.table),
            COPY_DUPLICATES.labels(self.table),
            COPY_BATCH_ROWS.labels(self.table),
            COPY_SECONDS.labels(self.table),
            COPY_BUFFERED.labels(self.table),
        )

    @property
    def pending(self) -> int:
        """Rows added but not yet committed or rejected."""
        return self._added - self._done

    async def add(self, row: Row, on_commit: OnCommit | None = None) -> None:
        """Buffer one row; waits while the buffer is full."""
        if len(row) != self._ncols:
            raise ValueError(f"{self.table}: row has {len(row)} values, expected {self._ncols}")
        if self._task is None or self._closing or self.pending >= self._max_buffered:
            await self._wait_for_space(1)
        self._append([row])
        if on_commit is not None:
            self._callbacks.append((self._added, on_commit))

    async def add_many(self, rows: Iterable[Row], on_commit: OnCommit | None = None) -> None:
        """Buffer rows together; ``on_commit`` runs once all of them are committed."""
        batch = rows if isinstance(rows, list | tuple) else list(rows)
        ncols = self._ncols
        for row in batch:
            if len(row) != ncols:
                raise ValueError(f"{self.table}: row has {len(row)} values, expected {ncols}")
        if not self._has_room(len(batch)):  # the common case skips the waiting machinery
            await self._wait_for_space(len(batch))
        self._append(batch)
        if on_commit is not None:
            self._callbacks.append((self._added, on_commit))
            if self._done >= self._added:  # nothing pending: run it now
                await self._run_callbacks()

    async def flush(self) -> None:
        """Return once every row added so far is committed (or rejected)."""
        target = self._added
        if self._done >= target:
            return
        self._flush_target = max(self._flush_target, target)
        self._wake.set()
        await self._wait(lambda: self._done >= target)

    async def close(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Flush everything and stop the background task.

        With ``timeout``, gives up after that many seconds (rows not yet
        committed are not acknowledged, so they will be redelivered) and
        raises ``TimeoutError``.
        """
        self._closing = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            raise TimeoutError(f"{self.table}: {self.pending} rows not committed") from None
        if self._failure is not None:
            raise RuntimeError(f"{self.table}: COPY writer failed") from self._failure

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- buffering -------------------------------------------------------------

    def _append(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        if not self._buffer:
            self._first_at = time.monotonic()
            self._wake.set()
        self._buffer.extend(rows)
        self._added += len(rows)
        if len(self._buffer) >= self._max_rows:
            self._wake.set()

    def _has_room(self, count: int) -> bool:
        """Running, healthy and room for ``count`` more rows: nothing to wait for."""
        return (
            self._task is not None
            and not self._closing
            and self._failure is None
            and self.pending + count <= self._max_buffered
        )

    async def _wait_for_space(self, count: int) -> None:
        if self._closing:
            raise RuntimeError(f"{self.table}: COPY writer is closed")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"copy-writer-{self.table}")
        # A group larger than the whole buffer is admitted alone.
        await self._wait(lambda: self.pending + count <= self._max_buffered or self.pending == 0)

    async def _wait(self, predicate: Callable[[], bool]) -> None:
        if not predicate():
            async with self._progress:
                await self._progress.wait_for(lambda: predicate() or self._failure is not None)
        if self._failure is not None:
            raise RuntimeError(f"{self.table}: COPY writer failed") from self._failure

    # -- background task -------------------------------------------------------

    async def _run(self) -> None:
        try:
            while await self._next_batch_due():
                await self._commit_batch(self._take_batch())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug: make waiters fail instead of hang
            self._failure = exc
            _log.exception("copy_writer_crashed", table=self.table)
            raise
        finally:
            async with self._progress:
                self._progress.notify_all()

    async def _next_batch_due(self) -> bool:
        """Wait until a batch is due (size, age, flush or close); False when done."""
        while not self._buffer:
            if self._closing:
                return False
            self._wake.clear()
            await self._wake.wait()
        while not self._due():
            remaining = self._first_at + self._max_age - time.monotonic()
            if remaining <= 0:
                break
            self._wake.clear()
            if self._due():
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        return True

    def _due(self) -> bool:
        return (
            len(self._buffer) >= self._max_rows or self._closing or self._taken < self._flush_target
        )

    def _take_batch(self) -> list[Row]:
        batch = self._buffer[: self._max_rows]
        del self._buffer[: self._max_rows]
        self._taken += len(batch)
        # The rows left behind keep the older start time: they flush no later.
        return batch

    async def _commit_batch(self, batch: list[Row]) -> None:
        rows_total, batches, duplicates, batch_rows, seconds, buffered = self._metrics
        buffered.set(self.pending)
        started = time.perf_counter()
        result = await self._committer.commit(batch)
        seconds.observe(time.perf_counter() - started)
        batch_rows.observe(len(batch))
        rows_total.inc(result.inserted)
        duplicates.inc(result.duplicates)
        batches.inc()
        self._done += len(batch)
        buffered.set(self.pending)
        await self._run_callbacks()
        async with self._progress:
            self._progress.notify_all()

    async def _run_callbacks(self) -> None:
        while self._callbacks and self._callbacks[0][0] <= self._done:
            _, callback = self._callbacks.popleft()
            try:
                result = callback()
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                _log.exception("copy_on_commit_failed", table=self.table)
