"""The demo's simulated ONVIF cameras: `vigil-onvif-sim` as a child process, and the demo
cameras pointed at it so the optimizer can inspect, recommend and apply.

Demo camera ``i`` (``demo-cam-00i``) is simulated camera ``onvif-{i-1}`` on
``base_port + i - 1`` (Hikvision and Axis alternate). The first ``degraded_count(n)`` cameras
are the ones camsim reports as dark and noisy (``--degraded``): their simulated scene is made
dark and noisy too, so the snapshot the optimizer fetches agrees with the health samples. Every
other demo camera has the ``auto`` apply policy (applying from a confidence of 0.5: the demo's
fake Claude answers 0.5) on even indexes and ``manual`` on odd ones, so the demo shows both an
applied recommendation and one waiting for ``vigil recommendations approve``.

The cameras' ONVIF login is random per data folder and stored only encrypted, with the demo's
own ``VIGIL_SECRET_KEY`` (a Fernet key in ``<data dir>/demo-secret.key``, mode 0600), which the
optimizer and the CLI get in their environment.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg

from vigil_cli.camera_models import CameraUpdate
from vigil_runtime.crypto import generate_key
from vigil_runtime.stack.procs import log_tail
from vigil_schema.camera import CameraCredentials

ONVIF_USER: Final = "vigil-demo"
DARK_SCENE: Final = {"darkness": 0.85, "noise": 12.0}
"""The degraded cameras' simulated scene: too dark and noisy, as camsim reports them."""
START_TIMEOUT_S: Final = 15.0
STOP_TIMEOUT_S: Final = 10.0


def degraded_count(camera_count: int) -> int:
    """How many demo cameras report a degraded picture: a quarter, at least one."""
    return max(1, camera_count // 4)


def demo_secret_key(data_dir: Path) -> str:
    """The demo's Fernet key, created on first use."""
    path = data_dir / "demo-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_key())
    return path.read_text().strip()


def demo_onvif_password(data_dir: Path) -> str:
    """The simulated cameras' password, random per data folder."""
    path = data_dir / "demo-onvif.password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(16))
    return path.read_text().strip()


def free_port_range(count: int, start: int = 18000, end: int = 60000) -> int:
    """The first port of ``count`` consecutive ports free on 127.0.0.1."""
    base = start
    while base + count < end:
        if all(_free(base + i) for i in range(count)):
            return base
        base += count + 1
    raise RuntimeError(f"no {count} consecutive free ports between {start} and {end}")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def camera_updates(count: int, base_port: int, password: str) -> dict[str, CameraUpdate]:
    """The ONVIF address, login and apply policy of each demo camera."""
    credentials = CameraCredentials.model_validate({"username": ONVIF_USER, "password": password})
    updates = {}
    for index in range(count):
        policy = "auto" if index % 2 == 0 else "manual"
        updates[f"demo-cam-{index + 1:03d}"] = CameraUpdate.model_validate(
            {"ip": "127.0.0.1", "onvif_port": base_port + index, "credentials": credentials,
             "purpose": "overview", "apply_policy": policy, "auto_apply_min_confidence": 0.5,
             "tags": {"lighting": "artificial", "motion": "low"}}
        )  # fmt: skip
    return updates


@dataclass
class OnvifSim:
    """The running simulator process."""

    process: subprocess.Popen[bytes]
    log_path: Path
    base_port: int

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)

    def set_scene(self, index: int, scene: dict[str, float]) -> None:
        """Change simulated camera ``index``'s scene through its control API."""
        url = f"http://127.0.0.1:{self.base_port + index}/sim/onvif-{index}/scene"
        request = urllib.request.Request(url, data=json.dumps(scene).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=5.0):
            pass

    def stop(self) -> int:
        if self.running:
            self.process.terminate()
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_onvif_sim(data_dir: Path, count: int, password: str) -> OnvifSim:
    """Start ``count`` simulated cameras on free ports; darken the degraded ones' scenes."""
    base_port = free_port_range(count)
    log_path = data_dir / "logs" / "onvif-sim.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "vigil_tools.onvif_sim", "--cameras", str(count),
               "--base-port", str(base_port), "--vendor", "mixed", "--user", ONVIF_USER,
               "--password", password]  # fmt: skip
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    sim = OnvifSim(process, log_path, base_port)
    deadline = time.monotonic() + START_TIMEOUT_S
    while _free(base_port + count - 1):
        if not sim.running or time.monotonic() > deadline:
            sim.stop()
            raise RuntimeError(f"vigil-onvif-sim did not start:\n{sim.log_tail()}")
        time.sleep(0.1)
    for index in range(degraded_count(count)):
        sim.set_scene(index, DARK_SCENE)
    return sim


OPTIMIZER_SQL: Final = """
SELECT (SELECT count(*) FROM optimizations WHERE camera_id = ANY(%(ids)s)),
       (SELECT count(*) FROM optimizations WHERE camera_id = ANY(%(ids)s)
          AND status IN ('proposed', 'approved')),
       (SELECT count(*) FROM applied_configs WHERE camera_id = ANY(%(ids)s)
          AND status = 'success'),
       (SELECT count(*) FROM snapshots WHERE camera_id = ANY(%(ids)s))
"""


def wait_for_optimizer(
    database_url: str, camera_ids: list[str], stop: threading.Event, *, timeout_s: float
) -> tuple[int, int, int, int]:
    """Poll until the degraded cameras have a recommendation and one was applied (or
    ``stop``/``timeout_s``); (recommendations, waiting for approval, applied, snapshots)."""
    deadline = time.monotonic() + timeout_s
    counts = (0, 0, 0, 0)
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(OPTIMIZER_SQL, {"ids": camera_ids}).fetchone()
            counts = (0, 0, 0, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]),
                                                       int(row[3]))  # fmt: skip
            if counts[0] > 0 and counts[2] > 0:
                return counts
            if time.monotonic() >= deadline or stop.wait(0.5):
                return counts
