"""Drive one connected paho client from the asyncio event loop, without paho's thread.

paho's `examples/loop_asyncio.py` pattern: the socket is watched with
`loop.add_reader` / `loop.add_writer`, which call the link's read pass and
`client.loop_write()`; paho asks for write interest through its
`on_socket_register_write` / `on_socket_unregister_write` callbacks and reports the
socket's end through `on_socket_close`. Reading can be paused (the reader is removed,
so the kernel buffer fills and TCP flow control slows the broker down) while writes
(PUBACKs, PINGREQs, DISCONNECT) keep flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

__all__ = ["SocketPump"]


class SocketPump:
    """Registers one paho client's socket with the event loop until it closes."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: mqtt.Client,
        on_readable: Callable[[], None],
        on_closed: Callable[[], None],
    ) -> None:
        sock = client.socket()
        if sock is None:
            raise ConnectionError("the MQTT client has no socket")
        self._loop = loop
        self._client = client
        self._sock = sock
        self._on_readable = on_readable
        self._on_closed = on_closed
        self.reading = False
        self.writing = False
        self.closed = False

    def start(self, *, reading: bool) -> None:
        """Hook into paho's socket callbacks and start watching the socket."""
        client = self._client
        client.on_socket_close = self._socket_closed
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        if reading:
            self.resume()
        # CONNECT was queued before these callbacks existed: if paho could not send it all,
        # its register_write request went nowhere, so watch for writability now.
        if client.want_write():
            self._watch_writes()

    def pause(self) -> None:
        """Stop reading the socket (idempotent)."""
        if self.reading:
            self._loop.remove_reader(self._sock)
            self.reading = False

    def resume(self) -> None:
        """Read the socket again (idempotent; nothing once the socket is closed)."""
        if not self.reading and not self.closed:
            self._loop.add_reader(self._sock, self._on_readable)
            self.reading = True

    def close(self) -> None:
        """Unregister and close the socket; paho's callbacks are detached first, so the
        client (discarded by the caller) never calls back into the link again."""
        client = self._client
        client.on_socket_close = None
        client.on_socket_register_write = None
        client.on_socket_unregister_write = None
        self._forget()
        with contextlib.suppress(OSError):
            self._sock.close()

    def _watch_writes(self) -> None:
        if not self.writing and not self.closed:
            self._loop.add_writer(self._sock, self._writable)
            self.writing = True

    def _writable(self) -> None:
        self._client.loop_write()

    def _register_write(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        self._watch_writes()

    def _unregister_write(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        if self.writing:
            self._loop.remove_writer(self._sock)
            self.writing = False

    def _socket_closed(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        # Called by paho just before it closes the socket (connection lost, keepalive
        # timeout, DISCONNECT sent): unregister while the descriptor is still valid.
        self._forget()
        self._on_closed()

    def _forget(self) -> None:
        self.pause()
        self._unregister_write(self._client, None, self._sock)
        self.closed = True
