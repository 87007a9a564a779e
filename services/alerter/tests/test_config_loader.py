"""The loader: a valid file parses; each kind of mistake names the file, line and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from vigil_alerter.config.loader import ConfigError, load_config, parse_config
from vigil_alerter.config.models import DEFAULT_CONFIG_YAML

GOOD = """\
global:
  resolve_timeout: 10m
route:
  receiver: ops
  group_by: [alertname, camera_id]
  routes:
    - matchers: ['severity="critical"', 'camera_id=~"gate|lot-.*"']
      receiver: pager
      group_wait: 0s
      escalations:
        - {after: 15m, receiver: ops}
    - match: {code: 500}
      receiver: ops
receivers:
  - name: ops
    log_configs: [{}]
  - name: pager
    webhook_configs:
      - url: https://pager.example/hook
        hmac_secret_env: PAGER_SECRET
    rate_limit: {max: 10, per: 1m}
inhibit_rules:
  - source_matchers: [alertname="CameraOffline"]
    target_matchers: [alertname=~"Intrusion.*"]
    equal: [camera_id]
"""


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="alerter.yml")
    return str(caught.value)


def test_good_file_parses() -> None:
    config = parse_config(GOOD, source="alerter.yml")
    assert config.global_.resolve_timeout == timedelta(minutes=10)
    assert config.route.routes[0].group_wait == timedelta(0)
    assert config.route.routes[1].match == {"code": "500"}  # a number read as text
    assert config.receiver("pager").rate_limit is not None


def test_default_when_no_file(tmp_path: Path) -> None:
    default = parse_config(DEFAULT_CONFIG_YAML)
    assert load_config(None) == default
    assert load_config(tmp_path / "missing.yml") == default
    path = tmp_path / "alerter.yml"
    path.write_text(GOOD)
    assert load_config(path).receiver("pager").name == "pager"


def test_bad_duration() -> None:
    message = _error(GOOD.replace("group_wait: 0s", "group_wait: soon"))
    assert message.startswith("alerter.yml:9: route.routes[0].group_wait: not a duration: 'soon'")


def test_unknown_receiver() -> None:
    message = _error(
        GOOD.replace(
            "    - match: {code: 500}\n      receiver: ops",
            "    - match: {code: 500}\n      receiver: nobody",
        )
    )
    assert message == "alerter.yml:13: route.routes[1].receiver: receiver 'nobody' is not defined"


def test_unknown_escalation_receiver() -> None:
    message = _error(GOOD.replace("{after: 15m, receiver: ops}", "{after: 15m, receiver: boss}"))
    assert message.startswith("alerter.yml:11: route.routes[0].escalations[0].receiver:")
    assert "'boss' is not defined" in message


def test_bad_regex() -> None:
    message = _error(GOOD.replace('camera_id=~"gate|lot-.*"', 'camera_id=~"gate|(lot"'))
    assert message.startswith("alerter.yml:7: route.routes[0].matchers[1]: invalid regular")
    message = _error(GOOD.replace("match: {code: 500}", "match_re: {code: '5[0-9'}"))
    assert message.startswith("alerter.yml:12: route.routes[1].match_re.code: invalid regular")


def test_unknown_key() -> None:
    message = _error(
        GOOD.replace("      group_wait: 0s\n", "      group_wait: 0s\n      grup_by: [x]\n")
    )
    assert message.startswith("alerter.yml:10: route.routes[0].grup_by: Extra inputs")
    message = _error(
        GOOD.replace("        hmac_secret_env:", "        hmac_secret: x\n        hmac_secret_env:")
    )
    assert "alerter.yml:20: receivers[1].webhook_configs[0].hmac_secret: Extra inputs" in message


def test_bad_matcher_syntax() -> None:
    message = _error(
        GOOD.replace(
            'target_matchers: [alertname=~"Intrusion.*"]',
            "target_matchers: ['alertname~Intrusion']",
        )
    )
    assert message.startswith("alerter.yml:24: inhibit_rules[0].target_matchers[0]: bad matcher")
    message = _error(GOOD.replace("'severity=\"critical\"'", '\'severity="crit"ical"\''))
    assert "alerter.yml:7: route.routes[0].matchers[0]: matcher value contains unescaped" in message


def test_bad_label_name_in_match() -> None:
    message = _error(GOOD.replace("match: {code: 500}", "match: {bad-name: x}"))
    assert message.startswith("alerter.yml:12: route.routes[1].match.bad-name: invalid label name")


def test_several_problems_one_line_each() -> None:
    text = GOOD.replace("group_wait: 0s", "group_wait: soon").replace("max: 10", "max: 0")
    lines = _error(text).splitlines()
    assert lines[0].startswith("alerter.yml:9: route.routes[0].group_wait:")
    assert lines[1].startswith("alerter.yml:21: receivers[1].rate_limit.max:")


def test_missing_field_points_at_its_parent() -> None:
    message = _error(
        GOOD.replace("      - url: https://pager.example/hook\n", "      - send_resolved: false\n")
    )
    assert message.startswith("alerter.yml:19: receivers[1].webhook_configs[0].url: Field required")
    assert _error("receivers: [{name: r}]\n") == "alerter.yml:1: route: Field required"


def test_root_route_rules() -> None:
    message = _error("route: {receiver: r, continue: true}\nreceivers: [{name: r}]\n")
    assert message == "alerter.yml:1: route.continue: the root route cannot have continue"
    message = _error("route:\n  receiver: r\n  matchers: [a=b]\nreceivers: [{name: r}]\n")
    assert message == "alerter.yml:3: route.matchers: the root route must not have matchers"
    message = _error("route: {receiver: r}\nreceivers:\n  - name: r\n  - name: r\n")
    assert message == "alerter.yml:4: receivers[1].name: duplicate receiver name 'r'"


def test_invalid_yaml_and_non_mapping() -> None:
    assert _error("route:\n  receiver: [r\n").startswith("alerter.yml:3: (file): invalid YAML")
    assert _error("- a\n- b\n") == "alerter.yml:1: (file): the file must be a mapping"


def test_group_by_and_equal_label_names() -> None:
    message = _error(GOOD.replace("group_by: [alertname, camera_id]", "group_by: [alertname, x-y]"))
    assert message == "alerter.yml:5: route.group_by[1]: invalid label name 'x-y'"
    message = _error(GOOD.replace("group_by: [alertname, camera_id]", "group_by: [a, b, a]"))
    assert message == "alerter.yml:5: route.group_by[2]: duplicated label 'a'"
    message = _error(GOOD.replace("equal: [camera_id]", "equal:\n      - camera_id\n      - 9x"))
    assert message == "alerter.yml:27: inhibit_rules[0].equal[1]: invalid label name '9x'"
    assert parse_config(GOOD.replace("[alertname, camera_id]", "['...']")).route.group_by == ["..."]
