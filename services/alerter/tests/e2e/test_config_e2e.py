"""End-to-end: the real ``vigil-alerter`` process and a bad configuration file.

- At start: the process exits with status 2 before connecting anything, and its message
  names the file, the line and the field.
- On reload (SIGHUP, and by file change): the running tree stays, the process keeps serving
  and routing with it, ``vigil_alerter_config_last_reload_success`` drops to 0 and the log
  names the line and the field; a good file afterwards is taken again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from services.alerter.tests.e2e.conftest import AlertingHarness

BAD_GROUP_WAIT = """\
route:
  receiver: log
  group_by: [alertname]
  routes:
    - matchers: ['team="cams"']
      receiver: log
      group_wait: soon
receivers:
  - name: log
    log_configs: [{}]
"""


def _metric(url: str, name: str) -> float | None:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_a_bad_file_stops_the_start_naming_line_and_field(tmp_path: Path) -> None:
    config = tmp_path / "alerter.yml"
    config.write_text(BAD_GROUP_WAIT, encoding="utf-8")
    env = {**os.environ, "VIGIL_ALERTER_CONFIG": str(config),
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "vigil_alerter.main"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "alerter.yml:7:" in done.stderr, done.stderr
    assert "route.routes[0].group_wait" in done.stderr, done.stderr
    assert "soon" in done.stderr


def test_a_bad_file_on_reload_keeps_the_running_tree(alerting: AlertingHarness) -> None:
    good = alerting.routing_config("http://127.0.0.1:9/unused")
    config = alerting.write_config(good)
    alerter = alerting.start_alerter(config, env={"VIGIL_ALERTER_CONFIG_POLL_S": "3600"})
    metric = "vigil_alerter_config_last_reload_success"
    assert _metric(alerter.url, metric) == 1.0

    config.write_text(BAD_GROUP_WAIT, encoding="utf-8")
    os.kill(alerter.process.pid, signal.SIGHUP)
    alerting.wait_for(lambda: _metric(alerter.url, metric), lambda v: v == 0.0, "failed reload")
    with urllib.request.urlopen(f"{alerter.url}/api/v2/receivers", timeout=5) as response:
        receivers = json.loads(response.read())
    assert {r["name"] for r in receivers} == {"default", "cams", "pager", "ops"}  # the old tree
    assert alerter.process.poll() is None
    alerting.wait_for(
        lambda: alerter.stderr, lambda text: "route.routes[0].group_wait" in text, "reload log"
    )

    config.write_text(good.replace("group_wait: 1s", "group_wait: 2s"), encoding="utf-8")
    os.kill(alerter.process.pid, signal.SIGHUP)
    alerting.wait_for(lambda: _metric(alerter.url, metric), lambda v: v == 1.0, "good reload")
