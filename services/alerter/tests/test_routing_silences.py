"""Silences: pending/active/expired from the clock, matching, the first muting silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil_alerter.config.matchers import parse_matchers
from vigil_alerter.routing.silences import SilenceRule, first_muting

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _silence(sid: str, matchers: str, starts: datetime, ends: datetime) -> SilenceRule:
    return SilenceRule(sid, tuple(parse_matchers(matchers)), starts, ends)


def test_state_boundaries() -> None:
    silence = _silence("s", 'a="1"', T0, T0 + HOUR)
    assert silence.state(T0 - timedelta(microseconds=1)) == "pending"
    assert silence.state(T0) == "active"
    assert silence.state(T0 + HOUR - timedelta(microseconds=1)) == "active"
    assert silence.state(T0 + HOUR) == "expired"


def test_mutes_only_while_active_and_matching() -> None:
    silence = _silence("s", 'camera_id=~"lot-.*", severity!="critical"', T0, T0 + HOUR)
    labels = {"camera_id": "lot-4", "severity": "warning"}
    assert silence.mutes(labels, T0)
    assert not silence.mutes(labels, T0 - HOUR)
    assert not silence.mutes(labels, T0 + HOUR)
    assert not silence.mutes({**labels, "severity": "critical"}, T0)
    assert not silence.mutes({**labels, "camera_id": "a-lot-4"}, T0)


def test_first_muting() -> None:
    expired = _silence("old", 'a="1"', T0 - 2 * HOUR, T0 - HOUR)
    other = _silence("other", 'a="2"', T0, T0 + HOUR)
    hit = _silence("hit", 'a=~"1|3"', T0, T0 + HOUR)
    second = _silence("second", 'a="1"', T0, T0 + HOUR)
    silences = [expired, other, hit, second]
    assert first_muting(silences, {"a": "1"}, T0) is hit
    assert first_muting(silences, {"a": "4"}, T0) is None
    assert first_muting([], {"a": "1"}, T0) is None
