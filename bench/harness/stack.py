"""A private local stack for one benchmark run.

``async with private_stack("ingest") as (info, workdir):`` starts PostgreSQL, Redis and
Mosquitto as local processes in a temporary folder (``durable``: fsync, synchronous commit
and full-page writes on, as in production), migrates the database to the head revision as
the owner's login (:func:`vigil_runtime.stack.logins.prepare_database`, as the demo and the
tests do), and on leaving stops the servers and deletes the folder. ``workdir`` is that
folder, for the run's logs and scratch files. With ``keep`` the stack lives in that folder
instead and is left running (reused by the next run). :func:`server_pids` gives the servers'
pids, so CPU is counted for this stack's processes only. :func:`service_env` is the environment of a
service process connecting as its own role's login, as in production. :func:`psql` runs one
psql command against the stack's database (``\\copy``, the server's COPY ceiling).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from vigil_migrations import upgrade
from vigil_runtime.stack import LocalStack, ServerState, StackInfo
from vigil_runtime.stack.info import STATE_FILE
from vigil_runtime.stack.logins import ensure_role_logins, prepare_database
from vigil_schema.roles import service_role

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
                prepare_database(info.database_url, upgrade)
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


def service_env(info: StackInfo, service: str) -> dict[str, str]:
    """The stack's environment for ``service`` (``"ingest"``, …), its database URL that of
    its role's login (created or given a fresh password here)."""
    role = service_role(service)
    login = ensure_role_logins(info.database_url, (role,))[role]
    return info.env() | {"VIGIL_DATABASE_URL": login.url(info.database_url)}


async def psql(url: str, command: str) -> None:
    """Run one psql ``command`` (``-c``) against ``url``; RuntimeError with its stderr if
    it fails."""
    proc = await asyncio.create_subprocess_exec(
        shutil.which("psql") or "psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", command,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed ({proc.returncode}): {stderr.decode(errors='replace')}")
