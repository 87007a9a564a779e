"""End-to-end: the analyzer's delivery guarantees across a SIGKILL and between replicas.

Frames with known frame numbers go camera → MQTT → vigil-ingest → ``vigil:frames`` →
vigil-analyzer (real processes). Every frame is bus.jpg (small), so every analysed frame has
detections rows and a frame's rows show that it was analysed:

- SIGKILL of the analyzer mid-stream, then a new one: every frame has its rows exactly once
  (none missing, none written twice: the killed replica's pending entries are reclaimed
  after ``claim_idle_ms`` and its committed-but-unacknowledged frames are not duplicated);
- two replicas: the cameras are split between them (each camera's state names the replica
  rendezvous hashing gives it), and every frame is analysed once.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from vigil_analyzer.model_files import BUS_JPG
from vigil_runtime.membership import rendezvous_owner
from vigil_schema.streams import FRAMES, camera_state_key

if TYPE_CHECKING:
    from services.analyzer.tests.e2e.conftest import AnalyzerHarness

SMALL = (240, 320)
"""bus.jpg is portrait: 240×320 keeps its persons detectable."""
FRAME_GAP = timedelta(milliseconds=250)
FAST_RECLAIM = {"VIGIL_CLAIM_IDLE_MS": "1000", "VIGIL_MEMBERSHIP_TTL_S": "2"}


class FrameStream:
    """Publishes ``frames`` frames per camera (numbers 1..frames, timestamps 250 ms apart)
    on a thread, about ``rate`` frames a second in all."""

    def __init__(self, harness: AnalyzerHarness, cameras: list[str], frames: int,
                 rate: float) -> None:  # fmt: skip
        self.expected = {(camera, n) for camera in cameras for n in range(1, frames + 1)}
        self._jpeg = harness.small_jpeg(BUS_JPG.relpath, SMALL)
        self._publisher = harness.publisher("frames")
        self._cameras, self._frames, self._rate = cameras, frames, rate
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = datetime.now(UTC)
        for n in range(1, self._frames + 1):
            for camera in self._cameras:
                self._publisher.frame(camera, self._jpeg, n, start + n * FRAME_GAP)
                time.sleep(1 / self._rate)

    def finish(self) -> None:
        """Wait until everything was published and acknowledged by the broker."""
        self._thread.join(60)
        assert not self._thread.is_alive(), "still publishing"
        assert self._publisher.wait_acked() == len(self.expected)


def test_sigkill_mid_stream_every_frame_analysed_exactly_once(
    analyzer_harness: AnalyzerHarness,
) -> None:
    harness = analyzer_harness
    cameras = harness.cameras(3)
    harness.register(cameras)
    harness.start_ingest()
    first = harness.start_analyzer(**FAST_RECLAIM)
    stream = FrameStream(harness, cameras, frames=30, rate=10.0)
    total = len(stream.expected)
    harness.wait(lambda: len(harness.frames_analysed(cameras)), lambda n: n >= total // 4,
                 "a quarter of the frames analysed")  # fmt: skip
    first.kill()  # SIGKILL: no hand-back, nothing acknowledged past the last commit
    assert first.returncode == -9
    at_kill = harness.frames_analysed(cameras)
    assert len(at_kill) < total, "the kill came after the stream ended: nothing tested"
    second = harness.start_analyzer(**FAST_RECLAIM)
    stream.finish()
    harness.wait(lambda: harness.group_done(FRAMES, total), bool, "every frame entry handled")
    skipped = harness.skips(second)
    missing = sorted(stream.expected - harness.frames_analysed(cameras))
    assert missing == [], f"frames not analysed: {missing}; skipped after the restart: {skipped}"
    assert harness.duplicate_detections(cameras) == 0, "a frame's rows were written twice"


def test_two_replicas_split_the_cameras_and_analyse_every_frame_once(
    analyzer_harness: AnalyzerHarness,
) -> None:
    harness = analyzer_harness
    names = [f"an-{harness.token}-a", f"an-{harness.token}-b"]
    cameras = split_cameras(harness, names)
    harness.register(cameras)
    harness.start_ingest()
    replicas = [harness.start_analyzer(VIGIL_INSTANCE=name, VIGIL_MEMBERSHIP_TTL_S="2")
                for name in names]  # fmt: skip
    for replica in replicas:
        harness.wait(lambda r=replica: harness.metric(r, "vigil_stream_members",  # type: ignore[misc]
                                                      stream=FRAMES), lambda n: n == 2,
                     f"{replica.instance} sees both replicas")  # fmt: skip
    stream = FrameStream(harness, cameras, frames=10, rate=15.0)
    stream.finish()
    total = len(stream.expected)

    harness.wait(lambda: harness.group_done(FRAMES, total), bool, "every frame entry handled")
    skipped = {r.instance: harness.skips(r) for r in replicas}
    missing = sorted(stream.expected - harness.frames_analysed(cameras))
    assert missing == [], f"frames not analysed: {missing}; skipped per replica: {skipped}"
    assert harness.duplicate_detections(cameras) == 0, "a frame's rows were written twice"
    for camera in cameras:
        state = harness.hash(camera_state_key(camera))
        assert state.get("analyzer_instance") == rendezvous_owner(camera, names), (camera, state)
    analysed = [harness.metric(r, "vigil_analyzer_frames_analyzed_total") for r in replicas]
    assert all(count > 0 for count in analysed), analysed
    assert sum(analysed) == total, analysed


def split_cameras(harness: AnalyzerHarness, names: list[str]) -> list[str]:
    """The first cameras of this test such that each replica owns at least two."""
    cameras = harness.cameras(64)
    chosen: list[str] = []
    for name in names:
        chosen += [c for c in cameras if rendezvous_owner(c, names) == name][:2]
    return sorted(chosen)
