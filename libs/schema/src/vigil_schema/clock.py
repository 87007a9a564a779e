"""The one wall clock of Vigil: `utc_now()`, the current time, timezone-aware (UTC).

Every module that stamps a time with the wall clock calls this (or takes it as a
`clock: Callable[[], datetime]` parameter defaulting to it, so tests can move time). It
lives in vigil_schema, the lowest layer, because the stream message models use it as the
default of their time fields; services and the runtime import it from here.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now"]


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
