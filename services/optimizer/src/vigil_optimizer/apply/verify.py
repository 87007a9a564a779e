"""Compare what was asked of a camera with what it reads back: :func:`compare_section`.

Only the fields set in the requested section are compared (a recommendation names only what
it changes). ``profileToken`` is not compared: it says which profile, it is not a setting.
The comparison is of the value *sent* (already clamped to the camera's options), with a
tolerance where cameras legitimately round:

- ``fps``, ``quality``: within 0.5 (cameras keep integer frame-rate limits and quality steps:
  12.5 frames/s may read back as 12 or 13);
- ``bitrateKbps``: within 1 % (some encoders round to their own bit-rate steps);
- other numbers (exposure µs, gains, imaging levels): ``math.isclose`` with a relative and an
  absolute tolerance of 1e-3 (ONVIF floats travel as decimal text);
- integers such as ``gop``, strings (compared case-insensitively: ONVIF enumerations and H.264
  profile names) and resolutions: exactly.

A field the camera does not report back (``None``) is a mismatch: an unverified change is not
a verified one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from vigil_schema.camera_settings import CameraSettings, SettingsSection

__all__ = ["FieldCheck", "compare_section", "section_fields", "values_match"]

_HALF_STEP: Final = frozenset({"fps", "quality"})
_RELATIVE_1PCT: Final = frozenset({"bitrateKbps"})
_NOT_COMPARED: Final = frozenset({"profileToken"})
_FLOAT_TOLERANCE: Final = 1e-3


@dataclass(frozen=True)
class FieldCheck:
    """One field: what was expected, what the camera reported, whether they match."""

    field: str
    expected: Any
    actual: Any
    ok: bool

    def to_json(self) -> dict[str, Any]:
        """``{"expected", "actual", "ok"}`` for ``applied_configs.verification``."""
        return {"expected": self.expected, "actual": self.actual, "ok": self.ok}


def section_fields(settings: CameraSettings, section: SettingsSection) -> dict[str, Any]:
    """The camelCase fields set in one section of ``settings`` (empty when it is unset)."""
    group = settings.to_json().get(section)
    return dict(group) if isinstance(group, Mapping) else {}


def values_match(field: str, expected: Any, actual: Any) -> bool:
    """Whether ``actual`` counts as ``expected`` for ``field`` (see the module docstring)."""
    if actual is None:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected == actual)
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if field in _HALF_STEP:
            return abs(expected - actual) <= 0.5
        if field in _RELATIVE_1PCT:
            return abs(expected - actual) <= max(1.0, 0.01 * abs(expected))
        if isinstance(expected, int) and isinstance(actual, int):
            return expected == actual
        return math.isclose(expected, actual, rel_tol=_FLOAT_TOLERANCE, abs_tol=_FLOAT_TOLERANCE)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.casefold() == actual.casefold()
    return bool(expected == actual)


def compare_section(
    expected: CameraSettings, actual: CameraSettings, section: SettingsSection
) -> list[FieldCheck]:
    """A check per field set in ``expected``'s ``section``, against ``actual``'s."""
    wanted = section_fields(expected, section)
    found = section_fields(actual, section)
    return [
        FieldCheck(field, value, found.get(field), values_match(field, value, found.get(field)))
        for field, value in wanted.items()
        if field not in _NOT_COMPARED
    ]
