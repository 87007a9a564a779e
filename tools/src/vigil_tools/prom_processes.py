"""Debian's real Alertmanager and Prometheus as local processes, for tests and benchmarks.

:func:`start_alertmanager` runs ``/usr/bin/prometheus-alertmanager`` with a configuration
text (Alertmanager's format: the alerter's own file minus Vigil's extensions), its storage in
a temporary folder, ``--web.listen-address=127.0.0.1:PORT`` and clustering off
(``--cluster.listen-address=``), and waits for ``/-/ready``. :func:`start_prometheus` runs
``/usr/bin/prometheus`` with a configuration text (its rules in a file beside it) the same way.
Both return a :class:`PromProcess` (``url``, ``stop()``, ``log``); :class:`AlertmanagerApi` is
a minimal client of the v2 API both Alertmanager and vigil-alerter serve (post alerts, list
alerts and groups, create and expire silences).

:func:`alertmanager_available` says whether the binaries are installed (tests skip without).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil_runtime.stack.procs import free_port

__all__ = [
    "ALERTMANAGER",
    "PROMETHEUS",
    "AlertmanagerApi",
    "PromProcess",
    "alertmanager_available",
    "prometheus_available",
    "start_alertmanager",
    "start_prometheus",
]

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
PROMETHEUS = "/usr/bin/prometheus"
READY_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 5.0


def alertmanager_available() -> bool:
    return Path(ALERTMANAGER).exists() or shutil.which("prometheus-alertmanager") is not None


def prometheus_available() -> bool:
    return Path(PROMETHEUS).exists()


@dataclass
class PromProcess:
    """A running Alertmanager or Prometheus child."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self, problem: str) -> str:
        tail = self.log.read_text(errors="replace")[-4000:]
        return f"{self.name} (port {self.port}): {problem}\n--- log tail ---\n{tail}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; reaped."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _binary(path: str, name: str) -> str:
    return path if Path(path).exists() else (shutil.which(name) or path)


def _spawn(name: str, argv: list[str], port: int, log: Path) -> PromProcess:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    child = PromProcess(name, port, process, log)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(child.describe(f"exited with {process.returncode}"))
        try:
            with urllib.request.urlopen(child.url + "/-/ready", timeout=1) as resp:
                if resp.status == 200:
                    return child
        except OSError:
            pass
        time.sleep(0.1)
    child.stop()
    raise RuntimeError(child.describe(f"not ready within {READY_TIMEOUT_S}s"))


def start_alertmanager(config_yaml: str, workdir: Path) -> PromProcess:
    """Alertmanager with ``config_yaml``, its files in ``workdir/alertmanager``."""
    folder = workdir / "alertmanager"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "alertmanager.yml"
    config.write_text(config_yaml, encoding="utf-8")
    port = free_port()
    argv = [_binary(ALERTMANAGER, "prometheus-alertmanager"), f"--config.file={config}",
            f"--storage.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=", "--log.level=info"]  # fmt: skip
    return _spawn("alertmanager", argv, port, folder / "alertmanager.log")


def start_prometheus(
    config_yaml: str, rules_yaml: str, workdir: Path, *, resend_delay: str = "1s"
) -> PromProcess:
    """Prometheus with ``config_yaml``; ``rules_yaml`` is written to ``rules.yml`` beside it
    (list it under ``rule_files``). ``resend_delay``: how often a firing alert is sent again
    (Prometheus' default 1m would leave a test waiting: the first send, at the first
    evaluation, usually comes before the Alertmanager targets are discovered and is dropped)."""
    folder = workdir / "prometheus"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(rules_yaml, encoding="utf-8")
    config = folder / "prometheus.yml"
    config.write_text(config_yaml, encoding="utf-8")
    port = free_port()
    argv = [_binary(PROMETHEUS, "prometheus"), f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
            f"--rules.alert.resend-delay={resend_delay}", "--log.level=info"]  # fmt: skip
    return _spawn("prometheus", argv, port, folder / "prometheus.log")


class AlertmanagerApi:
    """The v2 API at ``base_url`` (Alertmanager's or vigil-alerter's)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v2"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise AssertionError(f"{method} {self.base}{path}: {exc.code} {detail}") from None
        return json.loads(raw) if raw.strip() else None

    def post_alerts(self, alerts: Sequence[dict[str, Any]]) -> None:
        self._call("POST", "/alerts", list(alerts))

    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", "/alerts")
        return found

    def groups(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", "/alerts/groups")
        return found

    def create_silence(self, silence: dict[str, Any]) -> str:
        answer = self._call("POST", "/silences", silence)
        return str(answer["silenceID"])

    def silences(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", "/silences")
        return found

    def expire_silence(self, silence_id: str) -> None:
        self._call("DELETE", f"/silence/{silence_id}")
