"""MqttLink against a real Mosquitto: the session broker, or a private one it can restart."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import REGISTRY

from vigil_ingest.mqtt_link import Inbound, MqttLink, MqttLinkConfig, MqttNotReady
from vigil_runtime.settings import parse_mqtt_url
from vigil_runtime.stack.info import ServerState
from vigil_runtime.stack.mqtt_server import MosquittoServer, local_binary
from vigil_runtime.stack.probes import mqtt_answers
from vigil_runtime.stack.procs import free_port, terminate, wait_until

WAIT_S = 10.0


# -- helpers ---------------------------------------------------------------------------


@dataclass
class Collector:
    """The `on_messages` callback: keeps every batch; acks on arrival when `link` is set."""

    batches: list[list[Inbound]] = field(default_factory=list)
    ack_with: MqttLink | None = None

    def __call__(self, batch: list[Inbound]) -> None:
        self.batches.append(batch)
        if self.ack_with is not None:
            for message in batch:
                assert self.ack_with.ack(message)

    @property
    def messages(self) -> list[Inbound]:
        return [m for batch in self.batches for m in batch]

    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]

    async def wait_for(self, count: int) -> None:
        await until(lambda: len(self.messages) >= count, f"{count} messages")


async def until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_ready(link: MqttLink) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            await link.ready_check()
            return
        except MqttNotReady:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(link: MqttLink) -> AsyncIterator[MqttLink]:
    """Run `link` until the block ends, ready (connected, subscribed) on entry."""
    stop = asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    try:
        await wait_ready(link)
        yield link
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


def publish(url: str, topic: str, payloads: list[bytes], props: tuple[tuple[str, str], ...] = ()):
    """Publish at QoS 1 with a plain paho client; returns once the broker acked them all."""
    endpoint = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    properties = None
    if props:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = list(props)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    try:
        assert connected.wait(WAIT_S), "publisher did not connect"
        infos = [client.publish(topic, p, qos=1, properties=properties) for p in payloads]
        for info in infos:
            info.wait_for_publish(WAIT_S)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


async def publish_async(url: str, topic: str, payloads: list[bytes], props=()) -> None:
    await asyncio.to_thread(publish, url, topic, payloads, props)


def numbered(count: int, start: int = 0) -> list[bytes]:
    return [f"m{i}".encode() for i in range(start, start + count)]


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


@pytest.fixture
def topic() -> str:
    return f"vigil-test/{uuid.uuid4().hex}"


def config(url: str, topic: str, client_id: str | None = None, **kw) -> MqttLinkConfig:
    kw.setdefault("session_expiry_s", 300)
    kw.setdefault("backoff_max_s", 0.5)
    return MqttLinkConfig(
        url=url,
        client_id=client_id or f"test-{uuid.uuid4().hex[:12]}",
        subscriptions=kw.pop("subscriptions", (f"{topic}/#",)),
        **kw,
    )


# -- tests against the session broker ----------------------------------------------------


async def test_messages_arrive_in_batches_with_user_properties(mqtt_url: str, topic: str) -> None:
    collector = Collector()
    link = MqttLink(config(mqtt_url, topic), collector)
    collector.ack_with = link
    props = (("camera", "cam-1"), ("seq", "7"))
    async with running(link):
        assert link.connected
        assert link.generation == 1
        before = time.time()
        await publish_async(mqtt_url, f"{topic}/events", numbered(50), props)
        await collector.wait_for(50)
    assert sorted(collector.payloads()) == sorted(numbered(50))
    first = collector.messages[0]
    assert first.topic == f"{topic}/events"
    assert first.user_properties == props
    assert (first.qos, first.retain, first.generation) == (1, False, 1)
    assert before - 1 <= first.received_at <= time.time()
    assert all(batch for batch in collector.batches)
    assert not link.connected


async def test_packets_buffered_beyond_a_full_batch_are_read_without_new_data(
    mqtt_url: str, topic: str
) -> None:
    """The link reads the socket in large chunks: with one message per batch, a burst queued
    while it was away arrives in one chunk and every message must still be delivered, though
    the socket never becomes readable again."""
    client_id = f"test-{uuid.uuid4().hex[:12]}"
    first = Collector()
    link = MqttLink(config(mqtt_url, topic, client_id), first)
    async with running(link):
        pass
    await publish_async(mqtt_url, f"{topic}/events", numbered(300))
    collector = Collector()
    link = MqttLink(config(mqtt_url, topic, client_id, read_batch_max=1), collector)
    collector.ack_with = link
    async with running(link):
        await collector.wait_for(300)
    assert sorted(collector.payloads()) == sorted(numbered(300))
    assert {len(batch) for batch in collector.batches} == {1}


async def test_unacked_messages_are_redelivered_to_the_same_client_id(
    mqtt_url: str, topic: str
) -> None:
    cfg = config(mqtt_url, topic)
    first = Collector()
    async with running(MqttLink(cfg, first)) as link:
        await publish_async(mqtt_url, f"{topic}/a", numbered(4))
        await first.wait_for(4)
        by_payload = {m.payload: m for m in first.messages}
        assert link.ack(by_payload[b"m0"])
        assert link.ack(by_payload[b"m1"])

    second = Collector()
    async with running(MqttLink(cfg, second)) as link:
        await second.wait_for(2)
        await asyncio.sleep(0.3)  # anything acked would show up by now
        assert sorted(second.payloads()) == [b"m2", b"m3"]
        for message in second.messages:
            assert link.ack(message)

    third = Collector()
    async with running(MqttLink(cfg, third)):
        await asyncio.sleep(0.3)
    assert third.payloads() == []


async def test_messages_published_while_down_are_delivered_on_return(
    mqtt_url: str, topic: str
) -> None:
    cfg = config(mqtt_url, topic)
    async with running(MqttLink(cfg, Collector())):
        pass  # creates the session and its subscription
    await publish_async(mqtt_url, f"{topic}/x", numbered(10))
    collector = Collector()
    link = MqttLink(cfg, collector)
    collector.ack_with = link
    async with running(link):
        await collector.wait_for(10)
    assert sorted(collector.payloads()) == sorted(numbered(10))


async def test_shared_subscription_splits_messages_between_links(mqtt_url: str, topic: str) -> None:
    shared = (f"$share/g{uuid.uuid4().hex[:8]}/{topic}/#",)
    a, b = Collector(), Collector()
    link_a = MqttLink(config(mqtt_url, topic, subscriptions=shared), a)
    link_b = MqttLink(config(mqtt_url, topic, subscriptions=shared), b)
    a.ack_with, b.ack_with = link_a, link_b
    async with running(link_a), running(link_b):
        await publish_async(mqtt_url, f"{topic}/s", numbered(200))
        await until(lambda: len(a.messages) + len(b.messages) >= 200, "200 messages")
        await asyncio.sleep(0.2)
    assert a.messages
    assert b.messages
    assert not set(a.payloads()) & set(b.payloads())
    assert sorted(a.payloads() + b.payloads()) == sorted(numbered(200))


async def test_pause_reading_holds_delivery_until_resume(mqtt_url: str, topic: str) -> None:
    collector = Collector()
    link = MqttLink(config(mqtt_url, topic), collector)
    collector.ack_with = link
    async with running(link):
        link.pause_reading()
        link.pause_reading()  # idempotent
        assert metric("vigil_ingest_mqtt_reading_paused") >= 1
        await publish_async(mqtt_url, f"{topic}/p", numbered(5))
        await asyncio.sleep(0.5)
        assert collector.batches == []
        link.resume_reading()
        link.resume_reading()
        await collector.wait_for(5)
    # All five were waiting in the socket: one read pass, one batch.
    assert [len(batch) for batch in collector.batches] == [5]


async def test_pause_longer_than_keepalive_keeps_the_connection(mqtt_url: str, topic: str) -> None:
    collector = Collector()
    link = MqttLink(config(mqtt_url, topic, keepalive_s=1), collector)
    collector.ack_with = link
    async with running(link):
        link.pause_reading()
        await publish_async(mqtt_url, f"{topic}/k", numbered(3))
        await asyncio.sleep(3.5)  # paho alone would call the broker dead after 2 keepalives
        assert link.connected
        link.resume_reading()
        await collector.wait_for(3)
        await asyncio.sleep(1.5)  # keepalive checks after the resume do not drop it either
        assert link.connected
        assert link.generation == 1


async def test_failing_on_messages_reconnects_and_gets_the_batch_again(
    mqtt_url: str, topic: str
) -> None:
    seen: list[Inbound] = []
    link: MqttLink

    def on_messages(batch: list[Inbound]) -> None:
        seen.extend(batch)
        if len(seen) == len(batch):
            raise RuntimeError("pipeline bug")
        for message in batch:
            assert link.ack(message)

    link = MqttLink(config(mqtt_url, topic), on_messages)
    async with running(link):
        await publish_async(mqtt_url, f"{topic}/f", [b"only"])
        await until(lambda: len(seen) >= 2, "redelivery")
    assert [(m.payload, m.generation) for m in seen] == [(b"only", 1), (b"only", 2)]


@pytest.mark.parametrize(("receive_maximum", "expected"), [(65535, 3000), (100, 100)])
async def test_receive_maximum_sets_the_unacked_window(
    mqtt_url: str, topic: str, receive_maximum: int, expected: int
) -> None:
    collector = Collector()
    cfg = config(mqtt_url, topic, receive_maximum=receive_maximum)
    async with running(MqttLink(cfg, collector)) as link:
        await publish_async(mqtt_url, f"{topic}/r", numbered(3000))
        await collector.wait_for(expected)
        await asyncio.sleep(0.3)
        assert len(collector.messages) == expected  # nothing acked: the window is full
        for message in collector.messages:
            link.ack(message)
        await collector.wait_for(min(3000, 2 * expected))


async def test_v311_mode_consumes_without_properties(mqtt_url: str, topic: str) -> None:
    # Shared prefixes are dropped in 3.1.1 mode (amqtt has no shared subscriptions).
    cfg = config(mqtt_url, topic, protocol="v311", subscriptions=(f"$share/g/{topic}/#",))
    first = Collector()
    async with running(MqttLink(cfg, first)) as link:
        await publish_async(mqtt_url, f"{topic}/v", numbered(3), (("k", "v"),))
        await first.wait_for(3)
        assert all(m.user_properties == () and m.qos == 1 for m in first.messages)
        link.ack(next(m for m in first.messages if m.payload == b"m0"))
    second = Collector()
    async with running(MqttLink(cfg, second)):  # clean_session False: the session survived
        await second.wait_for(2)
        await asyncio.sleep(0.3)
    assert sorted(second.payloads()) == [b"m1", b"m2"]


@pytest.fixture
def qos0_broker(tmp_path: Path) -> Iterator[str]:
    """A Mosquitto with `max_qos 0`: it grants QoS 1 subscriptions as QoS 0 only."""
    binary = local_binary()
    if binary is None:
        pytest.skip("mosquitto is not installed")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_qos 0\n")
    proc = subprocess.Popen(
        [str(binary), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert wait_until(lambda: mqtt_answers(port), WAIT_S), "mosquitto did not start"
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(WAIT_S)


async def test_subscription_not_granted_at_qos1_fails_the_ready_check(
    qos0_broker: str, topic: str
) -> None:
    link = MqttLink(config(qos0_broker, topic), Collector())
    stop = asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    try:
        await until(lambda: link.connected, "connection")
        await until(lambda: metric("vigil_ingest_mqtt_subscribe_failures_total") >= 1, "SUBACK")
        with pytest.raises(MqttNotReady, match=re.escape(f"refused subscriptions: {topic}/#")):
            await link.ready_check()
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)


@pytest.mark.parametrize("bad", ["a/#/b", "a/b+", "$share/g+x/a", "$share/g", ""])
def test_invalid_filters_are_refused_at_configuration(bad: str) -> None:
    with pytest.raises(ValueError, match=r"filter|subscription"):
        MqttLinkConfig(url="mqtt://127.0.0.1:1883", client_id="c", subscriptions=(bad,))


async def test_ready_check_fails_while_broker_unreachable() -> None:
    cfg = MqttLinkConfig(
        url=f"mqtt://user:secret@127.0.0.1:{free_port()}",
        client_id="nobody-home",
        subscriptions=("x/#",),
        backoff_max_s=0.2,
    )
    link = MqttLink(cfg, Collector())
    stop = asyncio.Event()
    before = metric("vigil_ingest_mqtt_reconnects_total")
    task = asyncio.create_task(link.run(stop))
    await until(lambda: metric("vigil_ingest_mqtt_reconnects_total") >= before + 2, "retries")
    with pytest.raises(MqttNotReady, match="not connected"):
        await link.ready_check()
    stop.set()
    await asyncio.wait_for(task, WAIT_S)


# -- tests against a private broker that they restart -------------------------------------


@dataclass
class PrivateBroker:
    server: MosquittoServer
    port: int
    state: ServerState

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Stop (Mosquitto saves its persistence on SIGTERM) and start on the same port."""
        terminate(self.state.pid)
        self.state = self.server.start(self.port)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    server = MosquittoServer(tmp_path / "mqtt", "local")
    port = free_port()
    broker = PrivateBroker(server, port, server.start(port))
    try:
        yield broker
    finally:
        terminate(broker.state.pid)
        server.purge(broker.state)


async def test_link_reconnects_after_broker_restart(
    private_broker: PrivateBroker, topic: str
) -> None:
    collector = Collector()
    link = MqttLink(config(private_broker.url, topic), collector)
    collector.ack_with = link
    reconnects = metric("vigil_ingest_mqtt_reconnects_total")
    async with running(link):
        await publish_async(private_broker.url, f"{topic}/a", [b"before"])
        await collector.wait_for(1)
        await asyncio.to_thread(private_broker.restart)
        await until(lambda: link.connected and link.generation == 2, "reconnection")
        await wait_ready(link)
        await publish_async(private_broker.url, f"{topic}/a", [b"after"])
        await collector.wait_for(2)
    assert collector.payloads() == [b"before", b"after"]
    assert collector.messages[1].generation == 2
    assert metric("vigil_ingest_mqtt_reconnects_total") >= reconnects + 1


async def test_stale_ack_after_reconnect_is_refused_and_message_redelivered(
    private_broker: PrivateBroker, topic: str
) -> None:
    cfg = config(private_broker.url, topic)
    collector = Collector()
    async with running(MqttLink(cfg, collector)) as link:
        await publish_async(private_broker.url, f"{topic}/s", [b"once"])
        await collector.wait_for(1)
        old = collector.messages[0]
        await asyncio.to_thread(private_broker.restart)
        await collector.wait_for(2)  # redelivered on the new connection
        redelivered = collector.messages[1]
        assert (old.generation, redelivered.generation) == (1, 2)
        stale = metric("vigil_ingest_mqtt_stale_acks_total")
        assert link.ack(old) is False
        assert metric("vigil_ingest_mqtt_stale_acks_total") == stale + 1
    # Neither connection acked it, so a new run gets it again.
    again = Collector()
    async with running(MqttLink(cfg, again)):
        await again.wait_for(1)
    assert again.payloads() == [b"once"]
