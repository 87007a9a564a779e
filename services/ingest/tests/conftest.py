"""Fixtures and helpers for the ingest's end-to-end and fuzz tests (real servers only).

Isolation on the session's shared broker: every test gets an :class:`IngestNamespace` with a
random token that goes into its camera ids, its ingest client ids and its shared-subscription
group, so a test never receives another test's messages and a persistent session left by one
test never takes a share of the next test's traffic. The sessions a test created are removed
(clean start, session expiry 0) at teardown.

Tests that restart PostgreSQL or Mosquitto run on a :class:`PrivateStack` of their own, since
the session's servers are shared by every test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
import redis
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import vigil_migrations
from vigil_runtime.stack import LocalStack, StackInfo, watchdog
from vigil_runtime.stack.info import ServerState
from vigil_runtime.stack.logins import Logins, prepare_database
from vigil_runtime.stack.procs import terminate
from vigil_runtime.stack.registry import make_server
from vigil_runtime.testing.mqtt_publisher import Publisher, mqtt_client
from vigil_runtime.testing.services import ServiceLauncher, ServiceProcess
from vigil_schema.messages import EventBatchMessage, EventMessage
from vigil_schema.streams import EVENTS, Envelope
from vigil_schema.topics import status_topic
from vigil_tools.camsim import Fleet, FleetConfig

WAIT_TIMEOUT_S = 40.0
"""How long a test waits for the ingest to store what was published."""
POLL_S = 0.2
SETTLE_S = 1.0
"""After the expected count is reached, how long it must stay there (nothing extra arrives)."""
SESSION_EXPIRY_S = 600
"""The ingest's session expiry in tests: long enough for a kill and restart, short enough
that a session a crashed test failed to remove does not outlive the run by much."""


# --------------------------------------------------------------------------- namespace


@dataclass
class IngestNamespace:
    """Names unique to one test: camera ids, ingest client ids, shared group."""

    token: str
    client_ids: list[str] = field(default_factory=list)
    camera_ids: set[str] = field(default_factory=set)
    """Every camera id handed out (their retained status is cleared at teardown)."""

    @property
    def group(self) -> str:
        """The test's shared-subscription group (``$share/<group>/...``)."""
        return f"t{self.token}"

    def cameras(self, label: str, count: int) -> list[str]:
        """``count`` camera ids ``{label}-{token}-NNN`` (camsim's naming, see :meth:`fleet`)."""
        ids = [f"{self.camera_prefix(label)}{index:03d}" for index in range(1, count + 1)]
        self.camera_ids.update(ids)
        return ids

    def camera_prefix(self, label: str) -> str:
        return f"{label}-{self.token}-"

    def client_id(self, replica: str = "a") -> str:
        """The ingest client id of one replica (stable across its restarts)."""
        client_id = f"ingest-{self.token}-{replica}"
        if client_id not in self.client_ids:
            self.client_ids.append(client_id)
        return client_id

    def ingest_env(self, replica: str = "a", **extra: str) -> dict[str, str]:
        """Environment of one ingest replica: its client id, the test's group."""
        return {
            "VIGIL_MQTT_CLIENT_ID": self.client_id(replica),
            "VIGIL_MQTT_SHARED_GROUP": self.group,
            "VIGIL_SESSION_EXPIRY_S": str(SESSION_EXPIRY_S),
            "VIGIL_LOG_LEVEL": "INFO",
            **extra,
        }

    def fleet(self, url: str, label: str, cameras: int, **options: Any) -> FleetConfig:
        """A camsim fleet publishing for :meth:`cameras` ``(label, cameras)``."""
        config = FleetConfig(
            url=url,
            cameras=cameras,
            camera_prefix=self.camera_prefix(label),
            client_id_prefix=f"camsim-{self.token}",
            **options,
        )
        self.camera_ids.update(config.camera_ids())
        return config


@pytest.fixture
def namespace(mqtt_url: str) -> Iterator[IngestNamespace]:
    """A fresh :class:`IngestNamespace`; its ingest sessions are removed from the session
    broker afterwards."""
    space = IngestNamespace(secrets.token_hex(4))
    yield space
    for client_id in space.client_ids:
        drop_session(mqtt_url, client_id)
    clear_retained_status(mqtt_url, space.camera_ids, space.token)


# --------------------------------------------------------------------------- PostgreSQL


def register_cameras(
    database_url: str, camera_ids: Iterable[str], *, desired_state: str = "active"
) -> None:
    """Insert the cameras (defaults for everything but id, name and desired state)."""
    rows = [(camera_id, f"test camera {camera_id}", desired_state) for camera_id in camera_ids]
    with psycopg.connect(database_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO cameras (id, name, desired_state) VALUES (%s, %s, %s)", rows)


@dataclass(frozen=True)
class EventCounts:
    """camera_events rows of a set of cameras."""

    rows: int
    keys: int
    """Distinct dedup keys ``(camera_id, event_type, frame_number, ts)``."""
    gaps: dict[str, tuple[int, int, int]]
    """Cameras whose frame numbers are not exactly 0..n-1: ``(count, min, max)``."""


def event_counts(database_url: str, camera_ids: Sequence[str]) -> EventCounts:
    """Count the cameras' rows and dedup keys, and look for holes in their frame numbers
    (camsim numbers each camera's events 0, 1, 2, … without repeats)."""
    with psycopg.connect(database_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT (camera_id, event_type, frame_number, ts))"
            "  FROM camera_events WHERE camera_id = ANY(%s)",
            (list(camera_ids),),
        )
        total = cur.fetchone()
        cur.execute(
            "SELECT camera_id, count(*), min(frame_number), max(frame_number)"
            "  FROM camera_events WHERE camera_id = ANY(%s) GROUP BY camera_id",
            (list(camera_ids),),
        )
        per_camera = cur.fetchall()
    assert total is not None
    gaps = {
        camera: (count, low, high)
        for camera, count, low, high in per_camera
        if low != 0 or high != count - 1
    }
    return EventCounts(rows=total[0], keys=total[1], gaps=gaps)


def wait_for(
    probe: Callable[[], int],
    done: Callable[[int], bool],
    *,
    what: str,
    timeout_s: float = WAIT_TIMEOUT_S,
    describe: Callable[[], str] = lambda: "",
) -> int:
    """Poll ``probe`` until ``done(value)`` holds and still holds ``SETTLE_S`` later."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while True:
        if done(value):
            time.sleep(SETTLE_S)
            value = probe()
            if done(value):
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value} after {timeout_s}s\n{describe()}")
        time.sleep(POLL_S)
        value = probe()


# --------------------------------------------------------------------------- Redis


def stream_events(redis_url: str, camera_ids: Iterable[str]) -> int:
    """How many camera events the ``vigil:events`` entries of these cameras carry
    (an ``events`` entry holds one MQTT message's batch, an ``event`` entry one event)."""
    wanted = set(camera_ids)
    client = redis.Redis.from_url(redis_url)
    total = 0
    try:
        entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(EVENTS))
        for _entry_id, fields in entries:
            message = Envelope.from_fields(fields).decode()
            if isinstance(message, EventBatchMessage) and message.camera_id in wanted:
                total += len(message.events)
            elif isinstance(message, EventMessage) and message.camera_id in wanted:
                total += 1
    finally:
        client.close()
    return total


# --------------------------------------------------------------------------- MQTT


def drop_session(mqtt_url: str, client_id: str) -> None:
    """Remove ``client_id``'s persistent session: connect with clean start and session
    expiry 0, then disconnect (the broker deletes the session and its queue)."""
    client, host, port = mqtt_client(mqtt_url, client_id)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    try:
        client.connect(host, port, keepalive=10, clean_start=True, properties=properties)
    except OSError:
        return  # the broker is gone (private stack already down): nothing to remove
    client.loop_start()
    try:
        deadline = time.monotonic() + 5
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        client.disconnect()
        client.loop_stop()


def clear_retained_status(mqtt_url: str, camera_ids: Iterable[str], token: str) -> None:
    """Delete the cameras' retained status messages (camsim's ``online``/``offline`` and
    Last Wills) from the session broker: a later test's new subscription would otherwise
    receive them (Mosquitto before 2.0.13 even sends retained messages to shared
    subscriptions) and reject them as unknown cameras."""
    publisher = Publisher(mqtt_url, f"cleanup-{token}")
    try:
        for camera_id in sorted(camera_ids):
            publisher.publish(status_topic(camera_id), b"", retain=True)
        publisher.wait_acked()
    finally:
        publisher.close()


# --------------------------------------------------------------------------- camsim


class FleetRun:
    """A camsim :class:`Fleet` running on its own thread (and event loop)."""

    def __init__(self, config: FleetConfig) -> None:
        self.fleet = Fleet(config)
        self._summary: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="camsim", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._summary = self.fleet.run_sync()
        except BaseException as exc:  # re-raised in the test's thread by result()
            self._error = exc

    def stop(self) -> None:
        self.fleet.stop()

    @property
    def running(self) -> bool:
        """Whether the fleet is still publishing (or draining)."""
        return self._thread.is_alive()

    def result(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait for the fleet to finish; its summary (``vigil-camsim``'s JSON)."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.fleet.stop()
            raise AssertionError(f"camsim still running after {timeout_s}s")
        if self._error is not None:
            raise self._error
        assert self._summary is not None
        return self._summary


def run_fleets(configs: Iterable[FleetConfig]) -> list[FleetRun]:
    """Start several fleets at once (e.g. one publishing single events, one batches)."""
    return [FleetRun(config) for config in configs]


# --------------------------------------------------------------------------- metrics


def metric_total(service: ServiceProcess, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` on the service's /metrics that carry ``labels``."""
    return service.metric_total(name, **labels)


# --------------------------------------------------------------------------- private stack


@dataclass
class PrivateStack:
    """A stack of one test's own, whose servers the test may restart."""

    stack: LocalStack
    info: StackInfo
    logins: Logins

    def env(self, service: str = "ingest") -> dict[str, str]:
        """``VIGIL_*`` URLs pointing ``service`` at this stack (overrides the session's),
        connecting to PostgreSQL as its own role's login."""
        return {
            "VIGIL_DATABASE_URL": self.logins.service_url(service, self.info.database_url),
            "VIGIL_REDIS_URL": self.info.redis_url,
            "VIGIL_MQTT_URL": self.info.mqtt_url,
        }

    def restart(self, name: str, down_s: float = 1.0) -> None:
        """Stop server ``name`` (``postgres``, ``redis`` or ``mqtt``) the way the launcher
        does (pg_ctl stop -m fast; SIGTERM for Mosquitto, which saves its sessions), keep
        it down ``down_s`` seconds, then start it again on the same port."""
        self.stop(name)
        time.sleep(down_s)
        self.start()

    def stop(self, name: str) -> None:
        """Stop server ``name`` as :meth:`restart` does, until :meth:`start`."""
        data_dir = self.stack.data_dir
        state = ServerState.load(data_dir / name / "state.json")
        assert state is not None, f"no {name} in the private stack"
        make_server(name, data_dir, state.backend, durable=False).stop(state)

    def start(self) -> None:
        """Start the stopped servers again, on their ports."""
        info = self.stack.up()
        assert info.env() == self.info.env(), "the restarted stack changed its URLs"


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[PrivateStack]:
    """PostgreSQL (migrated), Redis and Mosquitto for this test alone; purged after."""
    data_dir = tmp_path / "stack"
    stack = LocalStack(data_dir, durable=False)
    guard = watchdog.spawn(os.getpid(), data_dir, purge=True)
    try:
        info = stack.up()
        logins = prepare_database(info.database_url, vigil_migrations.upgrade)
        yield PrivateStack(stack, info, logins)
    finally:
        try:
            stack.down(purge=True)
        finally:
            terminate(guard)


# --------------------------------------------------------------------------- the harness


@dataclass
class IngestHarness:
    """Everything an ingest end-to-end test drives, bound to one test's stack and names.

    Test modules cannot import this conftest (``--import-mode=importlib``), so the helpers
    reach them through the ``ingest_harness`` / ``private_harness`` fixtures.
    """

    namespace: IngestNamespace
    database_url: str
    redis_url: str
    mqtt_url: str
    launcher: ServiceLauncher
    private: PrivateStack | None = None
    services: list[ServiceProcess] = field(default_factory=list)
    """Every ingest process this harness started (their logs go into failure messages)."""

    def register(self, camera_ids: Iterable[str], *, desired_state: str = "active") -> None:
        register_cameras(self.database_url, camera_ids, desired_state=desired_state)

    def ingest_env(self, replica: str = "a", **extra: str) -> dict[str, str]:
        """The replica's environment (on the private stack's servers when there is one)."""
        urls = self.private.env() if self.private is not None else {}
        return {**urls, **self.namespace.ingest_env(replica, **extra)}

    def start_ingest(self, replica: str = "a", **extra: str) -> ServiceProcess:
        """Start ``vigil-ingest`` as ``replica`` and wait until ready; the caller stops or
        kills it (the launcher kills leftovers at teardown)."""
        service = self.launcher.start("ingest", env=self.ingest_env(replica, **extra))
        self.services.append(service)
        return service

    @contextlib.contextmanager
    def ingest(self, replica: str = "a", **extra: str) -> Iterator[ServiceProcess]:
        """``with harness.ingest() as service:`` ready on entry, drained (exit 0) on exit."""
        with self.launcher("ingest", env=self.ingest_env(replica, **extra)) as service:
            self.services.append(service)
            yield service

    def fleet(self, label: str, cameras: int, **options: Any) -> FleetConfig:
        return self.namespace.fleet(self.mqtt_url, label, cameras, **options)

    def counts(self, camera_ids: Sequence[str]) -> EventCounts:
        return event_counts(self.database_url, camera_ids)

    def wait_rows(
        self, camera_ids: Sequence[str], expected: int, *, at_least: bool = False
    ) -> EventCounts:
        """Wait until the cameras have ``expected`` camera_events rows (``>=`` with
        ``at_least``) and the count is stable; the final :class:`EventCounts`."""
        wait_for(
            lambda: self.counts(camera_ids).rows,
            (lambda rows: rows >= expected) if at_least else (lambda rows: rows == expected),
            what=f"camera_events rows (expected {'>= ' if at_least else ''}{expected})",
            describe=self._logs,
        )
        return self.counts(camera_ids)

    def wait_stream_events(self, camera_ids: Sequence[str], expected: int) -> int:
        """Wait until ``vigil:events`` carries ``expected`` events of the cameras."""
        return wait_for(
            lambda: stream_events(self.redis_url, camera_ids),
            lambda count: count >= expected,
            what=f"events on {EVENTS} (expected {expected})",
        )

    def stream_events(self, camera_ids: Sequence[str]) -> int:
        return stream_events(self.redis_url, camera_ids)

    def publisher(self, name: str = "fuzz") -> Publisher:
        return Publisher(self.mqtt_url, f"{name}-{self.namespace.token}")

    @staticmethod
    def run_fleets(*configs: FleetConfig) -> list[FleetRun]:
        return run_fleets(configs)

    @staticmethod
    def metric(service: ServiceProcess, name: str, **labels: str) -> float:
        return metric_total(service, name, **labels)

    def wait_count(self, expected: int, sql: str, *params: Any) -> int:
        """Wait until the ``SELECT count(*) …`` query ``sql`` answers ``expected`` (stably)."""
        return wait_for(
            lambda: int(self.rows(sql, *params)[0][0]),
            lambda count: count == expected,
            what=f"{sql!r} (expected {expected})",
            describe=self._logs,
        )

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one query on this test's database (autocommit) and return its rows."""
        with psycopg.connect(self.database_url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def _logs(self) -> str:
        """The stderr tails of every ingest started, for failure messages."""
        return "\n".join(service.describe("log") for service in self.services)


@pytest.fixture
def ingest_harness(
    namespace: IngestNamespace,
    database_url: str,
    redis_url: str,
    mqtt_url: str,
    run_service_process: ServiceLauncher,
) -> IngestHarness:
    """A harness on the session's servers (this test's own database and Redis db)."""
    return IngestHarness(namespace, database_url, redis_url, mqtt_url, run_service_process)


@pytest.fixture
def private_harness(
    namespace: IngestNamespace,
    private_stack: PrivateStack,
    run_service_process: ServiceLauncher,
) -> IngestHarness:
    """A harness on a :class:`PrivateStack`, for tests that restart a server."""
    info = private_stack.info
    return IngestHarness(
        namespace,
        info.database_url,
        info.redis_url,
        info.mqtt_url,
        run_service_process,
        private=private_stack,
    )
