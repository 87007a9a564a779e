"""End-to-end: Debian's real Prometheus, evaluating an always-firing alerting rule
(``vector(1)``), with ``alerting.alertmanagers`` pointing at an Alertmanager v2 API, gets
its alert to the webhook sink: through the real ``vigil-alerter`` process (a drop-in
Alertmanager for Prometheus), and, as the reference, through Debian's real Alertmanager.
The alert arrives with the rule's labels and annotations, the fingerprint of its label set
and Prometheus' generator URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from vigil_schema.messages import label_fingerprint
from vigil_tools.prom_processes import prometheus_available, start_prometheus

if TYPE_CHECKING:
    from pathlib import Path

    from services.alerter.tests.e2e.conftest import AlertingHarness

pytestmark = pytest.mark.skipif(not prometheus_available(), reason="no Debian prometheus")

RULES = """\
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          severity: warning
          team: cams
          site: prom
        annotations:
          summary: always firing
"""
LABELS = {"alertname": "AlwaysFiring", "severity": "warning", "team": "cams", "site": "prom"}


def prometheus_config(target_port: int) -> str:
    return f"""\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ['127.0.0.1:{target_port}']
"""


def cams_alerts(alerting: AlertingHarness, sink_records: list[Any]) -> list[dict[str, Any]]:
    return [alert for record in sink_records if record.body.get("receiver") == "cams"
            for alert in record.body["alerts"]]  # fmt: skip


@pytest.mark.parametrize("target", ["alertmanager", "alerter"])
def test_prometheus_rule_reaches_the_webhook(
    alerting: AlertingHarness, tmp_path: Path, target: str
) -> None:
    sink = alerting.sink()
    config = alerting.routing_config(sink.base_url)
    if target == "alertmanager":
        server: Any = alerting.alertmanager(config)
    else:
        server = alerting.start_alerter(alerting.write_config(config))
    prometheus = start_prometheus(prometheus_config(server.port), RULES, tmp_path)
    try:
        alerts = alerting.wait_for(
            lambda: cams_alerts(alerting, sink.sink.snapshot()),
            bool,
            f"Prometheus' alert through {target}",
            lambda: prometheus.describe("log") + "\n" + server.describe("log"),
        )
    finally:
        prometheus.stop()
    alert = alerts[0]
    assert alert["status"] == "firing"
    assert alert["labels"] == LABELS
    assert alert["annotations"] == {"summary": "always firing"}
    assert alert["fingerprint"] == label_fingerprint(LABELS)
    assert alert["generatorURL"].startswith("http://")
    body = next(r.body for r in sink.sink.snapshot() if r.body["receiver"] == "cams")
    assert body["groupLabels"] == {"alertname": "AlwaysFiring", "site": "prom"}
    assert body["groupKey"] == '{}/{team="cams"}:{alertname="AlwaysFiring", site="prom"}'
