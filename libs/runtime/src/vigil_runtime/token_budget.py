"""`TokenBudget`: a daily token allowance in Redis, shared by every replica.

The tokens spent on a UTC day are one Redis integer, `{prefix}:{YYYY-MM-DD}` (a new key,
so a new budget, each day), which expires two days after its last change. A caller:

1. `reserve(tokens)` before a call, with its worst case (prompt estimate plus max output):
   a Lua script adds them only if the day's spend stays within `daily_tokens`, else
   returns None (nothing changes). Atomic, so concurrent reservations from many replicas
   never overspend the budget between them.
2. `settle(reservation, actual)` after it, with the tokens the API reports: the day's spend
   moves by `actual - reserved`. It may go above the budget when the API used more than
   reserved (that is spent), and never below 0. A reservation belongs to the day it was
   made on, so a call that straddles midnight is settled on its own day.
3. or `release(reservation)` if the call did not happen or used nothing.

`spent()` / `remaining()` read today's key. Every call sets the gauge
`vigil_token_budget_remaining{name}` (tokens left today, never below 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import redis.asyncio as aioredis
from prometheus_client import Gauge

from vigil_schema.clock import utc_now

__all__ = ["BUDGET_REMAINING", "KEY_TTL_S", "Reservation", "TokenBudget"]

BUDGET_REMAINING: Final = Gauge(
    "vigil_token_budget_remaining", "Tokens left in today's (UTC) budget", ["name"]
)

KEY_TTL_S: Final = 2 * 86_400
"""A day's key lives this long after its last change."""

# KEYS[1]: the day's key. ARGV: tokens, budget, ttl. Returns {reserved 0/1, spent}.
_RESERVE_LUA: Final = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local tokens = tonumber(ARGV[1])
if spent + tokens > tonumber(ARGV[2]) then return {0, spent} end
spent = redis.call('INCRBY', KEYS[1], tokens)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, spent}
"""

# KEYS[1]: the reservation's day key. ARGV: delta, ttl. Returns the day's spend.
_ADJUST_LUA: Final = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
if spent < 0 then spent = 0 end
redis.call('SET', KEYS[1], string.format('%d', spent), 'EX', ARGV[2])
return spent
"""


@dataclass(frozen=True, slots=True)
class Reservation:
    """Tokens held on one day's key until settled or released."""

    key: str
    tokens: int


class TokenBudget:
    """`daily_tokens` per UTC day under `prefix` (see the module docstring).

    `name` labels the gauge (default: `prefix`).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        daily_tokens: int,
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if daily_tokens < 0:
            raise ValueError(f"daily_tokens must be >= 0, got {daily_tokens}")
        self._redis = redis
        self._prefix = prefix
        self.daily_tokens = daily_tokens
        self.name = name or prefix
        self._clock = clock
        self._reserve = redis.register_script(_RESERVE_LUA)
        self._adjust = redis.register_script(_ADJUST_LUA)

    def key(self, day: datetime | None = None) -> str:
        """The key of `day`'s (default: today's, UTC) spend."""
        when = (day or self._clock()).astimezone(UTC)
        return f"{self._prefix}:{when:%Y-%m-%d}"

    async def reserve(self, tokens: int) -> Reservation | None:
        """Hold `tokens` of today's budget; None (nothing held) if they do not fit."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        key = self.key()
        ok, spent = await self._reserve(keys=[key], args=[tokens, self.daily_tokens, KEY_TTL_S])
        self._gauge(int(spent))
        return Reservation(key=key, tokens=tokens) if int(ok) else None

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reservation by what the call used (`actual_tokens` >= 0)."""
        if actual_tokens < 0:
            raise ValueError(f"actual_tokens must be >= 0, got {actual_tokens}")
        delta = actual_tokens - reservation.tokens
        spent = int(await self._adjust(keys=[reservation.key], args=[delta, KEY_TTL_S]))
        if reservation.key == self.key():
            self._gauge(spent)

    async def release(self, reservation: Reservation) -> None:
        """Give the reservation back: the call did not happen or used nothing."""
        await self.settle(reservation, 0)

    async def spent(self) -> int:
        """Tokens spent (and held) today."""
        value = await self._redis.get(self.key())
        spent = int(value) if value is not None else 0
        self._gauge(spent)
        return spent

    async def remaining(self) -> int:
        """Tokens left today (never below 0)."""
        return max(self.daily_tokens - await self.spent(), 0)

    def _gauge(self, spent: int) -> None:
        BUDGET_REMAINING.labels(name=self.name).set(max(self.daily_tokens - spent, 0))
