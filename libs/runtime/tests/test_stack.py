"""LocalStack with the machine's own binaries: start, reuse, inspect, stop, from any process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from vigil_runtime.stack import LocalStack, ServerState, StackError, StackInfo
from vigil_runtime.stack.procs import pid_alive
from vigil_runtime.stack.registry import available
from vigil_runtime.testing.checks import mqtt_connect_code, redis_pings, sql_execute, sql_scalar

pytestmark = pytest.mark.skipif(
    not all(available(name, "local") for name in ("postgres", "redis", "mqtt")),
    reason="needs initdb/pg_ctl, redis-server and mosquitto on this machine",
)


def fast(data_dir: Path) -> LocalStack:
    """A stack object on ``data_dir`` without fsync (quicker initdb; data is throwaway)."""
    return LocalStack(data_dir, durable=False)


@pytest.fixture
def stack_dir(tmp_path: Path):
    yield tmp_path / "stack"
    fast(tmp_path / "stack").down(purge=True)


def test_up_starts_three_answering_servers(stack_dir: Path) -> None:
    info = fast(stack_dir).up()
    assert info.backends == {"postgres": "local", "redis": "local", "mqtt": "local"}
    assert info.warnings == []
    assert info.database_url.endswith("/vigil")
    assert sql_scalar(info.database_url, "SELECT 1") == 1
    assert sql_scalar(info.database_url, "SHOW max_connections") == "200"
    assert sql_scalar(info.database_url, "SHOW server_encoding") == "UTF8"
    assert redis_pings(info.redis_url)
    assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv5) == 0
    assert (stack_dir / "stack.env").read_text().splitlines() == [
        f"VIGIL_DATABASE_URL={info.database_url}",
        f"VIGIL_REDIS_URL={info.redis_url}",
        f"VIGIL_MQTT_URL={info.mqtt_url}",
    ]


def test_up_is_idempotent(stack_dir: Path) -> None:
    first = fast(stack_dir).up()
    pids = {name: s["pid"] for name, s in fast(stack_dir).status().items()}
    second = fast(stack_dir).up()
    assert second == first
    assert {name: s["pid"] for name, s in fast(stack_dir).status().items()} == pids


def test_status_and_down_from_a_fresh_object(stack_dir: Path) -> None:
    info = fast(stack_dir).up()
    status = fast(stack_dir).status()
    assert set(status) == {"postgres", "redis", "mqtt"}
    for name, entry in status.items():
        assert entry["alive"] is True, name
        assert entry["backend"] == "local"
        assert isinstance(entry["pid"], int)
        assert pid_alive(entry["pid"])
    assert status["postgres"]["url"] == info.database_url
    pids = [int(str(entry["pid"])) for entry in status.values()]

    fast(stack_dir).down()

    assert not any(pid_alive(pid) for pid in pids)
    after = fast(stack_dir).status()
    assert all(entry["alive"] is False and entry["pid"] is None for entry in after.values())


def test_restart_after_down_keeps_data_and_port(stack_dir: Path) -> None:
    info = fast(stack_dir).up()
    sql_execute(info.database_url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
    fast(stack_dir).down()
    again = fast(stack_dir).up()
    assert again.database_url == info.database_url
    assert sql_scalar(again.database_url, "SELECT v FROM kept") == 7


def test_dead_server_is_restarted(stack_dir: Path) -> None:
    stack = fast(stack_dir)
    info = stack.up()
    redis_pid = stack.status()["redis"]["pid"]
    assert isinstance(redis_pid, int)
    os.kill(redis_pid, signal.SIGKILL)
    assert stack.status()["redis"]["alive"] is False
    info_again = stack.up()
    assert redis_pings(info_again.redis_url)
    assert info_again.database_url == info.database_url


def test_write_env_to_a_chosen_path(tmp_path: Path) -> None:
    info = StackInfo("postgresql://a", "redis://b", "mqtt://c", {}, [], tmp_path)
    target = info.write_env(tmp_path / "sub" / "x.env")
    assert target.read_text() == (
        "VIGIL_DATABASE_URL=postgresql://a\nVIGIL_REDIS_URL=redis://b\nVIGIL_MQTT_URL=mqtt://c\n"
    )


def test_unknown_embedded_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown servers"):
        LocalStack(tmp_path, force_embedded={"postgres", "kafka"})


def test_startup_failure_reports_the_log(stack_dir: Path) -> None:
    fast(stack_dir).up()
    state = json.loads((stack_dir / "postgres" / "state.json").read_text())
    fast(stack_dir).down()
    conf = Path(state["extra"]["pgdata"]) / "postgresql.conf"
    conf.write_text(conf.read_text() + "\nthis line is not a setting\n")

    with pytest.raises(StackError, match="syntax error"):
        fast(stack_dir).up()

    assert all(entry["pid"] is None for entry in fast(stack_dir).status().values())


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    """After a reboot the recorded pid may belong to another process: leave it alone."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        folder = tmp_path / "redis"
        folder.mkdir()
        state = ServerState("local", bystander.pid, 1, "redis://127.0.0.1:1/0", {"identity": "1"})
        state.save(folder / "state.json")
        assert fast(tmp_path).status()["redis"]["alive"] is False
        fast(tmp_path).down()
        assert bystander.poll() is None
        assert not (folder / "state.json").exists()
    finally:
        bystander.kill()
        bystander.wait()
