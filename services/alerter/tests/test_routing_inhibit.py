"""Alertmanager's inhibition: firing sources, equal labels, two-sided rules, no self-muting."""

from __future__ import annotations

import pytest

from vigil_alerter.config.loader import parse_config
from vigil_alerter.routing.inhibit import Inhibitor

CONFIG = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: ['alertname="CameraOffline"']
    target_matchers: ['alertname=~"Intrusion|Loitering"']
    equal: [camera_id]
  - source_match: {severity: critical}
    target_match_re: {severity: 'warning|critical'}
    equal: [zone]
"""


@pytest.fixture
def inhibitor() -> Inhibitor:
    return Inhibitor.from_config(parse_config(CONFIG))


def test_source_mutes_target_with_equal_labels(inhibitor: Inhibitor) -> None:
    offline = {"alertname": "CameraOffline", "camera_id": "gate"}
    intrusion = {"alertname": "Intrusion", "camera_id": "gate"}
    assert inhibitor.inhibits(intrusion, [offline, intrusion])
    assert not inhibitor.inhibits({**intrusion, "camera_id": "lot"}, [offline])
    assert not inhibitor.inhibits(intrusion, [])
    assert not inhibitor.inhibits(intrusion, [intrusion])
    # The target matcher is anchored: 'IntrusionX' is not a target.
    assert not inhibitor.inhibits({**intrusion, "alertname": "IntrusionX"}, [offline])


def test_missing_equal_label_on_both_counts_as_equal(inhibitor: Inhibitor) -> None:
    assert inhibitor.inhibits({"alertname": "Loitering"}, [{"alertname": "CameraOffline"}])
    assert not inhibitor.inhibits(
        {"alertname": "Loitering"}, [{"alertname": "CameraOffline", "camera_id": "x"}]
    )


def test_two_sided_rule_never_mutes_each_other(inhibitor: Inhibitor) -> None:
    critical_a = {"alertname": "A", "severity": "critical", "zone": "z1"}
    critical_b = {"alertname": "B", "severity": "critical", "zone": "z1"}
    warning = {"alertname": "C", "severity": "warning", "zone": "z1"}
    assert not inhibitor.inhibits(critical_a, [critical_a, critical_b])
    assert inhibitor.inhibits(warning, [critical_a])
    assert not inhibitor.inhibits(warning, [{**critical_a, "zone": "z2"}])


def test_an_alert_never_inhibits_itself() -> None:
    config = parse_config(
        CONFIG.split("inhibit_rules:")[0]
        + "inhibit_rules:\n  - source_matchers: ['a=\"1\"']\n    target_matchers: ['b=\"2\"']\n"
    )
    inhibitor = Inhibitor.from_config(config)
    both = {"a": "1", "b": "2"}
    assert not inhibitor.inhibits(both, [both])
    assert inhibitor.inhibits(both, [{"a": "1"}])


def test_no_rules_never_inhibit() -> None:
    inhibitor = Inhibitor.from_config(parse_config("route: {receiver: r}\nreceivers: [{name: r}]"))
    assert not inhibitor.inhibits({"a": "1"}, [{"a": "1", "b": "2"}])
