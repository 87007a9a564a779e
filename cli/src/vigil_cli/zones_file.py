"""Read a camera's zones from a JSON or YAML file and explain what is wrong with it.

The file holds either ``{"zones": [...]}`` (the shape stored in ``cameras.zone_config``) or
just the list of zones. Validation is :class:`vigil_schema.camera.ZoneConfig`'s; this module
only turns its errors into sentences that name the zone and the point at fault, e.g.
``zone 'parking' (#2): polygon point 3, x: must be at most 1 (got 1.5)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from vigil_schema.camera import ZoneConfig

MAX_FILE_BYTES = 1_000_000
_VALUE_ERROR_PREFIX = "Value error, "
_AXES = ("x", "y")


class ZonesFileError(ValueError):
    """The zones file cannot be read, parsed or validated; the message says why and where."""


def load_zones_file(path: Path) -> ZoneConfig:
    """Read, parse and validate the zones file at ``path``."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ZonesFileError(f"zones file {path} is larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ZonesFileError(f"cannot read zones file {path}: {exc}") from None
    return parse_zones(text, source=str(path), as_json=path.suffix.lower() == ".json")


def parse_zones(text: str, *, source: str, as_json: bool) -> ZoneConfig:
    """Parse ``text`` (JSON, or YAML which also accepts JSON) into a validated zone config."""
    raw = _parse_json(text, source) if as_json else _parse_yaml(text, source)
    if isinstance(raw, list):
        raw = {"zones": raw}
    if not isinstance(raw, dict):
        raise ZonesFileError(
            f"zones file {source} must hold an object with a 'zones' list, or a list of zones"
        )
    try:
        return ZoneConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "\n  ".join(describe_errors(exc.errors(), raw))
        raise ZonesFileError(f"invalid zones in {source}:\n  {problems}") from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ZonesFileError(
            f"zones file {source} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ZonesFileError(
            f"zones file {source} is not valid YAML or JSON: {problem}{where}"
        ) from None


def describe_errors(errors: Sequence[ErrorDetails], raw: dict[str, Any]) -> list[str]:
    """One sentence per validation error, naming the zone (by name and position) at fault."""
    return [_describe(error, raw) for error in errors]


def _describe(error: ErrorDetails, raw: dict[str, Any]) -> str:
    loc = list(error["loc"])
    message = _message(error)
    if len(loc) >= 2 and loc[0] == "zones" and isinstance(loc[1], int):
        where = _zone_label(raw, loc[1])
        field = _field_path(loc[2:])
        return f"{where}: {field}: {message}" if field else f"{where}: {message}"
    if not loc:
        return message
    if loc == ["zones"]:
        return message if error["type"] == "value_error" else f"'zones': {message}"
    return f"{'.'.join(str(part) for part in loc)}: {message}"


def _zone_label(raw: dict[str, Any], index: int) -> str:
    zones = raw.get("zones")
    zone = zones[index] if isinstance(zones, list) and index < len(zones) else None
    name = zone.get("name") if isinstance(zone, dict) else None
    if isinstance(name, str) and name.strip():
        return f"zone {name!r} (#{index + 1})"
    return f"zone #{index + 1}"


def _field_path(loc: list[int | str]) -> str:
    if not loc:
        return ""
    if loc[0] == "polygon" and len(loc) >= 2 and isinstance(loc[1], int):
        text = f"polygon point {loc[1] + 1}"
        if len(loc) >= 3 and isinstance(loc[2], int) and loc[2] < len(_AXES):
            text += f", {_AXES[loc[2]]}"
        return text
    return ".".join(str(part) for part in loc)


def _message(error: ErrorDetails) -> str:
    kind, loc = error["type"], error["loc"]
    ctx = error.get("ctx") or {}
    in_polygon = "polygon" in loc[:-1] or loc[-1:] == ("polygon",)
    if kind == "too_short" and loc[-1:] == ("polygon",):
        return f"a polygon needs at least 3 points, got {ctx.get('actual_length', '?')}"
    if in_polygon and kind in ("too_long", "too_short", "tuple_type", "list_type"):
        return f"a point must be [x, y] (two numbers), got {error['input']!r}"
    if in_polygon and kind in ("less_than_equal", "greater_than_equal"):
        return f"must be between 0 and 1 (normalised to the frame), got {error['input']!r}"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"must be a number, got {error['input']!r}"
    if kind == "extra_forbidden":
        return "unknown field"
    message = error["msg"]
    return message.removeprefix(_VALUE_ERROR_PREFIX)
