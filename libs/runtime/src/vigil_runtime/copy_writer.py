"""Batched binary COPY into one table, with exactly-once commits.

:class:`CopyWriter` buffers rows (tuples in ``spec.column_names`` order) and a
background task writes them in batches of up to ``max_rows``, or sooner when
the oldest buffered row is ``max_age_s`` old, with asyncpg's binary
``copy_records_to_table``. Each batch is committed exactly once by
:class:`vigil_runtime.copy_committer.BatchCommitter` (retries, partitions,
duplicates, bisection of bad rows into ``on_reject``); only a row's own bad
data makes it a reject (:mod:`vigil_runtime.faults`). Any other failure keeps
the rows and retries them with backoff, and :attr:`CopyWriter.fault` says why
meanwhile (services report it on /readyz).

``on_commit`` callbacks run in order once every row added before them is
committed (or rejected): the ingest acknowledges MQTT messages there, so a
message is never acknowledged while its rows are held by a fault. The buffer
is bounded: ``add`` waits while ``max_buffered_rows`` are pending.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from types import TracebackType
from typing import Self

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from vigil_runtime.copy_committer import BatchCommitter, CopyTarget, OnReject, Row
from vigil_runtime.logging import get_logger
from vigil_runtime.partitions import PartitionHelper

__all__ = ["CopyTarget", "CopyWriter", "OnCommit", "OnReject", "Row"]

OnCommit = Callable[[], object]
"""Called (and awaited if it returns an awaitable) after the rows are committed."""

_log = get_logger(__name__)

COPY_ROWS = Counter("vigil_copy_rows_total", "Rows committed by COPY writers", ["table"])
COPY_BATCHES = Counter("vigil_copy_batches_total", "Batches committed by COPY writers", ["table"])
COPY_DUPLICATES = Counter(
    "vigil_copy_duplicates_total", "Rows skipped as duplicates of stored rows", ["table"]
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
        self._committer = BatchCommitter(
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
    def fault(self) -> str | None:
        """Why the writer cannot commit right now (rows kept, retried), else ``None``."""
        return self._committer.fault

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
