"""Fanout against real Redis: entries, merged live state per camera, the active set."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from vigil_ingest.decode import Decoded
from vigil_ingest.fanout import Fanout, merge_camera_state
from vigil_runtime.stream_writer import OutgoingEntry
from vigil_schema.enums import CameraStatus
from vigil_schema.streams import ACTIVE_CAMERAS_KEY, EVENTS, FRAMES, HEALTH, camera_state_key


def _data(camera: str, **state: str) -> Decoded:
    return Decoded(camera, "events", entries=(OutgoingEntry(EVENTS, {"v": "1", "type": "events",
                   "data": "{}"}),), state=state)  # fmt: skip


def test_state_is_merged_in_order_per_camera() -> None:
    offline = Decoded("c", "status", status=CameraStatus.OFFLINE)
    group = [_data("a", last_seen="1", fps_actual="10"), _data("b", last_seen="2"),
             _data("a", last_seen="3"), offline]  # fmt: skip
    assert merge_camera_state(group) == {
        "a": {"last_seen": "3", "fps_actual": "10"},
        "b": {"last_seen": "2"},
    }


async def test_publish_writes_entries_state_and_active_set(redis_client: aioredis.Redis) -> None:
    status = Decoded("c", "status", entries=(OutgoingEntry(HEALTH, {"v": "1", "type": "x",
                     "data": "{}"}),), status=CameraStatus.OFFLINE)  # fmt: skip
    group = [_data("a", last_seen="1"), _data("a", last_seen="2"), status]
    await Fanout(redis_client, frames_maxlen=10).publish(group)
    assert await redis_client.xlen(EVENTS) == 2
    assert await redis_client.xlen(HEALTH) == 1
    assert await redis_client.hgetall(camera_state_key("a")) == {b"last_seen": b"2"}
    assert await redis_client.exists(camera_state_key("c")) == 0  # status is liveness' business
    assert await redis_client.smembers(ACTIVE_CAMERAS_KEY) == {b"a"}


async def test_empty_group_sends_nothing(redis_client: aioredis.Redis) -> None:
    await Fanout(redis_client, frames_maxlen=10).publish([])
    await Fanout(redis_client, frames_maxlen=10).publish([Decoded("a", "status")])
    assert await redis_client.dbsize() == 0


async def test_entries_keep_arrival_order_per_stream_and_binary_fields(
    redis_client: aioredis.Redis,
) -> None:
    jpeg = bytes(range(256)) * 4  # every byte value, NUL included
    group = [
        Decoded("a", "events", entries=(OutgoingEntry(EVENTS, {"n": "1"}),)),
        Decoded("a", "health", entries=(OutgoingEntry(HEALTH, {"n": "2"}),)),
        Decoded("a", "events", entries=(OutgoingEntry(EVENTS, {"n": "3"}),)),
        Decoded("a", "frames", entries=(OutgoingEntry(FRAMES, {"n": "4", "jpeg": jpeg}),)),
        Decoded("a", "events", entries=(OutgoingEntry(EVENTS, {"n": "5"}),)),
    ]
    await Fanout(redis_client, frames_maxlen=10).publish(group)

    async def entries(stream: str) -> list[dict[bytes, bytes]]:
        raw: Any = await redis_client.xrange(stream)
        return [fields for _, fields in raw]

    async def numbers(stream: str) -> list[bytes]:
        return [fields[b"n"] for fields in await entries(stream)]

    # Entry ids are ordered within a stream (ids of different streams are not comparable).
    assert await numbers(EVENTS) == [b"1", b"3", b"5"]
    assert await numbers(HEALTH) == [b"2"]
    [frame] = await entries(FRAMES)
    assert frame[b"jpeg"] == jpeg


async def test_script_is_reloaded_after_a_script_flush(redis_client: aioredis.Redis) -> None:
    fanout = Fanout(redis_client, frames_maxlen=10)
    await fanout.publish([_data("a", last_seen="1")])
    await redis_client.script_flush()
    await fanout.publish([_data("a", last_seen="2")])
    assert await redis_client.xlen(EVENTS) == 2
    assert await redis_client.hgetall(camera_state_key("a")) == {b"last_seen": b"2"}


async def test_a_retried_group_adds_no_entry_twice(redis_client: aioredis.Redis) -> None:
    """A fan-out whose first attempt ran although it reported an error (a timed-out EVALSHA)
    is retried with the same group: each keyed entry is in the stream once."""

    def keyed(camera: str, key: str) -> Decoded:
        fields = {"v": "1", "type": "events", "data": "{}", "key": key}
        return Decoded(camera, "events", entries=(OutgoingEntry(EVENTS, fields),), state={})

    group = [keyed("a", "k1"), keyed("a", "k2"), keyed("b", "k3")]
    fanout = Fanout(redis_client, frames_maxlen=10)
    await fanout.publish(group)
    await fanout.publish(group)
    raw: Any = await redis_client.xrange(EVENTS)
    assert [fields[b"key"] for _, fields in raw] == [b"k1", b"k2", b"k3"]


async def test_every_stream_is_trimmed_to_its_policy(redis_client: aioredis.Redis) -> None:
    """vigil:health, not only vigil:frames, is bounded on the fan-out's XADD: entries older
    than the health policy's age (explicit ids from 1970) go with the next group."""
    for n in range(1, 201):
        await redis_client.xadd(HEALTH, {"old": str(n)}, id=f"{n}-0")
    status = Decoded("c", "status", entries=(OutgoingEntry(HEALTH, {"v": "1", "type": "x",
                     "data": "{}"}),))  # fmt: skip
    await Fanout(redis_client, frames_maxlen=10).publish([status])
    assert await redis_client.xlen(HEALTH) == 1
