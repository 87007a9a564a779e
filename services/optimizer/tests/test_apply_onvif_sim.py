"""The safe apply over the real ONVIF client against vigil-onvif-sim (in process): a change of
stream and imaging is written and read back from the simulator; a simulated partial failure
(the imaging Set fails after the encoder Set succeeded) is rolled back on the simulator
itself, recorded as ``partial`` with an alert candidate and audit rows; the camera's password
appears in no row or alert."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest
import pytest_asyncio
import redis.asyncio
from psycopg.rows import dict_row

from vigil_optimizer.apply import Applier, ApplyRequest, Redactor
from vigil_optimizer.onvif import OnvifCameraLink
from vigil_schema.camera import CameraCredentials
from vigil_schema.camera_settings import CameraSettings
from vigil_schema.messages import AlertCandidate
from vigil_schema.roles import service_role
from vigil_schema.streams import ALERTS, Envelope
from vigil_tools.onvif_sim.spec import CameraSpec
from vigil_tools.onvif_sim.testing import CameraHandle, running_onvif_sim

CAMERA = "cam-sim-apply"
PASSWORD = "Sim-Apply-Pw-91"
WANTED: dict[str, dict[str, Any]] = {
    "stream": {"bitrateKbps": 768, "gop": 25},
    "image": {"brightness": 70.0},
}


@pytest_asyncio.fixture
async def sim_camera() -> AsyncIterator[CameraHandle]:
    async with running_onvif_sim(
        CameraSpec("onvif-0", vendor="hikvision", password=PASSWORD)
    ) as sim:
        yield sim.cameras[0]


@pytest.fixture
def camera_row(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO cameras (id, name, site) VALUES (%s, 'Dock', 'hq')", (CAMERA,))
    return CAMERA


def main_encoder(camera: CameraHandle) -> dict[str, Any]:
    encoders: dict[str, Any] = camera.state["encoders"]
    return dict(next(iter(encoders.values())))


async def apply(
    camera: CameraHandle, pool_as: Callable[[str], Awaitable[Any]], client: redis.asyncio.Redis
) -> Any:
    applier = Applier(await pool_as(service_role("optimizer")), client)
    login = CameraCredentials.model_validate({"username": camera.username, "password": PASSWORD})
    async with OnvifCameraLink.connect(camera.host, camera.port, camera.username, PASSWORD,
                                       timeout_s=5.0, attempts=1) as link:  # fmt: skip
        current = await link.read_settings()
        assert current.stream is not None
        wanted = CameraSettings.model_validate(
            {**WANTED, "stream": {**WANTED["stream"], "profileToken": current.stream.profile_token}}
        )
        request = ApplyRequest(CAMERA, wanted, "operator-1")
        return await applier.apply(link, request, redact=Redactor.for_credentials(login))


def rows(url: str, query: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return list(conn.execute(query).fetchall())


async def test_a_change_is_written_and_read_back_from_the_simulator(
    sim_camera: CameraHandle, camera_row: str, database_url: str,
    pg_pool_as: Callable[[str], Awaitable[Any]], redis_client: redis.asyncio.Redis,
) -> None:  # fmt: skip
    result = await apply(sim_camera, pg_pool_as, redis_client)
    assert result.status == "success", result.error_message
    encoder = main_encoder(sim_camera)
    assert (encoder["bitrate_limit"], encoder["gov_length"]) == (768, 25)
    assert sim_camera.state["imaging"]["Brightness"] == 70.0
    (row,) = rows(database_url, "SELECT status, applied_by FROM applied_configs")
    assert (row["status"], row["applied_by"]) == ("success", "operator-1")


async def test_a_partial_failure_is_rolled_back_on_the_camera_and_recorded_as_partial(
    sim_camera: CameraHandle, camera_row: str, database_url: str,
    pg_pool_as: Callable[[str], Awaitable[Any]], redis_client: redis.asyncio.Redis,
) -> None:  # fmt: skip
    before = main_encoder(sim_camera)
    brightness = sim_camera.state["imaging"]["Brightness"]
    sim_camera.set_faults(fail_imaging_after_encoder=True)
    result = await apply(sim_camera, pg_pool_as, redis_client)
    assert result.status == "partial"
    assert result.rolled_back is True
    after = main_encoder(sim_camera)  # the simulator holds the previous encoder settings again
    assert (after["bitrate_limit"], after["gov_length"]) == (
        before["bitrate_limit"], before["gov_length"])  # fmt: skip
    assert sim_camera.state["imaging"]["Brightness"] == brightness
    (row,) = rows(database_url, "SELECT * FROM applied_configs")
    assert row["status"] == "partial"
    assert row["error_message"]
    assert row["previous_settings"]["stream"]["bitrateKbps"] == before["bitrate_limit"]
    actions = {r["action"] for r in rows(database_url, "SELECT action FROM audit_log")}
    assert {"camera.apply.start", "camera.apply.rollback", "camera.apply.result"} <= actions
    entries: Any = await redis_client.xrange(ALERTS)
    (candidate,) = [Envelope.from_fields(f).unwrap(AlertCandidate) for _id, f in entries]
    assert (candidate.alertname, candidate.camera_id) == ("optimizer_apply_failed", CAMERA)
    dumped = json.dumps(rows(database_url, "SELECT * FROM applied_configs"), default=str)
    dumped += json.dumps(rows(database_url, "SELECT details FROM audit_log"), default=str)
    assert PASSWORD not in dumped + str(entries)
