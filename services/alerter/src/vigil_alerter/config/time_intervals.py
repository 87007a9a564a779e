"""Alertmanager's time intervals (0.25 ``timeinterval``): whether an instant lies in a named
interval.

Contract: a named interval holds at ``at`` when any of its specs does; a spec holds when every
field it sets holds, evaluated in its ``location`` (IANA zone via ``zoneinfo``, ``Local`` = the
host's zone, default UTC):

- ``times``: ``start_time`` inclusive, ``end_time`` exclusive, minutes of the day;
- ``weekdays``: ``monday`` or ``monday:friday`` (inclusive, sunday = 0, so a range cannot
  wrap over the weekend: write ``saturday:sunday`` as two entries);
- ``days_of_month``: ``1``, ``1:5``, ``-1`` (the last day), ``-7:-1``; negative counts from
  the month's end, ranges are clamped to the month, a start past the month's length never
  holds;
- ``months``: ``january``, ``1:3``, ``may:august``; ``years``: ``2026``, ``2026:2028``.

Names and numbers are case-insensitive as in Alertmanager. Bad values raise
:class:`TimeIntervalError` carrying the field path (``time_intervals[0].time_intervals[1].
weekdays[0]``), which the loader maps to a line.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil_alerter.config.models import AlerterConfig, TimeInterval, TimeIntervalSpec

__all__ = ["IntervalSpec", "TimeIntervalError", "TimeIntervals"]

_WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
_MONTHS = [m.lower() for m in calendar.month_name[1:]]

Range = tuple[int, int]


class TimeIntervalError(ValueError):
    """A time interval value that does not parse; ``path`` names the field."""

    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _range(text: str, member: Callable[[str], int]) -> Range:
    text = text.lower()
    parts = text.split(":")
    if len(parts) > 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    begin, end = member(parts[0]), member(parts[-1])
    return begin, end


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text} is not a number") from None


def _weekday(text: str) -> int:
    if text not in _WEEKDAYS:
        raise ValueError(f"{text} is not a valid weekday")
    return _WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in _MONTHS:
        return _MONTHS.index(text) + 1
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid month") from None
    if not 1 <= value <= 12:
        raise ValueError(f"{text} is not a valid month: out of range")
    return value


def _weekdays(text: str) -> Range:
    begin, end = _range(text, _weekday)
    if begin > end:
        raise ValueError("start day cannot be before end day")
    return begin, end


def _days_of_month(text: str) -> Range:
    begin, end = _range(text, _int)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 < end:
        raise ValueError("end day must be negative if start day is negative")
    if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
        raise ValueError(f"end day {end} is always before start day {begin}")
    return begin, end


def _months(text: str) -> Range:
    begin, end = _range(text, _month)
    if begin > end:
        raise ValueError(f"end month {_MONTHS[end - 1]} is before start month {_MONTHS[begin - 1]}")
    return begin, end


def _years(text: str) -> Range:
    begin, end = _range(text, _int)
    if begin > end:
        raise ValueError(f"end year {end} is before start year {begin}")
    return begin, end


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _zone(name: str) -> tzinfo:
    if name == "Local":
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _parse_all(
    values: Sequence[str], parse: Callable[[str], Range], path: tuple[str | int, ...]
) -> tuple[Range, ...]:
    ranges = []
    for index, value in enumerate(values):
        try:
            ranges.append(parse(value))
        except ValueError as exc:
            raise TimeIntervalError((*path, index), str(exc)) from exc
    return tuple(ranges)


def _within(value: int, ranges: tuple[Range, ...]) -> bool:
    return any(begin <= value <= end for begin, end in ranges)


@dataclass(frozen=True)
class IntervalSpec:
    """One parsed spec; an empty tuple means the field was not set (always holds)."""

    times: tuple[Range, ...]
    """(start minute, end minute) pairs, end exclusive."""
    weekdays: tuple[Range, ...]
    days_of_month: tuple[Range, ...]
    months: tuple[Range, ...]
    years: tuple[Range, ...]
    zone: tzinfo

    @classmethod
    def parse(cls, spec: TimeIntervalSpec, path: tuple[str | int, ...] = ()) -> IntervalSpec:
        """Parse ``spec``; errors are :class:`TimeIntervalError` with the field's path."""
        try:
            zone = _zone(spec.location)
        except ValueError as exc:
            raise TimeIntervalError((*path, "location"), str(exc)) from exc
        return cls(
            times=tuple((_minutes(t.start_time), _minutes(t.end_time)) for t in spec.times),
            weekdays=_parse_all(spec.weekdays, _weekdays, (*path, "weekdays")),
            days_of_month=_parse_all(spec.days_of_month, _days_of_month, (*path, "days_of_month")),
            months=_parse_all(spec.months, _months, (*path, "months")),
            years=_parse_all(spec.years, _years, (*path, "years")),
            zone=zone,
        )

    def _day_holds(self, at: datetime) -> bool:
        length = calendar.monthrange(at.year, at.month)[1]
        for begin, end in self.days_of_month:
            first = length + begin + 1 if begin < 0 else begin
            last = length + end + 1 if end < 0 else end
            if first > length:
                continue
            first, last = max(min(first, length), -length), max(min(last, length), -length)
            if first <= at.day <= last:
                return True
        return False

    def contains(self, at: datetime) -> bool:
        """Alertmanager's ``ContainsTime``."""
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if self.times and not any(start <= minute < end for start, end in self.times):
            return False
        if self.days_of_month and not self._day_holds(local):
            return False
        if self.months and not _within(local.month, self.months):
            return False
        weekday = (local.weekday() + 1) % 7  # Python: monday = 0; Go: sunday = 0
        if self.weekdays and not _within(weekday, self.weekdays):
            return False
        return not (self.years and not _within(local.year, self.years))


class TimeIntervals:
    """The named time intervals of one configuration (immutable)."""

    def __init__(self, intervals: dict[str, tuple[IntervalSpec, ...]]) -> None:
        self._intervals = dict(intervals)

    @classmethod
    def from_config(cls, cfg: AlerterConfig) -> TimeIntervals:
        """Parse ``time_intervals`` and ``mute_time_intervals`` (errors name the field)."""
        parsed: dict[str, tuple[IntervalSpec, ...]] = {}
        for field in ("time_intervals", "mute_time_intervals"):
            intervals: list[TimeInterval] = getattr(cfg, field)
            for i, interval in enumerate(intervals):
                parsed[interval.name] = tuple(
                    IntervalSpec.parse(spec, (field, i, "time_intervals", j))
                    for j, spec in enumerate(interval.time_intervals)
                )
        return cls(parsed)

    def names(self) -> list[str]:
        """The defined interval names."""
        return list(self._intervals)

    def contains(self, name: str, at: datetime) -> bool:
        """Whether ``at`` lies in the interval ``name`` (``KeyError`` when undefined)."""
        return any(spec.contains(at) for spec in self._intervals[name])

    def any_contains(self, names: Iterable[str], at: datetime) -> bool:
        """Whether ``at`` lies in any of the intervals ``names``."""
        return any(self.contains(name, at) for name in names)
