"""End-to-end: camsim reports a dark, noisy camera over MQTT → vigil-ingest → ``vigil:health``
→ vigil-optimizer (a real process) inspects it over ONVIF on vigil-onvif-sim (a real process),
checks its snapshot, recommends, and, the camera's policy being ``auto``, applies the change to
the simulator and reads it back; a ``manual`` camera's recommendation waits for approval,
and ``vigil recommendations approve`` then applies it.

Real PostgreSQL, Redis and Mosquitto; the camera logins are stored encrypted and appear in no
row, log or audit entry in clear.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from click.testing import CliRunner

from vigil_cli.demo_onvif import OnvifSim, start_onvif_sim
from vigil_cli.main import cli
from vigil_runtime.crypto import CredentialCipher, generate_key
from vigil_runtime.testing.services import ServiceLauncher, ServiceProcess
from vigil_schema.camera import CameraCredentials
from vigil_schema.roles import CLI
from vigil_tools.camsim import Fleet, FleetConfig

T = TypeVar("T")
WAIT_S = 90.0
USER = "e2e-operator"


def wait_for(
    probe: Callable[[], T], done: Callable[[T], bool], what: str, logs: Callable[[], str]
) -> T:
    deadline = time.monotonic() + WAIT_S
    value = probe()
    while not done(value):
        assert time.monotonic() < deadline, f"{what}: still {value!r}\n{logs()}"
        time.sleep(0.3)
        value = probe()
    return value


SIM_IMAGING = {
    "exposure.mode": "Exposure/Mode", "exposure.minExposureUs": "Exposure/MinExposureTime",
    "exposure.maxExposureUs": "Exposure/MaxExposureTime",
    "exposure.exposureUs": "Exposure/ExposureTime", "exposure.maxGain": "Exposure/MaxGain",
    "exposure.gain": "Exposure/Gain", "image.brightness": "Brightness",
    "image.contrast": "Contrast", "image.colorSaturation": "ColorSaturation",
    "image.sharpness": "Sharpness", "lowLight.irCutFilter": "IrCutFilter",
    "lowLight.wdr": "WideDynamicRange/Mode", "lowLight.wdrLevel": "WideDynamicRange/Level",
    "lowLight.backlightCompensation": "BacklightCompensation/Mode",
    "lowLight.backlightLevel": "BacklightCompensation/Level",
}  # fmt: skip
SIM_ENCODER = {"stream.bitrateKbps": "bitrate_limit", "stream.fps": "frame_rate_limit",
               "stream.gop": "gov_length", "stream.quality": "quality",
               "stream.encoding": "encoding"}  # fmt: skip


def held_by_simulator(state: dict[str, Any], field: str) -> Any:
    """The simulator's own value of a settings field (main encoder for stream fields)."""
    if field in SIM_IMAGING:
        return state["imaging"][SIM_IMAGING[field]]
    main = next(iter(state["encoders"].values()))
    if field == "stream.resolution":
        return {"width": main["width"], "height": main["height"]}
    return main[SIM_ENCODER[field]]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[OnvifSim, str]]:
    password = f"pw-{secrets.token_hex(8)}"
    onvif = start_onvif_sim(tmp_path, 2, password)  # camera 0's scene is dark and noisy
    try:
        yield onvif, password
    finally:
        onvif.stop()


def sim_state(onvif: OnvifSim, index: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{onvif.base_port + index}/sim/onvif-{index}/state"
    with urllib.request.urlopen(url, timeout=5) as response:
        state: dict[str, Any] = json.loads(response.read())
    return state


def register(database_url: str, ids: list[str], onvif: OnvifSim, password: str, key: str) -> None:
    cipher = CredentialCipher.from_secret(key)
    login = CameraCredentials.model_validate({"username": "vigil-demo", "password": password})
    token = cipher.encrypt(login.to_json_bytes())
    with psycopg.connect(database_url, autocommit=True) as conn:
        for index, (camera_id, policy) in enumerate(zip(ids, ("auto", "manual"), strict=True)):
            conn.execute(
                "INSERT INTO cameras (id, name, site, purpose, ip, onvif_port, "
                "credentials_encrypted, apply_policy, auto_apply_min_confidence, tags) "
                "VALUES (%s, %s, 'e2e', 'overview', '127.0.0.1', %s, %s, %s, 0.5, %s)",
                (camera_id, f"e2e {camera_id}", onvif.base_port + index, token, policy,
                 json.dumps({"lighting": "artificial"})),
            )  # fmt: skip


def rows(database_url: str, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())


def start(
    launcher: ServiceLauncher, tmp_path: Path, key: str, token: str
) -> tuple[ServiceProcess, ServiceProcess]:
    ingest = launcher.start("ingest", env={
        "VIGIL_MQTT_CLIENT_ID": f"ingest-{token}", "VIGIL_MQTT_SHARED_GROUP": f"t{token}",
        "VIGIL_SESSION_EXPIRY_S": "60"})  # fmt: skip
    optimizer = launcher.start("optimizer", env={
        "VIGIL_SECRET_KEY": key, "VIGIL_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "VIGIL_HEALTH_MIN_FPS_RATIO": "off", "VIGIL_REVIEW_INTERVAL_S": "86400",
        "VIGIL_LOG_LEVEL": "INFO"})  # fmt: skip
    return ingest, optimizer


def test_degraded_health_is_recommended_applied_and_read_back(
    database_url: str, role_database_url: Callable[[str], str], redis_url: str, mqtt_url: str,
    run_service_process: ServiceLauncher, sim: tuple[OnvifSim, str], tmp_path: Path,
) -> None:  # fmt: skip
    onvif, password = sim
    token = secrets.token_hex(4)
    prefix = f"o-{token}-"
    auto_cam, manual_cam = f"{prefix}001", f"{prefix}002"
    key = generate_key()
    register(database_url, [auto_cam, manual_cam], onvif, password, key)
    ingest, optimizer = start(run_service_process, tmp_path, key, token)
    before = sim_state(onvif, 0)
    fleet = Fleet(FleetConfig(url=mqtt_url, cameras=2, camera_prefix=prefix, fps=1.0,
                              health_interval_s=1.0, duration_s=6.0, degraded=1,
                              client_id_prefix=f"camsim-{token}"))  # fmt: skip
    fleet.run_sync()

    def logs() -> str:
        return optimizer.describe("log")

    applied = wait_for(
        lambda: rows(database_url, "SELECT status, settings, verification, applied_by "
                     "FROM applied_configs WHERE camera_id = %s", auto_cam),
        lambda found: any(r[0] in ("success", "failed", "partial") for r in found),
        "an automatic apply", logs,
    )  # fmt: skip
    status, settings, verification, applied_by = applied[0]
    assert status == "success", (verification, optimizer.describe("log"))
    assert applied_by == "optimizer:auto"
    after = sim_state(onvif, 0)
    assert after != before
    assert optimizer.metric_total("vigil_optimizer_reviews_total", reason="degraded_health") >= 1
    fields = verification["fields"]
    assert fields
    assert all(check["ok"] for check in fields.values()), fields
    assert set(fields) == {f"{group}.{name}" for group, values in settings.items()
                           for name in values if name != "profileToken"}  # fmt: skip
    for field, check in fields.items():  # the simulator itself holds what was asked
        assert held_by_simulator(after, field) == pytest.approx(check["expected"]), field
    snapshot = rows(database_url, "SELECT anomalies FROM snapshots WHERE camera_id = %s "
                    "ORDER BY captured_at LIMIT 1", auto_cam)  # fmt: skip
    assert {"too_dark"} <= {a["type"] for a in snapshot[0][0]}

    # the manual camera: a recommendation waits; the operator approves it, it is applied
    proposed = wait_for(
        lambda: rows(database_url, "SELECT id FROM optimizations WHERE camera_id = %s "
                     "AND status = 'proposed'", manual_cam),
        bool, "a proposed recommendation for the manual camera", logs,
    )  # fmt: skip
    assert rows(database_url, "SELECT 1 FROM applied_configs WHERE camera_id = %s",
                manual_cam) == []  # fmt: skip
    env = {"VIGIL_DATABASE_URL": role_database_url(CLI), "VIGIL_REDIS_URL": redis_url,
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env")}  # fmt: skip
    result = CliRunner().invoke(cli, ["recommendations", "approve", str(proposed[0][0])], env=env)
    assert result.exit_code == 0, result.output
    wait_for(
        lambda: rows(database_url, "SELECT status FROM applied_configs WHERE camera_id = %s",
                     manual_cam),
        lambda found: bool(found) and found[0][0] == "success", "the approved apply", logs,
    )  # fmt: skip

    # the cameras' password is nowhere in clear
    for table in ("applied_configs", "optimizations", "audit_log", "snapshots", "cameras"):
        dump = rows(database_url, f"SELECT t::text FROM {table} t")
        assert not any(password in str(row[0]) for row in dump), table
    assert password not in optimizer.stderr
    assert password not in ingest.stderr
