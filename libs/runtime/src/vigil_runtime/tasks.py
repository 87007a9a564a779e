"""Small asyncio helpers shared by the runtime and the services.

- `cancel_and_wait(*tasks)`: cancel and wait, without swallowing the caller's own cancellation.
- `cancel_until_done(tasks)`: the same for tasks whose cancellation a library may swallow:
  those still running are cancelled again every round; the ones that never stop are returned.
- `succeeded(task)`: finished with a result.
- `wait_event(event, timeout_s)`: wait until an event is set or a timeout passed; whether it
  is set. The one "sleep until stopped" of every loop (use it, not `wait_for(event.wait())`).
- `wait_task_or_event(task, event)`: wait until a task is done or an event is set (a stop
  that comes first); whether the task is done. The task is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "cancel_and_wait",
    "cancel_until_done",
    "succeeded",
    "wait_event",
    "wait_task_or_event",
]


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


async def cancel_until_done(
    tasks: Iterable[asyncio.Future[Any]], *, round_s: float = 1.0, rounds: int = 10
) -> set[asyncio.Future[Any]]:
    """Cancel ``tasks`` and wait until they finish, cancelling again every ``round_s`` seconds
    those still running, at most ``rounds`` times; the tasks that are still running then.

    On Python 3.11 a cancellation can be swallowed inside a library (redis-py disconnects
    under ``asyncio.timeout`` when cancelled mid-command; ``wait_for`` racing a result): a
    ``while`` loop then carries on, and a plain ``cancel`` + ``wait`` waits forever (seen in
    the analyzer's Claude analyst). Loops should also check a stop event of their own.
    """
    pending = set(tasks)
    for _ in range(rounds):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=round_s)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # mark retrieved
    return pending


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


async def wait_task_or_event(task: asyncio.Future[Any], event: asyncio.Event) -> bool:
    """Wait until `task` is done or `event` is set, whichever comes first; whether `task` is
    done on return. `task` is neither cancelled nor awaited: that is the caller's choice."""
    setting = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({task, setting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        setting.cancel()
    return task.done()
