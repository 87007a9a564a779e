"""One MQTT connection on the asyncio loop with a bounded publish window.

paho-mqtt runs without its network thread: its socket callbacks register the socket with the
event loop (reads call ``loop_read``, pending writes ``loop_write``), so everything, including
``on_publish``, happens on the loop's thread and no lock is needed.

The window: at most ``window`` messages are in flight (published, not yet acknowledged);
:attr:`WindowedPublisher.available` says how many more may go now and
:meth:`WindowedPublisher.wait_slot` waits for a PUBACK to free one. paho itself therefore never
holds more than the window, however fast the producer is. The effective window is also capped
by the broker's Receive Maximum from CONNACK (MQTT v5), which the broker would otherwise
enforce by disconnecting us.

After an unexpected disconnect the client reconnects with backoff; paho re-sends the QoS 1
messages still in flight (DUP set), so an acknowledgement is counted once per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vigil_runtime.backoff import Backoff
from vigil_runtime.settings import MqttEndpoint
from vigil_runtime.tasks import wait_event
from vigil_tools.camsim.config import Protocol
from vigil_tools.camsim.stats import FleetStats, Tag

MISC_INTERVAL_S: Final = 1.0
RECONNECT_ATTEMPT_TIMEOUT_S: Final = 5.0
SOCKET_BUFFER_BYTES: Final = 1 << 20


class ConnectError(RuntimeError):
    """The broker refused or never answered the connection."""


class WindowedPublisher:
    """A paho client publishing with at most ``window`` unacknowledged messages."""

    def __init__(
        self,
        client_id: str,
        endpoint: MqttEndpoint,
        stats: FleetStats,
        *,
        protocol: Protocol = "v5",
        qos: int = 1,
        window: int = 100,
        keepalive_s: int = 30,
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.client_id = client_id
        self.endpoint = endpoint
        self.qos = qos
        self.configured_window = window
        self.window = window
        self.on_reconnected: Callable[[], None] | None = None
        self._stats = stats
        self._keepalive = keepalive_s
        self._v5 = protocol == "v5"
        self._pending: dict[int, Tag] = {}
        self._slot = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._connect_error: str | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._client = self._make_client(protocol, will)

    # ------------------------------------------------------------------ setup

    def _make_client(self, protocol: Protocol, will: tuple[str, bytes] | None) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if protocol == "v5" else mqtt.MQTTv311,
            clean_session=None if protocol == "v5" else True,
        )
        # paho's own in-flight limit is off (0): ours is enforced before publish(), and paho's
        # rescans every outgoing message on each PUBACK while its limit is set.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        if self.endpoint.username is not None:
            client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    # ------------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        """Whether CONNACK was received and the connection is up."""
        return self._connected.is_set()

    @property
    def inflight(self) -> int:
        """Messages handed to paho and not yet acknowledged."""
        return len(self._pending)

    @property
    def available(self) -> int:
        """How many messages may be published right now without exceeding the window."""
        if not self._connected.is_set():
            return 0
        return self.window - len(self._pending)

    # ------------------------------------------------------------------ lifecycle

    async def connect(self, timeout_s: float) -> None:
        """Connect and wait for a successful CONNACK; raises :class:`ConnectError`."""
        try:
            self._client.connect(
                self.endpoint.host,
                self.endpoint.port,
                keepalive=self._keepalive,
                # a publisher needs no session; MQTT 3.1.1 gets clean_session from the client
                clean_start=True if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            )
            connected = await wait_event(self._connected, timeout_s)
        except OSError as exc:
            raise ConnectError(f"{self.client_id}: cannot connect to the broker: {exc!r}") from exc
        if not connected:
            raise ConnectError(f"{self.client_id}: no CONNACK from the broker in {timeout_s} s")
        if self._connect_error is not None:
            raise ConnectError(f"{self.client_id}: {self._connect_error}")
        self._spawn(self._misc_loop())

    async def close(self, timeout_s: float = 5.0) -> None:
        """Send DISCONNECT (no Last Will) and release the socket."""
        self._stopping = True
        self._slot.set()
        if self._connected.is_set():
            self._client.disconnect()
            await wait_event(self._disconnected, timeout_s)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        sock = self._client.socket()
        if sock is not None:  # the broker never answered: drop the socket ourselves
            self._unwatch(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def wake(self) -> None:
        """Wake a producer waiting in :meth:`wait_slot` (e.g. to make it see a stop)."""
        self._slot.set()

    async def wait_slot(self) -> None:
        """Wait until a PUBACK frees the window, the connection changes, or :meth:`wake`."""
        self._slot.clear()
        if self.available > 0 and not self._stopping:
            return
        await self._slot.wait()

    async def wait_connected(self) -> None:
        """Wait for the (re)connection."""
        await self._connected.wait()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every message in flight is acknowledged; ``False`` on timeout."""
        return await wait_event(self._idle, timeout_s)

    # ------------------------------------------------------------------ publishing

    def publish_now(
        self,
        topic: str,
        payload: bytes,
        tag: Tag,
        *,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> bool:
        """Hand one message to paho; call only while :attr:`available` > 0.

        Returns ``False`` (and counts a failure) if paho refused it.
        """
        info = self._client.publish(topic, payload, self.qos, retain, properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._stats.failed += 1
            return False
        self._pending[info.mid] = tag
        self._idle.clear()
        self._stats.record_publish(tag, len(payload))
        if len(self._pending) > self._stats.max_inflight:
            self._stats.max_inflight = len(self._pending)
        return True

    async def publish(self, topic: str, payload: bytes, tag: Tag, *, retain: bool = False) -> bool:
        """Publish once the window has room (waits through reconnects)."""
        while self.available <= 0:
            if self._stopping:
                return False
            if not self.connected:
                await self.wait_connected()
            else:
                await self.wait_slot()
        return self.publish_now(topic, payload, tag, retain=retain)

    # ------------------------------------------------------------------ paho callbacks

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connect_error = f"broker refused the connection: {reason_code}"
            self._connected.set()  # wake connect(), which raises
            return
        receive_maximum = getattr(properties, "ReceiveMaximum", None)
        if isinstance(receive_maximum, int) and receive_maximum > 0:
            self.window = min(self.configured_window, receive_maximum)
        self._disconnected.clear()
        self._connected.set()
        self._slot.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        self._disconnected.set()
        self._slot.set()
        if not self._stopping:
            self._spawn(self._reconnect())

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        tag = self._pending.pop(mid, None)
        if tag is None:
            return
        if reason_code.is_failure:
            self._stats.failed += 1
        else:
            self._stats.record_ack(tag)
        if not self._pending:
            self._idle.set()
        self._slot.set()

    # ------------------------------------------------------------------ event-loop glue

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        self._loop.add_reader(sock, client.loop_read)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._unwatch(sock)

    def _unwatch(self, sock: Any) -> None:
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_writer(sock, client.loop_write)

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_writer(sock)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _misc_loop(self) -> None:
        """Keepalive pings and timeouts (paho's ``loop_misc``), once a second."""
        while not self._stopping:
            await asyncio.sleep(MISC_INTERVAL_S)
            if self._client.socket() is not None:
                self._client.loop_misc()

    async def _reconnect(self) -> None:
        backoff = Backoff(initial=0.1, maximum=5.0)
        while not self._stopping and not self._connected.is_set():
            await asyncio.sleep(backoff.next_delay())
            if self._stopping:
                return
            try:
                self._client.reconnect()
            except OSError:
                continue
            if not await wait_event(self._connected, RECONNECT_ATTEMPT_TIMEOUT_S):
                continue
            if self._connect_error is None:
                self._stats.reconnects += 1
                if self.on_reconnected is not None:
                    self.on_reconnected()
            else:
                self._connect_error = None
                self._connected.clear()
