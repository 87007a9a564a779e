"""`vigil demo --once`: the whole platform up, ready and down again, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vigil_runtime.stack import LocalStack

SERVICES = ("ingest", "analyzer", "optimizer", "alerter", "retention")


@pytest.mark.slow
def test_demo_once_brings_everything_up_and_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    result = subprocess.run(
        [sys.executable, "-m", "vigil_cli.main", "demo", "--once", "--base-port", "0",
         "--cameras", "4", "--data-dir", str(data_dir)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "demo cameras: 4 registered, 0 existed" in out
    assert "Cameras (4)" in out
    for camera in ("demo-lobby", "demo-parking", "demo-loading-dock", "demo-entrance"):
        assert camera in out
    assert "Services (5)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    for name in SERVICES:
        assert rows[name][3:6] == ["running", "yes", "yes"], out
    for name in SERVICES:  # every service drained on SIGTERM and said so in its log
        log = (data_dir / "logs" / f"{name}.log").read_text()
        assert '"exit_code": 0' in log, log[-2000:]
    assert not any(server["alive"] for server in LocalStack(data_dir).status().values())
