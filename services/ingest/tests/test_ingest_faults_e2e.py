"""End to end (real PostgreSQL, Redis, Mosquitto, the ``vigil-ingest`` process): an
infrastructure fault is not a bad row, and rejects can be replayed once their cause is fixed.

* INSERT on camera_events revoked from the ingest's role mid-run: nothing acknowledged,
  /readyz fails with the reason, no reject; granted back → exactly the published rows.
* An event for an unknown camera is rejected with its payload; once the camera is
  registered, ``vigil rejects replay`` re-publishes it and the row is stored.
* A partition that cannot be created (a plain table squats on its name): rows held, no
  reject, not ready; the squatter dropped → stored and acknowledged.
* A reject row PostgreSQL refuses (a CHECK added for the test): the message is not
  acknowledged until the row can be written.
* A camera-state key of the wrong type poisons one message's fan-out: that message goes to
  ``vigil:dlq``, the others (and later ones) are fanned out and acknowledged.

The ingest runs as its own role's login (``vigil_ingest``), the CLI as ``vigil_cli``'s, as
the launcher and the deployments do: privileges do not apply to a superuser.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
import redis
from click.testing import CliRunner

from vigil_cli.main import cli
from vigil_runtime.testing.services import ServiceProcess
from vigil_schema.roles import CLI, service_role
from vigil_schema.streams import DLQ, EVENTS, Envelope, camera_state_key
from vigil_schema.topics import events_topic

WAIT_S = 40.0


def events_payload(first_frame: int, count: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    events = [{"event_type": "motion", "ts": now, "frame_number": first_frame + i}
              for i in range(count)]  # fmt: skip
    return json.dumps(events).encode()


def execute(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statement.encode())  # a test's own literal SQL


def wait_until(predicate: Callable[[], bool], what: str, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {WAIT_S}s\n{describe()}")
        time.sleep(0.2)


def own_rejects(harness: Any, cameras: list[str]) -> int:
    """This test's rejects: the session's broker holds other tests' retained status
    messages (camsim's Last Will), which every ingest subscribed to ``+/status`` receives
    and rejects (``unknown_camera``) in this test's database too."""
    query = "SELECT count(*) FROM ingest_rejects WHERE camera_id = ANY(%s)"
    return int(harness.rows(query, cameras)[0][0])


def settled_acks(harness: Any, service: ServiceProcess) -> float:
    """``vigil_ingest_acks_total`` once every message received is acknowledged and the
    figure stands still, among them the retained messages the broker delivered on
    subscribing (other tests', see :func:`own_rejects`): the baseline this test's own
    acknowledgements add to."""
    seen = -1.0
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        acks = float(harness.metric(service, "vigil_ingest_acks_total"))
        received = harness.metric(service, "vigil_ingest_mqtt_messages_received_total")
        if acks == received == seen:
            return acks
        seen = acks if acks == received else -1.0
        time.sleep(0.5)
    raise AssertionError(f"acks never settled\n{service.describe('log')}")


def test_a_revoked_insert_holds_every_ack_until_granted_back(ingest_harness: Any) -> None:
    harness = ingest_harness
    role = service_role("ingest")  # the launcher runs the ingest as this role's login
    cameras = harness.namespace.cameras("fault", 2)
    harness.register(cameras)
    publisher = harness.publisher("faults")
    with harness.ingest() as service:
        for index, camera in enumerate(cameras):
            publisher.publish(events_topic(camera), events_payload(index * 100, 10))
        publisher.wait_acked()
        harness.wait_rows(cameras, 20)
        acked = settled_acks(harness, service)
        execute(harness.database_url, f"REVOKE INSERT ON camera_events FROM {role}")

        for index, camera in enumerate(cameras):
            publisher.publish(events_topic(camera), events_payload(index * 100 + 10, 10))
        publisher.wait_acked()
        wait_until(lambda: _not_ready_with(service, "42501"), "/readyz names the fault",
                   lambda: service.describe("log"))  # fmt: skip
        status, body = service.readyz()
        assert status == 503
        assert "permission denied" in json.dumps(body)
        assert harness.metric(service, "vigil_ingest_acks_total") == acked
        assert harness.counts(cameras).rows == 20
        assert own_rejects(harness, cameras) == 0

        execute(harness.database_url, f"GRANT INSERT ON camera_events TO {role}")
        counts = harness.wait_rows(cameras, 40)
        assert counts.keys == 40
        wait_until(lambda: service.readyz()[0] == 200, "ready again",
                   lambda: service.describe("log"))  # fmt: skip
        assert harness.metric(service, "vigil_ingest_acks_total") == acked + 2
    publisher.close()
    assert own_rejects(harness, cameras) == 0


def _not_ready_with(service: ServiceProcess, text: str) -> bool:
    status, body = service.readyz()
    return status == 503 and text in json.dumps(body)


def test_a_rejected_event_is_stored_after_its_camera_is_added_and_replayed(
    ingest_harness: Any, role_database_url: Callable[[str], str]
) -> None:
    harness = ingest_harness
    (camera,) = harness.namespace.cameras("late", 1)
    publisher = harness.publisher("replay")
    payload = events_payload(0, 3)
    with harness.ingest() as service:
        publisher.publish(events_topic(camera), payload)
        publisher.wait_acked()
        harness.wait_count(1, "SELECT count(*) FROM ingest_rejects WHERE camera_id = %s", camera)
        stored = harness.rows(
            "SELECT topic, payload, reason FROM ingest_rejects WHERE camera_id = %s", camera
        )
        assert [(t, bytes(p), r) for t, p, r in stored] == [
            (events_topic(camera), payload, "unknown_camera")
        ]
        harness.register([camera])
        wait_until(lambda: harness.metric(service, "vigil_ingest_cameras_known") == 1,
                   "the ingest's registry knows the camera (NOTIFY)",
                   lambda: service.describe("log"))  # fmt: skip
        env = {"VIGIL_DATABASE_URL": role_database_url(CLI), "VIGIL_MQTT_URL": harness.mqtt_url,
               "VIGIL_ENV_FILE": "/nonexistent/vigil.env"}  # fmt: skip
        replay = ["rejects", "replay", "--reason", "unknown_camera", "--camera", camera,
                  "--since", "1h"]  # fmt: skip
        dry = CliRunner().invoke(cli, [*replay, "--dry-run"], env=env)
        assert dry.exit_code == 0, dry.output
        assert "would replay 1 of 1" in dry.output
        result = CliRunner().invoke(cli, replay, env=env)
        assert result.exit_code == 0, result.output
        assert "replayed 1 of 1" in result.output
        harness.wait_rows([camera], 3)
        harness.wait_count(0, "SELECT count(*) FROM ingest_rejects WHERE camera_id = %s", camera)
    publisher.close()
    audit = harness.rows(
        "SELECT details FROM audit_log WHERE action = 'rejects.replay' AND service = 'vigil-cli'"
    )
    assert len(audit) == 1
    details = audit[0][0]
    assert details["replayed"] == 1
    assert details["deleted"] == 1
    assert details["filter"]["reasons"] == ["unknown_camera"]
    assert details["filter"]["camera_id"] == camera


def test_a_partition_that_cannot_be_created_holds_the_rows_not_rejects_them(
    ingest_harness: Any,
) -> None:
    harness = ingest_harness
    cameras = harness.namespace.cameras("part", 1)
    harness.register(cameras)
    (name,) = harness.rows(
        "SELECT partition_name FROM vigil_partition_bounds('camera_events', now())"
    )[0]
    # A plain table squats on today's partition name: vigil_ensure_partition finds it, and
    # the rows still have no partition.
    execute(harness.database_url, f'DROP TABLE IF EXISTS "{name}"')
    execute(harness.database_url, f'CREATE TABLE "{name}" (squatter int)')
    publisher = harness.publisher("part")
    with harness.ingest() as service:
        acked = settled_acks(harness, service)
        publisher.publish(events_topic(cameras[0]), events_payload(0, 5))
        publisher.wait_acked()
        wait_until(lambda: _not_ready_with(service, "partition still missing"),
                   "/readyz names the fault", lambda: service.describe("log"))  # fmt: skip
        assert own_rejects(harness, cameras) == 0
        assert harness.metric(service, "vigil_ingest_acks_total") == acked
        execute(harness.database_url, f'DROP TABLE "{name}"')
        harness.wait_rows(cameras, 5)
        wait_until(lambda: harness.metric(service, "vigil_ingest_acks_total") == acked + 1,
                   "acked", lambda: service.describe("log"))  # fmt: skip
    publisher.close()
    assert own_rejects(harness, cameras) == 0


def test_a_reject_row_that_cannot_be_written_is_not_acknowledged(ingest_harness: Any) -> None:
    harness = ingest_harness
    (camera,) = harness.namespace.cameras("ghost", 1)  # never registered: a reject
    execute(harness.database_url, "ALTER TABLE ingest_rejects ADD CONSTRAINT t_refuse "
                                  f"CHECK (camera_id IS DISTINCT FROM '{camera}')")  # fmt: skip
    publisher = harness.publisher("ghost")
    with harness.ingest() as service:
        acked = settled_acks(harness, service)
        publisher.publish(events_topic(camera), events_payload(0, 1))
        publisher.wait_acked()
        wait_until(lambda: _not_ready_with(service, "keeps no rejects"),
                   "/readyz names the fault", lambda: service.describe("log"))  # fmt: skip
        assert harness.metric(service, "vigil_ingest_acks_total") == acked
        execute(harness.database_url, "ALTER TABLE ingest_rejects DROP CONSTRAINT t_refuse")
        harness.wait_count(1, "SELECT count(*) FROM ingest_rejects WHERE camera_id = %s", camera)
        wait_until(lambda: harness.metric(service, "vigil_ingest_acks_total") == acked + 1,
                   "acked", lambda: service.describe("log"))  # fmt: skip
    publisher.close()


def test_a_poisoned_fanout_message_goes_to_the_dlq_and_the_ingest_goes_on(
    ingest_harness: Any,
) -> None:
    harness = ingest_harness
    good, poisoned = harness.namespace.cameras("poison", 2)
    harness.register([good, poisoned])
    client = redis.Redis.from_url(harness.redis_url)
    client.set(camera_state_key(poisoned), "not a hash")  # its HSET fails: WRONGTYPE
    publisher = harness.publisher("poison")
    with harness.ingest() as service:
        acked = settled_acks(harness, service)
        publisher.publish(events_topic(good), events_payload(0, 2))
        publisher.publish(events_topic(poisoned), events_payload(0, 2))
        publisher.publish(events_topic(good), events_payload(2, 2))
        publisher.wait_acked()
        harness.wait_rows([good, poisoned], 6)
        wait_until(lambda: harness.metric(service, "vigil_ingest_acks_total") == acked + 3,
                   "acked", lambda: service.describe("log"))  # fmt: skip
        assert harness.metric(service, "vigil_ingest_fanout_dead_lettered_total") == 1
        publisher.publish(events_topic(good), events_payload(4, 2))
        publisher.wait_acked()
        harness.wait_rows([good], 6)
        harness.wait_stream_events([good], 6)
    publisher.close()
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(DLQ))
    letters = [Envelope.from_fields(fields).decode() for _, fields in entries]
    client.close()
    assert {getattr(letter, "stream", None) for letter in letters} == {
        EVENTS, camera_state_key(poisoned)}  # fmt: skip
    assert all("WRONGTYPE" in getattr(letter, "error", "") for letter in letters)
