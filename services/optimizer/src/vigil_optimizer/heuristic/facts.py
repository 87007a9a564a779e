"""The facts the heuristic rules read, normalised from one :class:`RecommendationContext`.

:func:`facts_from` never raises for a camera's data: an unknown purpose, scene or lighting
string becomes None (and lowers the confidence), a speed that is not a finite positive number
is dropped, a mains frequency other than 50/60 Hz becomes 50 Hz. Purposes and scenes are
matched case-insensitively through a few aliases (``lpr``/``anpr`` → ``plates``, ``face`` →
``facial``...). Motion is the operator's hint, else ``high`` for plates or a subject speed of
at least 20 km/h, else unknown.

``stream`` is the tuned profile's current encoder configuration (the context's current
stream values over the profile's own), ``options`` its encoder options, ``imaging`` the
imaging options; any of them may be None when inspection could not read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from vigil_optimizer.recommendation import RecommendationContext
from vigil_schema.camera_settings import (
    EncoderOptions,
    ExposureSettings,
    ImageSettings,
    ImagingOptions,
    LowLightSettings,
    ProfileInfo,
    StreamSettings,
)

__all__ = ["LIGHTINGS", "PURPOSES", "Facts", "facts_from"]

PURPOSES: dict[str, str] = {
    "overview": "overview", "general": "overview", "monitoring": "overview",
    "observation": "overview", "observe": "overview",
    "detection": "detection", "detect": "detection", "intrusion": "detection",
    "facial": "facial", "face": "facial", "faces": "facial", "identification": "facial",
    "identify": "facial",
    "plates": "plates", "plate": "plates", "lpr": "plates", "anpr": "plates",
    "license_plates": "plates", "licence_plates": "plates",
}  # fmt: skip
"""Accepted purpose names → the purpose the rules know."""

LIGHTINGS = frozenset({"daylight", "artificial", "low_light", "backlit", "mixed"})
VEHICLE_SCENES = frozenset({"vehicle_entrance", "gate", "garage", "parking_entrance", "barrier"})
HIGH_MOTION_KMH = 20.0


@dataclass(frozen=True)
class Facts:
    """What the rules know about one camera (see the module docstring)."""

    purpose: str | None
    scene: str | None
    lighting: str | None
    speed_kmh: float | None
    mains_hz: int
    motion: str | None
    anomalies: frozenset[str]
    has_health: bool
    bandwidth_kbps: int | None
    scene_width_m: float | None
    profile: ProfileInfo | None
    stream: StreamSettings
    options: EncoderOptions | None
    imaging: ImagingOptions | None
    exposure: ExposureSettings
    low_light: LowLightSettings
    image: ImageSettings

    @property
    def vehicle_entrance(self) -> bool:
        """A gate or entrance where vehicles' headlights face the camera."""
        return self.scene in VEHICLE_SCENES or (
            self.scene in {"entrance", "parking"} and self.purpose == "plates"
        )


def _name(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def _positive(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _motion(value: object, purpose: str | None, speed: float | None) -> str | None:
    hint = _name(value)
    if hint in {"low", "high"}:
        return hint
    if purpose == "plates" or (speed is not None and speed >= HIGH_MOTION_KMH):
        return "high"
    return None


def _stream(context: RecommendationContext, profile: ProfileInfo | None) -> StreamSettings:
    values: dict[str, Any] = {}
    if profile is not None:  # ProfileInfo's values are unchecked: keep the valid ones
        values = {k: v for k, v in vars(profile).items() if k in StreamSettings.model_fields}
        values = {k: v for k, v in values.items() if _valid_stream_value(k, v)}
    if context.current.stream is not None:
        values.update(context.current.stream.model_dump(exclude_none=True))
    if profile is not None:
        values["profile_token"] = profile.token
    return StreamSettings.model_validate(values)


def _valid_stream_value(name: str, value: object) -> bool:
    try:
        StreamSettings.model_validate({name: value})
    except ValidationError:
        return False
    return True


def _anomalies(context: RecommendationContext) -> frozenset[str]:
    if context.health is None:
        return frozenset()
    return frozenset(str(a.get("type")) for a in context.health.anomalies if isinstance(a, dict))


def facts_from(context: RecommendationContext) -> Facts:
    """The normalised facts of ``context`` (see the module docstring)."""
    purpose = PURPOSES.get(_name(context.purpose) or "")
    speed = _positive(context.speed_kmh)
    lighting = _name(context.lighting)
    current = context.current
    token = current.stream.profile_token if current.stream is not None else None
    profile = context.capabilities.profile(token)
    extra = context.extra if isinstance(context.extra, dict) else {}
    bandwidth = _positive(context.bandwidth_kbps)
    return Facts(
        purpose=purpose,
        scene=_name(context.scene_type),
        lighting=lighting if lighting in LIGHTINGS else None,
        speed_kmh=speed,
        mains_hz=60 if context.mains_hz == 60 else 50,
        motion=_motion(context.motion, purpose, speed),
        anomalies=_anomalies(context),
        has_health=context.health is not None,
        bandwidth_kbps=max(1, int(bandwidth)) if bandwidth is not None else None,
        scene_width_m=_positive(extra.get("scene_width_m")),
        profile=profile,
        stream=_stream(context, profile),
        options=profile.options if profile is not None else None,
        imaging=context.capabilities.imaging,
        exposure=current.exposure or ExposureSettings(),
        low_light=current.low_light or LowLightSettings(),
        image=current.image or ImageSettings(),
    )
