"""An alert as the engine receives it, from a stream candidate or from Alertmanager's API.

:class:`IncomingAlert` is source-neutral: the identifying ``labels`` (with ``severity``),
the ``fingerprint`` (Alertmanager's, :func:`vigil_schema.messages.label_fingerprint`),
annotations, the source's ``starts_at``/``ends_at`` and whether the source says it is
resolved. :meth:`IncomingAlert.from_candidate` reads an ``AlertCandidate`` of
``vigil:alerts`` (labels = ``all_labels()`` plus ``severity``; the fingerprint is the
candidate's own, without ``severity``). :meth:`IncomingAlert.from_postable` reads a
``postableAlert`` of ``POST /api/v2/alerts`` as Alertmanager does: no ``startsAt`` means
``endsAt`` when that is given (a resolution), else now; no ``endsAt`` means now +
``resolve_timeout``; it raises :class:`ValueError` for an
alert Alertmanager would refuse. Title and description come from the ``summary`` and
``description`` annotations, else the ``alertname``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from vigil_schema.enums import AlertSeverity, CandidateStatus
from vigil_schema.messages import AlertCandidate, label_fingerprint

__all__ = ["API_SOURCE", "IncomingAlert"]

API_SOURCE: Final = "api"
_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_CAMERA_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NANOS: Final = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    """One firing or resolved alert from a source (see the module docstring)."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    source: str
    severity: AlertSeverity
    fingerprint: str
    camera_id: str | None
    title: str
    description: str
    data: Mapping[str, Any] = field(default_factory=dict)
    resolved: bool = False
    """The source said resolved (a candidate with status resolved)."""

    @property
    def alertname(self) -> str:
        """The ``alertname`` label (empty when missing)."""
        return self.labels.get("alertname", "")

    def is_resolved(self, now: datetime) -> bool:
        """Resolved by the source: said so, or its ``ends_at`` is not in the future."""
        return self.resolved or (self.ends_at is not None and self.ends_at <= now)

    @classmethod
    def from_candidate(cls, candidate: AlertCandidate) -> IncomingAlert:
        """The alert a ``vigil:alerts`` candidate raises or resolves."""
        labels = candidate.all_labels()
        labels["severity"] = str(candidate.severity)
        annotations = dict(candidate.annotations)
        title, description = _texts(annotations, candidate.alertname)
        return cls(
            labels=labels,
            annotations=annotations,
            starts_at=candidate.starts_at,
            ends_at=candidate.ends_at,
            generator_url=annotations.get("generator_url"),
            source=candidate.source,
            severity=candidate.severity,
            fingerprint=candidate.fingerprint(),
            camera_id=candidate.camera_id,
            title=title,
            description=description,
            resolved=candidate.status is CandidateStatus.RESOLVED,
        )

    @classmethod
    def from_postable(
        cls, alert: Mapping[str, Any], now: datetime, resolve_timeout: timedelta
    ) -> IncomingAlert:
        """A ``postableAlert`` (Alertmanager API v2); :class:`ValueError` if invalid."""
        labels = _string_map(alert.get("labels"), "labels", names=True)
        if not labels:
            raise ValueError("labels: at least one label is required")
        annotations = _string_map(alert.get("annotations") or {}, "annotations", names=True)
        given_end = _time(alert.get("endsAt"))
        # Alertmanager: no startsAt means endsAt when given (a resolution), else now
        starts_at = _time(alert.get("startsAt")) or given_end or now
        ends_at = given_end or now + resolve_timeout
        if ends_at < starts_at:
            raise ValueError("start time must be before end time")
        generator_url = alert.get("generatorURL") or None
        if generator_url is not None and not isinstance(generator_url, str):
            raise ValueError("generatorURL: must be a string")
        title, description = _texts(annotations, labels.get("alertname", ""))
        camera_id = labels.get("camera_id")
        return cls(
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            ends_at=ends_at,
            generator_url=generator_url,
            source=API_SOURCE,
            severity=_severity(labels.get("severity")),
            fingerprint=label_fingerprint(labels),
            camera_id=camera_id if camera_id and _CAMERA_ID.match(camera_id) else None,
            title=title,
            description=description,
        )


def _texts(annotations: Mapping[str, str], alertname: str) -> tuple[str, str]:
    title = annotations.get("summary") or annotations.get("description") or alertname
    return title or "alert", annotations.get("description", "")


def _severity(value: str | None) -> AlertSeverity:
    try:
        return AlertSeverity(value) if value else AlertSeverity.WARNING
    except ValueError:
        return AlertSeverity.CRITICAL if value in ("error", "page") else AlertSeverity.WARNING


def _string_map(value: object, what: str, *, names: bool) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what}: must be an object of strings")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ValueError(f"{what}: must be an object of strings")
        if names and not _LABEL_NAME.match(key):
            raise ValueError(f"{what}: invalid name {key!r}")
        if "\x00" in item:
            raise ValueError(f"{what}: {key}: NUL character")
        if item:
            result[key] = item
    return result


def _time(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(_NANOS.sub(r"\1", value.replace("Z", "+00:00")))
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 time: {value!r}") from exc
    else:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:
        return None  # Go's zero time: unset
    return parsed
