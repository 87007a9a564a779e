"""The liveness part of a camera's live state hash ``vigil:camera:{id}:state``.

What the sweeper (:mod:`vigil_ingest.liveness`) reads and writes there, and how: the
fields it owns, reading them for many cameras in one round trip (:class:`CameraState`),
and each transition as one Lua script that checks the camera's current state and applies
the change only if it still holds, so a transition is recorded once whatever the number of
sweepers or restarts:

- ``go_offline``: unless already offline (or heard from since the sweeper read it), set
  ``status`` and ``offline_since``, leave the active-camera set, add the alert candidate
  to ``vigil:alerts`` and park the ``health_logs`` row (``liveness_pending_offline``).
  Already offline and told so again by the status topic: record ``offline_confirmed``.
- ``go_online``: if still offline since the same moment, the reverse (the resolved alert,
  ``liveness_pending_online``).
- ``mark_alive``: a camera heard from that is not offline is ``online`` and active.
- ``clear_pending``: un-park a row once inserted, unless it was replaced meanwhile.

The fan-out writes ``last_seen`` and adds cameras that sent data to the active set; these
scripts own ``status``, ``offline_since``, ``offline_confirmed`` and the parked rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import redis.asyncio

from vigil_runtime.stream_writer import lua_bounded_xadd
from vigil_schema.streams import (
    ACTIVE_CAMERAS_KEY,
    ALERTS,
    STREAM_POLICIES,
    CameraStateField,
    camera_state_key,
)

__all__ = [
    "OFFLINE_CONFIRMED_FIELD",
    "OFFLINE_SINCE_FIELD",
    "PENDING_OFFLINE_FIELD",
    "PENDING_ONLINE_FIELD",
    "CameraState",
    "LivenessState",
    "parse_time",
]

OFFLINE_SINCE_FIELD: Final = "offline_since"
"""State-hash field, present while the camera is offline (RFC 3339, the ingest's clock)."""
OFFLINE_CONFIRMED_FIELD: Final = "offline_confirmed"
"""When the status topic last said offline while already offline (e.g. the retained Last
Will delivered again after an ingest restart): only messages newer than that bring the
camera back, not the status message itself, whose receipt also updates ``last_seen``."""
PENDING_OFFLINE_FIELD: Final = "liveness_pending_offline"
PENDING_ONLINE_FIELD: Final = "liveness_pending_online"
"""State-hash fields holding a transition's ``health_logs`` row (JSON) until it is inserted."""

_ALERTS_XADD_LUA: Final = lua_bounded_xadd(STREAM_POLICIES[ALERTS])
"""``vigil_xadd``: XADD to vigil:alerts, bounded by its StreamPolicy."""

# KEYS: state hash, active set, alerts stream.
# ARGV: camera id, expected last_seen ('' = absent, '*' = any), offline_since, row JSON,
#       then the alert envelope's field/value pairs.
_GO_OFFLINE_LUA: Final = (
    _ALERTS_XADD_LUA
    + """
if redis.call('HEXISTS', KEYS[1], 'offline_since') == 1 then
  if ARGV[2] == '*' then redis.call('HSET', KEYS[1], 'offline_confirmed', ARGV[3]) end
  return 0
end
if ARGV[2] ~= '*' and (redis.call('HGET', KEYS[1], 'last_seen') or '') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'offline', 'offline_since', ARGV[3],
           'liveness_pending_offline', ARGV[4])
redis.call('SREM', KEYS[2], ARGV[1])
vigil_xadd(KEYS[3], unpack(ARGV, 5))
return 1
"""
)

# KEYS: state hash, active set, alerts stream.
# ARGV: camera id, expected offline_since, expected offline_confirmed ('' = absent,
#       '*' = any), row JSON, then the alert envelope's field/value pairs.
_GO_ONLINE_LUA: Final = (
    _ALERTS_XADD_LUA
    + """
if redis.call('HGET', KEYS[1], 'offline_since') ~= ARGV[2] then return 0 end
if ARGV[3] ~= '*' and (redis.call('HGET', KEYS[1], 'offline_confirmed') or '') ~= ARGV[3] then
  return 0
end
redis.call('HDEL', KEYS[1], 'offline_since', 'offline_confirmed')
redis.call('HSET', KEYS[1], 'status', 'online', 'liveness_pending_online', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
vigil_xadd(KEYS[3], unpack(ARGV, 5))
return 1
"""
)

# KEYS: state hash, active set. ARGV: camera id. A camera heard from (or reporting online)
# that is not offline: status online, in the active set.
_MARK_ALIVE_LUA: Final = """
if redis.call('HEXISTS', KEYS[1], 'offline_since') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'online')
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# KEYS: state hash. ARGV: field, expected value.
_CLEAR_IF_EQUAL_LUA: Final = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def parse_time(raw: bytes | str | None) -> datetime | None:
    """An RFC 3339 value of the state hash, or ``None`` if absent or unreadable."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode() if isinstance(raw, bytes) else raw


@dataclass(frozen=True, slots=True)
class CameraState:
    """The liveness-relevant fields of one camera's state hash (``''`` when absent)."""

    status: str
    last_seen_raw: str
    offline_since_raw: str
    offline_confirmed_raw: str
    pending: Mapping[str, str]
    """Parked ``health_logs`` rows: pending field -> row JSON."""

    @property
    def last_seen(self) -> datetime | None:
        return parse_time(self.last_seen_raw or None)

    @property
    def offline_since(self) -> datetime | None:
        return parse_time(self.offline_since_raw or None)

    def heard_since_offline(self) -> bool:
        """Whether a message arrived after the camera went (or was confirmed) offline."""
        last_seen, since = self.last_seen, self.offline_since
        if last_seen is None or since is None:
            return False
        confirmed = parse_time(self.offline_confirmed_raw or None)
        return last_seen > max(since, confirmed or since)


_STATE_FIELDS: Final = (
    CameraStateField.STATUS.value,
    CameraStateField.LAST_SEEN.value,
    OFFLINE_SINCE_FIELD,
    OFFLINE_CONFIRMED_FIELD,
    PENDING_OFFLINE_FIELD,
    PENDING_ONLINE_FIELD,
)


def _camera_state(values: list[bytes | None]) -> CameraState:
    status, last_seen, offline_since, confirmed, pending_offline, pending_online = values
    pending = {
        field: _text(raw)
        for field, raw in ((PENDING_OFFLINE_FIELD, pending_offline),
                           (PENDING_ONLINE_FIELD, pending_online))
        if raw is not None
    }  # fmt: skip
    return CameraState(
        _text(status), _text(last_seen), _text(offline_since), _text(confirmed), pending
    )


def _keys(camera_id: str) -> list[str]:
    return [camera_state_key(camera_id), ACTIVE_CAMERAS_KEY, ALERTS]


class LivenessState:
    """Reads and transitions of the cameras' liveness fields (see the module docstring)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._redis = client
        self._go_offline = client.register_script(_GO_OFFLINE_LUA)
        self._go_online = client.register_script(_GO_ONLINE_LUA)
        self._mark_alive = client.register_script(_MARK_ALIVE_LUA)
        self._clear_if_equal = client.register_script(_CLEAR_IF_EQUAL_LUA)

    async def read(self, camera_ids: Sequence[str]) -> list[CameraState]:
        """The state of each camera, in order, in one round trip."""
        if not camera_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for camera_id in camera_ids:
                pipe.hmget(camera_state_key(camera_id), list(_STATE_FIELDS))
            replies = await pipe.execute()
        return [_camera_state(values) for values in replies]

    async def offline_since(self, camera_id: str) -> str:
        """The camera's ``offline_since`` as stored, ``''`` when it is not offline."""
        return _text(await self._redis.hget(camera_state_key(camera_id), OFFLINE_SINCE_FIELD))

    async def go_offline(
        self, camera_id: str, *, expected_last_seen: str, offline_since: str, row: str,
        alert: Sequence[str],
    ) -> bool:  # fmt: skip
        """Apply the offline transition (``expected_last_seen``: the ``last_seen`` read,
        ``*`` for any); whether it applied."""
        args = [camera_id, expected_last_seen, offline_since, row, *alert]
        return bool(await self._go_offline(keys=_keys(camera_id), args=args))

    async def go_online(
        self, camera_id: str, *, expected_offline_since: str, expected_confirmed: str,
        row: str, alert: Sequence[str],
    ) -> bool:  # fmt: skip
        """Apply the online transition if still offline since ``expected_offline_since``
        (and confirmed offline at ``expected_confirmed``, ``*`` for any); whether it applied."""
        args = [camera_id, expected_offline_since, expected_confirmed, row, *alert]
        return bool(await self._go_online(keys=_keys(camera_id), args=args))

    async def mark_alive(self, camera_id: str) -> bool:
        """``online`` and active, unless offline; whether it applied."""
        return bool(await self._mark_alive(keys=_keys(camera_id)[:2], args=[camera_id]))

    async def clear_pending(self, camera_id: str, field: str, row: str) -> None:
        """Un-park ``row`` from ``field`` (left alone if another row replaced it)."""
        await self._clear_if_equal(keys=[camera_state_key(camera_id)], args=[field, row])
