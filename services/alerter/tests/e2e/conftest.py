"""Fixtures of the alerter's end-to-end tests: the real ``vigil-alerter`` process (through
``run_service_process``), Debian's real Alertmanager and Prometheus
(:mod:`vigil_tools.prom_processes`) and webhook sinks (:mod:`vigil_tools.webhook_sink`).

:class:`AlertingHarness` (fixture ``alerting``) binds one test's stack and folder: it writes
a configuration (:func:`routing_config`: one routing tree, valid for both Alertmanager and
the alerter, every receiver a webhook to a given sink), starts sinks, Alertmanager and
alerter replicas, and reads rows back. :func:`group_summary` reduces what a sink received to
what must be the same for both implementations: per (receiver, groupKey), the groupLabels
and the fingerprints ever notified firing and resolved. Test modules cannot import a conftest
(``--import-mode=importlib``): everything is reached through the fixture (and its types
under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from vigil_runtime.stack.procs import free_port
from vigil_runtime.testing.services import ServiceLauncher, ServiceProcess
from vigil_tools.prom_processes import (
    AlertmanagerApi,
    PromProcess,
    alertmanager_available,
    start_alertmanager,
)
from vigil_tools.webhook_sink import SinkThread, WebhookSink, sink_in_thread

T = TypeVar("T")
WAIT_S = 60.0
POLL_S = 0.2


RECEIVERS = ("default", "cams", "pager", "ops")


def routing_config(sink_url: str, *, group_wait: str = "1s", group_interval: str = "2s",
                   repeat_interval: str = "1h") -> str:  # fmt: skip
    """One routing tree for both implementations: group_by, ``continue``, a nested route,
    matchers (equality, regex, ``...``), an inhibition; each receiver posts to
    ``<sink_url>/<receiver>``."""
    receivers = "\n".join(
        f"  - name: {name}\n    webhook_configs:\n"
        f"      - url: {sink_url}/{name}\n        send_resolved: true"
        for name in RECEIVERS
    )
    return f"""\
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: [alertname]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: {repeat_interval}
  routes:
    - matchers: ['team="cams"']
      receiver: cams
      group_by: [alertname, site]
      continue: true
      routes:
        - matchers: ['severity="critical"']
          receiver: pager
          group_by: [site]
    - matchers: ['severity=~"warning|critical"']
      receiver: ops
      group_by: ['...']
inhibit_rules:
  - source_matchers: ['alertname="SiteDown"']
    target_matchers: ['alertname="CameraOffline"']
    equal: [site]
receivers:
{receivers}
"""


def postable(labels: Mapping[str, str], *, ends_at: datetime | None = None,
             starts_at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """A PostableAlert of Alertmanager's v2 API."""
    alert: dict[str, Any] = {
        "labels": dict(labels),
        "annotations": {"summary": f"{labels.get('alertname')} test"},
        "generatorURL": "http://example.invalid/graph",
    }
    if starts_at is not None:
        alert["startsAt"] = starts_at.isoformat()
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    return alert


def utcnow() -> datetime:
    return datetime.now(UTC)


def silence_body(name: str, value: str, minutes: int = 60) -> dict[str, Any]:
    now = utcnow()
    return {
        "matchers": [{"name": name, "value": value, "isRegex": False, "isEqual": True}],
        "startsAt": (now - timedelta(seconds=5)).isoformat(),
        "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
        "createdBy": "e2e",
        "comment": "muted by the end-to-end test",
    }


@dataclass(frozen=True)
class GroupSeen:
    """What one implementation notified for one aggregation group."""

    group_labels: dict[str, str]
    firing: frozenset[str]
    resolved: frozenset[str]
    notifications: int


def group_summary(sink: SinkThread) -> dict[tuple[str, str], GroupSeen]:
    """(receiver, groupKey) → its labels and the fingerprints ever sent firing / resolved."""
    seen: dict[tuple[str, str], GroupSeen] = {}
    for record in sink.sink.snapshot():
        body = record.body
        key = (str(body["receiver"]), str(body["groupKey"]))
        firing = {a["fingerprint"] for a in body["alerts"] if a["status"] == "firing"}
        resolved = {a["fingerprint"] for a in body["alerts"] if a["status"] == "resolved"}
        old = seen.get(key)
        seen[key] = GroupSeen(
            dict(body["groupLabels"]),
            (old.firing if old else frozenset()) | firing,
            (old.resolved if old else frozenset()) | resolved,
            (old.notifications if old else 0) + 1,
        )
    return seen


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], what: str,
             logs: Callable[[], str] = lambda: "", timeout_s: float = WAIT_S) -> T:  # fmt: skip
    """Poll ``probe`` until ``done``; AssertionError naming ``what`` (and the logs) if not."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value):
        assert time.monotonic() < deadline, f"{what}: still {value!r}\n{logs()}"
        time.sleep(POLL_S)
        value = probe()
    return value


@dataclass
class AlertingHarness:
    """One test's alerter world (see the module docstring)."""

    launcher: ServiceLauncher
    database_url: str
    workdir: Path
    _cleanup: ExitStack = field(default_factory=ExitStack)

    routing_config = staticmethod(routing_config)
    postable = staticmethod(postable)
    silence_body = staticmethod(silence_body)
    summary = staticmethod(group_summary)
    wait_for = staticmethod(wait_for)
    now = staticmethod(utcnow)

    def sink(self, sink: WebhookSink | None = None) -> SinkThread:
        """A webhook sink on a free port, stopped at teardown."""
        return self._cleanup.enter_context(sink_in_thread(free_port(), sink))

    def alertmanager(self, config_yaml: str) -> PromProcess:
        process = start_alertmanager(config_yaml, self.workdir)
        self._cleanup.callback(process.stop)
        return process

    def write_config(self, text: str, name: str = "alerter.yml") -> Path:
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return path

    def start_alerter(self, config: Path, env: Mapping[str, str] | None = None) -> ServiceProcess:
        """A ``vigil-alerter`` replica with ``config``, ready (killed at teardown)."""
        return self.launcher.start("alerter", env={
            "VIGIL_ALERTER_CONFIG": str(config), "VIGIL_ALERTER_FLUSH_INTERVAL_S": "0.2",
            "VIGIL_LOG_LEVEL": "INFO", **(env or {})})  # fmt: skip

    def api(self, process: ServiceProcess | PromProcess) -> AlertmanagerApi:
        return AlertmanagerApi(process.url)

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return list(conn.execute(sql, args).fetchall())

    def close(self) -> None:
        self._cleanup.close()


@pytest.fixture
def alerting(
    run_service_process: ServiceLauncher, database_url: str, tmp_path: Path
) -> Iterator[AlertingHarness]:
    if not alertmanager_available():
        pytest.skip("Debian's prometheus-alertmanager is not installed")
    harness = AlertingHarness(run_service_process, database_url, tmp_path)
    try:
        yield harness
    finally:
        run_service_process.kill_all()
        harness.close()


def fingerprints(alerts: Sequence[dict[str, Any]]) -> set[str]:
    """The fingerprints the API lists for ``alerts`` (GET /api/v2/alerts)."""
    return {str(alert["fingerprint"]) for alert in alerts}
