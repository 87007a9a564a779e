"""`LeaderLock`: one holder at a time among the replicas of a service, through Redis.

For work that one replica must do for all of them (the ingest's liveness sweep; later
retention runs, the optimizer's and alerter's schedules). The lock is one Redis key holding
the holder's token (`<owner>:<random hex>`), with a TTL:

- `hold()` is called by every replica once per period (shorter than the TTL): the holder
  renews it (a Lua compare-and-`PEXPIRE`, so only the token's owner extends it), the others
  try to take it with `SET key token NX PX ttl`. It returns whether this replica holds the
  lock now. A renewal also reclaims the key when the holder was unsure it still held it
  (after a Redis error), so a blip does not cost it the lock.
- `release()` deletes the key if it still holds this replica's token (compare-and-`DEL`),
  so a replica that stalled past the TTL never deletes its successor's lock.

Guarantee: at most one replica believes it holds the lock at a time, as long as its
period plus one Redis round trip is shorter than the TTL; a holder that dies is replaced
at most one TTL (plus a period) later. A Redis error in `hold()` counts as "not held"
(it is raised to the caller, who decides how loudly to report it). It is a lease, not a
fence: work that must never overlap by a single round trip also needs a fencing check
where it writes (e.g. the ingest's Lua transitions only apply when their state matches).

Metrics: `vigil_runtime_leader{lock}` 1 while this process holds the lock, 0 otherwise;
`vigil_runtime_leader_changes_total{lock, change}` (`taken`, `lost`, `released`).
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

import redis.asyncio
from prometheus_client import Counter, Gauge

from vigil_runtime.logging import get_logger

__all__ = ["LEADER", "LEADER_CHANGES", "LeaderLock"]

_log = get_logger(__name__)

LEADER: Final = Gauge(
    "vigil_runtime_leader", "1 while this process holds the leader lock, else 0", ["lock"]
)
LEADER_CHANGES: Final = Counter(
    "vigil_runtime_leader_changes_total",
    "Leader lock taken, lost (renewal refused or failed) or released by this process",
    ["lock", "change"],
)

_RENEW_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Change = Literal["taken", "lost", "released"]


class LeaderLock:
    """A Redis lease on `key` for one replica (see the module docstring).

    `name` labels the metrics and logs (default: the key).
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        key: str,
        owner: str,
        ttl_s: float,
        *,
        name: str | None = None,
    ) -> None:
        self._client = client
        self.key = key
        self.name = name or key
        self.token = f"{owner}:{uuid.uuid4().hex}"
        self._ttl_ms = max(int(ttl_s * 1000), 1)
        self._renew = client.register_script(_RENEW_LUA)
        self._release = client.register_script(_RELEASE_LUA)
        self._held = False
        LEADER.labels(lock=self.name).set(0)

    @property
    def held(self) -> bool:
        """Whether this replica held the lock at its last `hold()`."""
        return self._held

    async def hold(self) -> bool:
        """Renew the lock, or take it if free; whether this replica holds it now.

        A Redis error leaves the lock "not held" here and is raised.
        """
        try:
            held = bool(await self._renew(keys=[self.key], args=[self.token, self._ttl_ms]))
            if not held:
                held = bool(await self._client.set(self.key, self.token, nx=True, px=self._ttl_ms))
        except BaseException:
            self._set(False, "lost")
            raise
        self._set(held, "taken" if held else "lost")
        return held

    async def release(self) -> None:
        """Give the lock up: delete the key if it still holds this replica's token, also
        when the last `hold()` failed (its `SET` may have reached Redis with its reply lost;
        without this the next leader would wait out the lease). Another holder's key is
        left alone."""
        self._set(False, "released")
        await self._release(keys=[self.key], args=[self.token])

    def _set(self, held: bool, change: Change) -> None:
        if held == self._held:
            return
        self._held = held
        LEADER.labels(lock=self.name).set(1 if held else 0)
        LEADER_CHANGES.labels(lock=self.name, change=change).inc()
        log = _log.info if held or change == "released" else _log.warning
        log("leader_lock_" + change, lock=self.name, key=self.key)
