"""The detection pipeline: one batch of ``vigil:frames`` entries in, committed facts out.

:meth:`FramePipeline.handle` is the :class:`~vigil_runtime.streams.StreamConsumer` handler; it
returns only once the batch's results are committed (:class:`~vigil_analyzer.outputs.Outputs`),
and the consumer acknowledges the entries after that. Per frame, in the camera's order:

1. read the entry (an unreadable one is dead-lettered at once: retrying cannot fix it);
2. the rate cap by the frame's own timestamp, and staleness (the analyzer fell behind):
   refused frames are never decoded; a late frame (older than its camera's newest analysed
   one: handed over by another replica, or reclaimed from a dead one) is detected and
   written with zones but without track ids, outside steps 3 and 6's state;
3. a reduced grayscale decode feeds the motion gate (still frames with nothing tracked are
   skipped) and the camera's heatmap minute;
4. the fair scheduler orders the admitted frames across cameras, least recently served first,
   into detector batches (superseding a busy camera's oldest frames beyond the batch budget);
5. full decode and detection run in one worker thread (the event loop stays free; OpenCV
   and onnxruntime release the GIL);
6. tracking, zones (occupancy, entries, dwell, loitering), rows, the frame's
   ``vigil:detections`` message and alert candidates;
7. the batch's outputs are committed; each analysed frame is offered to the Claude observer,
   which decides on its own and never blocks detection.

Every skip is counted per camera and reason (``vigil_analyzer_frames_skipped_total``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import redis.asyncio as aioredis

from vigil_analyzer import metrics
from vigil_analyzer.camera_analysis import CameraAnalysis
from vigil_analyzer.camera_zones import ZoneRegistry
from vigil_analyzer.detectors.base import BoxDetection, Detector
from vigil_analyzer.frames import (
    SMALL_SCALE,
    BadFrame,
    IncomingFrame,
    decode_full,
    decode_small,
    read_frame,
)
from vigil_analyzer.occupancy import ZoneUpdate
from vigil_analyzer.outputs import BatchOutput, Outputs
from vigil_analyzer.records import (
    detection_message,
    detection_rows,
    entry_candidate,
    loiter_candidate,
    new_track_candidate,
)
from vigil_analyzer.sampler import FrameSampler, SampleReason
from vigil_analyzer.scheduler import FairScheduler, PendingFrame
from vigil_analyzer.settings import AnalyzerSettings
from vigil_analyzer.tracking import TrackedObject
from vigil_analyzer.zones import zone_ids
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.stream_producer import StreamProducer
from vigil_runtime.streams import StreamEntry
from vigil_schema.clock import utc_now
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import DLQ, FRAMES, Envelope

__all__ = ["AnalysedFrame", "FrameObserver", "FramePipeline"]

_log = get_logger(__name__)
GROUP = "analyzer"


@dataclass(slots=True)
class AnalysedFrame:
    """One frame after detection, tracking and zones (what the Claude observer sees)."""

    frame: IncomingFrame
    size: tuple[int, int]
    """Height, width in pixels."""
    objects: list[TrackedObject]
    zones: ZoneUpdate
    new_tracks: list[TrackedObject] = field(default_factory=list)
    site: str | None = None
    zone_counts: dict[str, int] = field(default_factory=dict)
    """Zone name → the objects it counts on this frame."""


class FrameObserver(Protocol):
    """Receives every analysed frame after its batch is committed; must not block."""

    def observe(self, frame: AnalysedFrame) -> None: ...

    def forget(self, camera_id: str) -> None:
        """The camera moved to another replica."""


@dataclass(slots=True)
class _Inferred:
    size: tuple[int, int]
    boxes: list[BoxDetection]


class FramePipeline:
    """See the module docstring. ``owns(camera_id)`` says whether this replica still
    analyses a camera (camera affinity); state of cameras it lost is dropped."""

    def __init__(
        self,
        detector: Detector,
        zones: ZoneRegistry,
        outputs: Outputs,
        redis: aioredis.Redis,
        settings: AnalyzerSettings,
        *,
        observer: FrameObserver | None = None,
        owns: Callable[[str], bool] = lambda _camera: True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._detector = detector
        self._zones = zones
        self._outputs = outputs
        self._settings = settings
        self._observer = observer
        self._owns = owns
        self._clock = clock
        self._dlq = StreamProducer(redis)
        self._sampler = FrameSampler(detect_fps=settings.detect_fps,
                                     motion_threshold=settings.motion_threshold,
                                     max_frame_age_s=settings.max_frame_age_s)  # fmt: skip
        self._scheduler: FairScheduler[IncomingFrame] = FairScheduler(
            detector.max_batch, settings.frame_budget
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detector")
        self._cameras: dict[str, CameraAnalysis] = {}
        self._announced: dict[str, set[int]] = {}
        self._alert_classes = frozenset(settings.alert_classes)
        self._warn = RateLimitedLogger(_log, interval_s=60.0)
        self._instance = settings.instance

    @property
    def cameras(self) -> Sequence[str]:
        """The cameras this replica holds state for."""
        return tuple(self._cameras)

    async def handle(self, entries: Sequence[StreamEntry]) -> None:
        """Analyse and commit one batch (the consumer acknowledges it afterwards)."""
        started = time.monotonic()
        out = BatchOutput()
        now = self._clock()
        pending: list[PendingFrame[IncomingFrame]] = []
        touched: set[str] = set()
        for entry in entries:
            frame = await self._read(entry)
            if frame is None:
                continue
            camera = await self._camera(frame.camera_id)
            touched.add(frame.camera_id)
            if await self._gate(frame, camera, now, out, entry):
                pending.append(PendingFrame(frame.camera_id, frame.ts, frame.frame_number, frame))
        analysed = await self._detect(pending, out, now)
        self._close_quiet_minutes(now, out, touched)
        for camera_id in touched:
            camera = self._cameras[camera_id]
            out.checkpoints[camera_id] = camera.heatmap.snapshot()
            out.status[camera_id] = camera.status_fields(self._instance)
        await self._outputs.commit(out)
        for name in (c.alertname for c in out.alerts):
            metrics.ALERT_CANDIDATES.labels(name).inc()
        if self._observer is not None:
            for item in analysed:
                self._observer.observe(item)
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)

    # -- reading and gating -----------------------------------------------------------

    async def _read(self, entry: StreamEntry) -> IncomingFrame | None:
        try:
            frame = read_frame(entry)
        except BadFrame as exc:
            await self._dead_letter(entry, exc)
            return None
        metrics.FRAMES_RECEIVED.labels(frame.camera_id).inc()
        return frame

    async def _dead_letter(self, entry: StreamEntry, exc: BadFrame) -> None:
        metrics.BAD_FRAMES.labels(exc.reason).inc()
        self._warn.warning("frame entry dead-lettered", key=exc.reason, error=str(exc),
                           entry_id=entry.id.decode())  # fmt: skip
        letter = DeadLetter.from_entry(stream=FRAMES, group=GROUP, consumer=self._instance,
                                       entry_id=entry.id, fields=entry.fields,
                                       deliveries=entry.deliveries, error=str(exc))  # fmt: skip
        await self._dlq.publish(DLQ, Envelope.wrap(letter))

    def _skip(self, camera_id: str, reason: str) -> None:
        metrics.FRAMES_SKIPPED.labels(camera_id, reason).inc()

    async def _gate(
        self,
        frame: IncomingFrame,
        camera: CameraAnalysis,
        now: datetime,
        out: BatchOutput,
        entry: StreamEntry,
    ) -> bool:
        """Rate cap, staleness, motion gate and heatmap; whether the frame goes on."""
        camera_id = frame.camera_id
        reason = self._sampler.precheck(camera_id, frame.ts, now)
        if reason is not None and reason is not SampleReason.LATE:
            self._skip(camera_id, reason.value)
            return False
        try:
            gray = decode_small(frame.jpeg)
        except BadFrame as exc:
            await self._dead_letter(entry, exc)
            return False
        frame.small = gray
        decision = self._sampler.decide(camera_id, frame.ts, gray, now=now,
                                        tracked_present=camera.tracker.tracked_present)  # fmt: skip
        if decision.reason is SampleReason.LATE:
            frame.late = True  # detected, but the camera's tracker and heatmap moved past it
            return True
        size = _frame_size(frame, gray.shape)
        _counted, rows = camera.heatmap.add(frame.ts, frame.frame_number, size, decision.mask,
                                           now=now)  # fmt: skip
        out.heatmaps.extend(row.as_row() for row in rows)
        if decision.reason is not SampleReason.ADMITTED:
            self._skip(camera_id, decision.reason.value)
            return False
        return True

    # -- detection --------------------------------------------------------------------

    async def _detect(
        self, pending: list[PendingFrame[IncomingFrame]], out: BatchOutput, now: datetime
    ) -> list[AnalysedFrame]:
        plan = self._scheduler.plan(pending)
        for frame in plan.superseded:
            self._skip(frame.camera_id, "superseded")
        analysed: list[AnalysedFrame] = []
        loop = asyncio.get_running_loop()
        backend = self._detector.backend
        for batch in plan.batches:
            jpegs = [item.item.jpeg for item in batch]
            started = time.monotonic()
            results = await loop.run_in_executor(self._executor, self._infer, jpegs)
            elapsed = time.monotonic() - started
            metrics.INFERENCE_SECONDS.labels(backend).observe(elapsed)
            metrics.INFERENCE_BATCH.labels(backend).observe(len(batch))
            per_frame_ms = elapsed * 1000 / max(1, len(batch))
            for item, result in zip(batch, results, strict=True):
                if item.item.late:
                    self._after_late(item.item, result, per_frame_ms, out, now)
                else:
                    analysed.append(self._after_detect(item.item, result, per_frame_ms, out, now))
        return analysed

    def _infer(self, jpegs: Sequence[bytes]) -> list[_Inferred]:
        """Worker thread: decode in full colour and detect, one call for the batch."""
        images = [decode_full(jpeg) for jpeg in jpegs]
        boxes = self._detector.detect(images)
        return [_Inferred((img.shape[0], img.shape[1]), found)
                for img, found in zip(images, boxes, strict=True)]  # fmt: skip

    def _after_detect(
        self,
        frame: IncomingFrame,
        result: _Inferred,
        inference_ms: float,
        out: BatchOutput,
        now: datetime,
    ) -> AnalysedFrame:
        camera_id, ts, number = frame.camera_id, frame.ts, frame.frame_number
        camera = self._cameras[camera_id]
        height, width = result.size
        update = camera.tracker.update(result.boxes, ts, width, height)
        zones = camera.zones.update(update.objects, ts, number, update.forgotten)
        objects = update.objects
        metrics.FRAMES_ANALYZED.labels(camera_id).inc()
        for obj in objects:
            metrics.OBJECTS.labels(camera_id, obj.class_name).inc()
        model = self._detector.model
        out.detections += detection_rows(camera_id, ts, number, objects, zones.zone_ids, model,
                                         now)  # fmt: skip
        out.occupancy += [row.as_row(now) for row in zones.occupancy]
        for row in zones.occupancy:
            metrics.OCCUPANCY.labels(camera_id, row.zone_id, row.object_class).set(
                row.occupied_count
            )
        out.messages.append(detection_message(camera_id, ts, number, objects, zones.zone_ids,
                                              model=model, size=result.size,
                                              inference_ms=inference_ms))  # fmt: skip
        new_tracks = self._new_tracks(camera_id, objects, update.forgotten)
        self._candidates(camera, frame, zones, new_tracks, out)
        counts = _zone_counts(camera, objects, zones)
        camera.record(ts, len(objects), counts)
        for entry in zones.entries:
            metrics.ZONE_ENTRIES.labels(camera_id, entry.zone_id).inc()
        return AnalysedFrame(frame, result.size, objects, zones, new_tracks, camera.site, counts)

    def _after_late(
        self,
        frame: IncomingFrame,
        result: _Inferred,
        inference_ms: float,
        out: BatchOutput,
        now: datetime,
    ) -> None:
        """A late frame: its detections rows and entry, with zones but no track ids; it
        feeds no tracker, occupancy, heatmap, candidate or Claude (their state moved on)."""
        camera_id, ts, number = frame.camera_id, frame.ts, frame.frame_number
        config = self._cameras[camera_id].zones.config
        objects = [TrackedObject(box, None, ts) for box in result.boxes]
        ids = [zone_ids(config, box) for box in result.boxes]
        metrics.FRAMES_ANALYZED.labels(camera_id).inc()
        metrics.FRAMES_LATE.labels(camera_id).inc()
        for obj in objects:
            metrics.OBJECTS.labels(camera_id, obj.class_name).inc()
        model = self._detector.model
        out.detections += detection_rows(camera_id, ts, number, objects, ids, model, now)
        out.messages.append(detection_message(camera_id, ts, number, objects, ids, model=model,
                                              size=result.size,
                                              inference_ms=inference_ms))  # fmt: skip

    def _new_tracks(
        self, camera_id: str, objects: Sequence[TrackedObject], forgotten: Sequence[int]
    ) -> list[TrackedObject]:
        announced = self._announced.setdefault(camera_id, set())
        announced.difference_update(forgotten)
        fresh = [o for o in objects if o.track_id is not None and o.track_id not in announced]
        announced.update(o.track_id for o in fresh if o.track_id is not None)
        return fresh

    def _candidates(
        self,
        camera: CameraAnalysis,
        frame: IncomingFrame,
        zones: ZoneUpdate,
        new_tracks: Sequence[TrackedObject],
        out: BatchOutput,
    ) -> None:
        if camera.alerts_muted:
            return
        site, camera_id = camera.site, frame.camera_id
        out.alerts += [loiter_candidate(event, site) for event in zones.loitering]
        wanted = self._alert_classes
        out.alerts += [entry_candidate(camera_id, entry, site) for entry in zones.entries
                       if entry.object_class in wanted]  # fmt: skip
        out.alerts += [new_track_candidate(camera_id, obj, frame.ts, frame.frame_number, site)
                       for obj in new_tracks if obj.class_name in wanted]  # fmt: skip

    # -- cameras ----------------------------------------------------------------------

    async def _camera(self, camera_id: str) -> CameraAnalysis:
        camera = self._cameras.get(camera_id)
        registered = self._zones.get(camera_id)
        if camera is None:
            camera = CameraAnalysis(camera_id, self._settings, registered)
            checkpoint = await self._outputs.load_checkpoint(camera_id)
            if checkpoint:
                try:
                    camera.heatmap.restore(checkpoint)
                except ValueError as exc:
                    self._warn.warning("heatmap checkpoint unreadable", key=camera_id,
                                       camera_id=camera_id, error=str(exc))  # fmt: skip
            self._cameras[camera_id] = camera
            metrics.CAMERAS_OWNED.set(len(self._cameras))
        else:
            camera.refresh_zones(registered)
        return camera

    def _close_quiet_minutes(self, now: datetime, out: BatchOutput, touched: set[str]) -> None:
        """Write the heatmap minutes of cameras gone quiet; drop cameras this replica lost."""
        for camera_id in list(self._cameras):
            if not self._owns(camera_id):
                self.forget(camera_id)
                continue
            row = self._cameras[camera_id].heatmap.flush(now)
            if row is not None:
                out.heatmaps.append(row.as_row())
                touched.add(camera_id)

    def forget(self, camera_id: str) -> None:
        """Drop a camera's state and series (it moved to another replica)."""
        self._cameras.pop(camera_id, None)
        self._announced.pop(camera_id, None)
        self._sampler.forget(camera_id)
        self._scheduler.forget(camera_id)
        metrics.forget_camera(camera_id)
        if self._observer is not None:
            self._observer.forget(camera_id)
        metrics.CAMERAS_OWNED.set(len(self._cameras))

    def close(self) -> None:
        """Stop the detector thread."""
        self._executor.shutdown(wait=True)


def _frame_size(frame: IncomingFrame, small: tuple[int, ...]) -> tuple[int, int]:
    """The frame's (height, width): its header's, else the reduced decode's times its scale."""
    header = frame.message.header
    if header.width and header.height:
        return header.height, header.width
    return small[0] * SMALL_SCALE, small[1] * SMALL_SCALE


def _zone_counts(
    camera: CameraAnalysis, objects: Sequence[TrackedObject], zones: ZoneUpdate
) -> dict[str, int]:
    """Objects each zone counts on this frame (every zone of the camera, zeros included)."""
    config = camera.zones.config
    counts = {zone.name: 0 for zone in config.zones}
    for obj, ids in zip(objects, zones.zone_ids, strict=True):
        for zone_id in ids:
            zone = config.zone(zone_id)
            if zone is not None and zone.counts(obj.class_name):
                counts[zone.name] += 1
    return counts
