"""The holder: reload swaps only valid files, polling notices changes, SIGHUP reloads."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from vigil_alerter.clock import ManualClock
from vigil_alerter.config.holder import ConfigHolder, LoadedConfig
from vigil_alerter.config.loader import ConfigError

V1 = "route: {receiver: one}\nreceivers: [{name: one}]\n"
V2 = "route: {receiver: two, group_wait: 1s}\nreceivers: [{name: two}]\n"
BROKEN = "route:\n  receiver: two\n  group_wait: soon\nreceivers: [{name: two}]\n"


def _reloads(outcome: str) -> float:
    value = REGISTRY.get_sample_value("vigil_alerter_config_reloads_total", {"outcome": outcome})
    return value or 0.0


def _last_ok() -> float | None:
    return REGISTRY.get_sample_value("vigil_alerter_config_last_reload_success")


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "alerter.yml"
    path.write_text(V1)
    return path


def test_loads_and_builds_everything(config_file: Path) -> None:
    clock = ManualClock()
    holder = ConfigHolder(config_file, clock)
    current = holder.current
    assert isinstance(current, LoadedConfig)
    assert current.config.route.receiver == "one"
    assert current.tree.root.receiver == "one"
    assert current.loaded_at == clock()
    assert len(current.digest) == 64
    assert _last_ok() == 1


def test_default_without_file(tmp_path: Path) -> None:
    assert ConfigHolder(None, ManualClock()).current.config.route.receiver == "log"
    holder = ConfigHolder(tmp_path / "absent.yml", ManualClock())
    assert holder.current.config.route.receiver == "log"


def test_invalid_file_at_start_raises(config_file: Path) -> None:
    config_file.write_text(BROKEN)
    with pytest.raises(ConfigError, match=r"alerter.yml:3: route.group_wait"):
        ConfigHolder(config_file, ManualClock())


def test_reload_keeps_old_config_when_new_is_invalid(config_file: Path) -> None:
    clock = ManualClock()
    holder = ConfigHolder(config_file, clock)
    seen: list[LoadedConfig] = []
    holder.subscribe(seen.append)
    old = holder.current
    invalid_before = _reloads("invalid")
    config_file.write_text(BROKEN)
    clock.advance(60)
    with capture_logs() as logs:
        assert holder.reload() is False
    assert holder.current is old
    assert _reloads("invalid") == invalid_before + 1
    assert _last_ok() == 0
    (entry,) = [e for e in logs if e["log_level"] == "error"]
    assert "alerter.yml:3: route.group_wait: not a duration: 'soon'" in entry["error"]
    assert seen == []

    config_file.write_text(V2)
    ok_before = _reloads("ok")
    assert holder.reload() is True
    assert holder.current.config.route.receiver == "two"
    assert holder.current.loaded_at == clock()
    assert _reloads("ok") == ok_before + 1
    assert _last_ok() == 1
    assert seen == [holder.current]


def test_deleted_file_keeps_the_config(config_file: Path) -> None:
    holder = ConfigHolder(config_file, ManualClock())
    old = holder.current
    config_file.unlink()
    assert not holder.changed()
    assert holder.reload() is False
    assert holder.current is old


async def test_watch_reloads_on_change_and_reports_a_broken_file_once(
    config_file: Path,
) -> None:
    holder = ConfigHolder(config_file, ManualClock())
    stop = asyncio.Event()
    task = asyncio.create_task(holder.watch(stop, poll_s=0.01))
    try:
        assert not holder.changed()
        await asyncio.to_thread(config_file.write_text, V2)
        await _until(lambda: holder.current.config.route.receiver == "two")
        good = holder.current
        invalid_before = _reloads("invalid")
        await asyncio.to_thread(config_file.write_text, BROKEN)
        await _until(lambda: _reloads("invalid") == invalid_before + 1)
        assert not holder.changed()  # the broken content was tried: no retry every poll
        assert holder.current is good
        await asyncio.to_thread(config_file.write_text, V1)
        await _until(lambda: holder.current.config.route.receiver == "one")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert task.done()
    assert task.exception() is None


async def test_sighup_reloads(config_file: Path) -> None:
    holder = ConfigHolder(config_file, ManualClock())
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGHUP)
    remove = holder.install_sighup(loop)
    try:
        await asyncio.to_thread(config_file.write_text, V2)
        assert holder.current.config.route.receiver == "one"  # nothing polls here
        os.kill(os.getpid(), signal.SIGHUP)
        await _until(lambda: holder.current.config.route.receiver == "two")
    finally:
        remove()
        signal.signal(signal.SIGHUP, previous)
