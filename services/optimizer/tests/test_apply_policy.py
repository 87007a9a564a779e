"""The apply policy (pure): policies, thresholds, approval and maintenance windows, including
windows that cross midnight, week days and time zones with their DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil_optimizer.apply.policy import (
    DEFAULT_MIN_CONFIDENCE,
    Action,
    CameraPolicy,
    Reason,
    decide,
    in_window,
    next_opening,
)
from vigil_schema.camera import MaintenanceWindow
from vigil_schema.enums import ApplyPolicy

PARIS = ZoneInfo("Europe/Paris")
NIGHT_PARIS = MaintenanceWindow(start="22:00", end="02:00", tz="Europe/Paris")
EARLY_UTC = MaintenanceWindow(start="01:00", end="05:00", tz="UTC")
FRIDAY_NIGHT = MaintenanceWindow(days=[4], start="22:00", end="02:00", tz="Europe/Paris")
# 2026-12-02 is a Wednesday; Paris is UTC+1 in December, UTC+2 in July.
NOON_UTC = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
THREE_UTC = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


AUTO = ApplyPolicy.AUTO
MANUAL = ApplyPolicy.MANUAL
OFF = ApplyPolicy.OFF


@pytest.mark.parametrize(
    ("camera", "confidence", "approved", "now", "action", "reason"),
    [
        # policy off: never, approved or not
        (CameraPolicy(OFF), 0.99, False, NOON_UTC, Action.SKIP, Reason.POLICY_OFF),
        (CameraPolicy(OFF), 0.99, True, NOON_UTC, Action.SKIP, Reason.POLICY_OFF),
        # manual: waits for approval whatever the confidence; approved applies
        (CameraPolicy(MANUAL), 0.99, False, NOON_UTC, Action.AWAIT_APPROVAL, Reason.MANUAL),
        (CameraPolicy(MANUAL), None, True, NOON_UTC, Action.APPLY, Reason.APPROVED),
        # auto: the service default threshold, or the camera's own
        (CameraPolicy(AUTO), DEFAULT_MIN_CONFIDENCE, False, NOON_UTC, Action.APPLY, Reason.AUTO),
        (CameraPolicy(AUTO), 0.79, False, NOON_UTC, Action.SKIP, Reason.BELOW_THRESHOLD),
        (CameraPolicy(AUTO), None, False, NOON_UTC, Action.SKIP, Reason.NO_CONFIDENCE),
        (CameraPolicy(AUTO, None, 0.5), 0.6, False, NOON_UTC, Action.APPLY, Reason.AUTO),
        (CameraPolicy(AUTO, None, 0.95), 0.9, False, NOON_UTC, Action.SKIP, Reason.BELOW_THRESHOLD),
        (CameraPolicy(AUTO, None, 0.0), 0.0, False, NOON_UTC, Action.APPLY, Reason.AUTO),
        # an operator's approval passes a low confidence under auto
        (CameraPolicy(AUTO), 0.1, True, NOON_UTC, Action.APPLY, Reason.APPROVED),
        # windows: outside waits for it, inside applies; approval respects the window too
        (CameraPolicy(AUTO, EARLY_UTC), 0.9, False, NOON_UTC, Action.WAIT_WINDOW,
         Reason.OUTSIDE_WINDOW),
        (CameraPolicy(AUTO, EARLY_UTC), 0.9, False, THREE_UTC, Action.APPLY, Reason.AUTO),
        (CameraPolicy(MANUAL, EARLY_UTC), 0.9, True, NOON_UTC, Action.WAIT_WINDOW,
         Reason.OUTSIDE_WINDOW),
        # below the threshold is not applied even inside the window
        (CameraPolicy(AUTO, EARLY_UTC), 0.5, False, THREE_UTC, Action.SKIP,
         Reason.BELOW_THRESHOLD),
    ],
)  # fmt: skip
def test_decide_table(
    camera: CameraPolicy,
    confidence: float | None,
    approved: bool,
    now: datetime,
    action: Action,
    reason: Reason,
) -> None:
    decision = decide(camera, confidence=confidence, now=now, approved=approved)
    assert (decision.action, decision.reason) == (action, reason), decision.detail
    assert (decision.window_opens_at is not None) == (action is Action.WAIT_WINDOW)


def test_wait_names_the_window_and_when_it_opens() -> None:
    decision = decide(CameraPolicy(AUTO, EARLY_UTC), confidence=0.9, now=NOON_UTC)
    assert decision.window_opens_at == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    assert "01:00-05:00 UTC" in decision.detail
    assert "2026-12-03T01:00:00+00:00" in decision.detail


def test_below_threshold_says_the_numbers() -> None:
    decision = decide(CameraPolicy(AUTO, None, 0.9), confidence=0.42, now=NOON_UTC)
    assert "0.42" in decision.detail
    assert "0.90" in decision.detail


def test_ignore_window_applies_an_approved_recommendation_now() -> None:
    decision = decide(
        CameraPolicy(MANUAL, EARLY_UTC), confidence=None, now=NOON_UTC, approved=True,
        ignore_window=True,
    )  # fmt: skip
    assert decision.action is Action.APPLY


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(CameraPolicy(AUTO), confidence=1.0, now=datetime(2026, 12, 2, 12, 0))


@pytest.mark.parametrize(
    ("window", "now", "inside"),
    [
        # 22:00-02:00 Paris (UTC+1 in winter): 21:00-01:00 UTC
        (NIGHT_PARIS, paris(2026, 12, 2, 21, 59), False),
        (NIGHT_PARIS, paris(2026, 12, 2, 22, 0), True),
        (NIGHT_PARIS, paris(2026, 12, 2, 23, 59), True),
        (NIGHT_PARIS, paris(2026, 12, 3, 0, 0), True),
        (NIGHT_PARIS, paris(2026, 12, 3, 1, 59), True),
        (NIGHT_PARIS, paris(2026, 12, 3, 2, 0), False),  # [start, end)
        (NIGHT_PARIS, datetime(2026, 12, 2, 21, 30, tzinfo=UTC), True),  # 22:30 in Paris
        (NIGHT_PARIS, datetime(2026, 12, 2, 20, 30, tzinfo=UTC), False),  # 21:30 in Paris
        (NIGHT_PARIS, datetime(2026, 7, 1, 20, 30, tzinfo=UTC), True),  # 22:30 CEST
        (NIGHT_PARIS, datetime(2026, 7, 1, 0, 30, tzinfo=UTC), False),  # 02:30 CEST
        # 01:00-05:00 UTC seen from Paris
        (EARLY_UTC, paris(2026, 12, 2, 5, 59), True),  # 04:59 UTC
        (EARLY_UTC, paris(2026, 12, 2, 6, 0), False),  # 05:00 UTC
        (EARLY_UTC, paris(2026, 12, 2, 1, 30), False),  # 00:30 UTC
        # Friday night only: opens Friday 22:00, runs into Saturday 02:00
        (FRIDAY_NIGHT, paris(2026, 12, 4, 23, 0), True),  # Friday
        (FRIDAY_NIGHT, paris(2026, 12, 5, 1, 0), True),  # Saturday morning, Friday's window
        (FRIDAY_NIGHT, paris(2026, 12, 5, 23, 0), False),  # Saturday night
        (FRIDAY_NIGHT, paris(2026, 12, 4, 1, 0), False),  # Friday morning: Thursday's
        # a window on a day list that does not cross midnight
        (MaintenanceWindow(days=[5, 6], start="03:00", end="04:00"),
         datetime(2026, 12, 5, 3, 30, tzinfo=UTC), True),
        (MaintenanceWindow(days=[5, 6], start="03:00", end="04:00"),
         datetime(2026, 12, 4, 3, 30, tzinfo=UTC), False),
        # a far-east zone: 01:00-05:00 in Tokyo is 16:00-20:00 UTC the day before
        (MaintenanceWindow(start="01:00", end="05:00", tz="Asia/Tokyo"),
         datetime(2026, 12, 2, 17, 0, tzinfo=UTC), True),
        (MaintenanceWindow(start="01:00", end="05:00", tz="Asia/Tokyo"), THREE_UTC, False),
    ],
)  # fmt: skip
def test_in_window(window: MaintenanceWindow, now: datetime, inside: bool) -> None:
    assert in_window(window, now) is inside


@pytest.mark.parametrize(
    ("window", "now", "opens"),
    [
        (EARLY_UTC, NOON_UTC, datetime(2026, 12, 3, 1, 0, tzinfo=UTC)),
        (EARLY_UTC, datetime(2026, 12, 2, 0, 59, tzinfo=UTC),
         datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        # Paris 22:00 in winter is 21:00 UTC
        (NIGHT_PARIS, NOON_UTC, datetime(2026, 12, 2, 21, 0, tzinfo=UTC)),
        # Wednesday noon → Friday 22:00 Paris
        (FRIDAY_NIGHT, NOON_UTC, datetime(2026, 12, 4, 21, 0, tzinfo=UTC)),
        # inside Friday's window, the next opening is a week later
        (FRIDAY_NIGHT, paris(2026, 12, 4, 23, 0), datetime(2026, 12, 11, 21, 0, tzinfo=UTC)),
        # DST: Paris springs forward on 2027-03-28 at 02:00; 02:30 does not exist that night
        (MaintenanceWindow(start="02:30", end="04:00", tz="Europe/Paris"),
         paris(2027, 3, 28, 0, 0), datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
        # and the day after, 02:30 CEST is 00:30 UTC
        (MaintenanceWindow(start="02:30", end="04:00", tz="Europe/Paris"),
         paris(2027, 3, 28, 12, 0), datetime(2027, 3, 29, 0, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_next_opening(window: MaintenanceWindow, now: datetime, opens: datetime) -> None:
    assert next_opening(window, now) == opens


WINDOWS = st.builds(
    MaintenanceWindow,
    days=st.none() | st.sets(st.integers(0, 6), min_size=1).map(sorted),
    start=st.sampled_from(["00:00", "01:30", "06:00", "12:00", "22:00", "23:59"]),
    end=st.sampled_from(["00:30", "02:00", "05:00", "18:00", "23:00"]),
    tz=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
)
MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)


@given(window=WINDOWS, now=MOMENTS)
def test_next_opening_is_inside_the_window_and_within_a_week(
    window: MaintenanceWindow, now: datetime
) -> None:
    opens = next_opening(window, now)
    assert now < opens <= now + timedelta(days=8)
    assert in_window(window, opens)
