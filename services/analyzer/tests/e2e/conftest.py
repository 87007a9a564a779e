"""Fixtures of the analyzer's end-to-end tests: real Mosquitto, Redis, PostgreSQL, and the
ingest and analyzer as real processes (``run_service_process``).

:class:`AnalyzerHarness` (fixture ``analyzer_harness``) binds one test's database, Redis db and
a random token that goes into its camera ids, its ingest client id and its shared
subscription group (the broker is shared by every test). It registers cameras (with zones),
starts the ingest and analyzers, publishes JPEG frames over MQTT exactly as a camera does
(``vigil/cameras/<id>/frames``, user properties ``ts``, ``frame_number``, ``width``,
``height``) and reads back rows and stream entries. Test modules cannot import a conftest
(``--import-mode=importlib``), so everything is reached through the fixture.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import cv2
import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from vigil_runtime.claude.image import jpeg_size
from vigil_runtime.testing.mqtt_publisher import Publisher
from vigil_runtime.testing.services import ServiceLauncher, ServiceProcess
from vigil_schema.streams import Envelope
from vigil_schema.topics import frames_topic, status_topic
from vigil_tools.camsim import FleetConfig
from vigil_tools.fake_anthropic.process import start_fake_process

WAIT_TIMEOUT_S = 60.0
POLL_S = 0.2
READY_TIMEOUT_S = 90.0
"""The analyzer loads its detector before it is ready (slow on a busy 2-core machine)."""
T = TypeVar("T")

FAST_ANALYZER: dict[str, str] = {
    "VIGIL_DETECT_FPS": "1000",
    "VIGIL_MOTION_THRESHOLD": "0",
    "VIGIL_MAX_FRAME_AGE_S": "600",
    "VIGIL_DETECTOR_DEVICE": "cpu",
    "VIGIL_LOG_LEVEL": "INFO",
}
"""Analyze every frame: no rate cap, no motion gate, no staleness within a test's life."""


def metric(service: ServiceProcess, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` on the service's /metrics that carry ``labels``."""
    return service.metric_total(name, **labels)


def wait_for(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
    timeout_s: float = WAIT_TIMEOUT_S,
    describe: Callable[[], str] = str,
) -> T:
    """Poll ``probe`` until ``done(value)``; the value. AssertionError after the timeout."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout_s}s\n{describe()}")
        time.sleep(POLL_S)
        value = probe()
    return value


def jpeg_of(path: Path, size: tuple[int, int] | None = None, quality: int = 90) -> bytes:
    """The photograph as JPEG bytes, resized to ``size`` (width, height) when given."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    if size is not None:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok, path
    return bytes(encoded.tobytes())


class FramePublisher(Publisher):
    """The shared QoS 1 test publisher, publishing camera frames as a camera does."""

    def frame(self, camera_id: str, jpeg: bytes, frame_number: int, ts: datetime) -> None:
        """One frame on the ingest's frame topic, with its user properties."""
        width, height = jpeg_size(jpeg)
        self.publish(frames_topic(camera_id), jpeg,
                     [("ts", ts.isoformat()), ("frame_number", str(frame_number)),
                      ("width", str(width)), ("height", str(height))])  # fmt: skip

    def retain_empty(self, topic: str) -> None:
        """Delete the topic's retained message."""
        self.publish(topic, b"", retain=True)


@dataclass
class AnalyzerHarness:
    """One test's stack, names and processes (see the module docstring)."""

    token: str
    database_url: str
    redis_url: str
    mqtt_url: str
    models_dir: Path
    launcher: ServiceLauncher
    services: list[ServiceProcess] = field(default_factory=list)
    publishers: list[FramePublisher] = field(default_factory=list)
    simulated: set[str] = field(default_factory=set)
    """Cameras camsim published for (their retained status is cleared at teardown)."""

    def cameras(self, count: int, label: str = "c") -> list[str]:
        """``count`` camera ids unique to this test (camsim's naming: prefix + NNN)."""
        return [f"{self.camera_prefix(label)}{index:03d}" for index in range(1, count + 1)]

    def camera_prefix(self, label: str = "c") -> str:
        return f"{label}-{self.token}-"

    def register(
        self, camera_ids: Sequence[str], zone_config: dict[str, Any] | None = None
    ) -> None:
        """Insert the cameras (active), with ``zone_config`` when given."""
        zones = json.dumps(zone_config or {"zones": []})
        rows = [(cid, f"e2e {cid}", "active", zones) for cid in camera_ids]
        with psycopg.connect(self.database_url, autocommit=True) as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO cameras (id, name, desired_state, zone_config)"
                            " VALUES (%s, %s, %s, %s::jsonb)", rows)  # fmt: skip

    def start_ingest(self) -> ServiceProcess:
        """``vigil-ingest`` on this test's client id and shared group, ready."""
        env = {"VIGIL_MQTT_CLIENT_ID": f"ingest-{self.token}",
               "VIGIL_MQTT_SHARED_GROUP": f"t{self.token}", "VIGIL_SESSION_EXPIRY_S": "60",
               "VIGIL_LOG_LEVEL": "INFO"}  # fmt: skip
        service = self.launcher.start("ingest", env=env)
        self.services.append(service)
        return service

    def start_analyzer(self, **extra: str) -> ServiceProcess:
        """``vigil-analyzer`` (darknet, this test's models), every frame analysed, ready."""
        env = {**FAST_ANALYZER, "VIGIL_MODELS_DIR": str(self.models_dir), **extra}
        service = self.launcher.start("analyzer", env=env, ready_timeout_s=READY_TIMEOUT_S)
        self.services.append(service)
        return service

    def publisher(self, name: str = "pub") -> FramePublisher:
        publisher = FramePublisher(self.mqtt_url, f"{name}-{self.token}")
        self.publishers.append(publisher)
        return publisher

    def fleet(self, cameras: int, **options: Any) -> FleetConfig:
        """A camsim fleet for ``self.cameras(cameras, "s")`` on the session broker."""
        return FleetConfig(
            url=self.mqtt_url,
            cameras=cameras,
            camera_prefix=self.camera_prefix("s"),
            client_id_prefix=f"camsim-{self.token}",
            **options,
        )

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one query on this test's database (autocommit); its rows."""
        with psycopg.connect(self.database_url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def count(self, sql: str, *params: Any) -> int:
        return int(self.rows(sql, *params)[0][0])

    def stream(self, name: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Every entry of a Redis stream of this test's db."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            return cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(name))
        finally:
            client.close()

    def stream_pending(self, name: str, group: str = "analyzer") -> int:
        """Entries of ``name`` delivered to ``group`` and not acknowledged."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            return int(client.xpending(name, group)["pending"])
        finally:
            client.close()

    def group_done(self, name: str, total: int, group: str = "analyzer") -> bool:
        """Whether ``name`` holds ``total`` entries, all delivered to ``group`` and
        acknowledged (every frame entry handled, analysed or skipped)."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            info = next(g for g in client.xinfo_groups(name) if g["name"] == group.encode())
            last = cast("list[tuple[bytes, Any]]", client.xrevrange(name, count=1))
            length = int(client.xlen(name))
        finally:
            client.close()
        delivered = bool(last) and info["last-delivered-id"] == last[0][0]
        return length >= total and delivered and int(info["pending"]) == 0

    def small_jpeg(self, relpath: str, size: tuple[int, int]) -> bytes:
        """A model photograph resized to ``size`` (width, height), as JPEG."""
        return jpeg_of(self.models_dir / relpath, size)

    def messages(self, name: str) -> list[Any]:
        """The decoded messages of a stream (envelopes)."""
        return [Envelope.from_fields(fields).decode() for _id, fields in self.stream(name)]

    def hash(self, key: str) -> dict[str, str]:
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            return {str(k): str(v) for k, v in client.hgetall(key).items()}
        finally:
            client.close()

    @staticmethod
    def skips(service: ServiceProcess) -> dict[str, float]:
        """``vigil_analyzer_frames_skipped_total`` of a service by ``camera/reason``."""
        status, text = service.get("/metrics")
        assert status == 200, service.describe(f"/metrics answered {status}")
        return {f"{sample.labels['camera_id']}/{sample.labels['reason']}": sample.value
                for family in text_string_to_metric_families(str(text))
                for sample in family.samples
                if sample.name == "vigil_analyzer_frames_skipped_total"}  # fmt: skip

    @staticmethod
    def metric(service: ServiceProcess, name: str, **labels: str) -> float:
        return metric(service, name, **labels)

    def frames_analysed(self, camera_ids: Sequence[str]) -> set[tuple[str, int]]:
        """``(camera_id, frame_number)`` of every frame with detections rows."""
        rows = self.rows("SELECT DISTINCT camera_id, frame_number FROM detections"
                         " WHERE camera_id = ANY(%s)", list(camera_ids))  # fmt: skip
        return {(str(camera), int(number)) for camera, number in rows}

    def duplicate_detections(self, camera_ids: Sequence[str]) -> int:
        """Rows beyond one per dedup key ``(camera_id, frame_number, det_index, ts)``."""
        return self.count(
            "SELECT count(*) - count(DISTINCT (camera_id, frame_number, det_index, ts))"
            " FROM detections WHERE camera_id = ANY(%s)", list(camera_ids))  # fmt: skip

    def logs(self) -> str:
        """The stderr tails of every process started, for failure messages."""
        return "\n".join(service.describe("log") for service in self.services)

    def wait(self, probe: Callable[[], T], done: Callable[[T], bool], what: str,
             timeout_s: float = WAIT_TIMEOUT_S) -> T:  # fmt: skip
        return wait_for(probe, done, what=what, timeout_s=timeout_s, describe=self.logs)

    def close(self) -> None:
        """Close the publishers; delete camsim's retained status messages from the shared
        broker (another test's ingest would receive them and reject unknown cameras)."""
        if self.simulated:
            cleaner = self.publisher("cleanup")
            for camera_id in sorted(self.simulated):
                cleaner.retain_empty(status_topic(camera_id))
            cleaner.wait_acked()
        for publisher in self.publishers:
            publisher.close()


@pytest.fixture
def analyzer_harness(
    database_url: str,
    redis_url: str,
    mqtt_url: str,
    models_dir: Path,
    run_service_process: ServiceLauncher,
) -> Iterator[AnalyzerHarness]:
    """A harness on the session's servers (this test's own database and Redis db)."""
    harness = AnalyzerHarness(secrets.token_hex(4), database_url, redis_url, mqtt_url,
                              models_dir, run_service_process)  # fmt: skip
    try:
        yield harness
    finally:
        harness.close()


@dataclass
class FakeAnthropic:
    """A ``vigil-fake-anthropic`` process: its base URL and API key."""

    base_url: str
    api_key: str


@pytest.fixture
def fake_anthropic(tmp_path: Path) -> Iterator[FakeAnthropic]:
    """``vigil-fake-anthropic`` on a free port (a real HTTP server in its own process)."""
    key = "sk-e2e-" + secrets.token_hex(4)
    fake = start_fake_process(tmp_path / "fake-anthropic.log", api_key=key, batch_delay_s=0.5)
    try:
        yield FakeAnthropic(fake.base_url, fake.api_key)
    finally:
        fake.stop()
