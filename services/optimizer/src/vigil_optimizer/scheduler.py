"""`FleetScheduler`: per-camera review jobs run concurrently, bounded, fair and de-duplicated.

A review is the injected ``review(camera_id, reason)`` coroutine (the service wires the real
pipeline: inspect → snapshot health → recommend → maybe apply). The scheduler guarantees:

- **Bounds**: at most ``global_concurrency`` reviews run at once in this process, and at most
  ``per_site_concurrency`` of one site (the camera's ``cameras.site``; cameras without a site
  share the site ``""``). A slot is taken only when both bounds allow it, so a busy site never
  holds a global slot while waiting for its own.
- **Fairness**: each site has its own queue; a free slot goes to the next site in a
  round-robin ring of the sites with queued work (the site just served moves to the back), so
  a site with 400 queued cameras gets one turn per turn of a site with 5. Inside a site the
  highest reason goes first (``manual`` > ``degraded_health`` > ``periodic``), then arrival.
- **One job per camera**: a camera that is queued is not queued twice; a later, higher reason
  upgrades the queued job (it then also moves ahead in its site's queue). A camera that is
  running gets a single follow-up review only for a strictly higher reason (e.g. an operator's
  ``manual`` request during a ``periodic`` review: the running review may have started before
  what prompted it); anything else is a duplicate and dropped.
- **Isolation**: each review runs in its own task under ``timeout_s``; a review that raises or
  hangs is counted and logged, frees its slots, and never delays the others. (A review must
  honour cancellation for the timeout to free its slot; the pipeline's awaits all do.)

:meth:`FleetScheduler.submit` is synchronous and never blocks; :meth:`FleetScheduler.run`
dispatches until its stop event is set, then drops the queue, lets running reviews finish for
up to ``drain_s`` and cancels the rest. :meth:`FleetScheduler.wait_idle` waits until nothing is
queued or running (tests, the benchmark).

Metrics: ``vigil_optimizer_reviews_total{reason,outcome}`` (outcome ``ok``, ``error``,
``timeout``, ``cancelled``), ``vigil_optimizer_review_submissions_total{reason,result}``,
``vigil_optimizer_review_seconds{outcome}``, ``vigil_optimizer_review_queue`` (queued jobs) and
``vigil_optimizer_reviews_running``.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from prometheus_client import Counter, Gauge, Histogram

from vigil_runtime.logging import get_logger
from vigil_runtime.settings import redact_text
from vigil_runtime.tasks import cancel_and_wait
from vigil_schema.ids import validate_camera_id

__all__ = [
    "NO_SITE",
    "FleetScheduler",
    "Reason",
    "ReviewFn",
    "SchedulerSettings",
    "SiteOf",
    "Submitted",
]

_log = get_logger(__name__)

NO_SITE: Final = ""
"""The site of cameras whose ``cameras.site`` is NULL (they share one site's bound)."""


class Reason(StrEnum):
    """Why a camera is reviewed, lowest priority first."""

    PERIODIC = "periodic"
    DEGRADED_HEALTH = "degraded_health"
    MANUAL = "manual"


_RANK: Final = {Reason.PERIODIC: 0, Reason.DEGRADED_HEALTH: 1, Reason.MANUAL: 2}


class Submitted(StrEnum):
    """What :meth:`FleetScheduler.submit` did with a request."""

    QUEUED = "queued"
    UPGRADED = "upgraded"
    """The camera was queued already; its job now has the higher reason."""
    FOLLOW_UP = "follow_up"
    """The camera is running; it is reviewed once more afterwards, for this reason."""
    DUPLICATE = "duplicate"
    CLOSED = "closed"
    """The scheduler is stopping: nothing is queued any more."""


ReviewFn = Callable[[str, str], Awaitable[None]]
"""``review(camera_id, reason)``: one camera's whole review; raises on failure."""
SiteOf = Callable[[str], str | None]
"""The site of a camera (``None``: no site / unknown), used when ``submit`` names none."""

REVIEWS: Final = Counter(
    "vigil_optimizer_reviews_total", "Camera reviews finished, by reason and outcome",
    ["reason", "outcome"],
)  # fmt: skip
SUBMISSIONS: Final = Counter(
    "vigil_optimizer_review_submissions_total",
    "Review requests handed to the scheduler, by reason and what it did with them",
    ["reason", "result"],
)
REVIEW_SECONDS: Final = Histogram(
    "vigil_optimizer_review_seconds", "Duration of one camera review", ["outcome"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)  # fmt: skip
QUEUED: Final = Gauge("vigil_optimizer_review_queue", "Camera reviews waiting for a slot")
RUNNING: Final = Gauge("vigil_optimizer_reviews_running", "Camera reviews running now")


class SchedulerSettings(Protocol):
    """The settings the scheduler reads (``OptimizerSettings`` provides them)."""

    @property
    def global_concurrency(self) -> int: ...
    @property
    def per_site_concurrency(self) -> int: ...
    @property
    def review_timeout_s(self) -> float: ...


@dataclass(eq=False, slots=True)
class _Job:
    camera_id: str
    site: str
    reason: Reason
    seq: int
    follow_up: Reason | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class FleetScheduler:
    """Bounded, fair, de-duplicated camera reviews (see the module docstring)."""

    def __init__(
        self,
        review: ReviewFn,
        *,
        global_concurrency: int = 32,
        per_site_concurrency: int = 4,
        timeout_s: float = 300.0,
        site_of: SiteOf | None = None,
    ) -> None:
        if global_concurrency < 1 or per_site_concurrency < 1:
            raise ValueError("global_concurrency and per_site_concurrency must be >= 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self._review = review
        self.global_concurrency = global_concurrency
        self.per_site_concurrency = per_site_concurrency
        self.timeout_s = timeout_s
        self._site_of = site_of
        self._seq = 0
        self._queued: dict[str, _Job] = {}
        self._running: dict[str, _Job] = {}
        self._site_queues: dict[str, list[tuple[int, int, _Job]]] = {}
        self._ring: deque[str] = deque()  # sites with queued jobs, next turn first
        self._site_running: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    @classmethod
    def from_settings(
        cls, review: ReviewFn, settings: SchedulerSettings, *, site_of: SiteOf | None = None
    ) -> FleetScheduler:
        """A scheduler with the bounds and timeout of ``settings``."""
        return cls(
            review,
            global_concurrency=settings.global_concurrency,
            per_site_concurrency=settings.per_site_concurrency,
            timeout_s=settings.review_timeout_s,
            site_of=site_of,
        )

    # -- state ---------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Jobs waiting for a slot."""
        return len(self._queued)

    @property
    def running(self) -> int:
        """Reviews running now."""
        return len(self._running)

    def state_of(self, camera_id: str) -> tuple[str, Reason] | None:
        """``("queued" | "running", reason)`` of a camera's job, or ``None``."""
        if camera_id in self._queued:
            return "queued", self._queued[camera_id].reason
        if camera_id in self._running:
            return "running", self._running[camera_id].reason
        return None

    async def wait_idle(self) -> None:
        """Return once nothing is queued or running."""
        await self._idle.wait()

    # -- submitting ----------------------------------------------------------------------

    def submit(self, camera_id: str, reason: Reason | str, *, site: str | None = None) -> Submitted:
        """Ask for a review of ``camera_id``; never blocks. ``site`` defaults to
        ``site_of(camera_id)``. Raises ``ValueError`` for a malformed camera id or reason."""
        camera_id = validate_camera_id(camera_id)
        reason = Reason(reason)
        result = self._submit(camera_id, reason, site)
        SUBMISSIONS.labels(reason.value, result.value).inc()
        return result

    def _submit(self, camera_id: str, reason: Reason, site: str | None) -> Submitted:
        if self._closed:
            return Submitted.CLOSED
        queued = self._queued.get(camera_id)
        if queued is not None:
            if _RANK[reason] <= _RANK[queued.reason]:
                return Submitted.DUPLICATE
            queued.reason = reason
            self._push(queued)  # the entry with the old rank goes stale
            return Submitted.UPGRADED
        running = self._running.get(camera_id)
        if running is not None:
            best = running.follow_up or running.reason
            if _RANK[reason] <= _RANK[best]:
                return Submitted.DUPLICATE
            running.follow_up = reason
            return Submitted.FOLLOW_UP
        if site is None and self._site_of is not None:
            site = self._site_of(camera_id)
        self._seq += 1
        job = _Job(camera_id, site or NO_SITE, reason, self._seq)
        self._queued[camera_id] = job
        QUEUED.inc()
        self._push(job)
        self._changed()
        return Submitted.QUEUED

    def _push(self, job: _Job) -> None:
        queue = self._site_queues.setdefault(job.site, [])
        if not queue and job.site not in self._ring:
            self._ring.append(job.site)
        heapq.heappush(queue, (-_RANK[job.reason], job.seq, job))
        self._wake.set()

    # -- dispatching ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, drain_s: float = 10.0) -> None:
        """Dispatch queued jobs until ``stop`` is set; then drop the queue, let running
        reviews finish for up to ``drain_s`` and cancel what is left."""
        watcher = asyncio.create_task(stop.wait(), name="review-scheduler-stop")
        watcher.add_done_callback(lambda _: self._wake.set())
        try:
            while not stop.is_set():
                self._wake.clear()
                self._dispatch()
                await self._wake.wait()
        finally:
            await cancel_and_wait(watcher)
            await self._close(drain_s)

    def _dispatch(self) -> None:
        while len(self._running) < self.global_concurrency:
            job = self._next_job()
            if job is None:
                return
            self._start(job)

    def _next_job(self) -> _Job | None:
        """The next job in round-robin site order whose site has a free slot."""
        for _ in range(len(self._ring)):
            if not self._ring:  # the last sites held only stale entries
                return None
            site = self._ring[0]
            self._ring.rotate(-1)  # this site's turn is used (or skipped): it goes last
            if self._site_running.get(site, 0) >= self.per_site_concurrency:
                continue
            job = self._pop(site)
            if job is not None:
                return job
        return None

    def _pop(self, site: str) -> _Job | None:
        """The site's best live job; the site leaves the ring when its queue empties."""
        queue = self._site_queues.get(site, [])
        job: _Job | None = None
        while queue and job is None:
            rank, _, candidate = heapq.heappop(queue)
            live = self._queued.get(candidate.camera_id) is candidate
            if live and -rank == _RANK[candidate.reason]:
                job = candidate
        if not queue:
            self._site_queues.pop(site, None)
            self._ring.remove(site)
        return job

    def _start(self, job: _Job) -> None:
        del self._queued[job.camera_id]
        QUEUED.dec()
        self._running[job.camera_id] = job
        self._site_running[job.site] = self._site_running.get(job.site, 0) + 1
        RUNNING.inc()
        job.task = asyncio.create_task(self._execute(job), name=f"review-{job.camera_id}")

    async def _execute(self, job: _Job) -> None:
        started = time.monotonic()
        outcome = "ok"
        try:
            async with asyncio.timeout(self.timeout_s) as deadline:
                await self._review(job.camera_id, job.reason.value)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except TimeoutError as exc:
            outcome = "timeout" if deadline.expired() else "error"
            self._log_failure(job, outcome, exc)
        except Exception as exc:
            outcome = "error"
            self._log_failure(job, outcome, exc)
        finally:
            elapsed = time.monotonic() - started
            REVIEWS.labels(job.reason.value, outcome).inc()
            REVIEW_SECONDS.labels(outcome).observe(elapsed)
            self._finish(job)

    def _log_failure(self, job: _Job, outcome: str, exc: BaseException) -> None:
        _log.warning("review_" + outcome, camera_id=job.camera_id, site=job.site,
                     reason=job.reason.value, timeout_s=self.timeout_s,
                     error=redact_text(f"{type(exc).__name__}: {exc}"))  # fmt: skip

    def _finish(self, job: _Job) -> None:
        self._running.pop(job.camera_id, None)
        left = self._site_running.get(job.site, 1) - 1
        if left:
            self._site_running[job.site] = left
        else:
            self._site_running.pop(job.site, None)
        RUNNING.dec()
        if job.follow_up is not None:
            self._submit(job.camera_id, job.follow_up, job.site)
        self._wake.set()
        self._changed()

    def _changed(self) -> None:
        if self._queued or self._running:
            self._idle.clear()
        else:
            self._idle.set()

    async def _close(self, drain_s: float) -> None:
        self._closed = True
        QUEUED.dec(len(self._queued))
        self._queued.clear()
        self._site_queues.clear()
        self._ring.clear()
        tasks = [job.task for job in self._running.values() if job.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=drain_s)
            await cancel_and_wait(*tasks)
        self._changed()
