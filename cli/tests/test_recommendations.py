"""`vigil optimize recommend|apply` and `vigil recommendations list|show|approve|reject` as
the CLI's role: requests land on `vigil:optimizer:requests` as enveloped, keyed entries
(through the runtime's bounded writer), reviews change the row's status with the reviewer,
audit rows are written, and a closed recommendation cannot be reviewed again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import redis
from click.testing import CliRunner, Result

from vigil_cli.main import cli
from vigil_schema.messages import OptimizerRequest
from vigil_schema.roles import CLI
from vigil_schema.streams import OPTIMIZER_REQUESTS, Envelope

SETTINGS = {"stream": {"profileToken": "p0", "bitrateKbps": 2000}, "image": {"brightness": 60}}


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def requests(redis_url: str) -> list[tuple[OptimizerRequest, dict[bytes, bytes]]]:
    client = redis.Redis.from_url(redis_url)
    try:
        entries: Any = client.xrange(OPTIMIZER_REQUESTS)
    finally:
        client.close()
    return [(Envelope.from_fields(f).unwrap(OptimizerRequest), f) for _id, f in entries]


def test_recommend_list_approve_and_reject(
    database_url: str, role_database_url: Callable[[str], str], redis_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO cameras (id, name) VALUES ('cam-r', 'Gate')")
        ids = [conn.execute(
            "INSERT INTO optimizations (camera_id, request_data, recommended_settings, "
            "confidence, ai_provider) VALUES ('cam-r', '{}', %s, 0.7, 'heuristic') RETURNING id",
            (json.dumps(SETTINGS),)).fetchone()[0] for _ in range(2)]  # type: ignore[index]  # fmt: skip
    env = {"VIGIL_DATABASE_URL": role_database_url(CLI), "VIGIL_REDIS_URL": redis_url,
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env")}  # fmt: skip

    queued = invoke(env, "optimize", "recommend", "cam-r")
    assert queued.exit_code == 0, queued.output
    assert invoke(env, "optimize", "recommend", "cam-nope").exit_code == 1
    listed = invoke(env, "recommendations", "list", "--camera", "cam-r")
    assert listed.exit_code == 0, listed.output
    assert "image.brightness, stream.bitrateKbps" in listed.output
    shown = json.loads(invoke(env, "recommendations", "show", str(ids[0])).stdout)
    assert shown["recommended_settings"] == SETTINGS

    approved = invoke(env, "recommendations", "approve", str(ids[0]))
    assert approved.exit_code == 0, approved.output
    assert invoke(env, "recommendations", "reject", str(ids[1])).exit_code == 0
    again = invoke(env, "recommendations", "approve", str(ids[1]))
    assert again.exit_code == 1
    assert "rejected" in again.output

    sent = requests(redis_url)
    assert [(r.action.value, r.camera_id, r.optimization_id) for r, _ in sent] == [
        ("recommend", "cam-r", None), ("apply", "cam-r", ids[0])]  # fmt: skip
    assert all(fields.get(b"key") for _, fields in sent)  # idempotency keys
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, status, reviewed_by FROM optimizations ORDER BY id")
        assert [(r[0], r[1]) for r in rows] == [(ids[0], "approved"), (ids[1], "rejected")]
        actions = {r[0] for r in conn.execute("SELECT action FROM audit_log")}
    expected = {
        "optimizer.recommend",
        "optimization.approved",
        "optimizer.apply",
        "optimization.rejected",
    }
    assert expected <= actions
