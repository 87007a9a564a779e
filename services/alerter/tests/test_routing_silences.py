"""Silences: pending/active/expired from the clock, matching, the first muting silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil_alerter.config.matchers import parse_matchers
from vigil_alerter.routing.silences import (
    SilenceError,
    SilenceRule,
    first_muting,
    validate_silence,
)

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


def test_from_api_matchers() -> None:
    silence = SilenceRule.from_api(
        "u1",
        [
            {"name": "camera_id", "value": "lot-.*", "isRegex": True, "isEqual": True},
            {"name": "severity", "value": "info", "isRegex": False, "isEqual": False},
        ],
        T0,
        T0 + HOUR,
    )
    assert silence.mutes({"camera_id": "lot-1", "severity": "critical"}, T0)
    assert not silence.mutes({"camera_id": "lot-1", "severity": "info"}, T0)


@pytest.mark.parametrize(
    ("matchers", "ends", "reason"),
    [
        ([], T0 + HOUR, "at least one matcher required"),
        ([{"name": "a", "value": ".*", "isRegex": True}], T0 + HOUR, "empty string"),
        ([{"name": "a", "value": "", "isRegex": False}], T0 + HOUR, "empty string"),
        ([{"name": "a-b", "value": "x", "isRegex": False}], T0 + HOUR, "invalid label"),
        ([{"name": "a", "value": "(", "isRegex": True}], T0 + HOUR, "invalid label matcher"),
        ([{"name": "a", "value": "x", "isRegex": False}], T0 - HOUR, "end time must not"),
    ],
)
def test_validate_silence_refuses(
    matchers: list[dict[str, object]], ends: datetime, reason: str
) -> None:
    with pytest.raises(SilenceError, match=reason):
        validate_silence(matchers, T0, ends)


def test_validate_silence_accepts() -> None:
    parsed = validate_silence(
        [
            {"name": "a", "value": ".*", "isRegex": True},
            {"name": "b", "value": "x", "isRegex": False, "isEqual": True},
        ],
        T0,
        T0 + HOUR,
    )
    assert [str(m) for m in parsed] == ['a=~".*"', 'b="x"']
