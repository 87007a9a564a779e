"""`RateLimiter`: hard limits on how often something may happen, shared by every replica.

Each `Limit` names a scope (a part of the Redis key: `"global:minute"`,
`"camera:cam-1:hour"`), the most acquisitions it allows in any window of `window_s`
seconds, and that window. A scope is a sliding-window log: one sorted set per scope
(`{prefix}:{scope}`), one member per acquisition (unique, so equal timestamps never merge),
scored by the acquisition's time.

`acquire(limits, cost)` runs ONE Lua script over all the scopes: it drops each log's
entries older than its window, checks every limit, and records the acquisition (`cost`
members) in all of them or in none. Redis runs a script atomically, so the limits are exact
however many replicas call at once: in any window at most `limit` acquisitions pass. A key
expires one window after its newest entry.

Times come from the Redis server's clock (`TIME` inside the script), so replicas whose own
clocks disagree still share one window; tests pass a fake `clock` instead. When a limit is
full the decision names its scope (the first full one, in the order given) and
`retry_after_s`, how long until enough of its
entries leave the window for this cost to fit. A cost above a limit can never fit; its
`retry_after_s` is then that limit's window (try again much later, if at all). `limit` 0
allows nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import redis.asyncio as aioredis

__all__ = ["Limit", "RateDecision", "RateLimiter"]

# KEYS: one log per limit. ARGV: now, cost, member prefix, then (limit, window) per key.
# Returns {0} when allowed, {i, "retry_after"} for the first full limit (1-based).
_ACQUIRE_LUA: Final = """
local now = tonumber(ARGV[1])
if now < 0 then  -- no clock given: the Redis server's, one clock for every replica
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local cost = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + 2 * i])
  local window = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count + cost > limit then
    if cost > limit then return {i, tostring(window)} end
    local rank = count + cost - limit - 1
    local oldest = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
    return {i, tostring(math.max(tonumber(oldest[2]) + window - now, 0))}
  end
end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[3 + 2 * i])
  for j = 1, cost do
    redis.call('ZADD', key, now, ARGV[3] .. ':' .. j)
  end
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
end
return {0}
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `limit` acquisitions in any `window_s` seconds for `scope`."""

    scope: str
    """Redis key part, e.g. "global:minute" or "camera:cam-1:minute"."""
    limit: int
    """Most acquisitions in any window (0 = none allowed)."""
    window_s: float


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether an acquisition passed; if not, which limit stopped it and for how long."""

    allowed: bool
    blocked_by: str | None
    """Scope of the first full limit (None when allowed)."""
    retry_after_s: float
    """0 when allowed."""


ALLOWED: Final = RateDecision(allowed=True, blocked_by=None, retry_after_s=0.0)


class RateLimiter:
    """Sliding-window limits in Redis under `prefix` (see the module docstring)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._prefix = prefix
        self._clock = clock
        self._script = redis.register_script(_ACQUIRE_LUA)

    def key(self, scope: str) -> str:
        """The Redis key of `scope`'s log."""
        return f"{self._prefix}:{scope}"

    async def acquire(self, limits: Sequence[Limit], cost: int = 1) -> RateDecision:
        """Record `cost` acquisitions in every limit's scope if all have room, else none."""
        if cost < 0:
            raise ValueError(f"cost must be >= 0, got {cost}")
        if not limits:
            return ALLOWED
        now = -1.0 if self._clock is None else float(self._clock())
        args: list[str | int] = [repr(now), cost, uuid.uuid4().hex]
        for limit in limits:
            if limit.limit < 0 or limit.window_s <= 0:
                raise ValueError(f"invalid limit {limit}")
            args += [limit.limit, repr(float(limit.window_s))]
        keys = [self.key(limit.scope) for limit in limits]
        reply = await self._script(keys=keys, args=args)
        index = int(reply[0])
        if index == 0:
            return ALLOWED
        retry_after = float(reply[1])
        return RateDecision(
            allowed=False, blocked_by=limits[index - 1].scope, retry_after_s=retry_after
        )
