"""The settings the rules build up, before clamping: one :class:`Draft` per recommendation.

Rules write values into the four groups (snake_case field names of
:class:`~vigil_schema.camera_settings.CameraSettings`), and two limits that encode the
precedence between them (docs/optimizer-rules.md, "Precedence"):

- ``exposure_limit_us``: the longest shutter the purpose, the motion and blur allow. The
  shutter rules set it first; a later rule (darkness) may raise the exposure only up to it.
- ``gain_cap``: the highest gain noise allows; darkness raises gain only up to it.

:meth:`Draft.value` reads a value as the camera will have it: the draft's if a rule set one,
else the current one. :meth:`Draft.settings` turns the draft into settings, dropping any value
the settings model refuses, so a rule's odd arithmetic can never crash the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from vigil_schema.camera_settings import (
    CameraSettings,
    ExposureSettings,
    ImageSettings,
    LowLightSettings,
    StreamSettings,
)

__all__ = ["Draft"]

_MODELS: dict[str, type[BaseModel]] = {
    "stream": StreamSettings,
    "exposure": ExposureSettings,
    "low_light": LowLightSettings,
    "image": ImageSettings,
}


@dataclass
class Draft:
    """Values the rules chose, the limits between them, their notes and warnings."""

    current: CameraSettings
    groups: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in _MODELS})
    exposure_limit_us: float | None = None
    gain_cap: float | None = None
    warnings: list[str] = field(default_factory=list)

    def set(self, group: str, name: str, value: Any) -> None:
        """Recommend ``group.name = value``."""
        self.groups[group][name] = value

    def value(self, group: str, name: str) -> Any:
        """The draft's value if set, else the current one (None if unknown)."""
        if name in self.groups[group]:
            return self.groups[group][name]
        current = getattr(self.current, group)
        return getattr(current, name, None) if current is not None else None

    def warn(self, text: str) -> None:
        """Add a warning for the operator."""
        self.warnings.append(text)

    def settings(self, profile_token: str | None) -> CameraSettings:
        """The draft as settings; a value its model refuses is dropped with a warning."""
        built: dict[str, BaseModel | None] = {}
        for group, model in _MODELS.items():
            values = {k: v for k, v in self.groups[group].items() if v is not None}
            if group == "stream" and values:
                values["profile_token"] = profile_token
            built[group] = self._validated(model, group, values) if values else None
        return CameraSettings.model_validate(built)

    def _validated(self, model: type[BaseModel], group: str, values: dict[str, Any]) -> BaseModel:
        kept: dict[str, Any] = {}
        for name, value in values.items():
            try:
                model.model_validate({name: value})
            except ValidationError:
                self.warn(f"{group}.{name}={value!r} is not a valid setting; left unchanged")
                continue
            kept[name] = value
        return model.model_validate(kept)
