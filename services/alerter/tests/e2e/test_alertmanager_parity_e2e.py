"""End-to-end: the same routing configuration and the same alerts, posted through
``POST /api/v2/alerts`` to Debian's real Alertmanager 0.25 and to the real ``vigil-alerter``
process, each notifying its own webhook sink, produce the same aggregation groups (receiver,
groupKey, groupLabels) with the same alert fingerprints per group, first firing, then
resolved; a silence created through each one's API mutes the same alert, and an inhibition
the same one.

The tree (conftest ``routing_config``) has group_by, ``continue``, a nested route, equality,
regex and ``...`` grouping and an inhibition rule; group_wait 1s, group_interval 2s.
``test_alertmanager_scenario`` runs the scenario against Alertmanager alone with the groups
written out by hand: it checks the harness (and the reading of Alertmanager's semantics the
comparison rests on) without the alerter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from vigil_schema.messages import label_fingerprint
from vigil_tools.prom_processes import AlertmanagerApi
from vigil_tools.webhook_sink import SinkThread

if TYPE_CHECKING:
    from services.alerter.tests.e2e.conftest import AlertingHarness, GroupSeen


A1 = {"alertname": "CameraOffline", "team": "cams", "site": "north", "camera": "c1",
      "severity": "warning"}  # fmt: skip
A2 = {"alertname": "CameraOffline", "team": "cams", "site": "north", "camera": "c2",
      "severity": "critical"}  # fmt: skip
A3 = {"alertname": "CameraOffline", "team": "cams", "site": "south", "camera": "c3",
      "severity": "warning"}  # fmt: skip
A4 = {"alertname": "SiteDown", "site": "east", "severity": "critical"}
A5 = {"alertname": "CameraOffline", "team": "cams", "site": "east", "camera": "c5",
      "severity": "warning"}  # fmt: skip
"""Inhibited by A4 (same site)."""
A6 = {"alertname": "DiskFull", "host": "h1"}
A7 = {"alertname": "Tamper", "team": "cams", "site": "west", "camera": "c7",
      "severity": "warning"}  # fmt: skip
"""Silenced (camera="c7")."""
ALERTS = [A1, A2, A3, A4, A5, A6, A7]
MUTED = {label_fingerprint(A5), label_fingerprint(A7)}


def fp(*alerts: dict[str, str]) -> frozenset[str]:
    return frozenset(label_fingerprint(alert) for alert in alerts)


EXPECTED: dict[tuple[str, tuple[tuple[str, str], ...]], frozenset[str]] = {
    ("cams", (("alertname", "CameraOffline"), ("site", "north"))): fp(A1),
    ("cams", (("alertname", "CameraOffline"), ("site", "south"))): fp(A3),
    ("pager", (("site", "north"),)): fp(A2),
    ("ops", tuple(sorted(A1.items()))): fp(A1),
    ("ops", tuple(sorted(A2.items()))): fp(A2),
    ("ops", tuple(sorted(A3.items()))): fp(A3),
    ("ops", tuple(sorted(A4.items()))): fp(A4),
    ("default", (("alertname", "DiskFull"),)): fp(A6),
}
"""Alertmanager's groups for ALERTS, by receiver and group labels: their fingerprints."""


Summary = dict[tuple[str, str], "GroupSeen"]


def run_scenario(
    alerting: AlertingHarness, api: AlertmanagerApi, sink: SinkThread, logs: Callable[[], str]
) -> tuple[Summary, Summary, str]:
    """Silence c7, post ALERTS, wait for every group's firing notification; resolve them all,
    wait for every group's resolved one. (firing summary, final summary, silence id)."""
    silence_id = api.create_silence(alerting.silence_body("camera", "c7"))
    api.post_alerts([alerting.postable(labels) for labels in ALERTS])
    firing = alerting.wait_for(
        lambda: alerting.summary(sink),
        lambda seen: len(seen) >= len(EXPECTED) and all(g.firing for g in seen.values()),
        "every group notified firing",
        logs,
    )
    listed = {a["fingerprint"]: a for a in api.alerts()}
    assert set(listed) == fp(*ALERTS), listed
    silenced = listed[label_fingerprint(A7)]["status"]
    assert silenced["state"] == "suppressed"
    assert silenced["silencedBy"] == [silence_id]
    inhibited = listed[label_fingerprint(A5)]["status"]
    assert inhibited["state"] == "suppressed"
    assert inhibited["inhibitedBy"] == [label_fingerprint(A4)]
    assert listed[label_fingerprint(A1)]["status"]["state"] == "active"
    ended = alerting.now() - timedelta(seconds=1)
    api.post_alerts([alerting.postable(labels, ends_at=ended) for labels in ALERTS])
    final = alerting.wait_for(
        lambda: alerting.summary(sink),
        lambda seen: all(g.resolved == g.firing for g in seen.values()),
        "every group notified resolved",
        logs,
    )
    return firing, final, silence_id


def by_labels(seen: dict[tuple[str, str], GroupSeen]) -> dict[
    tuple[str, tuple[tuple[str, str], ...]], frozenset[str]
]:  # fmt: skip
    return {(receiver, tuple(sorted(g.group_labels.items()))): g.firing
            for (receiver, _), g in seen.items()}  # fmt: skip


def test_alertmanager_scenario(alerting: AlertingHarness) -> None:
    sink = alerting.sink()
    am = alerting.alertmanager(alerting.routing_config(sink.base_url))
    firing, final, silence_id = run_scenario(
        alerting, alerting.api(am), sink, lambda: am.describe("log")
    )
    assert by_labels(firing) == EXPECTED
    assert by_labels(final) == EXPECTED
    assert all(g.firing == g.resolved for g in final.values())
    notified = set().union(*(g.firing for g in final.values()))
    assert not notified & MUTED
    bodies = [r.body for r in sink.sink.snapshot()]
    assert {b["version"] for b in bodies} == {"4"}
    assert all(b["truncatedAlerts"] == 0 for b in bodies)
    assert {s["id"]: s["status"]["state"] for s in alerting.api(am).silences()} == {
        silence_id: "active"
    }


def test_alerter_groups_like_alertmanager(alerting: AlertingHarness) -> None:
    am_sink, vigil_sink = alerting.sink(), alerting.sink()
    am = alerting.alertmanager(alerting.routing_config(am_sink.base_url))
    config = alerting.write_config(alerting.routing_config(vigil_sink.base_url))
    alerter = alerting.start_alerter(config)
    am_firing, am_final, _ = run_scenario(
        alerting, alerting.api(am), am_sink, lambda: am.describe("log")
    )
    vigil_firing, vigil_final, silence_id = run_scenario(
        alerting, alerting.api(alerter), vigil_sink, lambda: alerter.describe("log")
    )
    # the same groups: receiver, groupKey (Alertmanager's string), groupLabels, fingerprints
    assert set(vigil_firing) == set(am_firing)
    for key, group in am_final.items():
        mine = vigil_final[key]
        assert (mine.group_labels, mine.firing, mine.resolved) == (
            group.group_labels, group.firing, group.resolved,
        ), key  # fmt: skip
    assert by_labels(vigil_final) == EXPECTED
    bodies = [r.body for r in vigil_sink.sink.snapshot()]
    assert all(b["version"] == "4" and b["vigil"]["alertIds"] for b in bodies)
    assert {r.headers.get("Idempotency-Key") is not None for r in vigil_sink.sink.snapshot()} == {
        True
    }
    silences = alerting.api(alerter).silences()
    assert [s["id"] for s in silences] == [silence_id]
    muted = alerting.rows("SELECT count(*) FROM silences WHERE uuid = %s::uuid", silence_id)
    assert muted == [(1,)]
