"""Group membership: which consumers of a stream's group are alive, and which one owns a key.

Each member (a :class:`vigil_runtime.streams.StreamConsumer`'s name) keeps itself in the
sorted set ``{stream}:members:{group}``, scored with its expiry time in milliseconds by
Redis's clock (so replicas' clocks never disagree). :meth:`GroupMembership.start` registers
the member and refreshes it every ``refresh_s`` (default ``ttl_s / 3``) in a background
task; :meth:`GroupMembership.stop` ends the task and removes the member at once. A member
that dies stops refreshing and drops out ``ttl_s`` later. Each refresh is one Lua script
(``TIME``, prune the expired, re-add this member, read the set) and replaces this process's
view of the live members; between refreshes, members whose expiry has passed (Redis's time
at the refresh plus the local time since) leave the view. A refresh that fails (Redis
down) is logged and retried on the next interval; the old view ages out meanwhile.

:meth:`GroupMembership.owner` picks a key's owner among the live members by rendezvous
(highest-random-weight) hashing: the member with the highest ``blake2b(member, key)``
wins. Members with the same view agree on every owner, and a member joining or leaving
moves only the keys it wins or held. With no member in view (not started, or this member
expired too because Redis was unreachable) the owner is this member: handle locally.
Rendezvous hashing is a few lines and no kept library offers it for this, hence by hand.

With a consumer: ``StreamConsumer(..., consumer=name, router=membership.router(key_of))``,
the same name for both. Lifecycle: ``await membership.start()`` before the consumer runs;
on a clean stop, end the consumer's ``run``, ``await membership.stop()``, then
``await consumer.hand_back()`` (its pending entries go to their new owners at once).
Keep ``ttl_s`` well below the consumer's ``claim_idle_ms``: a dead
member's entries are reclaimed after ``claim_idle_ms`` and routed by the view of that
moment; if the dead member is still in view they go back to it and wait another round.

Metrics: ``vigil_stream_members{stream, group}`` (live members in this process's view),
``vigil_stream_ownership_changes_total{stream, group}`` (keys asked of :meth:`owner` whose
owner changed with a new view).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import redis.asyncio
from prometheus_client import Counter, Gauge

from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.tasks import cancel_and_wait, wait_event

__all__ = ["MEMBERS", "OWNERSHIP_CHANGES", "GroupMembership", "members_key", "rendezvous_owner"]

_log = get_logger(__name__)

MEMBERS: Final = Gauge(
    "vigil_stream_members", "Live members of the consumer group in this view", ["stream", "group"]
)
OWNERSHIP_CHANGES: Final = Counter(
    "vigil_stream_ownership_changes_total",
    "Keys whose owner changed with a new membership view",
    ["stream", "group"],
)

_REFRESH_LUA: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return {string.format('%.0f', now), redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
"""

_MAX_KEYS: Final = 100_000  # owners remembered for the change count
STOP_WAIT_S: Final = 1.0

T = TypeVar("T")


def members_key(stream: str, group: str) -> str:
    """The sorted set of the group's members: ``{stream}:members:{group}``."""
    return f"{stream}:members:{group}"


def _weight(member: str, key: str) -> bytes:
    return hashlib.blake2b(f"{member}\x00{key}".encode(), digest_size=8).digest()


def rendezvous_owner(key: str, members: Sequence[str]) -> str | None:
    """The member with the highest weight for ``key`` (``None`` when there is none)."""
    return max(members, key=lambda member: (_weight(member, key), member), default=None)


class GroupMembership:
    """This consumer's membership of ``group`` on ``stream`` (see the module docstring)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        stream: str,
        group: str,
        consumer: str,
        *,
        ttl_s: float = 10.0,
        refresh_s: float | None = None,
    ) -> None:
        if ttl_s <= 0 or (refresh_s is not None and not 0 < refresh_s < ttl_s):
            raise ValueError("ttl_s must be > 0 and refresh_s within (0, ttl_s)")
        self._redis = client
        self.stream, self.group, self.consumer = stream, group, consumer
        self.key = members_key(stream, group)
        self.ttl_s = ttl_s
        self.refresh_s = refresh_s if refresh_s is not None else ttl_s / 3
        self._script = client.register_script(_REFRESH_LUA)
        self._expiries: dict[str, int] = {}  # member -> expiry, ms by Redis's clock
        self._seen_at = (0, 0.0)  # Redis's ms and local monotonic time of the last view
        self._view: tuple[str, ...] = ()
        self._owners: dict[str, str] = {}
        self._halt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._members = MEMBERS.labels(stream, group)
        self._changes = OWNERSHIP_CHANGES.labels(stream, group)
        self._warn = RateLimitedLogger(_log, interval_s=60.0)

    async def start(self) -> None:
        """Register now (a Redis error is raised), then keep refreshing in the background."""
        await self.refresh()
        self._halt.clear()
        self._task = asyncio.create_task(self._run(), name=f"membership:{self.key}")

    async def stop(self) -> None:
        """Stop refreshing and leave the group at once (best effort when Redis is down)."""
        self._halt.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=STOP_WAIT_S)
            if not self._task.done():
                await cancel_and_wait(self._task)
            self._task = None
        with contextlib.suppress(*REDIS_ERRORS):
            await self._redis.zrem(self.key, self.consumer)
        self._expiries.pop(self.consumer, None)

    async def refresh(self) -> list[str]:
        """Renew this member's entry, prune expired members; the live members (sorted)."""
        return await self._load(self.consumer)

    async def peek(self) -> list[str]:
        """Read (and prune) the live members without renewing this one."""
        return await self._load("")

    async def _load(self, member: str) -> list[str]:
        reply: Any = await self._script(keys=[self.key], args=[member, int(self.ttl_s * 1000)])
        now_ms, flat = int(reply[0]), reply[1]
        self._expiries = {
            name.decode() if isinstance(name, bytes) else str(name): int(float(score))
            for name, score in zip(flat[::2], flat[1::2], strict=True)
        }
        self._seen_at = (now_ms, time.monotonic())
        return self.live_members()

    async def _run(self) -> None:
        while not await wait_event(self._halt, self.refresh_s):
            try:
                await self.refresh()
            except REDIS_ERRORS as exc:
                self._warn.warning("membership refresh failed", key=self.key, error=repr(exc))

    def live_members(self) -> list[str]:
        """The members whose expiry has not passed, as of the last refresh (sorted)."""
        seen_ms, seen_at = self._seen_at
        now_ms = seen_ms + (time.monotonic() - seen_at) * 1000
        live = sorted(name for name, expiry in self._expiries.items() if expiry > now_ms)
        self._track(tuple(live))
        return live

    def owner(self, key: str) -> str:
        """The live member that owns ``key`` (this member when none is in view)."""
        members = self.live_members()
        owner = self._owners.get(key)
        if owner is None:
            owner = rendezvous_owner(key, members) or self.consumer
            if len(self._owners) >= _MAX_KEYS:
                self._owners.clear()
            self._owners[key] = owner
        return owner

    def router(self, key_of: Callable[[T], str | None]) -> Callable[[T], str | None]:
        """A consumer's router: the owner of ``key_of(entry)``; ``None`` (handle where read)
        for an entry without a key."""

        def route(entry: T) -> str | None:
            key = key_of(entry)
            return None if key is None else self.owner(key)

        return route

    def _track(self, view: tuple[str, ...]) -> None:
        """On a new view: update the gauge and the remembered owners, counting moves."""
        if view == self._view:
            return
        before, self._view = self._view, view
        self._members.set(len(view))
        moved = 0
        for key, old in self._owners.items():
            new = rendezvous_owner(key, view) or self.consumer
            moved += new != old
            self._owners[key] = new
        self._changes.inc(moved)
        _log.info("stream_members_changed", stream=self.stream, group=self.group,
                  members=list(view), before=list(before), keys_moved=moved)  # fmt: skip
