"""Alertmanager's routing tree: Match with continue, inheritance, route keys, group keys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vigil_alerter.config.loader import parse_config
from vigil_alerter.routing.tree import RoutingTree, go_quote, label_set_string

TREE = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
      group_by: ['...']
      group_interval: 1m
      routes:
        - match: {camera_id: gate}
          receiver: gate-pager
          repeat_interval: 1h
    - matchers: ['severity="critical"']
      receiver: chat
    - match_re: {camera_id: 'lot-.*'}
      match: {team: parking}
      receiver: parking
      group_by: [camera_id, zone]
      mute_time_intervals: [night]
    - matchers: ['severity=~"warning|info"']
      receiver: chat
receivers:
  - name: default
  - name: pager
  - name: gate-pager
  - name: chat
  - name: parking
time_intervals:
  - name: night
    time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
"""


@pytest.fixture
def tree() -> RoutingTree:
    return RoutingTree.from_config(parse_config(TREE))


def _receivers(tree: RoutingTree, labels: dict[str, str]) -> list[str]:
    return [route.receiver for route in tree.match(labels)]


def test_match_with_continue(tree: RoutingTree) -> None:
    assert _receivers(tree, {"severity": "critical"}) == ["pager", "chat"]
    assert _receivers(tree, {"severity": "critical", "camera_id": "gate"}) == [
        "gate-pager",
        "chat",
    ]
    assert _receivers(tree, {"severity": "warning"}) == ["chat"]
    assert _receivers(tree, {"team": "parking", "camera_id": "lot-3"}) == ["parking"]
    # match_re is anchored: a mere substring does not match.
    assert _receivers(tree, {"team": "parking", "camera_id": "xlot-3"}) == ["default"]
    assert _receivers(tree, {}) == ["default"]


def test_first_match_without_continue_stops(tree: RoutingTree) -> None:
    labels = {"severity": "warning", "team": "parking", "camera_id": "lot-1"}
    assert _receivers(tree, labels) == ["parking"]


def test_keys_follow_alertmanager(tree: RoutingTree) -> None:
    keys = [(route.am_key, route.key) for route in tree.routes()]
    assert keys == [
        ("{}", "{}"),
        ('{}/{severity="critical"}', '{}/{severity="critical"}/0'),
        (
            '{}/{severity="critical"}/{camera_id="gate"}',
            '{}/{severity="critical"}/0/{camera_id="gate"}',
        ),
        ('{}/{severity="critical"}', '{}/{severity="critical"}/1'),
        ('{}/{camera_id=~"lot-.*",team="parking"}', '{}/{camera_id=~"lot-.*",team="parking"}'),
        ('{}/{severity=~"warning|info"}', '{}/{severity=~"warning|info"}'),
    ]
    assert len({route.key for route in tree.routes()}) == len(tree.routes())
    for route in tree.routes():
        assert tree.route(route.key) is route
    assert tree.route("{}/nope") is None


def test_inheritance_and_defaults(tree: RoutingTree) -> None:
    root = tree.route("{}")
    assert root is not None
    assert (root.group_wait, root.group_interval, root.repeat_interval) == (
        timedelta(seconds=10),
        timedelta(minutes=5),
        timedelta(hours=4),
    )
    gate = tree.route('{}/{severity="critical"}/0/{camera_id="gate"}')
    assert gate is not None
    assert gate.group_by is None  # '...' inherited
    assert gate.group_wait == timedelta(seconds=10)
    assert gate.group_interval == timedelta(minutes=1)
    assert gate.repeat_interval == timedelta(hours=1)
    parking = tree.route('{}/{camera_id=~"lot-.*",team="parking"}')
    assert parking is not None
    assert parking.mute_time_intervals == ("night",)
    assert parking.group_by == ("camera_id", "zone")
    assert root.mute_time_intervals == ()


def test_root_without_group_by_groups_everything_together() -> None:
    config = parse_config("route: {receiver: r}\nreceivers: [{name: r}]\n")
    root = RoutingTree.from_config(config).root
    assert root.group_by == ()
    assert root.group_key({"alertname": "A", "x": "1"}) == "{}:{}"
    assert root.group_wait == timedelta(seconds=30)


def test_group_key_format(tree: RoutingTree) -> None:
    labels = {"alertname": "Intrusion", "camera_id": "lot-2", "team": "parking", "x": "y"}
    (parking,) = tree.match(labels)
    assert parking.group_labels(labels) == {"camera_id": "lot-2"}
    assert (
        parking.group_key(labels) == '{}/{camera_id=~"lot-.*",team="parking"}:{camera_id="lot-2"}'
    )
    pager, chat = tree.match({"severity": "critical", "b": "2", "a": 'say "x"'})
    assert pager.group_key({"severity": "critical", "b": "2", "a": "1"}) == (
        '{}/{severity="critical"}/0:{a="1", b="2", severity="critical"}'
    )
    assert chat.group_key({"alertname": "A", "severity": "critical"}) == (
        '{}/{severity="critical"}/1:{alertname="A"}'
    )


def test_go_quote() -> None:
    assert go_quote('a"b\\c\nd\té') == '"a\\"b\\\\c\\nd\\té"'
    assert go_quote("\x01") == '"\\x01"'
    assert label_set_string({"b": "2", "a": "1"}) == '{a="1", b="2"}'
    assert label_set_string({}) == "{}"
