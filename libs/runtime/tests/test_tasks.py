"""tasks.wait_event (the one "wait for an event or a timeout"), wait_task_or_event and the
two cancellations (cancel_and_wait, cancel_until_done)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from vigil_runtime.tasks import cancel_and_wait, cancel_until_done, wait_event, wait_task_or_event


async def test_returns_true_at_once_when_already_set() -> None:
    event = asyncio.Event()
    event.set()
    assert await wait_event(event, 0) is True


async def test_returns_false_when_the_timeout_passes() -> None:
    assert await wait_event(asyncio.Event(), 0.01) is False


async def test_returns_true_when_set_while_waiting() -> None:
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, None))
    await asyncio.sleep(0)
    assert not waiter.done()
    event.set()
    assert await waiter is True


async def test_a_cancellation_of_the_caller_is_not_swallowed() -> None:
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, 60))
    await asyncio.sleep(0)
    event.set()  # the event and the cancellation arrive together
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_wait_task_or_event_says_the_task_finished_first() -> None:
    task = asyncio.create_task(asyncio.sleep(0))
    stop = asyncio.Event()
    assert await wait_task_or_event(task, stop) is True
    assert task.done()
    assert not stop.is_set()


async def test_wait_task_or_event_returns_on_the_event_and_leaves_the_task_running() -> None:
    task = asyncio.create_task(asyncio.sleep(60))
    stop = asyncio.Event()
    waiter = asyncio.create_task(wait_task_or_event(task, stop))
    await asyncio.sleep(0)
    assert not waiter.done()
    stop.set()
    assert await waiter is False
    assert not task.done()  # neither cancelled nor awaited: the caller's choice
    await cancel_and_wait(task)


async def test_cancel_until_done_cancels_again_a_task_that_swallowed_the_first() -> None:
    swallowed = 0

    async def stubborn_loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # what a library did on Python 3.11: the loop goes on

    task = asyncio.create_task(stubborn_loop())
    await asyncio.sleep(0)
    assert await cancel_until_done([task], round_s=0.05) == set()
    assert swallowed == 1
    assert task.cancelled()


async def test_cancel_until_done_returns_what_never_stops() -> None:
    released = asyncio.Event()

    async def immortal() -> None:
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(immortal())
    await asyncio.sleep(0)
    assert await cancel_until_done([task], round_s=0.01, rounds=3) == {task}
    assert not task.done()
    released.set()  # leave nothing running when the test's loop closes
    task.cancel()
    await asyncio.wait({task})
