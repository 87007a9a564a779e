"""The applier against real PostgreSQL (as the optimizer's role) and Redis, with a camera
double (``camera_double``): rows, read back, rollback, audit, alerts, metrics, the lock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
import redis.asyncio
from prometheus_client import REGISTRY
from psycopg.rows import dict_row

from vigil_optimizer.apply import (
    Applier,
    ApplyRequest,
    CameraBusyError,
    NothingToApplyError,
    Redactor,
    UnknownCameraError,
)
from vigil_schema.camera_settings import CameraSettings
from vigil_schema.enums import AlertSeverity, ApplyStatus
from vigil_schema.messages import AlertCandidate
from vigil_schema.roles import service_role
from vigil_schema.streams import ALERTS, Envelope

from .camera_double import CameraDouble

PASSWORD = "s3cret-Pa55"
CAMERA = "cam-apply"
BEFORE = CameraSettings.model_validate(
    {
        "stream": {"profileToken": "main", "encoding": "H264", "fps": 25.0,
                   "bitrateKbps": 4000, "gop": 50},
        "exposure": {"mode": "AUTO", "maxExposureUs": 20000.0, "maxGain": 50.0},
        "image": {"brightness": 50.0, "contrast": 50.0},
    }
)  # fmt: skip
WANTED = CameraSettings.model_validate(
    {
        "stream": {"profileToken": "main", "fps": 12.5, "bitrateKbps": 2000, "gop": 25},
        "exposure": {"maxExposureUs": 4000.0, "maxGain": 30.0},
    }
)

OPTIMIZER = service_role("optimizer")
PoolAs = Callable[[str], Awaitable[Any]]


@pytest.fixture
def camera(database_url: str) -> str:
    """The camera row, inserted as the owner (the optimizer may not insert cameras)."""
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO cameras (id, name, site) VALUES (%s, 'Gate', 'hq')", (CAMERA,))
    return CAMERA


@pytest.fixture
def optimization(database_url: str, camera: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO optimizations (camera_id, request_data, recommended_settings,"
            " confidence, ai_provider, status) VALUES (%s, '{}', %s, 0.9, 'heuristic', 'approved')"
            " RETURNING id",
            (camera, json.dumps(WANTED.to_json())),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
async def applier(pg_pool_as: PoolAs, redis_client: redis.asyncio.Redis) -> Applier:
    return Applier(await pg_pool_as(OPTIMIZER), redis_client)


def rows(url: str, query: str, *params: object) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def applied(url: str) -> list[dict[str, Any]]:
    return rows(url, "SELECT * FROM applied_configs ORDER BY id")


def audit(url: str) -> list[dict[str, Any]]:
    return rows(url, "SELECT * FROM audit_log WHERE action LIKE 'camera.apply.%%' ORDER BY id")


async def alerts(client: redis.asyncio.Redis) -> list[AlertCandidate]:
    entries: Any = await client.xrange(ALERTS)
    return [
        AlertCandidate.model_validate_json(Envelope.from_fields(fields).data)
        for _, fields in entries
    ]


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def request(optimization_id: int | None = None) -> ApplyRequest:
    return ApplyRequest(
        camera_id=CAMERA, settings=WANTED, applied_by="alice", optimization_id=optimization_id
    )


def assert_no_password(url: str, client_alerts: list[AlertCandidate]) -> None:
    stored = json.dumps(applied(url), default=str) + json.dumps(audit(url), default=str)
    stored += "".join(candidate.model_dump_json() for candidate in client_alerts)
    assert PASSWORD not in stored


async def test_success_reads_back_and_records_success(
    applier: Applier, database_url: str, optimization: int, redis_client: redis.asyncio.Redis
) -> None:
    double = CameraDouble(BEFORE, round_fps=True)  # 12.5 frames/s is stored as 12
    successes = counter("vigil_optimizer_applies_total", status="success")

    result = await applier.apply(double, request(optimization))

    assert result.status is ApplyStatus.SUCCESS, result.error_message
    assert result.rolled_back is None
    assert [section for section, _ in double.writes] == ["stream", "exposure"]
    assert double.settings.stream is not None
    assert double.settings.stream.bitrate_kbps == 2000
    [row] = applied(database_url)
    assert row["status"] == "success"
    assert row["optimization_id"] == optimization
    assert row["apply_method"] == "onvif"
    assert row["applied_by"] == "alice"
    assert row["settings"] == WANTED.to_json()
    assert row["previous_settings"] == BEFORE.to_json()
    assert row["applied_at"] is not None
    assert row["verified_at"] >= row["applied_at"]
    assert row["error_message"] is None
    fields = row["verification"]["fields"]
    assert fields["stream.fps"] == {"expected": 12.5, "actual": 12.0, "ok": True}
    assert fields["exposure.maxExposureUs"]["ok"]
    assert "stream.profileToken" not in fields
    assert row["verification"]["mismatches"] == []
    assert rows(database_url, "SELECT status FROM optimizations") == [{"status": "applied"}]
    assert [(r["action"], r["action_status"]) for r in audit(database_url)] == [
        ("camera.apply.start", "pending"),
        ("camera.apply.result", "success"),
    ]
    assert audit(database_url)[0]["details"]["applied_config_id"] == row["id"]
    assert await alerts(redis_client) == []
    assert counter("vigil_optimizer_applies_total", status="success") == successes + 1


async def test_refused_second_section_rolls_back_the_first(
    applier: Applier, database_url: str, optimization: int, redis_client: redis.asyncio.Redis
) -> None:
    double = CameraDouble(BEFORE, refuse={"exposure"}, leak=PASSWORD)
    restored = counter("vigil_optimizer_rollbacks_total", outcome="restored")

    result = await applier.apply(double, request(optimization), redact=Redactor([PASSWORD]))

    assert result.status is ApplyStatus.PARTIAL
    assert result.rolled_back is True
    assert double.settings == BEFORE  # the camera is as it was
    assert [section for section, _ in double.writes] == ["stream", "exposure", "stream"]
    assert double.writes[-1][1] == {
        "profileToken": "main", "fps": 25.0, "bitrateKbps": 4000, "gop": 50,
    }  # fmt: skip
    [row] = applied(database_url)
    assert row["status"] == "partial"
    assert row["applied_at"] is not None
    assert "writing exposure: SetImagingSettings: refused" in row["error_message"]
    assert "rolled back stream" in row["error_message"]
    verification = row["verification"]
    assert verification["written"] == ["stream"]
    assert verification["failed_section"] == "exposure"
    assert verification["rollback"]["restored"] is True
    assert verification["rollback"]["fields"]["stream.bitrateKbps"] == {
        "expected": 4000, "actual": 4000, "ok": True,
    }  # fmt: skip
    assert rows(database_url, "SELECT status FROM optimizations") == [{"status": "approved"}]
    trail = audit(database_url)
    assert [(r["action"], r["action_status"]) for r in trail] == [
        ("camera.apply.start", "pending"),
        ("camera.apply.rollback", "success"),
        ("camera.apply.result", "failure"),
    ]
    assert all(r["actor"] == "alice" and r["entity_id"] == CAMERA for r in trail)
    [candidate] = await alerts(redis_client)
    assert candidate.alertname == "optimizer_apply_failed"
    assert candidate.severity is AlertSeverity.WARNING
    assert candidate.camera_id == CAMERA
    assert candidate.labels == {"site": "hq"}
    assert candidate.annotations["status"] == "partial"
    assert candidate.annotations["applied_config_id"] == str(row["id"])
    assert counter("vigil_optimizer_rollbacks_total", outcome="restored") == restored + 1
    assert_no_password(database_url, [candidate])


async def test_password_never_stored_even_without_a_known_secret(
    applier: Applier, database_url: str, camera: str, redis_client: redis.asyncio.Redis
) -> None:
    """No redactor given: the generic patterns still mask the password in ``user:pw@``."""
    double = CameraDouble(BEFORE, refuse={"stream"}, leak=PASSWORD)
    result = await applier.apply(double, request())
    assert result.status is ApplyStatus.FAILED
    assert_no_password(database_url, await alerts(redis_client))


async def test_ignored_field_is_a_mismatch_and_is_rolled_back(
    applier: Applier, database_url: str, camera: str, redis_client: redis.asyncio.Redis
) -> None:
    double = CameraDouble(BEFORE, ignore={"exposure.maxGain"})

    result = await applier.apply(double, request())

    assert result.status is ApplyStatus.PARTIAL
    assert result.rolled_back is True
    assert double.settings == BEFORE
    [row] = applied(database_url)
    assert row["verification"]["mismatches"] == ["exposure.maxGain"]
    assert row["verification"]["fields"]["exposure.maxGain"] == {
        "expected": 30.0, "actual": 50.0, "ok": False,
    }  # fmt: skip
    assert "read back differs: exposure.maxGain asked 30.0, read 50.0" in row["error_message"]
    assert row["verification"]["rollback"]["sections"] == ["stream", "exposure"]
    # rolled back in reverse order of writing
    assert [section for section, _ in double.writes] == ["stream", "exposure", "exposure", "stream"]
    assert len(await alerts(redis_client)) == 1


async def test_first_section_refused_is_failed_and_touches_nothing(
    applier: Applier, database_url: str, camera: str, redis_client: redis.asyncio.Redis
) -> None:
    double = CameraDouble(BEFORE, refuse={"stream"})
    failures = counter("vigil_optimizer_applies_total", status="failed")

    result = await applier.apply(double, request())

    assert result.status is ApplyStatus.FAILED
    assert result.rolled_back is None
    assert double.settings == BEFORE
    assert [section for section, _ in double.writes] == ["stream"]  # no rollback write
    [row] = applied(database_url)
    assert row["status"] == "failed"
    assert row["applied_at"] is None
    assert row["previous_settings"] == BEFORE.to_json()
    assert row["verification"]["written"] == []
    assert row["verification"]["rollback"] is None
    assert [r["action"] for r in audit(database_url)] == [
        "camera.apply.start",
        "camera.apply.result",
    ]
    [candidate] = await alerts(redis_client)
    assert candidate.annotations["status"] == "failed"
    assert "nothing was changed" in candidate.annotations["description"]
    assert counter("vigil_optimizer_applies_total", status="failed") == failures + 1


async def test_half_applied_refused_write_is_rolled_back(
    applier: Applier, database_url: str, camera: str
) -> None:
    """A refused exposure write that changed one field first: that field is restored too."""
    double = CameraDouble(BEFORE, refuse={"exposure"}, refuse_after_fields=1)

    result = await applier.apply(double, request())

    assert result.status is ApplyStatus.PARTIAL
    assert double.settings == BEFORE
    [row] = applied(database_url)
    assert row["verification"]["rollback"]["sections"] == ["stream", "exposure"]


async def test_refused_rollback_leaves_partial_with_an_incomplete_rollback(
    applier: Applier, database_url: str, camera: str, redis_client: redis.asyncio.Redis
) -> None:
    double = CameraDouble(BEFORE, refuse_writes_from=2)  # exposure and every rollback write
    failed = counter("vigil_optimizer_rollbacks_total", outcome="failed")

    result = await applier.apply(double, request())

    assert result.status is ApplyStatus.PARTIAL
    assert result.rolled_back is False
    assert double.settings.stream is not None
    assert double.settings.stream.bitrate_kbps == 2000
    [row] = applied(database_url)
    assert "ROLLBACK INCOMPLETE" in row["error_message"]
    assert row["verification"]["rollback"]["restored"] is False
    assert [(r["action"], r["action_status"], r["severity"]) for r in audit(database_url)][1] == (
        "camera.apply.rollback", "failure", "error",
    )  # fmt: skip
    [candidate] = await alerts(redis_client)
    assert "check the camera" in candidate.annotations["description"]
    assert counter("vigil_optimizer_rollbacks_total", outcome="failed") == failed + 1


async def test_failed_read_back_rolls_back_blind(
    applier: Applier, database_url: str, camera: str
) -> None:
    """The read back times out: the writes are undone, but cannot be verified either."""
    double = CameraDouble(BEFORE, fail_reads_from=2)

    result = await applier.apply(double, request())

    assert result.status is ApplyStatus.PARTIAL
    assert result.rolled_back is False
    assert double.settings == BEFORE
    [row] = applied(database_url)
    assert row["error_message"].startswith("reading back: GetImagingSettings: timeout")


async def test_unreadable_camera_is_failed_before_any_write(
    applier: Applier, database_url: str, camera: str
) -> None:
    double = CameraDouble(BEFORE, fail_reads_from=1)

    result = await applier.apply(double, request())

    assert result.status is ApplyStatus.FAILED
    assert double.writes == []
    [row] = applied(database_url)
    assert row["previous_settings"] is None
    assert row["error_message"].startswith("reading the current settings:")


async def test_refusals_before_any_row(applier: Applier, database_url: str, camera: str) -> None:
    with pytest.raises(NothingToApplyError):
        await applier.apply(
            CameraDouble(BEFORE),
            ApplyRequest(
                camera_id=CAMERA,
                settings=CameraSettings.model_validate({"stream": {"profileToken": "main"}}),
                applied_by="alice",
            ),
        )
    with pytest.raises(UnknownCameraError):
        await applier.apply(
            CameraDouble(BEFORE),
            ApplyRequest(camera_id="cam-nope", settings=WANTED, applied_by="alice"),
        )
    assert applied(database_url) == []


async def test_one_apply_per_camera_across_replicas(
    pg_pool_as: PoolAs, redis_client: redis.asyncio.Redis, database_url: str, camera: str
) -> None:
    """Two replicas (two pools): the second apply of a busy camera is refused at once; once
    the first is done, the camera can be applied again."""
    first = Applier(await pg_pool_as(OPTIMIZER), redis_client)
    second = Applier(await pg_pool_as(OPTIMIZER), redis_client)
    double = CameraDouble(BEFORE)
    double.gate = asyncio.Event()
    running = asyncio.create_task(first.apply(double, request()))
    await asyncio.wait_for(double.was_read.wait(), timeout=10)
    with pytest.raises(CameraBusyError):
        await second.apply(CameraDouble(BEFORE), request())
    double.gate.set()
    assert (await running).status is ApplyStatus.SUCCESS
    assert (await second.apply(CameraDouble(BEFORE), request())).status is ApplyStatus.SUCCESS
    assert [row["status"] for row in applied(database_url)] == ["success", "success"]
