"""Rendering helpers for the CLI: aligned text tables, key/value blocks and JSON.

Commands build plain Python values and hand them here, so the formatting rules (how a
``None`` or a timestamp looks, JSON encoding of dates, IP addresses and enums) live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Any

import click

EMPTY = "-"


def format_value(value: object) -> str:
    """Human-readable text of one cell: ``-`` for missing, ISO time without microseconds."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a header row."""
    cells = [[format_value(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [_line(headers, widths)]
    lines.extend(_line(row, widths) for row in cells)
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
    return "  ".join(padded).rstrip()


def render_fields(fields: Mapping[str, object]) -> str:
    """``key: value`` lines with the values aligned."""
    width = max((len(key) for key in fields), default=0) + 1
    return "\n".join(f"{key + ':':<{width}} {format_value(value)}" for key, value in fields.items())


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, IPv4Address | IPv6Address | IPv4Interface | IPv6Interface):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(value: object) -> str:
    """Indented JSON, with dates, enums and IP addresses as strings."""
    return json.dumps(value, indent=2, default=_json_default, ensure_ascii=False)


def echo_json(value: object) -> None:
    """Print ``value`` as JSON on stdout."""
    click.echo(to_json(value))
