"""`vigil-retention --once`, `--dry-run` and the loop, as real processes (the CronJob's and
the Deployment's commands), connected as vigil_retention's login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import REGISTRY

from vigil_retention.main import run_guarded
from vigil_retention.run import RetentionRunner
from vigil_retention.settings import RetentionSettings
from vigil_runtime.testing.services import ServiceLauncher


def _env(stack_env: dict[str, str], retention_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **stack_env,
        "VIGIL_DATABASE_URL": retention_url,
        "VIGIL_HTTP_PORT": "0",
        "VIGIL_ARCHIVE_DIR": str(tmp_path / "archive"),
        "VIGIL_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }


def _runs(database_url: str) -> list[tuple[str, bool, int]]:
    with psycopg.connect(database_url, autocommit=True) as db:
        rows = db.execute(
            "SELECT status, dry_run, jsonb_array_length(actions) FROM retention_runs ORDER BY id"
        ).fetchall()
    return [(str(s), bool(d), int(n)) for s, d, n in rows]


def _retention(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vigil_retention.main", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_once_runs_one_pass_and_exits_zero(
    stack_env: dict[str, str], retention_url: str, database_url: str, tmp_path: Path
) -> None:
    done = _retention("--once", env=_env(stack_env, retention_url, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert [(status, dry) for status, dry, _ in _runs(database_url)] == [("succeeded", False)]


def test_dry_run_prints_the_plan_and_changes_nothing(
    stack_env: dict[str, str], retention_url: str, database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as db:
        old = db.execute(
            "SELECT vigil_ensure_partition('frame_metadata', %s)",
            (datetime.now(UTC) - timedelta(days=20),),
        ).fetchone()
    assert old is not None
    done = _retention("--dry-run", env=_env(stack_env, retention_url, tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    planned = [line["plan"] for line in lines if "plan" in line]
    assert {"kind": "expire", "partition": old[0]}.items() <= next(
        step for step in planned if step.get("partition") == old[0]
    ).items()
    with psycopg.connect(database_url, autocommit=True) as db:
        still = db.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{old[0]}",)).fetchone()
    assert still == (True,)
    assert [(status, dry) for status, dry, _ in _runs(database_url)] == [("succeeded", True)]


def test_the_loop_serves_metrics_and_drains_on_sigterm(
    run_service_process: ServiceLauncher, tmp_path: Path
) -> None:
    env = {"VIGIL_ARCHIVE_DIR": str(tmp_path / "archive"), "VIGIL_INTERVAL_S": "3600"}
    with run_service_process("retention", env=env) as service:
        service.wait_heartbeat("running")
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while service.metric_total("vigil_retention_runs_total", outcome="succeeded") < 1:
            assert datetime.now(UTC) < deadline, "no successful run within 30 s"
            time.sleep(0.2)
        assert service.metric_total("vigil_retention_partitions_ahead", table="camera_events") >= 7


async def test_the_loop_counts_a_run_that_cannot_reach_postgres_and_carries_on(
    retention_settings: RetentionSettings, retention_pool: Any, unused_tcp_port: int
) -> None:
    unreachable = retention_settings.model_copy(
        update={"database_url": f"postgresql://nobody@127.0.0.1:{unused_tcp_port}/vigil"}
    )
    before = _sample("vigil_retention_runs_total", outcome="failed")

    report = await run_guarded(RetentionRunner(retention_pool, unreachable), datetime.now(UTC))

    assert report is None
    assert _sample("vigil_retention_runs_total", outcome="failed") == before + 1


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
