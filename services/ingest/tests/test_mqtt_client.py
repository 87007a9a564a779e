"""BufferedClient: paho's reads served from one large recv, with paho's own semantics."""

from __future__ import annotations

import socket

import pytest

from vigil_ingest.mqtt_client import BufferedClient, build_client
from vigil_runtime.settings import parse_mqtt_url


def _client_on(sock: socket.socket) -> BufferedClient:
    client = build_client("test-buffered", "v5", parse_mqtt_url("mqtt://127.0.0.1:1"))
    client._sock = sock  # what paho's connect would have set
    return client


def test_reads_are_served_from_the_buffer_then_the_socket() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = _client_on(ours)
    try:
        theirs.sendall(b"abcdef")
        assert client._sock_recv(1) == b"a"
        assert client.buffered == 5
        assert client._sock_recv(2) == b"bc"
        assert client._sock_recv(10) == b"def"  # no more than is buffered, no new recv
        assert client.buffered == 0
        with pytest.raises(BlockingIOError):  # nothing buffered, nothing on the socket
            client._sock_recv(1)
        theirs.sendall(b"gh")
        assert client._sock_recv(5) == b"gh"
        theirs.close()
        assert client._sock_recv(1) == b""  # end of stream, as paho expects it
    finally:
        ours.close()
