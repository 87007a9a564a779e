"""camsim against the real Mosquitto of the test stack: what a subscriber receives is exactly
what the summary says was published, the window bounds what is in flight, and the Last Will
reaches subscribers when a camera's connection dies."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from vigil_runtime.settings import parse_mqtt_url
from vigil_schema.enums import CameraStatus, RejectReason
from vigil_schema.mqtt import (
    FrameHeader,
    PayloadError,
    parse_events_payload,
    parse_health_payload,
    parse_status_payload,
    timestamp_window_violation,
    validate_jpeg,
)
from vigil_schema.topics import ALL_CAMERAS_FILTER, CameraTopicKind, parse_camera_topic
from vigil_tools.camsim import EXPECTED_REASON, BadKind, Fleet, FleetConfig

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)


@dataclass
class Observed:
    """What the subscriber saw, classified with vigil_schema's parsers."""

    good: Counter[str] = field(default_factory=Counter)
    events: int = 0
    bad_by_topic: Counter[str] = field(default_factory=Counter)
    reasons: Counter[RejectReason] = field(default_factory=Counter)
    statuses: list[tuple[str, CameraStatus]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.good.values()) + sum(self.bad_by_topic.values())


def _window_reason(timestamps: list[datetime]) -> RejectReason | None:
    now = datetime.now(UTC)
    for ts in timestamps:
        reason = timestamp_window_violation(ts, now, max_future=MAX_FUTURE, max_age=MAX_AGE)
        if reason is not None:
            return reason
    return None


def classify(observed: Observed, message: mqtt.MQTTMessage) -> None:
    """Parse one message as the ingest would and count it as good or by reject reason."""
    camera_id, kind = parse_camera_topic(message.topic)
    payload = message.payload
    try:
        if kind is CameraTopicKind.EVENTS:
            events = parse_events_payload(payload, camera_id)
            reason = _window_reason([event.ts for event in events])
            count = len(events)
        elif kind is CameraTopicKind.HEALTH:
            reason = _window_reason([parse_health_payload(payload, camera_id).ts])
            count = 0
        elif kind is CameraTopicKind.FRAMES:
            props = getattr(message.properties, "UserProperty", [])
            header = FrameHeader.from_user_properties(camera_id, props, len(payload))
            validate_jpeg(payload)
            reason, count = _window_reason([header.ts]), 0
        else:
            status = parse_status_payload(payload)
            assert status is not None
            observed.statuses.append((camera_id, status.status))
            reason, count = None, 0
    except PayloadError as exc:
        reason, count = exc.reason, 0
    if reason is None:
        observed.good[kind.value] += 1
        observed.events += count
    else:
        observed.bad_by_topic[kind.value] += 1
        observed.reasons[reason] += 1


class Subscriber:
    """A paho subscriber (MQTT v5, QoS 1) collecting the messages of some cameras."""

    def __init__(self, url: str, cameras: set[str], topic: str = ALL_CAMERAS_FILTER) -> None:
        self.cameras = cameras
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._subscribed = threading.Event()
        endpoint = parse_mqtt_url(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain:  # retained from an earlier run, not published while we listened
            return
        if parse_camera_topic(message.topic).camera_id in self.cameras:
            self.messages.put(message)

    def collect(self, expected: int, timeout_s: float = 20.0) -> list[mqtt.MQTTMessage]:
        """Wait for ``expected`` messages, then a little longer to catch any extra one."""
        received: list[mqtt.MQTTMessage] = []
        deadline = time.monotonic() + timeout_s
        while len(received) < expected and time.monotonic() < deadline:
            try:
                received.append(self.messages.get(timeout=0.2))
            except queue.Empty:
                continue
        time.sleep(0.3)
        while not self.messages.empty():
            received.append(self.messages.get_nowait())
        return received

    def wait_for(self, predicate: Any, timeout_s: float) -> mqtt.MQTTMessage | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if predicate(message):
                return message
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def prefix() -> str:
    """A camera prefix of this test's own, so retained messages of other tests do not count."""
    return f"t{uuid.uuid4().hex[:6]}-"


@pytest.fixture
def subscriber_factory(mqtt_url: str) -> Iterator[Any]:
    made: list[Subscriber] = []

    def make(cameras: list[str], topic: str = ALL_CAMERAS_FILTER) -> Subscriber:
        subscriber = Subscriber(mqtt_url, set(cameras), topic)
        made.append(subscriber)
        return subscriber

    yield make
    for subscriber in made:
        subscriber.close()


async def test_subscriber_sees_exactly_what_the_summary_reports(
    mqtt_url: str, prefix: str, subscriber_factory: Any
) -> None:
    config = FleetConfig(
        url=mqtt_url,
        cameras=3,
        camera_prefix=prefix,
        fps=60.0,
        batch=3,
        bad_ratio=0.3,
        duration_s=2.0,
        health_interval_s=0.25,
        frame_fps=4.0,
        resolution=(160, 96),
        frame_pool=3,
        seed=7,
    )
    subscriber = subscriber_factory(config.camera_ids())
    summary = await Fleet(config).run()

    received = subscriber.collect(summary["messages"])
    observed = Observed()
    for message in received:
        classify(observed, message)

    published = summary["published"]
    assert len(received) == summary["messages"] == sum(published.values())
    assert observed.good == Counter(
        {kind: published[kind] for kind in ("events", "health", "frames", "status")}
    )
    assert observed.events == summary["events"] > 0
    assert observed.bad_by_topic == Counter(summary["bad_by_topic"])
    assert published["bad"] == sum(summary["bad"].values()) > 0
    expected_reasons: Counter[RejectReason] = Counter()
    for kind, count in summary["bad"].items():
        expected_reasons[EXPECTED_REASON[BadKind(kind)]] += count
    assert observed.reasons == expected_reasons
    assert summary["acked"] == published
    assert summary["events_acked"] == summary["events"]
    assert summary["failed"] == summary["unacked"] == 0
    online = [camera for camera, status in observed.statuses if status is CameraStatus.ONLINE]
    offline = [camera for camera, status in observed.statuses if status is CameraStatus.OFFLINE]
    assert sorted(online) == sorted(offline) == summary["cameras"] == config.camera_ids()
    # the rate is per camera: 60 events/s for 2 s, give or take the start and the end
    sent = summary["events"] + 3 * summary["bad_by_topic"].get("events", 0)
    assert sent >= 3 * 60 * 2 * 0.7


async def test_window_bounds_messages_in_flight(mqtt_url: str, prefix: str) -> None:
    config = FleetConfig(
        url=mqtt_url,
        cameras=4,
        camera_prefix=prefix,
        fps=0.0,
        window=5,
        lwt=False,
        clients=1,
        count=3000,
        duration_s=30.0,
        health_interval_s=0.0,
    )
    summary = await Fleet(config).run()
    assert summary["window"] == 5
    assert summary["max_inflight"] == 5  # the unpaced producer filled it, never beyond
    assert summary["published"]["events"] == summary["acked"]["events"] == 3000
    assert summary["events"] == 3000
    assert summary["clients"] == 1


async def test_mqtt_311_clients_publish_with_a_bounded_window(mqtt_url: str, prefix: str) -> None:
    config = FleetConfig(
        url=mqtt_url,
        cameras=2,
        camera_prefix=prefix,
        fps=0.0,
        window=3,
        protocol="v311",
        count=500,
        duration_s=30.0,
        batch=10,
        health_interval_s=0.0,
    )
    summary = await Fleet(config).run()
    assert summary["max_inflight"] <= 3
    assert summary["events"] == summary["events_acked"] == 5000
    assert summary["published"]["status"] == 4


def _start_cli(mqtt_url: str, prefix: str, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "vigil_tools.camsim",
        "--url",
        mqtt_url,
        "--cameras",
        "1",
        "--camera-prefix",
        prefix,
        "--fps",
        "5",
        "--health-interval",
        "1",
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _status_of(message: mqtt.MQTTMessage) -> CameraStatus | None:
    if parse_camera_topic(message.topic).kind is not CameraTopicKind.STATUS:
        return None
    parsed = parse_status_payload(message.payload)
    return parsed.status if parsed else None


def test_killed_camera_gets_its_last_will(
    mqtt_url: str, prefix: str, subscriber_factory: Any
) -> None:
    camera = f"{prefix}001"
    subscriber = subscriber_factory([camera])
    process = _start_cli(mqtt_url, prefix, "--duration", "60")
    try:
        online = subscriber.wait_for(lambda m: _status_of(m) is CameraStatus.ONLINE, 20)
        assert online is not None, "the camera never said online"
        process.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker must send the will
        offline = subscriber.wait_for(lambda m: _status_of(m) is not None, 20)
        assert offline is not None, "no Last Will after the camera died"
        assert offline.payload == b"offline"  # the will itself, not a clean-stop status
    finally:
        process.kill()
        process.wait()


def test_clean_stop_publishes_offline_and_prints_the_summary(
    mqtt_url: str, prefix: str, subscriber_factory: Any, tmp_path: Any
) -> None:
    camera = f"{prefix}001"
    subscriber = subscriber_factory([camera])
    summary_file = tmp_path / "summary.json"
    process = _start_cli(mqtt_url, prefix, "--duration", "60", "--summary-file", str(summary_file))
    try:
        assert subscriber.wait_for(lambda m: _status_of(m) is CameraStatus.ONLINE, 20)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert camera in stderr
    summary = json.loads(stdout)
    assert summary == json.loads(summary_file.read_text())
    assert summary["cameras"] == [camera]
    assert summary["published"]["status"] == 2
    assert summary["acked"] == summary["published"]
    offline = subscriber.wait_for(lambda m: _status_of(m) is CameraStatus.OFFLINE, 10)
    assert offline is not None
    assert json.loads(offline.payload)["status"] == "offline"  # the clean-stop status, not the will


def test_cli_rejects_bad_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vigil_tools.camsim", "--frame-fps", "1", "--protocol", "v311"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert "user properties" in result.stderr
