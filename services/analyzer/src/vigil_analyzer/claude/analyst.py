"""The Claude analyst: which analysed frames Claude sees, within hard limits and a budget.

:class:`ClaudeAnalyst` is the pipeline's :class:`~vigil_analyzer.pipeline.FrameObserver`.
:meth:`~ClaudeAnalyst.observe` runs on the event loop after each batch is committed and never
waits: it hashes the frame (dHash of the reduced decode), asks the
:class:`~.policy.SelectionPolicy` (an operator's question, a new track or a zone entry of a
class of interest, a scene change) and queues a selected frame (``claude_queue`` deep; a full
queue skips it, counted). Detection never waits for Claude.

``claude_workers`` tasks take queued frames: the request is built (detections, zone counts,
scene memory, question), admitted by :class:`~.gates.Gates` (claim, limits, budget, breaker)
and sent: urgent ones at once, routine ones (scene descriptions) through
:class:`~.batches.BatchQueue` when ``claude_use_batches``. Every outcome goes through
:class:`~.results.Results`. Without an API key every selection is skipped as ``no_key``;
every skip is counted in ``vigil_analyzer_claude_skipped_total{reason}``.

:meth:`start` starts the workers, the question reader, the batch submitter/collector and a
refresh of the budget and breaker gauges (every 15 s, so they stay true while idle);
:meth:`stop` stops taking frames, submits the waiting batch (its results are collected by
any replica) and cancels calls in flight (their reservations released). Every loop also checks
a stop event, and stop cancels again what still runs (``cancel_until_done``): on Python 3.11
redis-py can swallow a cancellation, and a loop that only trusted ``cancel`` went on forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from vigil_analyzer.claude import metrics
from vigil_analyzer.claude.admitted import Admitted
from vigil_analyzer.claude.batches import BatchQueue
from vigil_analyzer.claude.client import ClaudeClient
from vigil_analyzer.claude.framing import build_request
from vigil_analyzer.claude.gates import Gates
from vigil_analyzer.claude.keys import BUDGET_NAME, BUDGET_PREFIX, RATE_PREFIX
from vigil_analyzer.claude.memory import SceneMemory
from vigil_analyzer.claude.policy import FrameFacts, Selection, SelectionPolicy, dhash
from vigil_analyzer.claude.questions import Questions
from vigil_analyzer.claude.results import Results
from vigil_analyzer.claude.store import AnalysisStore
from vigil_analyzer.frames import decode_small
from vigil_analyzer.pipeline import AnalysedFrame
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.circuit_breaker import CircuitBreaker
from vigil_runtime.claude.errors import ClaudeRejectedError, ClaudeUnavailableError
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.rate_limit import RateLimiter
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.tasks import cancel_until_done, wait_event
from vigil_runtime.token_budget import TokenBudget

_log = get_logger(__name__)
GAUGES_PERIOD_S = 15.0


@dataclass(slots=True)
class _Job:
    frame: AnalysedFrame
    selection: Selection
    question: str | None


class ClaudeAnalyst:
    """See the module docstring. ``client`` is None without an API key; ``rate_clock``
    (epoch seconds) times the hard call limits instead of the Redis server's clock (the
    benchmark's simulated time)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        pool: Any,
        settings: AnalyzerSettings,
        client: ClaudeClient | None,
        *,
        rate_clock: Callable[[], float] | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._policy = SelectionPolicy.from_settings(settings)
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=settings.claude_queue)
        self.budget = TokenBudget(redis, BUDGET_PREFIX, settings.claude_daily_token_budget,
                                  name=BUDGET_NAME)  # fmt: skip
        self.breaker = CircuitBreaker("claude", failures=settings.claude_breaker_failures,
                                      reset_s=settings.claude_breaker_reset_s)  # fmt: skip
        limiter = RateLimiter(redis, RATE_PREFIX, clock=rate_clock)
        self._gates = Gates(redis, settings, limiter=limiter, budget=self.budget,
                            breaker=self.breaker)  # fmt: skip
        self._memory = SceneMemory(redis)
        self._questions = Questions(redis)
        self._results = Results(redis, AnalysisStore(pool), self._memory, self.budget,
                                self.breaker, model=settings.claude_model,
                                severity_cap=settings.claude_severity_cap)  # fmt: skip
        self._batches: BatchQueue | None = None
        if client is not None and settings.claude_use_batches:
            self._batches = BatchQueue(
                redis, client, lambda item, outcome: self._results.finish(item, outcome, "batch"),
                size=settings.claude_batch_size, wait_s=settings.claude_batch_wait_s,
                lock_s=max(30.0, settings.claude_batch_poll_s * 2),
            )  # fmt: skip
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._warn = RateLimitedLogger(_log, interval_s=60.0)
        metrics.DAILY_BUDGET.set(settings.claude_daily_token_budget)

    # -- the observer -----------------------------------------------------------------

    def observe(self, frame: AnalysedFrame) -> None:
        """Select (or not) one analysed frame and queue it; never waits."""
        incoming = frame.frame
        camera_id = incoming.camera_id
        small = incoming.small if incoming.small is not None else decode_small(incoming.jpeg)
        question = self._questions.take(camera_id)
        facts = FrameFacts(
            camera_id=camera_id, ts=incoming.ts, phash=dhash(small),
            new_track_classes=[obj.class_name for obj in frame.new_tracks],
            zone_entry_classes=[entry.object_class for entry in frame.zones.entries],
            question=question,
        )  # fmt: skip
        selection = self._policy.select(facts)
        if selection is None:
            return
        self._policy.analysed(camera_id, facts.phash)
        metrics.SELECTED.labels(selection.reason).inc()
        if self._client is None:
            self._not_sent(camera_id, question, "no_key")
            return
        try:
            self._queue.put_nowait(_Job(frame, selection, question))
        except asyncio.QueueFull:
            self._not_sent(camera_id, question, "queue_full")
        metrics.QUEUE.set(self._queue.qsize())

    def _not_sent(self, camera_id: str, question: str | None, reason: str) -> None:
        metrics.SKIPPED.labels(reason).inc()
        if question is not None:
            self._questions.untake(camera_id, question)

    def forget(self, camera_id: str) -> None:
        """The camera moved to another replica."""
        self._policy.forget(camera_id)

    async def idle(self) -> None:
        """Wait until every queued frame has been handled (sent, batched or skipped)."""
        await self._queue.join()

    async def collect_batches(self) -> int:
        """Collect every ended batch now (the periodic task does it every poll period)."""
        return 0 if self._batches is None else await self._batches.collect()

    async def submit_batch(self) -> None:
        """Submit the waiting routine requests now."""
        if self._batches is not None:
            await self._batches.submit()

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and the periodic tasks (see the module docstring)."""
        s = self._settings
        self._spawn(self._every(s.claude_questions_poll_s, self._questions.refresh))
        self._spawn(self._every(GAUGES_PERIOD_S, self._refresh_gauges))
        if self._client is None:
            return
        for _ in range(s.claude_workers):
            self._spawn(self._work())
        if self._batches is not None:
            batches = self._batches
            self._spawn(self._every(min(1.0, s.claude_batch_wait_s), batches.submit_due))
            self._spawn(self._every(s.claude_batch_poll_s, batches.collect))

    async def stop(self) -> None:
        """Submit the waiting batch, cancel the rest (see the module docstring)."""
        self._stopping.set()
        stuck = await cancel_until_done(self._tasks)
        if stuck:
            _log.error("claude tasks did not stop", tasks=len(stuck))
        self._tasks.clear()
        if self._batches is not None:
            with contextlib.suppress(*REDIS_ERRORS, ClaudeUnavailableError, ClaudeRejectedError):
                await self._batches.submit()
        if self._client is not None:
            await self._client.close()

    async def _refresh_gauges(self) -> None:
        """Budget left and breaker state stay current while nothing is sent (the day rolls
        over, an open breaker's reset time passes)."""
        _ = self.breaker.state
        await self.budget.spent()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(coro))

    async def _every(self, period_s: float, step: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        while not self._stopping.is_set():
            try:
                await step()
            except REDIS_ERRORS as exc:
                self._warn.warning("claude housekeeping failed", key="housekeeping",
                                   error=str(exc))  # fmt: skip
            await wait_event(self._stopping, period_s)

    # -- the workers ------------------------------------------------------------------

    async def _work(self) -> None:
        while not self._stopping.is_set():
            job = await self._queue.get()
            metrics.QUEUE.set(self._queue.qsize())
            try:
                await self._handle(job)
            except REDIS_ERRORS as exc:
                metrics.SKIPPED.labels("redis").inc()
                self._warn.warning("claude job dropped: Redis unavailable", key="redis",
                                   error=str(exc))  # fmt: skip
            except Exception:  # one bad job must not stop the worker
                _log.exception("claude job failed", camera_id=job.frame.frame.camera_id)
            finally:
                self._queue.task_done()

    async def _handle(self, job: _Job) -> None:
        assert self._client is not None
        camera_id = job.frame.frame.camera_id
        memory = await self._memory.recall(camera_id)
        request = build_request(job.frame, job.selection, scene_memory=memory,
                                question=job.question)  # fmt: skip
        if job.question is not None:
            await self._questions.answered(camera_id, job.question)
        admitted = await self._gates.admit(request.key, camera_id,
                                           self._client.estimate_tokens(request))  # fmt: skip
        if isinstance(admitted, str):
            metrics.SKIPPED.labels(admitted).inc()
            return
        item = Admitted(request, admitted, job.frame.site)
        if self._batches is not None and not job.selection.urgent:
            await self._batches.add(item)
            return
        try:
            reply = await self._client.analyze(request)
        except (ClaudeUnavailableError, ClaudeRejectedError) as exc:
            await self._results.finish(item, exc, "direct")
            return
        except asyncio.CancelledError:
            await asyncio.shield(self.budget.release(admitted))
            raise
        await self._results.finish(item, reply, "direct")
