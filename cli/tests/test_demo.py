"""`vigil demo --once`: the whole platform up on a simulated fleet, ready and down again."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vigil_runtime.stack import LocalStack

SERVICES = ("ingest", "analyzer", "optimizer", "alerter", "retention")


def _demo(tmp_path: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    return subprocess.run(
        [sys.executable, "-m", "vigil_cli.main", "demo", "--once", "--base-port", "0",
         "--data-dir", str(data_dir), *args],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def _assert_cameras_live(out: str, count: int) -> None:
    """Rows arrived from every camera, and the status shows each one's rate and last-seen."""
    arrived = re.search(rf"^camera_events rows: (\d+) from {count} cameras$", out, re.M)
    assert arrived, out
    assert int(arrived[1]) >= count
    assert f"Cameras ({count})" in out
    for index in range(1, count + 1):
        analyzer = r"(?: +[\d.]+ +\d+ +left=\d+ right=\d+| +- +- +-)"  # frames or none
        row = re.search(rf"^demo-cam-{index:03d} .* online +(\d+)s ago +(\d+) +([\d.]+) +\d+"
                        rf"{analyzer}$", out, re.M)  # fmt: skip
        assert row, out
        age_s, per_min, per_s = int(row[1]), int(row[2]), float(row[3])
        assert age_s < 10, row[0]
        assert per_min > 0, row[0]
        assert per_s > 0, row[0]
    fleet = re.search(rf"^fleet: {count} cameras, {count} online, 0 offline, (\d+) events/min",
                      out, re.M)  # fmt: skip
    assert fleet, out
    assert int(fleet[1]) > 0


def _camsim_summary(data_dir: Path) -> dict[str, Any]:
    text = (data_dir / "logs" / "camsim.log").read_text()
    summary: dict[str, Any] = json.loads(text[text.index("\n{") + 1 :])
    return summary


@pytest.mark.slow
def test_demo_once_brings_everything_up_and_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = _demo(tmp_path, data_dir, "--cameras", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "demo cameras: 4 registered, 0 existed" in out
    logins = ", ".join(sorted(f"vigil_{name}_login" for name in SERVICES))
    assert f"connected to PostgreSQL as: {logins}\n" in out
    _assert_cameras_live(out, 4)
    pattern = (
        r"^analyzer: detections rows (\d+) from (\d+) cameras, "
        r"occupancy_events rows (\d+), claude_analyses rows (\d+)$"
    )
    analysed = re.search(pattern, out, re.M)
    assert analysed, out
    assert int(analysed[4]) > 0, out  # the fake Anthropic API answered the analyzer
    for index in range(1, 5):  # every camera's frames analysed: its analyzer columns are filled
        row = re.search(rf"^demo-cam-{index:03d} .* ([\d.]+) +(\d+) +left=\d+ right=\d+$", out,
                        re.M)  # fmt: skip
        assert row, out
        assert float(row[1]) > 0, row[0]
    assert "Services (5)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    for name in SERVICES:
        assert rows[name][3:6] == ["running", "yes", "yes"], out
    for name in SERVICES:  # every service drained on SIGTERM and said so in its log
        log = (data_dir / "logs" / f"{name}.log").read_text()
        assert '"exit_code": 0' in log, log[-2000:]
    summary = _camsim_summary(data_dir)  # camsim stopped cleanly, everything acknowledged
    assert (summary["protocol"], summary["failed"], summary["unacked"]) == ("v5", 0, 0)
    assert summary["events_acked"] >= 4
    assert summary["acked"]["frames"] > 0
    assert not any(server["alive"] for server in LocalStack(data_dir).status().values())


@pytest.mark.slow
def test_demo_once_on_the_embedded_mqtt_broker_speaks_mqtt_311(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = _demo(tmp_path, data_dir, "--cameras", "2", "--embedded", "mqtt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mqtt=embedded" in result.stdout
    assert "VIGIL_MQTT_PROTOCOL=v311" in (data_dir / "stack.env").read_text().splitlines()
    _assert_cameras_live(result.stdout, 2)
    summary = _camsim_summary(data_dir)
    assert (summary["protocol"], summary["failed"], summary["unacked"]) == ("v311", 0, 0)
    assert summary["acked"]["frames"] == 0
    assert not any(server["alive"] for server in LocalStack(data_dir).status().values())
