"""WindowedPublisher.connect: a broker that never answers or refuses is a ConnectError."""

from __future__ import annotations

import socket

import pytest

from vigil_runtime.settings import MqttEndpoint
from vigil_tools.camsim.client import ConnectError, WindowedPublisher
from vigil_tools.camsim.stats import FleetStats


async def test_a_listener_that_never_sends_connack_times_out_as_a_connect_error() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = MqttEndpoint("127.0.0.1", silent.getsockname()[1])
        publisher = WindowedPublisher("silent", endpoint, FleetStats())
        with pytest.raises(ConnectError, match="no CONNACK"):
            await publisher.connect(0.2)


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the connect
    publisher = WindowedPublisher("refused", MqttEndpoint("127.0.0.1", port), FleetStats())
    with pytest.raises(ConnectError, match="cannot connect"):
        await publisher.connect(0.2)
