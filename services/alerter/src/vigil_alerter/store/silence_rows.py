"""Reading silences for the flusher: :func:`active_silences` (the API owns writing them).

A ``silences`` row is Alertmanager's silence (``uuid``, a list of matchers
``{name, value, isRegex, isEqual}``, ``starts_at``/``ends_at``); it mutes while
``starts_at <= now < ends_at``, ``now`` from the alerter's clock. A row whose matchers no
longer parse is logged and skipped (it cannot mute anything it was not written for).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg

from vigil_alerter.routing.silences import SilenceRule
from vigil_runtime.logging import get_logger

__all__ = ["active_silences"]

_log = get_logger(__name__)

_ACTIVE_SQL: Final = """
SELECT uuid, matchers, starts_at, ends_at FROM silences
 WHERE starts_at <= $1 AND ends_at > $1
 ORDER BY starts_at, id
"""


async def active_silences(conn: asyncpg.Connection, now: datetime) -> list[SilenceRule]:
    """The silences active at ``now``."""
    rules: list[SilenceRule] = []
    for row in await conn.fetch(_ACTIVE_SQL, now):
        try:
            rule = SilenceRule.from_api(
                str(row["uuid"]), row["matchers"], row["starts_at"], row["ends_at"]
            )
        except (ValueError, TypeError, KeyError) as exc:
            _log.warning("silence_unreadable", silence=str(row["uuid"]), error=str(exc))
            continue
        rules.append(rule)
    return rules
