"""The demo's alert receiver: `vigil-webhook-sink` as a child process, and the alerter's config.

`make demo` routes every alert to a local webhook (Alertmanager's v4 body, HMAC-signed) so
that notifications are seen to go out without any account anywhere: the sink appends each
request to ``<data dir>/alerts-webhook.jsonl`` and `vigil status` shows the ``demo-webhook``
receiver's deliveries (sent, pending, failed) from the ``notifications`` table. The alerter
runs with ``<data dir>/alerter.yml`` (written here: group by alert and camera, short waits so
that the demo shows notifications within seconds, a camera_offline alert muting the same
camera's other alerts, and a rule over ``vigil:detections`` raising an alert for whatever the
analyzer sees) and an API token kept in ``<data dir>/alerter-api-token``. The HMAC
secret is generated per data folder too; neither is a real secret.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SECRET_ENV: Final = "VIGIL_DEMO_WEBHOOK_SECRET"
RECEIVER: Final = "demo-webhook"

CONFIG_TEMPLATE: Final = """\
# Written by `vigil demo`: every alert to the local webhook sink ({sink_url}).
route:
  receiver: {receiver}
  group_by: [alertname, camera_id]
  group_wait: 5s
  group_interval: 30s
  repeat_interval: 1h
receivers:
  - name: {receiver}
    webhook_configs:
      - url: {sink_url}
        send_resolved: true
        hmac_secret_env: {secret_env}
inhibit_rules:
  - source_matchers: ['alertname="camera_offline"']
    target_matchers: ['alertname!="camera_offline"']
    equal: [camera_id]
rules:
  # The alerter's own rule over vigil:detections: anything the analyzer sees raises an
  # info alert per camera and class, resolved a minute after the last sighting.
  - name: demo_object_in_view
    stream: detections
    severity: info
    min_confidence: 0.3
    resolve_after: 1m
    annotations:
      summary: something is in view
"""


@dataclass
class WebhookSinkProcess:
    """The running sink: where it listens, where it records, how to stop it."""

    url: str
    records: Path
    process: subprocess.Popen[bytes]

    def received(self) -> int:
        """How many notifications the sink recorded so far."""
        try:
            with self.records.open("rb") as handle:
                return sum(1 for _ in handle)
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _kept_secret(path: Path) -> str:
    """A random value kept in ``path`` (created on first use, owner-only)."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(24)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_webhook_sink(data_dir: Path, timeout_s: float = 15.0) -> WebhookSinkProcess:
    """Start the sink on a free port and wait until it answers; raises RuntimeError."""
    port = _free_port()
    records = data_dir / "alerts-webhook.jsonl"
    log_path = data_dir / "logs" / "webhook-sink.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, SECRET_ENV: _kept_secret(data_dir / "demo-webhook-secret")}
    argv = [sys.executable, "-m", "vigil_tools.webhook_sink", "--port", str(port),
            "--out", str(records), "--secret-env", SECRET_ENV]  # fmt: skip
    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    sink = WebhookSinkProcess(f"http://127.0.0.1:{port}/alerts", records, process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vigil-webhook-sink exited; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=1):
                return sink
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    sink.stop()
    raise RuntimeError(f"vigil-webhook-sink did not answer within {timeout_s:.0f} s")


def alerter_env(data_dir: Path, sink: WebhookSinkProcess, port: int) -> dict[str, str]:
    """The alerter's demo configuration file, API token, the webhook's HMAC secret, and its
    URL on ``port`` (the links in notifications)."""
    config = data_dir / "alerter.yml"
    config.write_text(
        CONFIG_TEMPLATE.format(sink_url=sink.url, receiver=RECEIVER, secret_env=SECRET_ENV)
    )
    return {
        "VIGIL_ALERTER_CONFIG": str(config),
        "VIGIL_ALERTER_API_TOKEN": _kept_secret(data_dir / "alerter-api-token"),
        "VIGIL_ALERTER_EXTERNAL_URL": f"http://127.0.0.1:{port}",
        SECRET_ENV: _kept_secret(data_dir / "demo-webhook-secret"),
    }


def wait_for_notification(
    sink: WebhookSinkProcess, stop: threading.Event, timeout_s: float
) -> bool:
    """Wait until the sink recorded a notification; False when none came in time."""
    deadline = time.monotonic() + timeout_s
    while sink.received() == 0:
        if time.monotonic() >= deadline or stop.wait(0.5):
            return False
    return True
