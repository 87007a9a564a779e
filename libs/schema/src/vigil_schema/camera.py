"""Camera registry models: configuration, zones and credentials.

Zone polygons are **normalised** to the frame (``0 ≤ x, y ≤ 1``, origin top-left), so a zone
stays right when the optimizer changes a camera's resolution. A detector working in pixels
divides by the frame size before calling :meth:`Zone.contains`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import time
from ipaddress import IPv4Interface, IPv6Interface
from typing import Annotated, Any, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    JsonValue,
    SecretStr,
    field_validator,
    model_validator,
)

from vigil_schema.enums import ApplyPolicy, DesiredState
from vigil_schema.ids import CameraId
from vigil_schema.mqtt import NO_NUL_PATTERN, ShortText, UnitFloat

MAX_ZONES: Final = 64
MAX_POLYGON_POINTS: Final = 256
MIN_ZONE_AREA: Final = 1e-6
"""Smallest accepted zone area, as a fraction of the frame (rejects degenerate polygons)."""

Point = tuple[UnitFloat, UnitFloat]
ZONE_NAME_PATTERN: Final = r"^[^\s\x00-\x1f](?:[^\x00-\x1f]*[^\s\x00-\x1f])?$"
"""No control characters, no leading or trailing white space."""
ZoneName = Annotated[str, Field(min_length=1, max_length=64, pattern=ZONE_NAME_PATTERN)]


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- geometry


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    """Whether ``r``, known to be collinear with ``p``-``q``, lies on that segment."""
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segments ``p1-p2`` and ``q1-q2`` share a point (touching counts)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and _on_segment(q1, q2, p1))
        or (d2 == 0 and _on_segment(q1, q2, p2))
        or (d3 == 0 and _on_segment(p1, p2, q1))
        or (d4 == 0 and _on_segment(p1, p2, q2))
    )


def polygon_area(points: list[Point]) -> float:
    """Absolute area of a simple polygon (shoelace formula)."""
    twice = 0.0
    for i, (x1, y1) in enumerate(points):
        x2, y2 = points[(i + 1) % len(points)]
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2.0


def first_self_intersection(points: list[Point]) -> tuple[int, int] | None:
    """Indices of the first two non-adjacent edges that meet, ``None`` for a simple polygon.

    Edge ``i`` runs from point ``i`` to point ``i + 1`` (the last one back to point 0).
    """
    count = len(points)
    edges = [(points[i], points[(i + 1) % count]) for i in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            if j == i + 1 or (i == 0 and j == count - 1):
                continue  # adjacent edges share a vertex by construction
            if segments_intersect(*edges[i], *edges[j]):
                return i, j
    return None


# --------------------------------------------------------------------------- zones


class Zone(_ConfigModel):
    """A named region of the frame, e.g. a parking area whose cars are counted."""

    name: ZoneName
    polygon: Annotated[list[Point], Field(min_length=3, max_length=MAX_POLYGON_POINTS + 1)]
    """Vertices in order, normalised to the frame; the closing point may be repeated."""
    classes: list[ShortText] = Field(default_factory=list, max_length=64)
    """Object classes that count in this zone; empty means every class."""
    capacity: Annotated[int, Field(strict=True, ge=1)] | None = None

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, points: list[Point]) -> list[Point]:
        if len(points) > 3 and points[0] == points[-1]:
            points = points[:-1]  # an explicitly closed ring
        if len(points) > MAX_POLYGON_POINTS:
            raise ValueError(f"a polygon has at most {MAX_POLYGON_POINTS} points")
        if len(set(points)) != len(points):
            raise ValueError("polygon repeats a point")
        crossing = first_self_intersection(points)
        if crossing is not None:
            raise ValueError(
                f"polygon intersects itself (edges {crossing[0]} and {crossing[1]} meet)"
            )
        if polygon_area(points) < MIN_ZONE_AREA:
            raise ValueError("polygon has no area (its points are collinear or too close)")
        return points

    def contains(self, x: float, y: float) -> bool:
        """Whether the normalised point ``(x, y)`` lies inside the zone (even-odd rule)."""
        inside = False
        points = self.polygon
        j = len(points) - 1
        for i, (xi, yi) in enumerate(points):
            xj, yj = points[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def counts(self, class_name: str) -> bool:
        """Whether objects of ``class_name`` count in this zone."""
        return not self.classes or class_name in self.classes


class ZoneConfig(_ConfigModel):
    """The JSON stored in ``cameras.zone_config``: ``{"zones": [...]}``."""

    zones: Annotated[list[Zone], Field(max_length=MAX_ZONES)] = Field(default_factory=list)

    @field_validator("zones")
    @classmethod
    def _unique_names(cls, zones: list[Zone]) -> list[Zone]:
        seen: set[str] = set()
        for zone in zones:
            key = zone.name.casefold()
            if key in seen:
                raise ValueError(f"zone name {zone.name!r} is used twice (names ignore case)")
            seen.add(key)
        return zones

    def zone(self, name: str) -> Zone | None:
        """The zone called ``name`` (case-insensitive), if any."""
        key = name.casefold()
        return next((zone for zone in self.zones if zone.name.casefold() == key), None)

    def zones_containing(self, x: float, y: float, class_name: str | None = None) -> list[Zone]:
        """Zones containing the normalised point, restricted to those counting ``class_name``."""
        return [
            zone
            for zone in self.zones
            if (class_name is None or zone.counts(class_name)) and zone.contains(x, y)
        ]


# --------------------------------------------------------------------------- cameras


class CameraCredentials(_ConfigModel):
    """Login of a camera (ONVIF / RTSP). Stored only encrypted (``vigil_runtime.crypto``).

    ``repr``, ``str`` and ``model_dump_json`` show the password as ``**********``; only
    :meth:`to_json_bytes` reveals it, to hand it to the cipher.
    """

    username: Annotated[str, Field(min_length=1, max_length=128)]
    password: Annotated[SecretStr, Field(max_length=256)]

    def to_json_bytes(self) -> bytes:
        """The credentials in clear as JSON bytes; for encryption only, never log them."""
        return json.dumps(
            {"username": self.username, "password": self.password.get_secret_value()}
        ).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> Self:
        """Inverse of :meth:`to_json_bytes` (after decryption)."""
        return cls.model_validate_json(data)


# --------------------------------------------------------------------------- apply policy

HHMM_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Confidence = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Weekday = Annotated[int, Field(strict=True, ge=0, le=6)]
"""Monday = 0 ... Sunday = 6 (``datetime.weekday()``)."""


class MaintenanceWindow(_ConfigModel):
    """When the optimizer may change a camera on its own (``cameras.maintenance_window``).

    ``start``/``end`` are wall-clock ``HH:MM`` in ``tz`` (an IANA zone); the window is
    ``[start, end)``. An ``end`` before ``start`` crosses midnight (22:00-02:00); ``days``
    (Monday = 0 ... Sunday = 6, omitted: every day) are the days the window *opens* on, so
    Friday's 22:00-02:00 window runs into Saturday morning. ``start == end`` is refused
    (empty or whole day? say ``00:00``-``23:59`` or omit the window instead).
    """

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] | None = None
    start: Annotated[str, Field(pattern=HHMM_PATTERN)]
    end: Annotated[str, Field(pattern=HHMM_PATTERN)]
    tz: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"

    @field_validator("days")
    @classmethod
    def _distinct_days(cls, days: list[int] | None) -> list[int] | None:
        if days is not None and len(set(days)) != len(days):
            raise ValueError("days repeat a day")
        return sorted(days) if days is not None else None

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {tz!r} (use an IANA name like Europe/Paris)"
            ) from None
        return tz

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end are equal: the window would be empty")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """``tz`` as a ``ZoneInfo``."""
        return ZoneInfo(self.tz)

    @property
    def start_time(self) -> time:
        """``start`` as a ``time``."""
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        """``end`` as a ``time``."""
        return time.fromisoformat(self.end)

    @property
    def crosses_midnight(self) -> bool:
        """Whether the window ends the day after it opens."""
        return self.end < self.start

    def to_json(self) -> dict[str, Any]:
        """The JSON stored in ``cameras.maintenance_window`` (``days`` omitted when every day)."""
        return self.model_dump(mode="json", exclude_none=True)


OptionalText = Annotated[str, Field(max_length=255, pattern=NO_NUL_PATTERN)] | None
SECRET_COLUMNS: Final = ("credentials_encrypted", "connection_string_encrypted")
JSON_COLUMNS: Final = ("zone_config", "capabilities", "tags", "maintenance_window")


class CameraConfig(_ConfigModel):
    """The registry's view of a camera: a ``cameras`` row without its secrets."""

    id: CameraId
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL_PATTERN)]
    desired_state: DesiredState = DesiredState.ACTIVE
    site: OptionalText = None
    vendor: OptionalText = None
    model: OptionalText = None
    firmware: OptionalText = None
    ip: IPvAnyAddress | None = None
    onvif_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    vms_system: OptionalText = None
    vms_camera_id: OptionalText = None
    location: OptionalText = None
    scene_type: OptionalText = None
    purpose: OptionalText = None
    zone_config: ZoneConfig = Field(default_factory=ZoneConfig)
    capabilities: dict[str, JsonValue] = Field(default_factory=dict)
    """What ONVIF inspection found (resolutions, codecs, imaging ranges)."""
    tags: dict[str, JsonValue] = Field(default_factory=dict)
    health_interval_s: Annotated[int, Field(ge=1, le=86400)] = 60
    """How often the camera is expected to send a health sample, in seconds."""
    apply_policy: ApplyPolicy = ApplyPolicy.MANUAL
    """Whether the optimizer applies recommendations on its own (see :class:`ApplyPolicy`)."""
    maintenance_window: MaintenanceWindow | None = None
    """When ``auto`` applies may happen; ``None``: at any time."""
    auto_apply_min_confidence: Confidence | None = None
    """Lowest confidence applied under ``auto``; ``None``: the optimizer's default."""
    has_credentials: bool = False
    """Whether encrypted credentials are stored (they are never part of this model)."""
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """Build from a ``cameras`` row (asyncpg ``Record`` or dict), dropping the secrets.

        JSONB columns may come as text (no JSON codec) and ``inet`` as an interface object.
        """
        data = {key: value for key, value in row.items() if key not in SECRET_COLUMNS}
        data["has_credentials"] = row.get("credentials_encrypted") is not None
        for column in JSON_COLUMNS:
            value = data.get(column)
            if value is None:
                data.pop(column, None)
            elif isinstance(value, str | bytes):
                data[column] = json.loads(value)
        ip = data.get("ip")
        if isinstance(ip, IPv4Interface | IPv6Interface):
            data["ip"] = ip.ip
        return cls.model_validate(data)
