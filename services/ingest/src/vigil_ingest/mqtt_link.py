"""The ingest's MQTT consumer: paho-mqtt 2.x on the asyncio loop, acknowledged by hand.

One `MqttLink` keeps one broker connection alive (MQTT v5, or 3.1.1 for the amqtt
fallback): a persistent session (clean_start False, session expiry) under a stable
client id, QoS 1 subscriptions (shared `$share/<group>/...` filters split the load
between replicas), and a Receive Maximum wide enough for whole batches to be in flight.

Messages are handed to `on_messages` in batches, one call per socket read pass, and are
acknowledged only when the pipeline calls `ack()` after committing them. Each connection
has a generation number; an ack for a message of an older connection is refused (a
PUBACK with that packet id on the new connection would acknowledge some other message):
the broker redelivers the message on the new connection instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vigil_ingest import mqtt_metrics as metrics
from vigil_ingest.mqtt_client import (
    FastPathClient,
    build_client,
    start_connect,
    subscribe_requests,
)
from vigil_ingest.mqtt_pump import SocketPump
from vigil_ingest.mqtt_types import Inbound, MqttLinkConfig, MqttNotReady
from vigil_runtime.backoff import Backoff
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.settings import parse_mqtt_url

__all__ = ["Inbound", "MqttLink", "MqttLinkConfig", "MqttNotReady"]

DISCONNECT_TIMEOUT_S = 2.0
FAILURE_LOG_INTERVAL_S = 30.0
MAX_TICK_S = 1.0
_SUCCESS = MQTTErrorCode.MQTT_ERR_SUCCESS


@dataclass(eq=False)
class _Connection:
    """State of one broker connection (one paho client, one generation)."""

    client: FastPathClient
    pump: SocketPump | None = None
    connack: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: bool = False
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    last_paused_ping: float = 0.0


class MqttLink:
    """Consumes the configured subscriptions until `run`'s stop event is set."""

    def __init__(
        self, config: MqttLinkConfig, on_messages: Callable[[list[Inbound]], None]
    ) -> None:
        self._config = config
        self._endpoint = parse_mqtt_url(config.url)
        self._on_messages = on_messages
        self._log = get_logger(
            __name__,
            client_id=config.client_id,
            broker=f"{self._endpoint.host}:{self._endpoint.port}",
        )
        self._failures = RateLimitedLogger(self._log, FAILURE_LOG_INTERVAL_S)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: _Connection | None = None
        self._generation = 0
        self._connected = False
        self._subscribed = False
        self._refused: tuple[str, ...] = ()
        self._paused = False
        self._stopping = False
        self._batch: list[Inbound] = []
        self._batch_bytes = 0

    # -- public API ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """A CONNACK accepted the current connection and it has not been lost since."""
        return self._connected

    @property
    def generation(self) -> int:
        """Number of accepted connections so far; messages carry the one they came on."""
        return self._generation

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, consume and reconnect with jittered backoff until `stop` is set.

        On stop the connection ends with a normal DISCONNECT: the session and every
        message not acknowledged yet stay with the broker for the next run.
        """
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        backoff = Backoff(
            initial=min(0.2, self._config.backoff_max_s), maximum=self._config.backoff_max_s
        )
        attempts = 0
        while not stop.is_set():
            if attempts:
                metrics.RECONNECTS.inc()
            attempts += 1
            if await self._connection(stop):
                backoff.reset()
            if not stop.is_set():
                await _wait_any([stop], backoff.next_delay())

    def ack(self, message: Inbound) -> bool:
        """Send the PUBACK of `message`; False (and counted) when its connection is gone."""
        if message.qos == 0:
            return True
        conn = self._conn
        if message.generation != self._generation or not self._connected or conn is None:
            metrics.STALE_ACKS.inc()
            return False
        return conn.client.ack(message.mid, message.qos) == _SUCCESS

    def pause_reading(self) -> None:
        """Stop reading the socket (backpressure); acks and keepalives still go out."""
        if self._paused:
            return
        self._paused = True
        metrics.READING_PAUSED.inc()
        conn = self._conn
        if conn is not None and conn.pump is not None and conn.connack.is_set():
            conn.pump.pause()

    def resume_reading(self) -> None:
        """Read the socket again."""
        if not self._paused:
            return
        self._paused = False
        metrics.READING_PAUSED.dec()
        conn = self._conn
        if conn is not None and conn.pump is not None and self._loop is not None:
            conn.pump.resume()
            # Read before the next keepalive check: paho's receive clock stopped while
            # paused, and a stale clock with a PINGREQ outstanding reads as a dead broker.
            self._loop.call_soon(self._read_if_current, conn)

    async def ready_check(self) -> None:
        """Raise `MqttNotReady` unless connected with every subscription granted."""
        if not self._connected:
            raise MqttNotReady("not connected to the MQTT broker")
        if self._refused:
            raise MqttNotReady(f"broker refused subscriptions: {', '.join(self._refused)}")
        if not self._subscribed:
            raise MqttNotReady("waiting for the broker to confirm the subscriptions")

    # -- one connection -----------------------------------------------------------------

    async def _connection(self, stop: asyncio.Event) -> bool:
        """Run one connection to its end; True when the broker accepted it."""
        conn = _Connection(
            build_client(self._config.client_id, self._config.protocol, self._endpoint)
        )
        if not await self._open(conn):
            return False
        tick = asyncio.create_task(self._tick(conn), name="mqtt-link-tick")
        try:
            await _wait_any([conn.connack, conn.lost, stop], self._config.connect_timeout_s)
            if not conn.accepted:
                if conn.lost.is_set() and not conn.connack.is_set():
                    self._failures.warning("mqtt connection closed before CONNACK", key="early")
                elif not conn.connack.is_set() and not stop.is_set():
                    self._failures.warning(
                        "mqtt CONNACK timeout",
                        key="connack-timeout",
                        timeout_s=self._config.connect_timeout_s,
                    )
                return False
            await _wait_any([conn.lost, stop], None)
            if not conn.lost.is_set():
                await self._disconnect(conn)
            return True
        finally:
            tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tick
            self._close(conn)

    async def _open(self, conn: _Connection) -> bool:
        """TCP connect and CONNECT in a worker thread, then hand the socket to the loop."""
        client = conn.client
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        cfg = self._config
        try:
            rc = await asyncio.to_thread(
                start_connect,
                client,
                self._endpoint,
                protocol=cfg.protocol,
                keepalive_s=cfg.keepalive_s,
                connect_timeout_s=cfg.connect_timeout_s,
                session_expiry_s=cfg.session_expiry_s,
                receive_maximum=cfg.receive_maximum,
            )
        except OSError as exc:
            self._failures.warning("mqtt connect failed", key="connect", error=str(exc))
            return False
        if rc != _SUCCESS:
            self._failures.warning(
                "mqtt connect failed", key="connect", error=mqtt.error_string(rc)
            )
            with contextlib.suppress(OSError):
                sock = client.socket()
                if sock is not None:
                    sock.close()
            return False
        loop = asyncio.get_running_loop()
        conn.pump = SocketPump(loop, client, self._on_readable, conn.lost.set)
        self._conn = conn
        conn.pump.start(reading=True)  # CONNACK is read even while paused
        return True

    async def _disconnect(self, conn: _Connection) -> None:
        """Normal DISCONNECT (nothing pending is acked), waiting briefly for it to go out."""
        self._stopping = True
        conn.client.disconnect()
        await _wait_any([conn.lost], DISCONNECT_TIMEOUT_S)

    def _close(self, conn: _Connection) -> None:
        self._abort(conn)
        if self._conn is conn:
            self._conn = None

    def _mark_disconnected(self) -> None:
        if self._connected:
            self._connected = False
            metrics.CONNECTED.dec()
        self._subscribed = False

    async def _tick(self, conn: _Connection) -> None:
        """paho's periodic work: keepalive PINGREQs and the dead-broker check."""
        keepalive = self._config.keepalive_s
        interval = min(MAX_TICK_S, keepalive / 4)
        while not conn.lost.is_set():
            await asyncio.sleep(interval)
            if self._paused and conn.connack.is_set():
                self._ping_while_paused(conn, keepalive)
            else:
                conn.client.loop_misc()

    @staticmethod
    def _ping_while_paused(conn: _Connection, keepalive: int) -> None:
        # loop_misc would declare the broker dead: the PINGRESP sits unread behind the
        # paused socket. Keep the broker's keepalive satisfied with bare PINGREQs instead
        # (paho has no public call for one).
        now = time.monotonic()
        if now - conn.last_paused_ping >= keepalive / 2:
            conn.last_paused_ping = now
            conn.client._send_pingreq()

    # -- reading ------------------------------------------------------------------------

    def _read_if_current(self, conn: _Connection) -> None:
        if self._conn is conn and conn.pump is not None and conn.pump.reading:
            self._on_readable()

    def _on_readable(self) -> None:
        """One read pass: packets until the socket is drained, the batch is full, or
        reading is paused; then one `on_messages` call with the messages read."""
        conn = self._conn
        if conn is None:
            return
        client, batch, cfg = conn.client, self._batch, self._config
        try:
            while True:
                before = len(batch)
                rc = client.loop_read()  # one packet per call (QoS 1 keeps no paho state)
                if (
                    rc != _SUCCESS
                    or len(batch) == before
                    or len(batch) >= cfg.read_batch_max
                    or self._batch_bytes >= cfg.read_batch_bytes
                    or self._paused
                ):
                    break
        except Exception:
            self._log.exception("mqtt read failed; reconnecting")
            self._abort(conn)
        if self._paused and conn.pump is not None and conn.connack.is_set():
            conn.pump.pause()
        if batch:
            self._batch = []
            self._batch_bytes = 0
            self._deliver(batch)
        if client.buffered and not self._paused and self._loop is not None:
            # Packets already read from the socket: no readiness event will announce them.
            self._loop.call_soon(self._read_if_current, conn)

    def _abort(self, conn: _Connection) -> None:
        """Drop the connection at once, without DISCONNECT (the session loop reconnects)."""
        self._mark_disconnected()
        if conn.pump is not None:
            conn.pump.close()
        conn.lost.set()

    def _deliver(self, batch: list[Inbound]) -> None:
        metrics.MESSAGES_RECEIVED.inc(len(batch))
        try:
            self._on_messages(batch)
        except Exception:
            # Nothing of this batch will be acknowledged: reconnect so the broker
            # redelivers it rather than holding it in flight for good.
            self._log.exception("on_messages failed; reconnecting", messages=len(batch))
            conn = self._conn
            if conn is not None:
                conn.client.disconnect()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        props = msg.properties
        user = getattr(props, "UserProperty", None) if props is not None else None
        payload = msg.payload
        self._batch_bytes += len(payload)
        self._batch.append(
            Inbound(
                _topic_of(msg),
                payload if isinstance(payload, bytes) else bytes(payload),
                tuple(user) if user else (),
                msg.mid,
                msg.qos,
                msg.retain,
                self._generation,
                time.time(),
            )
        )

    # -- paho callbacks (called from loop_read / loop_write / loop_misc, on the loop) ----

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        conn = self._conn
        if conn is None or conn.client is not client:
            return
        if reason.is_failure:
            self._failures.error(
                "mqtt connection refused", key=f"connack-{reason.value}", reason=str(reason)
            )
            conn.connack.set()
            return
        self._generation += 1
        self._connected = True
        self._subscribed = False
        self._refused = ()
        metrics.CONNECTED.inc()
        self._log.info(
            "mqtt connected",
            generation=self._generation,
            session_present=flags.session_present,
            protocol=self._config.protocol,
        )
        # Subscribe on every connection, also when the broker says the session is present:
        # Mosquitto before 2.0.12 restores a session across its own restart without its
        # $share subscriptions (test_mosquitto_restart_with_the_shared_subscription_...).
        client.subscribe(subscribe_requests(self._config.subscriptions, self._config.protocol))
        conn.accepted = True
        conn.connack.set()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reasons: list[ReasonCode],
        _props: Properties | None,
    ) -> None:
        conn = self._conn
        if conn is None or conn.client is not client:
            return
        requested = subscribe_requests(self._config.subscriptions, self._config.protocol)
        refused = []
        for (topic_filter, _), reason in zip(requested, reasons, strict=False):
            if reason.is_failure or reason.value < 1:  # refused, or downgraded to QoS 0
                refused.append(topic_filter)
                self._log.error(
                    "mqtt subscription refused", filter=topic_filter, reason=str(reason)
                )
        metrics.SUBSCRIBE_FAILURES.inc(len(refused))
        self._refused = tuple(refused)
        self._subscribed = True

    def _on_disconnect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        conn = self._conn
        if conn is None or conn.client is not client:
            return
        was_connected = self._connected
        self._mark_disconnected()
        if self._stopping:
            self._log.info("mqtt disconnected", generation=self._generation)
        elif was_connected:
            self._failures.warning(
                "mqtt connection lost",
                key=f"lost-{reason.value}",
                reason=str(reason),
                by_broker=flags.is_disconnect_packet_from_server,
                generation=self._generation,
            )
        conn.lost.set()


def _topic_of(msg: mqtt.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:  # brokers reject these; keep the message for the reject path
        return bytes(msg._topic).decode("utf-8", "replace")


async def _wait_any(events: list[asyncio.Event], timeout: float | None) -> None:  # noqa: ASYNC109
    """Return when one of `events` is set or after `timeout` seconds (None: no limit)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
