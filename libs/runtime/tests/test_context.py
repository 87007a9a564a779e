"""ServiceContext: the status the heartbeat reports, changed only through its methods."""

from __future__ import annotations

import asyncio

from vigil_runtime.context import ServiceContext
from vigil_runtime.logging import get_logger
from vigil_runtime.ops import OpsServer
from vigil_runtime.settings import VigilSettings


def _context() -> ServiceContext:
    return ServiceContext(
        name="probe",
        settings=VigilSettings(),
        stopping=asyncio.Event(),
        ops=OpsServer(),
        log=get_logger("test"),
    )


def test_status_goes_starting_running_draining_and_tells_its_watchers() -> None:
    ctx = _context()
    changes: list[str] = []
    ctx.watch_status(lambda: changes.append(ctx.status))
    assert ctx.status == "starting"
    ctx.mark_running()
    ctx.mark_running()  # idempotent: no second notification
    ctx.request_stop("test")
    ctx.request_stop("again")
    assert changes == ["running", "draining"]
    assert ctx.stopping.is_set()
    assert ctx.ops.draining


def test_draining_before_running_is_draining() -> None:
    ctx = _context()
    ctx.request_stop("test")
    ctx.mark_running()
    assert ctx.status == "draining"


def test_an_unwatched_callback_is_not_called() -> None:
    ctx = _context()
    calls: list[str] = []
    unwatch = ctx.watch_status(lambda: calls.append("called"))
    unwatch()
    unwatch()  # idempotent
    ctx.mark_running()
    assert calls == []


async def test_sleep_returns_early_when_stopping() -> None:
    ctx = _context()
    assert await ctx.sleep(0.01) is False
    ctx.request_stop("test")
    assert await ctx.sleep(60) is True
