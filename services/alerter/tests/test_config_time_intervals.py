"""Alertmanager's time intervals: times end exclusive, weekday/day/month/year ranges, zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigil_alerter.config.loader import ConfigError, parse_config
from vigil_alerter.config.time_intervals import TimeIntervals

BASE = "route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals:\n"


def _intervals(spec: str) -> TimeIntervals:
    return TimeIntervals.from_config(parse_config(BASE + spec))


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_business_hours_end_exclusive() -> None:
    intervals = _intervals(
        """
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
"""
    )
    # 2026-03-02 is a Monday.
    assert intervals.contains("office", _utc(2026, 3, 2, 9, 0))
    assert intervals.contains("office", _utc(2026, 3, 2, 16, 59))
    assert not intervals.contains("office", _utc(2026, 3, 2, 17, 0))
    assert not intervals.contains("office", _utc(2026, 3, 2, 8, 59))
    assert not intervals.contains("office", _utc(2026, 3, 1, 12, 0))  # Sunday
    assert intervals.contains("office", _utc(2026, 3, 6, 12, 0))  # Friday
    assert not intervals.contains("office", _utc(2026, 3, 7, 12, 0))  # Saturday


def test_unquoted_times_and_24_00() -> None:
    intervals = _intervals(
        """
  - name: evening
    time_intervals:
      - times: [{start_time: 20:00, end_time: 24:00}]
"""
    )
    assert intervals.contains("evening", _utc(2026, 3, 2, 23, 59))
    assert not intervals.contains("evening", _utc(2026, 3, 3, 0, 0))


def test_days_of_month_negative_from_the_end() -> None:
    intervals = _intervals(
        """
  - name: month_end
    time_intervals:
      - days_of_month: ['-3:-1']
  - name: first_and_last
    time_intervals:
      - days_of_month: [1, -1]
  - name: thirty_first
    time_intervals:
      - days_of_month: ['31']
"""
    )
    assert intervals.contains("month_end", _utc(2026, 2, 26, 0, 0))  # Feb 2026: 28 days
    assert not intervals.contains("month_end", _utc(2026, 2, 25, 23, 59))
    assert intervals.contains("month_end", _utc(2026, 3, 29, 0, 0))
    assert not intervals.contains("month_end", _utc(2026, 3, 28, 0, 0))
    assert intervals.contains("first_and_last", _utc(2026, 4, 30, 10, 0))
    assert intervals.contains("first_and_last", _utc(2026, 4, 1, 10, 0))
    assert not intervals.contains("first_and_last", _utc(2026, 4, 2, 10, 0))
    assert not intervals.contains("thirty_first", _utc(2026, 4, 30, 10, 0))
    assert intervals.contains("thirty_first", _utc(2026, 5, 31, 10, 0))


def test_months_years() -> None:
    intervals = _intervals(
        """
  - name: summer
    time_intervals:
      - months: ['june:august']
        years: ['2026:2027']
      - months: [december]
"""
    )
    assert intervals.contains("summer", _utc(2026, 7, 15, 0, 0))
    assert not intervals.contains("summer", _utc(2028, 7, 15, 0, 0))
    assert intervals.contains("summer", _utc(2028, 12, 15, 0, 0))
    assert not intervals.contains("summer", _utc(2026, 9, 1, 0, 0))


def test_location() -> None:
    intervals = _intervals(
        """
  - name: paris_morning
    time_intervals:
      - times: [{start_time: '08:00', end_time: '09:00'}]
        weekdays: [monday]
        location: Europe/Paris
"""
    )
    # 07:30 UTC on Monday 2026-03-02 is 08:30 in Paris (UTC+1).
    assert intervals.contains("paris_morning", _utc(2026, 3, 2, 7, 30))
    assert not intervals.contains("paris_morning", _utc(2026, 3, 2, 8, 30))
    # Sunday 23:30 UTC is Monday 00:30 in Paris: the weekday is the local one.
    assert not intervals.contains("paris_morning", _utc(2026, 3, 1, 23, 30))


def test_any_of_names_and_unknown_name() -> None:
    intervals = _intervals(
        """
  - name: never
    time_intervals: []
  - name: always
    time_intervals: [{}]
"""
    )
    at = _utc(2026, 3, 2, 12, 0)
    assert not intervals.contains("never", at)
    assert intervals.contains("always", at)
    assert intervals.any_contains(["never", "always"], at)
    assert not intervals.any_contains([], at)
    with pytest.raises(KeyError):
        intervals.contains("missing", at)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("weekdays", "['friday:monday']", "start day cannot be before end day"),
        ("weekdays", "[funday]", "funday is not a valid weekday"),
        ("days_of_month", "['0']", "0 is not a valid day of the month"),
        ("days_of_month", "['-1:5']", "end day must be negative"),
        ("days_of_month", "['10:2']", "always before start day"),
        ("months", "['december:february']", "is before start month"),
        ("months", "['13']", "not a valid month"),
        ("years", "['2027:2026']", "is before start year"),
        ("location", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_values_name_line_and_field(field: str, value: str, reason: str) -> None:
    text = BASE + f"  - name: bad\n    time_intervals:\n      - {field}: {value}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="alerter.yml")
    message = str(caught.value)
    assert f"alerter.yml:6: time_intervals[0].time_intervals[0].{field}" in message
    assert reason in message
