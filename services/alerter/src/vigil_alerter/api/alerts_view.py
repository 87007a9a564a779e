"""Alerts as Alertmanager's API shows them (``gettableAlert``, ``alertGroup``).

:func:`load_alerts` reads the active alerts (Alertmanager lists no resolved alert);
:func:`build_views` computes for each its receivers (the routes its labels reach), the
silences muting it (``silencedBy``), the firing alerts inhibiting it (``inhibitedBy``) and
the time intervals keeping its routes quiet now (``mutedBy``; informative, it does not
change the state), hence its state: ``suppressed`` when silenced or inhibited,
``unprocessed`` while it is in no aggregation group yet, ``active`` otherwise.
:func:`keep` is the API's filter (Alertmanager's ``alertFilter``: label matchers, receiver
regex, the active/silenced/inhibited/unprocessed flags) and :meth:`AlertView.to_api` the
JSON object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from vigil_alerter.api.deps import ConfigView, RouteView

__all__ = [
    "AlertFilter",
    "AlertRow",
    "AlertView",
    "LabelMatcher",
    "SilenceView",
    "api_time",
    "build_views",
    "keep",
    "load_alerts",
]

_SELECT = """
SELECT a.id, a.fingerprint, a.labels, a.annotations, a.first_seen_at, a.updated_at,
       a.last_seen_at, a.ends_at, a.generator_url,
       EXISTS (SELECT 1 FROM alert_group_members m WHERE m.alert_id = a.id) AS grouped
FROM alerts a
WHERE a.active
ORDER BY a.first_seen_at, a.id
"""


class LabelMatcher(Protocol):
    """A label matcher (``vigil_alerter.config.matchers.Matcher``)."""

    def matches(self, labels: Mapping[str, str]) -> bool: ...


class SilenceView(Protocol):
    """An active silence (``vigil_alerter.routing.silences.SilenceRule``)."""

    @property
    def id(self) -> str: ...

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool: ...


@dataclass(frozen=True)
class AlertRow:
    """The columns of an active alert the API shows."""

    id: int
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    grouped: bool

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> AlertRow:
        return cls(
            id=record["id"],
            fingerprint=record["fingerprint"],
            labels={str(k): str(v) for k, v in dict(record["labels"]).items()},
            annotations={str(k): str(v) for k, v in dict(record["annotations"]).items()},
            starts_at=record["first_seen_at"],
            updated_at=record["updated_at"],
            last_seen_at=record["last_seen_at"],
            ends_at=record["ends_at"],
            generator_url=record["generator_url"],
            grouped=record["grouped"],
        )


async def load_alerts(conn: asyncpg.Connection) -> list[AlertRow]:
    """The active alerts, oldest first."""
    return [AlertRow.from_record(r) for r in await conn.fetch(_SELECT)]


@dataclass(frozen=True)
class AlertView:
    """An alert with what the routing tree, silences and inhibitions say about it."""

    row: AlertRow
    receivers: tuple[str, ...]
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    muted_by: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        if self.silenced_by or self.inhibited_by:
            return "suppressed"
        return "active" if self.row.grouped else "unprocessed"

    def to_api(self, now: datetime, resolve_timeout: timedelta) -> dict[str, Any]:
        """The ``gettableAlert`` object."""
        row = self.row
        ends_at = row.ends_at or max(row.last_seen_at + resolve_timeout, now)
        body: dict[str, Any] = {
            "labels": row.labels,
            "annotations": row.annotations,
            "receivers": [{"name": name} for name in self.receivers],
            "fingerprint": row.fingerprint,
            "startsAt": api_time(row.starts_at),
            "updatedAt": api_time(row.updated_at),
            "endsAt": api_time(ends_at),
            "status": {
                "state": self.state,
                "silencedBy": list(self.silenced_by),
                "inhibitedBy": list(self.inhibited_by),
                "mutedBy": list(self.muted_by),
            },
        }
        if row.generator_url:
            body["generatorURL"] = row.generator_url
        return body


def build_views(
    rows: Sequence[AlertRow],
    loaded: ConfigView,
    silences: Sequence[SilenceView],
    now: datetime,
) -> list[AlertView]:
    """Views of ``rows`` (every active alert: the possible inhibition sources too)."""
    views = []
    for row in rows:
        routes = loaded.tree.match(row.labels)
        receivers = tuple(dict.fromkeys(route.receiver for route in routes))
        silenced = tuple(s.id for s in silences if s.mutes(row.labels, now))
        inhibited = tuple(
            source.fingerprint
            for source in rows
            if source.fingerprint != row.fingerprint
            and loaded.inhibitor.inhibits(row.labels, [source.labels])
        )
        muted = tuple(dict.fromkeys(n for r in routes for n in _muting(r, loaded, now)))
        views.append(AlertView(row, receivers, silenced, inhibited, muted))
    return views


def _muting(route: RouteView, loaded: ConfigView, now: datetime) -> list[str]:
    """The route's time intervals keeping it from notifying now: mute intervals in force,
    and its active intervals when none of them holds."""
    muting = [n for n in route.mute_time_intervals if loaded.intervals.contains(n, now)]
    active = route.active_time_intervals
    if active and not any(loaded.intervals.contains(n, now) for n in active):
        muting.extend(active)
    return muting


@dataclass(frozen=True)
class AlertFilter:
    """The query parameters of GET /api/v2/alerts (and of the alerts within groups)."""

    matchers: Sequence[LabelMatcher] = ()
    receiver: re.Pattern[str] | None = None
    active: bool = True
    silenced: bool = True
    inhibited: bool = True
    unprocessed: bool = True


def keep(view: AlertView, flt: AlertFilter) -> bool:
    """Alertmanager's ``alertFilter``: whether the alert is listed."""
    if flt.receiver is not None and not any(flt.receiver.fullmatch(r) for r in view.receivers):
        return False
    if not all(m.matches(view.row.labels) for m in flt.matchers):
        return False
    state = view.state
    if state == "active":
        return flt.active
    if state == "unprocessed":
        return flt.unprocessed
    if not flt.silenced and view.silenced_by:
        return False
    return flt.inhibited or not view.inhibited_by


def api_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Alertmanager writes times."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
