"""The rule evaluator: the config's ``rules`` over ``vigil:detections`` and ``vigil:events``.

:meth:`RuleEvaluator.handle_entries` is the :class:`~vigil_runtime.streams.StreamConsumer`
handler of both streams. It decodes the entries (an unreadable one raises
:class:`~vigil_schema.streams.EnvelopeError` before any state changes, so the consumer
dead-letters it alone), skips cameras in maintenance (:mod:`vigil_alerter.rules.maintenance`),
matches every rule of the entry's stream (:mod:`~vigil_alerter.rules.detection_rule`,
:mod:`~vigil_alerter.rules.event_rule`) and hands the resulting
:class:`~vigil_alerter.engine.incoming.IncomingAlert` s (source ``rule``) to the sink
(``Intake.ingest``).

State is kept per rule, camera and identifying labels (``zone``/``object_class``,
``event_type``): an *episode*. A continuous stream of matches is one alert: the first match
sends it at once, later matches refresh it at most once per ``coalesce`` (one intake call per
episode per second, however many frames match); :meth:`RuleEvaluator.tick`, called
periodically, sends pending refreshes and resolves an episode ``resolve_after`` after its last
match, or at once when its rule was removed from the configuration. Every firing alert
carries ``ends_at`` = last match + ``resolve_after`` (moved forward by each refresh, as
Prometheus does with Alertmanager), so that the alert also resolves through
:func:`vigil_alerter.engine.expiry.expire_alerts` if this process dies with the episode
open; the resolve sent by the tick carries the same ``ends_at``. An episode is marked sent
only after the sink returned, so a failed intake (PostgreSQL down) is retried by the
consumer's redelivery or the next tick, never lost.

Labels: the rule's ``labels``, then ``alertname`` (the rule's name), ``camera_id``, the
identifying labels and ``severity``; the fingerprint is Alertmanager's over the labels without
``severity`` (as for stream candidates). Annotations: the rule's, ``{label}`` placeholders
filled from the labels, plus a default ``summary``.

Replicas: the state is in memory, so every replica must see every entry of the two streams
(a consumer group per replica) or only one replica may evaluate rules; each replica then sends
the same alerts, which intake deduplicates by fingerprint. A restart forgets open episodes:
their alerts still resolve at their ``ends_at`` (expiry), or are refreshed by the next match
(same fingerprint: the same alert).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from vigil_alerter.clock import Clock
from vigil_alerter.config.holder import LoadedConfig
from vigil_alerter.config.models import EventRule
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.rules.detection_rule import detection_matches
from vigil_alerter.rules.event_rule import event_matches
from vigil_alerter.rules.maintenance import MaintenanceView
from vigil_alerter.rules.match import RuleMatch
from vigil_runtime.logging import get_logger
from vigil_runtime.streams import StreamEntry
from vigil_runtime.tasks import wait_event
from vigil_schema.enums import AlertSeverity
from vigil_schema.messages import (
    DetectionMessage,
    EventBatchMessage,
    EventMessage,
    StreamMessage,
    label_fingerprint,
)
from vigil_schema.streams import Envelope

__all__ = ["SOURCE", "ConfigSource", "Due", "RuleEvaluator", "Sink", "rule_labels"]

SOURCE = "rule"
"""``IncomingAlert.source`` of the alerts raised here."""

Sink = Callable[[Sequence[IncomingAlert]], Awaitable[None]]
"""Where alerts go: ``Intake.ingest``."""

EpisodeKey = tuple[str, str, tuple[tuple[str, str], ...]]

_log = get_logger(__name__)


class ConfigSource(Protocol):
    """The configuration in force (:class:`~vigil_alerter.config.holder.ConfigHolder`)."""

    @property
    def current(self) -> LoadedConfig: ...


@dataclass(slots=True)
class _Episode:
    """A rule firing on one camera (and zone/class or event type): one alert."""

    labels: dict[str, str]
    annotations: dict[str, str]
    started_at: datetime
    last: RuleMatch
    last_match_at: datetime
    matches: int = 1
    sent_at: datetime | None = None
    sent_matches: int = 0


@dataclass(frozen=True, slots=True)
class Due:
    """An alert to send for an episode, and the episode's match count when it was built."""

    key: EpisodeKey
    alert: IncomingAlert
    matches: int


def rule_labels(match: RuleMatch) -> dict[str, str]:
    """The alert's labels for a match (see the module docstring)."""
    rule = match.rule
    labels = dict(rule.labels)
    labels.update({"alertname": rule.name, "camera_id": match.camera_id, **match.key_labels})
    labels["severity"] = rule.severity
    return labels


class RuleEvaluator:
    """Rules over detections and events → alerts (see the module docstring)."""

    def __init__(
        self,
        holder: ConfigSource,
        maintenance: MaintenanceView,
        sink: Sink,
        clock: Clock,
        *,
        coalesce: timedelta = timedelta(seconds=1),
    ) -> None:
        self._holder = holder
        self._maintenance = maintenance
        self._sink = sink
        self._clock = clock
        self._coalesce = coalesce
        self._episodes: dict[EpisodeKey, _Episode] = {}
        self._lock = asyncio.Lock()

    @property
    def open_episodes(self) -> int:
        """Episodes (firing rule alerts) held in memory."""
        return len(self._episodes)

    # -- entry points ------------------------------------------------------------------

    async def handle_entries(self, entries: list[StreamEntry]) -> None:
        """StreamConsumer handler for ``vigil:detections`` and ``vigil:events``."""
        messages = [Envelope.from_fields(entry.fields).decode() for entry in entries]
        now = self._clock()
        for message in messages:
            self.record(message, now)
        await self._flush(now)

    async def tick(self, now: datetime | None = None) -> int:
        """Send pending refreshes and due resolves; how many alerts were sent."""
        return await self._flush(now or self._clock())

    async def run(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Call :meth:`tick` every ``interval_s`` until ``stop`` is set (errors are logged)."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # the next tick retries; the state is kept
                _log.warning("rule_tick_failed", error=repr(exc))
            await wait_event(stop, interval_s)

    # -- matching ----------------------------------------------------------------------

    def matches(self, message: StreamMessage) -> list[RuleMatch]:
        """The current rules' matches on one decoded stream message."""
        loaded = self._holder.current
        found: list[RuleMatch] = []
        if isinstance(message, DetectionMessage):
            if self._maintenance.in_maintenance(message.camera_id):
                return []
            for rule in loaded.config.rules:
                found.extend(detection_matches(rule, message, loaded.intervals))
        elif isinstance(message, EventMessage | EventBatchMessage):
            if self._maintenance.in_maintenance(message.camera_id):
                return []
            for rule in loaded.config.rules:
                found.extend(event_matches(rule, message, loaded.intervals))
        return found

    def record(self, message: StreamMessage, now: datetime) -> int:
        """Update the episodes with a message's matches; how many matches there were."""
        found = self.matches(message)
        for match in found:
            episode = self._episodes.get(match.key)
            if episode is None:
                labels = rule_labels(match)
                self._episodes[match.key] = _Episode(
                    labels=labels,
                    annotations=_annotations(match.rule, labels),
                    started_at=min(match.at, now),
                    last=match,
                    last_match_at=now,
                )
            else:
                episode.last, episode.last_match_at = match, now
                episode.matches += 1
        return len(found)

    # -- sending -----------------------------------------------------------------------

    def due(self, now: datetime) -> list[Due]:
        """The alerts to send now: new episodes, refreshes past ``coalesce``, resolves."""
        rules = {rule.name: rule for rule in self._holder.current.config.rules}
        due: list[Due] = []
        for key, episode in self._episodes.items():
            rule = rules.get(key[0])
            if rule is None:
                due.append(Due(key, _alert(episode, ends_at=now, resolved=True), episode.matches))
                continue
            ends_at = episode.last_match_at + rule.resolve_after
            if ends_at <= now:
                alert = _alert(episode, ends_at=ends_at, resolved=True)
            elif episode.sent_at is None or (
                episode.matches > episode.sent_matches and episode.sent_at + self._coalesce <= now
            ):
                alert = _alert(episode, ends_at=ends_at, resolved=False)
            else:
                continue
            due.append(Due(key, alert, episode.matches))
        return due

    async def _flush(self, now: datetime) -> int:
        async with self._lock:
            due = self.due(now)
            if not due:
                return 0
            await self._sink([item.alert for item in due])
            self._confirm(due, now)
            return len(due)

    def _confirm(self, sent: Iterable[Due], now: datetime) -> None:
        """Record what the sink took; matches recorded meanwhile stay pending (a resolve of
        an episode that matched again meanwhile does not end it: it fires again next)."""
        for item in sent:
            episode = self._episodes.get(item.key)
            if episode is None:
                continue
            if item.alert.resolved and episode.matches == item.matches:
                del self._episodes[item.key]
            elif item.alert.resolved:
                episode.sent_at, episode.sent_matches = None, 0
                episode.started_at = min(episode.last.at, episode.last_match_at)
            else:
                episode.sent_at, episode.sent_matches = now, item.matches


def _annotations(rule: EventRule, labels: Mapping[str, str]) -> dict[str, str]:
    filled = {name: _fill(text, labels) for name, text in rule.annotations.items()}
    filled.setdefault("summary", _summary(rule, labels))
    return filled


def _fill(text: str, labels: Mapping[str, str]) -> str:
    """``{label}`` placeholders filled from the labels; unknown ones are left as written."""
    try:
        return text.format_map(_Missing(labels))
    except (ValueError, IndexError, AttributeError):  # stray braces: the text as written
        return text


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _summary(rule: EventRule, labels: Mapping[str, str]) -> str:
    what = labels.get("object_class") or labels.get("event_type") or "match"
    where = f" in zone {labels['zone']}" if "zone" in labels else ""
    return f"{rule.name}: {what}{where} on camera {labels['camera_id']}"


def _alert(episode: _Episode, *, ends_at: datetime, resolved: bool) -> IncomingAlert:
    match = episode.last
    identity = {name: value for name, value in episode.labels.items() if name != "severity"}
    data: dict[str, Any] = {
        "rule": match.rule.name,
        "stream": match.rule.stream,
        "matches": episode.matches,
        "last_match_at": match.at.isoformat(),
        "confidence": match.confidence,
        **match.details,
    }
    return IncomingAlert(
        labels=dict(episode.labels),
        annotations=dict(episode.annotations),
        starts_at=episode.started_at,
        ends_at=ends_at,
        generator_url=None,
        source=SOURCE,
        severity=AlertSeverity(match.rule.severity),
        fingerprint=label_fingerprint(identity),
        camera_id=match.camera_id,
        title=episode.annotations["summary"],
        description=episode.annotations.get("description", ""),
        data=data,
        resolved=resolved,
    )
