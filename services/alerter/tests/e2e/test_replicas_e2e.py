"""End-to-end: two ``vigil-alerter`` replicas on the same PostgreSQL and Redis, each sent
the same alerts (as a Prometheus HA pair sends every alert to every Alertmanager), notify
each aggregation group once: one firing notification per group, then one resolved one, no
body sent twice (distinct ``Idempotency-Key`` values), and one ``sent`` outbox row per body
received.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from vigil_schema.messages import label_fingerprint

if TYPE_CHECKING:
    from services.alerter.tests.e2e.conftest import AlertingHarness

ALERTS = [
    {"alertname": "CameraOffline", "team": "cams", "site": site, "camera": f"c{i}",
     "severity": severity}
    for i, (site, severity) in enumerate(
        [("north", "warning"), ("north", "critical"), ("south", "warning"), ("south", "critical")]
    )
] + [{"alertname": "DiskFull", "host": "h1"}, {"alertname": "DiskFull", "host": "h2"}]  # fmt: skip


def test_two_replicas_notify_each_group_once(alerting: AlertingHarness) -> None:
    sink = alerting.sink()
    config = alerting.write_config(alerting.routing_config(sink.base_url))
    first, second = alerting.start_alerter(config), alerting.start_alerter(config)

    def logs() -> str:
        return first.describe("log") + "\n" + second.describe("log")

    for replica in (first, second):
        alerting.api(replica).post_alerts([alerting.postable(labels) for labels in ALERTS])
    # cams: north, south; pager: north, south; ops: one per warning/critical alert; default
    expected_groups = 2 + 2 + 4 + 1
    alerting.wait_for(lambda: alerting.summary(sink), lambda seen: len(seen) == expected_groups,
                      "every group notified firing", logs)  # fmt: skip
    ended = alerting.now() - timedelta(seconds=1)
    for replica in (second, first):
        alerting.api(replica).post_alerts(
            [alerting.postable(labels, ends_at=ended) for labels in ALERTS]
        )
    final = alerting.wait_for(
        lambda: alerting.summary(sink),
        lambda seen: all(g.resolved and g.resolved == g.firing for g in seen.values()),
        "every group notified resolved", logs,
    )  # fmt: skip
    every = {label_fingerprint(labels) for labels in ALERTS}
    assert set().union(*(g.firing for g in final.values())) == every
    assert len(final) == expected_groups
    rows = alerting.wait_for(
        lambda: alerting.rows("SELECT status, idempotency_key FROM notifications"),
        lambda got: {row[0] for row in got} == {"sent"}, "rows marked sent", logs,
    )  # fmt: skip
    statuses = Counter(r.body["status"] for r in sink.sink.snapshot())
    assert statuses == {"firing": expected_groups, "resolved": expected_groups}, statuses
    keys = Counter(str(r.headers.get("Idempotency-Key")) for r in sink.sink.snapshot())
    assert max(keys.values()) == 1, keys
    assert set(keys) == {row[1] for row in rows}
    assert all(g.notifications == 2 for g in final.values()), final
    assert first.returncode is None
    assert second.returncode is None
