"""The broker ceiling of the ingest benchmark: a bare paho subscriber that only parses JSON.

``python -m bench.ingest.bare --url mqtt://127.0.0.1:1883 --group bare``

It subscribes like an ingest replica (MQTT v5, the same ``$share/<group>/...`` filters, QoS 1,
the same Receive Maximum) but with paho's automatic PUBACK, and does nothing with a message
but ``json.loads`` its payload and count the events in it (an array of B counts B). That is
the least work any MQTT consumer in Python can do per message, so its rate is what the
broker and the publisher allow on this machine.

Protocol with the harness (stdout, one line each): ``ready`` once the subscriptions are
acknowledged, then ``sample <monotonic_s> <events>`` every ``--interval`` seconds while
events arrive, and a final ``done <json summary>`` after SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from vigil_runtime.settings import MqttEndpoint, parse_mqtt_url
from vigil_schema.topics import ingest_subscriptions

RECEIVE_MAXIMUM = 65535
"""The ingest's default ``receive_maximum``: the broker may have this many PUBLISHes in flight."""


@dataclass
class Counts:
    """What the subscriber has seen so far."""

    messages: int = 0
    events: int = 0
    other: int = 0
    bad_json: int = 0
    subscribed: bool = False
    errors: list[str] = field(default_factory=list)

    def on_message(self, _client: Client, _userdata: Any, message: MQTTMessage) -> None:
        """Parse the payload; count events (events topics) or other messages."""
        self.messages += 1
        if not message.topic.endswith("/events"):
            self.other += 1
            return
        try:
            value = json.loads(message.payload)
        except ValueError:
            self.bad_json += 1
            return
        self.events += len(value) if isinstance(value, list) else 1


def _new_client(client_id: str, endpoint: MqttEndpoint) -> Client:
    """A paho MQTT v5 client with the endpoint's credentials (if any)."""
    client = Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    return client


def _subscriber(
    counts: Counts, client_id: str, endpoint: MqttEndpoint, topics: list[str]
) -> Client:
    client = _new_client(client_id, endpoint)
    client.on_message = counts.on_message

    def on_connect(
        c: Client, _u: Any, _f: ConnectFlags, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            counts.errors.append(f"connect refused: {reason}")
            return
        c.subscribe([(topic, SubscribeOptions(qos=1)) for topic in topics])

    def on_subscribe(
        _c: Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Properties | None
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            counts.errors.append(f"subscribe refused: {failed}")
        else:
            counts.subscribed = True

    def on_disconnect(
        _c: Client, _u: Any, _f: DisconnectFlags, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            counts.errors.append(f"disconnected: {reason}")

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_disconnect = on_disconnect
    return client


def run(
    url: str,
    group: str,
    client_id: str,
    interval_s: float,
    *,
    expiry_s: int = 0,
    resume: bool = False,
    stop_when_ready: bool = False,
) -> dict[str, Any]:
    """Subscribe, report samples until SIGTERM/SIGINT, return the summary.

    ``resume`` connects with clean start off, taking over the session (and the messages the
    broker queued for it while it was away); ``expiry_s`` is how long the broker keeps the
    session after this connection ends; ``stop_when_ready`` returns once subscribed.
    """
    endpoint = parse_mqtt_url(url)
    counts = Counts()
    client = _subscriber(counts, client_id, endpoint, ingest_subscriptions(group))
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    properties.SessionExpiryInterval = expiry_s
    client.connect(
        endpoint.host, endpoint.port, keepalive=30, clean_start=not resume, properties=properties
    )
    stop = _stop_on_signals()
    _pump(client, counts, interval_s, stop if not stop_when_ready else lambda: counts.subscribed)
    client.disconnect()
    return {
        "messages": counts.messages,
        "events": counts.events,
        "other_messages": counts.other,
        "bad_json": counts.bad_json,
        "errors": counts.errors,
    }


def _stop_on_signals() -> Callable[[], bool]:
    """A flag set by SIGTERM or SIGINT."""
    stopping = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return lambda: stopping


def _pump(client: Client, counts: Counts, interval_s: float, done: Callable[[], bool]) -> None:
    """Run paho's loop; say ``ready`` once subscribed, ``sample`` lines while events come."""
    announced = False
    last_events = -1
    next_sample = time.monotonic()
    while not done() and not counts.errors:
        client.loop(timeout=0.02)
        if counts.subscribed and not announced:
            print("ready", flush=True)
            announced = True
        now = time.monotonic()
        if now >= next_sample:
            if counts.events != last_events:
                print(f"sample {now:.6f} {counts.events}", flush=True)
                last_events = counts.events
            next_sample = now + interval_s
    print(f"sample {time.monotonic():.6f} {counts.events}", flush=True)


def purge_session(url: str, client_id: str, timeout_s: float = 10.0) -> None:
    """End the broker's persistent session of ``client_id`` (the ingest's, between runs).

    An offline persistent session keeps its shared subscriptions, so the broker would go on
    queueing every later message for it: connecting once with clean start and no session
    expiry discards the session and its queue.
    """
    endpoint = parse_mqtt_url(url)
    client = _new_client(client_id, endpoint)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    client.connect(endpoint.host, endpoint.port, clean_start=True, properties=properties)
    deadline = time.monotonic() + timeout_s
    while not client.is_connected():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no CONNACK for {client_id} in {timeout_s} s")
        client.loop(timeout=0.05)
    client.disconnect()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="broker URL, mqtt://host:port")
    parser.add_argument("--group", default="bench-bare", help="shared subscription group")
    parser.add_argument("--client-id", default="bench-bare-subscriber")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("--session-expiry", type=int, default=0, help="seconds (0: none)")
    parser.add_argument("--resume", action="store_true", help="take over the stored session")
    parser.add_argument(
        "--subscribe-only",
        action="store_true",
        help="exit once subscribed (creates a session to fill)",
    )
    args = parser.parse_args(argv)
    summary = run(
        args.url, args.group, args.client_id, args.interval,
        expiry_s=args.session_expiry, resume=args.resume, stop_when_ready=args.subscribe_only,
    )  # fmt: skip
    print("done " + json.dumps(summary), flush=True)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
