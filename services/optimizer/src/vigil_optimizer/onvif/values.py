"""Tolerant reading of values from zeep objects built from real camera answers.

Camera firmware pads text with whitespace, sends numbers as text ("4.000000"), leaves out
optional elements and sometimes required ones. These helpers never raise: a value that is
absent, empty or not what it should be is ``None`` (or an empty list), and the caller
reports what it could read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import zeep.helpers
from lxml import etree  # type: ignore[import-untyped]

from vigil_schema.camera_settings import Range, Resolution

__all__ = [
    "field",
    "items",
    "number",
    "plain",
    "positive",
    "range_of",
    "resolution_of",
    "text",
    "upper_choice",
    "whole",
]


def field(obj: Any, *path: str) -> Any:
    """``obj.a.b.c`` for ``path == ("a", "b", "c")``, ``None`` where a step is missing.

    zeep puts elements it met inside an ``xs:any`` wildcard (ONVIF's ``Extension`` elements
    begin with one, which swallows what follows) into ``_value_1`` as raw lxml elements, so a
    missing name is also looked up there, and raw elements are read by local name (any
    namespace prefix): a leaf element gives its text, several same-named children a list.
    """
    for name in path:
        if obj is None:
            return None
        if isinstance(obj, dict):
            obj = obj.get(name)
        elif isinstance(obj, etree._Element):
            obj = _raw_child(obj, name)
        else:
            found = _attribute(obj, name)
            obj = found if found is not None else _from_wildcard(obj, name)
    return obj


def _attribute(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except (AttributeError, KeyError, TypeError):  # zeep raises on some unknown names
        return None


def _from_wildcard(obj: Any, name: str) -> Any:
    raw = [e for e in items(_attribute(obj, "_value_1")) if isinstance(e, etree._Element)]
    matches = [e for e in raw if etree.QName(e).localname == name]
    return _raw_value(matches)


def _raw_child(element: Any, name: str) -> Any:
    if name in element.attrib:
        return element.attrib[name]
    matches = [
        child for child in element
        if isinstance(child.tag, str) and etree.QName(child).localname == name
    ]  # fmt: skip
    return _raw_value(matches)


def _raw_value(matches: list[Any]) -> Any:
    """None, a leaf's text, the element, or a list of them for repeated elements."""
    values = [m.text if len(m) == 0 and not m.attrib else m for m in matches]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def items(value: Any) -> list[Any]:
    """A list of the value's entries: ``None`` → ``[]``, a single value → ``[value]``."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [item for item in value if item is not None]
    return [value]


def text(value: Any) -> str | None:
    """The stripped string, ``None`` when absent or blank."""
    if value is None:
        return None
    stripped = str(value).strip()
    return stripped or None


def number(value: Any) -> float | None:
    """A finite float from a number or numeric text, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        result = float(value)
    else:
        raw = text(value)
        if raw is None:
            return None
        try:
            result = float(raw)
        except ValueError:
            return None
    return result if math.isfinite(result) else None


def whole(value: Any) -> int | None:
    """An integer from a number or numeric text ("25", " 25.0 "), else ``None``."""
    result = number(value)
    if result is None or abs(result) > 2**53:
        return None
    return round(result)


def positive(value: Any) -> float | None:
    """A number above zero, else ``None`` (cameras send 0 for "not set")."""
    result = number(value)
    return result if result is not None and result > 0 else None


def upper_choice(value: Any, allowed: Iterable[str]) -> str | None:
    """The upper-cased text if it is one of ``allowed``, else ``None``."""
    raw = text(value)
    if raw is None:
        return None
    upper = raw.upper()
    return upper if upper in set(allowed) else None


def range_of(value: Any, low: str = "Min", high: str = "Max") -> Range | None:
    """A :class:`Range` from an ONVIF ``{Min, Max}`` (swapped bounds are put in order)."""
    lo, hi = number(field(value, low)), number(field(value, high))
    if lo is None or hi is None:
        return None
    return Range(min=min(lo, hi), max=max(lo, hi))


def resolution_of(value: Any) -> Resolution | None:
    """A :class:`Resolution` from an ONVIF ``{Width, Height}``, ``None`` if unusable."""
    width, height = whole(field(value, "Width")), whole(field(value, "Height"))
    if width is None or height is None or not (0 < width <= 16384 and 0 < height <= 16384):
        return None
    return Resolution(width=width, height=height)


def plain(value: Any) -> dict[str, Any]:
    """A zeep object as nested plain dicts, for sending back changed (empty when absent)."""
    if value is None:
        return {}
    result = zeep.helpers.serialize_object(value, dict)  # type: ignore[no-untyped-call]
    return result if isinstance(result, dict) else {}
