"""End-to-end: camera frames over MQTT → vigil-ingest → ``vigil:frames`` → vigil-analyzer →
PostgreSQL and Redis (real servers, both services as real processes).

- accuracy through the whole pipeline with the darknet backend (bus.jpg, dog.jpg);
- camsim → ingest → analyzer on cameras with zones: detections, occupancy_events, a
  heatmap minute read back with seed 002's own snippet, an alert candidate on
  ``vigil:alerts`` and claude_analyses rows from the fake Anthropic API.
"""

from __future__ import annotations

import threading
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from vigil_analyzer.model_files import BUS_JPG, DOG_JPG
from vigil_schema.messages import AlertCandidate
from vigil_schema.streams import ALERTS
from vigil_tools.camsim import Fleet

if TYPE_CHECKING:
    from services.analyzer.tests.e2e.conftest import AnalyzerHarness, FakeAnthropic

CLASSES_SQL = "SELECT array_agg(class_name) FROM detections WHERE camera_id = %s"
HALVES: dict[str, Any] = {
    "zones": [
        {
            "name": "left",
            "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
            "classes": ["person", "cat"],
        },
        {
            "name": "right",
            "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]],
            "classes": ["person", "cat"],
        },
    ]
}
"""The demo's zones (cli ``DEMO_ZONES``): two halves of the frame, seed 004's format."""
ALERT_NAMES = {"loitering", "zone_entry", "object_detected"}


def detected_classes(harness: AnalyzerHarness, camera_id: str) -> list[str]:
    found = harness.rows(CLASSES_SQL, camera_id)[0][0]
    return list(found or [])


def test_bus_and_dog_through_the_whole_pipeline(analyzer_harness: AnalyzerHarness) -> None:
    """bus.jpg as a camera frame → ≥ 3 persons; dog.jpg → a car or truck, a bicycle, a dog."""
    harness = analyzer_harness
    bus_cam, dog_cam = harness.cameras(2)
    harness.register([bus_cam, dog_cam])
    harness.start_ingest()
    harness.start_analyzer()
    publisher = harness.publisher()
    now = datetime.now(UTC)
    publisher.frame(bus_cam, (harness.models_dir / BUS_JPG.relpath).read_bytes(), 1, now)
    publisher.frame(dog_cam, (harness.models_dir / DOG_JPG.relpath).read_bytes(), 1, now)
    assert publisher.wait_acked() == 2
    bus = harness.wait(
        lambda: detected_classes(harness, bus_cam),
        lambda found: found.count("person") >= 3,
        "persons on bus.jpg",
    )
    dog = harness.wait(
        lambda: detected_classes(harness, dog_cam),
        lambda found: {"bicycle", "dog"} <= set(found),
        "bicycle and dog",
    )
    assert bus.count("person") >= 3, bus
    assert {"car", "truck"} & set(dog), dog
    frames = harness.rows("SELECT DISTINCT camera_id, frame_number FROM detections")
    assert sorted(frames) == sorted([(bus_cam, 1), (dog_cam, 1)])


def run_camsim(harness: AnalyzerHarness, cameras: int, frames: int) -> list[str]:
    """camsim: ``frames`` frames per camera at 320×240 (subjects walking), then stop."""
    config = harness.fleet(cameras, fps=0.0, frame_fps=4.0, resolution=(320, 240),
                           frame_pool=24, duration_s=frames / 4.0,
                           health_interval_s=60.0, seed=3)  # fmt: skip
    harness.simulated.update(config.camera_ids())
    fleet = Fleet(config)
    summary: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: summary.update(fleet.run_sync()), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "camsim still running"
    assert summary.get("failed", 0) == 0, summary
    return config.camera_ids()


def close_minute(harness: AnalyzerHarness, camera_id: str) -> datetime:
    """Publish one frame in the next minute: the analyzer closes the open heatmap minute."""
    last = harness.rows("SELECT max(ts) FROM detections WHERE camera_id = %s", camera_id)[0][0]
    start = (last or datetime.now(UTC)).replace(second=0, microsecond=0)
    publisher = harness.publisher("minute")
    jpeg = (harness.models_dir / BUS_JPG.relpath).read_bytes()
    publisher.frame(camera_id, jpeg, 10**9, start + timedelta(minutes=1, seconds=1))
    publisher.wait_acked()
    return start


def decompress(row: tuple[Any, ...]) -> Any:
    """Seed 002's snippet, verbatim (``compressed_bytes`` → ``heatmap``)."""
    compressed_bytes, height, width = row
    decompressed = zlib.decompress(compressed_bytes)
    heatmap = np.frombuffer(decompressed, dtype=np.float32).reshape(height, width)
    return heatmap  # noqa: RET504 (seed 002 verbatim)


def analyse_camsim_scene(harness: AnalyzerHarness, **analyzer_env: str) -> list[str]:
    """camsim (one camera with the demo zones; its scene is the rocket photograph with a
    person and a cat walking) → ingest → analyzer (person and cat alerts); waits until the
    camera has detections and occupancy rows."""
    cameras = harness.cameras(1, "s")
    harness.register(cameras, HALVES)
    harness.start_ingest()
    harness.start_analyzer(VIGIL_ALERT_CLASSES='["person","cat"]', **analyzer_env)
    run_camsim(harness, 1, 32)
    for camera in cameras:
        harness.wait(lambda c=camera: harness.count(  # type: ignore[misc]
            "SELECT count(*) FROM detections WHERE camera_id = %s", c), bool,
            f"detections of {camera}")  # fmt: skip
        harness.wait(lambda c=camera: harness.count(  # type: ignore[misc]
            "SELECT count(*) FROM occupancy_events WHERE camera_id = %s", c), bool,
            f"occupancy_events of {camera}")  # fmt: skip
    return cameras


def analyzer_alerts(harness: AnalyzerHarness, cameras: list[str]) -> list[AlertCandidate]:
    """The analyzer's alert candidates of these cameras on ``vigil:alerts``."""
    return [m for m in harness.messages(ALERTS) if isinstance(m, AlertCandidate)
            and m.source == "analyzer" and m.camera_id in cameras]  # fmt: skip


def test_camsim_scene_gives_detections_occupancy_heatmap_claude_analyses_and_alerts(
    analyzer_harness: AnalyzerHarness, fake_anthropic: FakeAnthropic
) -> None:
    """The analyzer points at the fake Anthropic API (any hour counts as alert hours,
    routine calls go at once): the Claude analyst stores claude_analyses rows too."""
    harness = analyzer_harness
    cameras = analyse_camsim_scene(
        harness, ANTHROPIC_BASE_URL=fake_anthropic.base_url,
        ANTHROPIC_API_KEY=fake_anthropic.api_key, VIGIL_CLAUDE_ALERT_HOURS="",
        VIGIL_CLAUDE_USE_BATCHES="false",
    )  # fmt: skip
    zoned = harness.rows("SELECT DISTINCT zone_id FROM occupancy_events WHERE camera_id = ANY(%s)",
                         cameras)  # fmt: skip
    assert {"left", "right"} & {zone for (zone,) in zoned}, zoned
    start = close_minute(harness, cameras[0])
    sql = ("SELECT intensity_array, height, width, frame_count, downscale_factor"
           " FROM heatmap_minutes WHERE camera_id = %s AND ts = %s")  # fmt: skip
    row = harness.wait(lambda: harness.rows(sql, cameras[0], start), bool, "the heatmap minute")
    compressed, height, width, frame_count, downscale = row[0]
    heatmap = decompress((compressed, height, width))
    assert (height, width) == (round(240 / downscale), round(320 / downscale))
    assert heatmap.shape == (height, width)
    assert frame_count >= 2
    assert 0 < float(heatmap.max()) <= frame_count
    alerts = harness.wait(lambda: analyzer_alerts(harness, cameras), bool,
                          "an analyzer alert candidate on vigil:alerts")  # fmt: skip
    assert {alert.alertname for alert in alerts} <= ALERT_NAMES | {"claude_alert"}, alerts
    analyses = harness.wait(lambda: harness.rows(
        "SELECT request_type, primary_insight, input_tokens FROM claude_analyses"
        " WHERE camera_id = ANY(%s)", cameras), bool, "claude_analyses rows")  # fmt: skip
    assert all(insight and tokens > 0 for _type, insight, tokens in analyses), analyses
