"""Per stream and consumer group: length, lag, and entries trimmed before they were read.

Read from ``XINFO STREAM`` and ``XINFO GROUPS`` (Redis 7: ``entries-added``,
``entries-read``, ``lag``); used by ``StreamConsumer`` for its metrics and by
``vigil status``.

Redis counts the group's ``entries-read`` as entries delivered, and its ``lag`` as
``entries-added - entries-read``: an entry trimmed before the group read it stays in that
lag for good. So, with entries removed from the head only (trimming; ``XDEL`` in the middle
makes Redis report no lag), :func:`split_lag` separates the two:

* group behind the stream's first entry (``last-delivered-id`` < first entry id): all
  ``length`` entries are unread, the rest of Redis' lag was trimmed unread;
* group caught up (``last-delivered-id`` = the last generated id): nothing is unread, all of
  Redis' lag was trimmed unread;
* group in the middle: the trimmed count cannot be told apart cheaply; the last value the
  caller saw for the group (``previous``; it only grows while the group exists) is kept and
  the lag is Redis' lag minus it; with no previous value the trimmed count is unknown
  (``None``) and the lag is Redis' lag, an upper bound.

With Redis 6.2 (no ``lag``/``entries-read``) the lag and trimmed counts are ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
import redis.exceptions
from prometheus_client import Gauge
from redis.client import NEVER_DECODE

__all__ = ["GroupStats", "StreamStats", "export", "read_stream_stats", "split_lag"]

LENGTH = Gauge("vigil_stream_length", "Entries in the stream (XLEN)", ["stream"])
LAG = Gauge("vigil_stream_lag", "Entries in the stream not yet delivered to the group",
            ["stream", "group"])  # fmt: skip
PENDING = Gauge("vigil_stream_pending", "Entries delivered to the group, not yet acknowledged",
                ["stream", "group"])  # fmt: skip
TRIMMED_UNREAD = Gauge(
    "vigil_stream_trimmed_unread",
    "Entries trimmed from the stream before the group read them (since the group's creation)",
    ["stream", "group"],
)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One consumer group of a stream."""

    group: str
    consumers: int
    pending: int
    last_delivered_id: str
    lag: int | None
    trimmed_unread: int | None


@dataclass(frozen=True, slots=True)
class StreamStats:
    """A stream and its groups; ``exists`` is false when the key is missing."""

    stream: str
    exists: bool
    length: int = 0
    entries_added: int | None = None
    first_id: str | None = None
    last_id: str | None = None
    groups: list[GroupStats] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def split_lag(
    *,
    redis_lag: int | None,
    length: int,
    first_id: str | None,
    last_id: str | None,
    last_delivered_id: str,
    previous_trimmed: int | None,
) -> tuple[int | None, int | None]:
    """``(lag, trimmed_unread)`` of a group from Redis' lag (see the module docstring)."""
    if redis_lag is None:
        return None, previous_trimmed
    delivered = _id_key(last_delivered_id)
    if first_id is None or delivered < _id_key(first_id):
        trimmed = max(0, redis_lag - length)
        return redis_lag - trimmed, trimmed
    if last_id is not None and delivered >= _id_key(last_id):
        return 0, redis_lag
    if previous_trimmed is None:
        return redis_lag, None
    trimmed = min(previous_trimmed, redis_lag)
    return redis_lag - trimmed, trimmed


async def read_stream_stats(
    client: redis.asyncio.Redis, stream: str, previous: Mapping[str, int | None] | None = None
) -> StreamStats:
    """The stream's stats; ``exists=False`` when there is no such stream. ``previous``:
    the trimmed-unread counts last seen per group (see the module docstring)."""
    try:
        # undecoded: the reply holds the first and last entries whole (a frame's JPEG bytes
        # would fail a client that decodes responses, as `vigil status`'s does)
        info: Any = await client.execute_command(  # type: ignore[no-untyped-call]
            "XINFO STREAM", stream, **{NEVER_DECODE: True}
        )
        groups: Any = await client.xinfo_groups(stream)
    except redis.exceptions.ResponseError as exc:  # "no such key"
        if "no such key" not in str(exc).lower():
            raise
        return StreamStats(stream, exists=False)
    named: Mapping[str, Any] = {_text(k): v for k, v in info.items()}
    first = named.get("first-entry")
    last_generated = named.get("last-generated-id")
    first_id = _text(first[0]) if first else None
    last_id = _text(last_generated) if last_generated is not None else None
    length = int(named.get("length", 0))
    added = named.get("entries-added")
    stats = [_group({_text(k): v for k, v in g.items()}, length, first_id, last_id,
                    previous or {}) for g in groups]  # fmt: skip
    return StreamStats(
        stream,
        exists=True,
        length=length,
        entries_added=None if added is None else int(added),
        first_id=first_id,
        last_id=last_id,
        groups=stats,
    )


def _group(
    info: Mapping[str, Any],
    length: int,
    first_id: str | None,
    last_id: str | None,
    previous: Mapping[str, int | None],
) -> GroupStats:
    name = _text(info["name"])
    raw_lag = info.get("lag")
    last_delivered_id = _text(info.get("last-delivered-id", "0-0"))
    lag, trimmed = split_lag(
        redis_lag=None if raw_lag is None else int(raw_lag),
        length=length,
        first_id=first_id,
        last_id=last_id,
        last_delivered_id=last_delivered_id,
        previous_trimmed=previous.get(name),
    )
    return GroupStats(
        group=name,
        consumers=int(info.get("consumers", 0)),
        pending=int(info.get("pending", 0)),
        last_delivered_id=last_delivered_id,
        lag=lag,
        trimmed_unread=trimmed,
    )


def export(stats: StreamStats, group: str | None = None) -> None:
    """Set the gauges of the stream and of ``group`` (every group when ``None``)."""
    LENGTH.labels(stats.stream).set(stats.length)
    for item in stats.groups:
        if group is not None and item.group != group:
            continue
        labels = (stats.stream, item.group)
        PENDING.labels(*labels).set(item.pending)
        if item.lag is not None:
            LAG.labels(*labels).set(item.lag)
        if item.trimmed_unread is not None:
            TRIMMED_UNREAD.labels(*labels).set(item.trimmed_unread)
