"""Report what a stuck test is waiting for, before pytest-timeout ends it.

A test that hangs in asyncio shows nothing useful in a thread dump (the loop sits in
``select``). :func:`watch` starts a daemon thread per test; if the test is still running after
``after_s`` seconds, it asks every running event loop (thread-safely) to print, for each of
its tasks, the chain of coroutines it awaits, and prints every thread's stack with
:mod:`faulthandler`, all to stderr. The
test itself is left alone: pytest-timeout (``timeout`` in pyproject.toml) fails it later.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import sys
import threading
from typing import Any


def _await_chain(task: asyncio.Task[object]) -> list[str]:
    """Where a suspended task waits: its coroutine and every coroutine it awaits."""
    lines = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return lines


def _dump_tasks(test: str) -> None:
    print(f"\n=== {test} is still running; its asyncio tasks: ===", file=sys.stderr)
    for task in asyncio.all_tasks():
        print(f"--- {task!r}", file=sys.stderr)
        print("\n".join(_await_chain(task)), file=sys.stderr)
    sys.stderr.flush()


def _report(test: str) -> None:
    loops = [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, asyncio.AbstractEventLoop) and obj.is_running()
    ]
    for loop in loops:
        loop.call_soon_threadsafe(_dump_tasks, test)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)


def watch(test: str, after_s: float) -> threading.Event:
    """Start watching ``test``; set the returned event when it ends."""
    finished = threading.Event()

    def wait() -> None:
        if not finished.wait(after_s):
            _report(test)

    threading.Thread(target=wait, name=f"hang-report {test}", daemon=True).start()
    return finished
