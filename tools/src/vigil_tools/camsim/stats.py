"""Counters of what a fleet published and what the broker acknowledged."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class MessageKind(StrEnum):
    """What a published message was, for counting."""

    EVENTS = "events"
    HEALTH = "health"
    FRAMES = "frames"
    STATUS = "status"
    BAD = "bad"


@dataclass(slots=True)
class Tag:
    """What one in-flight message carries: its kind and how many good events it holds."""

    kind: MessageKind
    events: int = 0


@dataclass
class FleetStats:
    """Published / acknowledged / failed counts, shared by every connection of a fleet.

    ``events`` counts individual good events (a batch of B counts B); bad messages count in
    ``published[bad]`` and per kind in ``bad`` and per topic kind in ``bad_by_topic``.
    """

    published: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)
    bad_by_topic: Counter[str] = field(default_factory=Counter)
    events: int = 0
    events_acked: int = 0
    failed: int = 0
    unacked: int = 0
    max_inflight: int = 0
    reconnects: int = 0
    bytes_published: int = 0

    def record_publish(self, tag: Tag, size: int) -> None:
        """A message was handed to the client (it is now in flight)."""
        self.published[tag.kind] += 1
        self.events += tag.events
        self.bytes_published += size

    def record_ack(self, tag: Tag) -> None:
        """The broker acknowledged a message (PUBACK, or written out for QoS 0)."""
        self.acked[tag.kind] += 1
        self.events_acked += tag.events

    def summary(
        self, *, cameras: list[str], duration_s: float, window: int, extra: dict[str, Any]
    ) -> dict[str, Any]:
        """The JSON-ready run summary printed by the CLI."""
        kinds = [kind.value for kind in MessageKind]
        total = sum(self.published.values())
        duration = max(duration_s, 1e-9)
        return {
            "cameras": cameras,
            "published": {kind: self.published[kind] for kind in kinds},
            "bad": dict(sorted(self.bad.items())),
            "bad_by_topic": dict(sorted(self.bad_by_topic.items())),
            "events": self.events,
            "acked": {kind: self.acked[kind] for kind in kinds},
            "events_acked": self.events_acked,
            "failed": self.failed,
            "unacked": self.unacked,
            "messages": total,
            "bytes": self.bytes_published,
            "duration_s": round(duration_s, 3),
            "rate": round(total / duration, 1),
            "events_rate": round(self.events / duration, 1),
            "window": window,
            "max_inflight": self.max_inflight,
            "reconnects": self.reconnects,
            **extra,
        }
