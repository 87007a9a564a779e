"""Small asyncio helpers shared by the runtime and the services.

- `cancel_and_wait(*tasks)`: cancel and wait, without swallowing the caller's own cancellation.
- `succeeded(task)`: finished with a result.
- `wait_event(event, timeout_s)`: wait until an event is set or a timeout passed; whether it
  is set. The one "sleep until stopped" of every loop (use it, not `wait_for(event.wait())`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["cancel_and_wait", "succeeded", "wait_event"]


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


async def wait_event(event: asyncio.Event, timeout_s: float | None) -> bool:
    """Wait until `event` is set or `timeout_s` seconds passed (None: no limit); whether
    `event` is set on return. Returns at once when it is already set.

    `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow a cancellation
    that arrives as the event is set, and the caller would then never stop.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()
