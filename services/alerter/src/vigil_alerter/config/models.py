"""The alerter's configuration file, as pydantic models: Alertmanager's format plus extensions.

The file is an Alertmanager configuration (``global``, ``route``, ``receivers``,
``inhibit_rules``, ``time_intervals``) so that the same routing tree can be run through a real
Alertmanager (the tests do), with Vigil's extensions where Alertmanager has nothing:

- receivers: ``apprise_configs`` (Apprise URLs: Slack, mailto, ntfy, Telegram, PagerDuty,
  MQTT, ...), ``webhook_configs`` with an optional HMAC secret (``hmac_secret_env`` names the
  environment variable holding it, never the secret itself), ``log_configs`` (a structured
  log line: the default receiver), and a per-receiver ``rate_limit``;
- routes: ``escalations`` (after an alert stayed ``new`` for ``after``, notify ``receiver``);
- top-level ``rules``: alerts raised by the alerter itself from ``vigil:events`` and
  ``vigil:detections``.

Durations use Prometheus' syntax (``30s``, ``5m``, ``1h30m``, ``1d``); matchers Alertmanager's
(``severity="critical"``, ``camera_id=~"lot-.*"``). Unknown keys are refused (a typo must not
silently route nothing); numbers where text is expected (``days_of_month: [1, -1]``,
``match: {code: 500}``) are read as text, as Alertmanager's YAML decoding does.
:func:`vigil_alerter.config.loader.load_config` turns a YAML file
into :class:`AlerterConfig` and a validation error into one naming the line and the field.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "DEFAULT_CONFIG_YAML",
    "AlerterConfig",
    "AppriseConfig",
    "Duration",
    "EscalationStep",
    "EventRule",
    "GlobalConfig",
    "InhibitRule",
    "LogConfig",
    "RateLimitConfig",
    "Receiver",
    "RouteConfig",
    "TimeInterval",
    "TimeIntervalSpec",
    "TimeRange",
    "WebhookConfig",
    "parse_duration",
]

_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_UNITS_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def parse_duration(value: object) -> timedelta:
    """Prometheus' duration syntax (``1h30m``, ``90s``, ``0s``) or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 5m, 1h30m)")
    match = _DURATION.match(value)
    if match is None or value == "":
        raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 5m, 1h30m)")
    seconds = sum(
        int(match.group(2 * i + 2)) * unit
        for i, unit in enumerate(_UNITS_S)
        if match.group(2 * i + 2) is not None
    )
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
MatcherText = Annotated[str, Field(min_length=1, max_length=1024)]
Name = Annotated[str, Field(min_length=1, max_length=128)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class GlobalConfig(_Strict):
    """``global``: Alertmanager's resolve timeout and the URL notifications link back to."""

    resolve_timeout: Duration = timedelta(minutes=5)
    """An API alert without ``endsAt`` resolves this long after its last update."""
    external_url: str | None = None
    """Overrides ``VIGIL_ALERTER_EXTERNAL_URL`` (``externalURL`` in webhooks, frame links)."""


class WebhookConfig(_Strict):
    """Alertmanager's ``webhook_configs`` entry plus Vigil's HMAC signature."""

    url: Annotated[str, Field(pattern=r"^https?://")]
    send_resolved: bool = True
    max_alerts: Annotated[int, Field(ge=0)] = 0
    """At most this many alerts in a body (0: all); the rest are counted in truncatedAlerts."""
    hmac_secret_env: str | None = None
    """Environment variable holding the HMAC-SHA256 key; unset: the body is not signed."""
    timeout: Duration = timedelta(seconds=10)


class AppriseConfig(_Strict):
    """Vigil's extension: notify through Apprise URLs (one notification to all of them)."""

    urls: Annotated[list[Annotated[str, Field(min_length=3)]], Field(min_length=1)]
    send_resolved: bool = True
    title_template: str | None = None
    """``str.format`` template over the group (``{status}``, ``{count}``, ``{alertname}``...)."""


class LogConfig(_Strict):
    """Vigil's extension: a structured log line per notification (the default receiver)."""

    send_resolved: bool = True


class RateLimitConfig(_Strict):
    """At most ``max`` notifications to a receiver in any ``per`` (shared by replicas).

    A notification over the limit waits for room; it is never dropped."""

    max: Annotated[int, Field(ge=1)]
    per: Duration


class Receiver(_Strict):
    """A named receiver: its integrations (none at all: a blackhole, as in Alertmanager)."""

    name: Name
    webhook_configs: list[WebhookConfig] = Field(default_factory=list)
    apprise_configs: list[AppriseConfig] = Field(default_factory=list)
    log_configs: list[LogConfig] = Field(default_factory=list)
    rate_limit: RateLimitConfig | None = None


class EscalationStep(_Strict):
    """Notify ``receiver`` when an alert of this route is still ``new`` ``after`` firing."""

    after: Duration
    receiver: Name


class RouteConfig(_Strict):
    """A node of Alertmanager's routing tree; unset options inherit the parent's."""

    receiver: Name | None = None
    group_by: list[str] | None = None
    """Label names, or ``["..."]`` to group by every label (one alert per group)."""
    matchers: list[MatcherText] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    """Deprecated in Alertmanager but still accepted there: equality matchers."""
    match_re: dict[str, str] = Field(default_factory=dict)
    """Deprecated in Alertmanager but still accepted there: anchored regex matchers."""
    continue_: bool = Field(default=False, alias="continue")
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[Name] = Field(default_factory=list)
    active_time_intervals: list[Name] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    escalations: list[EscalationStep] = Field(default_factory=list)

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )

    @field_validator("group_by")
    @classmethod
    def _ellipsis_alone(cls, value: list[str] | None) -> list[str] | None:
        if value and "..." in value and len(value) > 1:
            raise ValueError("'...' groups by all labels and must be the only entry")
        return value

    @field_validator("group_interval", "repeat_interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be greater than 0")
        return value


class InhibitRule(_Strict):
    """Alertmanager's inhibition: a firing source mutes matching targets sharing ``equal``."""

    source_matchers: list[MatcherText] = Field(default_factory=list)
    target_matchers: list[MatcherText] = Field(default_factory=list)
    source_match: dict[str, str] = Field(default_factory=dict)
    source_match_re: dict[str, str] = Field(default_factory=dict)
    target_match: dict[str, str] = Field(default_factory=dict)
    target_match_re: dict[str, str] = Field(default_factory=dict)
    equal: list[str] = Field(default_factory=list)


class TimeRange(_Strict):
    """``start_time``/``end_time`` as ``HH:MM`` (end exclusive, ``24:00`` allowed)."""

    start_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    end_time: Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time (split a range over midnight)")
        return self


class TimeIntervalSpec(_Strict):
    """One of Alertmanager's time interval specs; every given field must match."""

    times: list[TimeRange] = Field(default_factory=list)
    weekdays: list[str] = Field(default_factory=list)
    """``monday``, ``monday:friday``."""
    days_of_month: list[str] = Field(default_factory=list)
    """``1``, ``1:5``, ``-1`` (the last day)."""
    months: list[str] = Field(default_factory=list)
    """``january``, ``1:3``, ``january:march``."""
    years: list[str] = Field(default_factory=list)
    location: str = "UTC"
    """An IANA zone name, ``Local`` or ``UTC``."""


class TimeInterval(_Strict):
    """A named set of specs (``time_intervals``): it holds when any spec does."""

    name: Name
    time_intervals: list[TimeIntervalSpec] = Field(default_factory=list)


class EventRule(_Strict):
    """Vigil's extension: raise an alert from ``vigil:detections`` or ``vigil:events``.

    A detection rule fires when a detection of one of ``classes`` (empty: any) is in one of
    ``zones`` (empty: anywhere) on a camera matched by ``cameras`` (empty: every camera),
    with at least ``min_confidence``, while ``active_time_intervals`` (empty: always) holds;
    an event rule when an event of one of ``event_types`` arrives. The alert resolves after
    ``resolve_after`` without a new match. Cameras in maintenance never fire.
    """

    name: Name
    """The alert's ``alertname``."""
    stream: Literal["detections", "events"]
    severity: Literal["info", "warning", "critical"] = "warning"
    cameras: list[str] = Field(default_factory=list)
    zones: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)
    event_types: list[str] = Field(default_factory=list)
    min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.0
    active_time_intervals: list[Name] = Field(default_factory=list)
    resolve_after: Duration = timedelta(minutes=5)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fits_stream(self) -> Self:
        if self.stream == "events" and (self.zones or self.classes):
            raise ValueError("zones and classes apply to stream 'detections' only")
        if self.stream == "detections" and self.event_types:
            raise ValueError("event_types apply to stream 'events' only")
        return self


class AlerterConfig(_Strict):
    """The whole file. Cross-references (receivers, time intervals) are checked here."""

    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    route: RouteConfig
    receivers: Annotated[list[Receiver], Field(min_length=1)]
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    time_intervals: list[TimeInterval] = Field(default_factory=list)
    mute_time_intervals: list[TimeInterval] = Field(default_factory=list)
    """Alertmanager's older name for ``time_intervals``; both are accepted."""
    templates: list[str] = Field(default_factory=list)
    """Accepted for Alertmanager compatibility and ignored (Vigil renders its own text)."""
    rules: list[EventRule] = Field(default_factory=list)

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )

    @model_validator(mode="after")
    def _references(self) -> Self:
        # Messages open with the field's path: the loader maps it to the file's line.
        if self.route.receiver is None:
            raise ValueError("route.receiver: the root route needs a receiver")
        for field in ("matchers", "match", "match_re"):
            if getattr(self.route, field):
                raise ValueError(f"route.{field}: the root route must not have matchers")
        if self.route.continue_:
            raise ValueError("route.continue: the root route cannot have continue")
        names = [r.name for r in self.receivers]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"receivers[{index}].name: duplicate receiver name {name!r}")
        intervals = {t.name for t in self.all_time_intervals()}
        for path, route in _walk(self.route, "route"):
            _check_route(path, route, names, intervals)
        for index, rule in enumerate(self.rules):
            for i, interval in enumerate(rule.active_time_intervals):
                if interval not in intervals:
                    raise ValueError(
                        f"rules[{index}].active_time_intervals[{i}]: "
                        f"time interval {interval!r} is not defined"
                    )
        return self

    def all_time_intervals(self) -> list[TimeInterval]:
        """``time_intervals`` and ``mute_time_intervals`` together."""
        return [*self.time_intervals, *self.mute_time_intervals]

    def receiver(self, name: str) -> Receiver:
        """The receiver called ``name`` (validated to exist for every route)."""
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)


def _check_route(path: str, route: RouteConfig, receivers: list[str], intervals: set[str]) -> None:
    if route.receiver is not None and route.receiver not in receivers:
        raise ValueError(f"{path}.receiver: receiver {route.receiver!r} is not defined")
    for index, step in enumerate(route.escalations):
        if step.receiver not in receivers:
            raise ValueError(
                f"{path}.escalations[{index}].receiver: receiver {step.receiver!r} is not defined"
            )
    for field in ("mute_time_intervals", "active_time_intervals"):
        for index, interval in enumerate(getattr(route, field)):
            if interval not in intervals:
                raise ValueError(
                    f"{path}.{field}[{index}]: time interval {interval!r} is not defined"
                )


def _walk(route: RouteConfig, path: str) -> list[tuple[str, RouteConfig]]:
    found = [(path, route)]
    for index, child in enumerate(route.routes):
        found.extend(_walk(child, f"{path}.routes[{index}]"))
    return found


DEFAULT_CONFIG_YAML: Final = """\
# Vigil's default alerting configuration: every alert to the log receiver.
route:
  receiver: log
  group_by: [alertname, camera_id]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: log
    log_configs:
      - send_resolved: true
"""
"""What a fresh install runs with no rules file: the API works from the first minute."""
