"""Small asyncio task helpers shared by the service runner, its dependencies and heartbeat."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait", "succeeded"]


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel `tasks` and wait until they finish.

    `asyncio.wait` (unlike `await task` under `suppress(CancelledError)`) never swallows a
    cancellation aimed at the caller itself.
    """
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # mark retrieved: asyncio would log it as never retrieved


def succeeded(task: asyncio.Task[Any]) -> bool:
    """True when `task` finished with a result (not cancelled, no exception)."""
    return task.done() and not task.cancelled() and task.exception() is None
