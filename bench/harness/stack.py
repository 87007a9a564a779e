"""A private local stack for one benchmark run.

``async with private_stack("ingest") as (info, workdir):`` starts PostgreSQL, Redis and
Mosquitto as local processes in a temporary folder (``durable``: fsync, synchronous commit
and full-page writes on, as in production), migrates the database to the head revision,
and on leaving stops the servers and deletes the folder. ``workdir`` is that folder, for the
run's logs and scratch files. With ``keep`` the stack lives in that folder instead and is
left running (reused by the next run). :func:`server_pids` gives the servers' pids, so CPU
is counted for this stack's processes only.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from vigil_migrations import upgrade
from vigil_runtime.stack import LocalStack, ServerState, StackInfo
from vigil_runtime.stack.info import STATE_FILE

SERVER_LABELS = {"postgres": "postgres", "redis": "redis-server", "mqtt": "mosquitto"}
"""The stack's servers (as the launcher names them) → the labels of the CPU figures."""


@contextlib.asynccontextmanager
async def private_stack(
    name: str, *, durable: bool = True, migrate: bool = True, keep: Path | None = None
) -> AsyncIterator[tuple[StackInfo, Path]]:
    """The running stack's URLs and the run's folder (see the module docstring)."""
    with contextlib.ExitStack() as cleanup:
        if keep is None:
            workdir = Path(
                cleanup.enter_context(tempfile.TemporaryDirectory(prefix=f"vigil-bench-{name}-"))
            )
        else:
            workdir = keep
        stack = LocalStack(workdir / "stack", durable=durable)
        info = stack.up()
        try:
            if migrate:
                upgrade(info.database_url)
            yield info, workdir
        finally:
            if keep is None:
                stack.down(purge=True)


def server_pids(info: StackInfo) -> dict[str, int]:
    """The pid of each running server of the stack, by CPU label (for
    :class:`bench.harness.cpu.CpuMeter`): the roots of their process trees."""
    pids: dict[str, int] = {}
    for name, label in SERVER_LABELS.items():
        state = ServerState.load(info.data_dir / name / STATE_FILE)
        if state is not None:
            pids[label] = state.pid
    return pids
