"""End-to-end: the ingest's memory stays bounded in bytes while Redis is down.

camsim sends frames of about 1 MiB (5 a second) while the (private) Redis is stopped for
60 s. The fan-out fails, so nothing can be acknowledged; the frames' rows commit, and the
messages pile up until the bytes high-water mark pauses reading: the rest waits at the
broker. The ingest's resident memory (VmRSS from /proc, sampled while Redis is down) must
stay under its start-up figure plus the byte limit plus a margin; once Redis is back every
frame and event is stored once and fanned out once.

The limit is set low (64 MiB) so that the test is quick and means something: without the
bytes mark the ingest reads the whole 300 MiB of the outage into memory.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from vigil_schema.streams import FRAMES

if TYPE_CHECKING:
    from services.ingest.tests.conftest import IngestHarness

MIB = 1024 * 1024
LIMIT = 64 * MIB
"""The ingest's ``queue_high_water_bytes`` in this test."""
MARGIN = 64 * MIB
"""What the estimate leaves out (one MQTT read pass of up to 8 MiB, paho's partial packet,
the COPY of a batch, allocator slack) and what the first frames allocate once."""
DOWN_S = 60.0
CAMERAS = 2
FRAME_FPS = 2.5
"""Per camera: 5 frames, about 5 MiB, a second in all."""
SAMPLE_S = 0.25


def rss_bytes(pid: int) -> int:
    """The process's resident set size (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def frames_fanned_out(redis_url: str, trimmed: float) -> int:
    """Entries added to ``vigil:frames``: its length plus what ``MAXLEN ~`` trimmed."""
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.xlen(FRAMES)) + int(trimmed)
    finally:
        client.close()


@pytest.mark.slow
def test_frames_while_redis_is_down_rss_bounded_then_all_stored_and_fanned_out(
    private_harness: IngestHarness,
) -> None:
    harness = private_harness
    assert harness.private is not None
    fleet = harness.fleet(
        "m", CAMERAS, fps=1.0, batch=1, duration_s=DOWN_S, health_interval_s=0.0,
        frame_fps=FRAME_FPS, resolution=(3840, 2160), jpeg_quality=95, frame_pool=2,
        drain_timeout_s=30.0, seed=11,
    )  # fmt: skip
    cameras = fleet.camera_ids()
    harness.register(cameras)
    env = {
        "VIGIL_QUEUE_HIGH_WATER_BYTES": str(LIMIT),
        "VIGIL_QUEUE_LOW_WATER_BYTES": str(LIMIT // 2),
        "VIGIL_FRAMES_MAXLEN": "100000",
    }
    with harness.ingest(**env) as service:
        harness.private.stop("redis")
        base = peak = rss_bytes(service.process.pid)
        run = harness.run_fleets(fleet)[0]
        while run.running:
            peak = max(peak, rss_bytes(service.process.pid))
            time.sleep(SAMPLE_S)
        summary = run.result()
        peak = max(peak, rss_bytes(service.process.pid))
        acked_while_down = harness.metric(service, "vigil_ingest_acks_total")
        paused = harness.metric(service, "vigil_ingest_reading_paused")
        held = harness.metric(service, "vigil_ingest_queue_bytes")
        harness.private.start()

        assert summary["failed"] == 0, summary
        assert summary["unacked"] == 0, summary
        frames, events = summary["acked"]["frames"], summary["events_acked"]
        assert frames >= DOWN_S * CAMERAS * FRAME_FPS * 0.8, summary
        rows = "SELECT count(*) FROM frame_metadata WHERE camera_id = ANY(%s)"
        harness.wait_count(frames, rows, cameras)
        assert harness.wait_rows(cameras, events).rows == events
        harness.wait_stream_events(cameras, events)
        trimmed = harness.metric(service, "vigil_ingest_frames_trimmed_total")
        assert frames_fanned_out(harness.redis_url, trimmed) == frames
        assert harness.stream_events(cameras) == events
    grown = f"RSS {base / MIB:.0f} MiB at the start, {peak / MIB:.0f} MiB at most"
    assert peak < base + LIMIT + MARGIN, f"{grown} while Redis was down"
    assert acked_while_down == 0, "a message was acknowledged before its fan-out"
    assert paused == 1, "reading was not paused while Redis was down"
    assert LIMIT <= held < LIMIT + 16 * MIB, f"{held / MIB:.1f} MiB held"
