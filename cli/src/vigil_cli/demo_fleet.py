"""The demo's simulated camera fleet: which cameras, and the `vigil-camsim` process feeding them.

The demo registers `demo-cam-001` … `demo-cam-NNN`, exactly the ids camsim derives from
`--camera-prefix demo-cam-` (its naming is `{prefix}{index:03d}`), so every message camsim
publishes is for a registered camera. camsim runs at a modest rate: a few events per second
per camera in small batches, a small share of malformed messages (they land in
`ingest_rejects`, so rejects show up in `vigil status`), health samples, and JPEG frames at a
low rate when the broker speaks MQTT v5 (frame headers travel as v5 user properties; the
embedded amqtt broker is 3.1.1 only).

On SIGTERM camsim drains, publishes a retained `offline` status per camera and exits, so it is
stopped before the ingest that stores those statuses.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg

from vigil_cli.camera_models import NewCamera
from vigil_runtime.stack import StackInfo
from vigil_runtime.stack.procs import log_tail
from vigil_schema.camera import ZoneConfig

CAMERA_PREFIX: Final = "demo-cam-"
SCENES: Final[tuple[tuple[str, str], ...]] = (
    ("Lobby", "lobby"),
    ("Parking lot", "parking"),
    ("Loading dock", "loading_dock"),
    ("Main entrance", "entrance"),
    ("Warehouse aisle", "warehouse"),
    ("Back door", "entrance"),
    ("Reception", "lobby"),
    ("Yard", "parking"),
)
_HALVES: Final = {
    "left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
    "right": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]],
}
DEMO_ZONES: Final = ZoneConfig.model_validate(
    {"zones": [{"name": name, "polygon": polygon, "classes": ["person", "cat"]}
               for name, polygon in _HALVES.items()]}
)  # fmt: skip
"""Two halves of the frame: camsim's subjects walk across both, so occupancy and entries
change all the time in the demo."""
HEALTH_INTERVAL_S: Final = 5
"""camsim's seconds between health samples; cameras are registered expecting twice that."""
EVENTS_PER_S: Final = 2.0
EVENTS_PER_MESSAGE: Final = 2
BAD_RATIO: Final = 0.02
FRAMES_PER_S: Final = 1.0
"""Frames per camera per second: enough for the analyzer's detections and occupancy to move."""
RUN_FOREVER_S: Final = 365 * 86_400.0
"""camsim's `--duration`: the demo stops it with SIGTERM long before."""
DRAIN_S: Final = 5.0
STOP_TIMEOUT_S: Final = DRAIN_S + 10.0


def demo_camera_ids(count: int) -> list[str]:
    """The ids camsim publishes for with `--cameras count --camera-prefix demo-cam-`."""
    return [f"{CAMERA_PREFIX}{index:03d}" for index in range(1, count + 1)]


def demo_cameras(count: int) -> list[NewCamera]:
    """The cameras to register: camsim's ids, named after the scenes they pretend to watch."""
    cameras = []
    for index, camera_id in enumerate(demo_camera_ids(count)):
        name, scene = SCENES[index % len(SCENES)]
        lap = index // len(SCENES)
        cameras.append(
            NewCamera(
                id=camera_id,
                name=f"{name} {lap + 1}" if lap else name,
                site="demo",
                scene_type=scene,
                health_interval_s=2 * HEALTH_INTERVAL_S,
                zone_config=DEMO_ZONES,
            )
        )
    return cameras


def camsim_command(info: StackInfo, count: int, degraded: int = 0) -> list[str]:
    """The `vigil-camsim` command line for `count` demo cameras on this stack's broker, the
    first `degraded` of them reporting a dark, noisy picture."""
    protocol = info.env().get("VIGIL_MQTT_PROTOCOL", "v5")
    command = [
        sys.executable, "-m", "vigil_tools.camsim",
        "--url", info.mqtt_url,
        "--protocol", protocol,
        "--cameras", str(count),
        "--camera-prefix", CAMERA_PREFIX,
        "--fps", str(EVENTS_PER_S),
        "--batch", str(EVENTS_PER_MESSAGE),
        "--bad-ratio", str(BAD_RATIO),
        "--health-interval", str(HEALTH_INTERVAL_S),
        "--duration", str(RUN_FOREVER_S),
        "--drain-timeout", str(DRAIN_S),
        "--client-id-prefix", "vigil-demo",
        "--degraded", str(degraded),
    ]  # fmt: skip
    if protocol == "v5":
        command += ["--frame-fps", str(FRAMES_PER_S), "--resolution", "640x360",
                    "--frame-pool", "4"]  # fmt: skip
    return command


@dataclass
class Camsim:
    """The running camsim process and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> int:
        """SIGTERM (camsim drains and publishes `offline`), SIGKILL after a timeout; exit code."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_camsim(info: StackInfo, count: int, degraded: int = 0) -> Camsim:
    """Start camsim for `count` demo cameras, logging to `<data dir>/logs/camsim.log`."""
    log_path = info.data_dir / "logs" / "camsim.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            camsim_command(info, count, degraded),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops camsim first
        )
    return Camsim(process, log_path)


def wait_for_events(
    database_url: str, camera_ids: list[str], camsim: Camsim, stop: threading.Event,
    *, min_s: float, timeout_s: float,
) -> dict[str, int]:  # fmt: skip
    """Poll until every camera has a row in camera_events and `min_s` have passed, or camsim
    exits, `stop` is set or `timeout_s` is up; the rows per camera."""
    start = time.monotonic()
    deadline = start + timeout_s
    counts: dict[str, int] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT camera_id, count(*) FROM camera_events WHERE camera_id = ANY(%s) "
                "GROUP BY camera_id",
                (camera_ids,),
            ).fetchall()
            counts = {camera_id: int(n) for camera_id, n in rows}
            done = all(counts.get(camera_id) for camera_id in camera_ids)
            done = done and time.monotonic() - start >= min_s
            if done or not camsim.running or time.monotonic() >= deadline or stop.wait(0.5):
                return {camera_id: counts.get(camera_id, 0) for camera_id in camera_ids}


ANALYSIS_SQL: Final = """
SELECT (SELECT count(*) FROM detections WHERE camera_id = ANY(%(ids)s)),
       (SELECT count(DISTINCT camera_id) FROM detections WHERE camera_id = ANY(%(ids)s)),
       (SELECT count(*) FROM occupancy_events WHERE camera_id = ANY(%(ids)s)),
       (SELECT count(*) FROM claude_analyses WHERE camera_id = ANY(%(ids)s))
"""


def _state(camera_id: str) -> str:
    return f"vigil:camera:{camera_id}:state"


def wait_for_analysis(
    redis_url: str, database_url: str, camera_ids: list[str], stop: threading.Event,
    *, timeout_s: float,
) -> tuple[list[str], tuple[int, ...]]:  # fmt: skip
    """Poll until the analyzer has analysed a frame of every camera (its ``analyzer_at``
    state field) and stored a Claude analysis, or `stop`/`timeout_s`; the cameras still
    waiting, and (detections rows, cameras with detections, occupancy rows, claude_analyses
    rows)."""
    import redis

    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(redis_url)
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while True:
                waiting = [c for c in camera_ids if not client.hget(_state(c), "analyzer_at")]
                row = conn.execute(ANALYSIS_SQL, {"ids": camera_ids}).fetchone()
                counts = (0, 0, 0, 0) if row is None else tuple(int(n) for n in row)
                if not waiting and counts[3] > 0:
                    break
                if time.monotonic() >= deadline or stop.wait(0.5):
                    break
    finally:
        client.close()
    return waiting, counts
