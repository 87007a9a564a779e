"""The processes of the ingest benchmark: camsim, the bare subscriber and vigil-ingest.

Each runs as its own OS process, launched through :mod:`bench.harness.processes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.counting import POLL_S, Series, wait_quiet
from bench.harness.cpu import cpu_seconds
from bench.harness.processes import (
    READY_TIMEOUT_S,
    ServiceReplicas,
    console_script,
    run_to_end,
    terminate,
)
from bench.harness.results import REPO
from vigil_runtime.stack.procs import log_tail

COMMITTED_METRIC = "vigil_ingest_events_committed_total"
BARE_SESSION_EXPIRY_S = 3600


@dataclass(frozen=True)
class Workload:
    """What camsim publishes in one measurement."""

    url: str
    cameras: int
    batch: int
    duration_s: float
    fps: float
    camera_prefix: str
    window: int
    count: int | None = None
    """Stop after this many event messages (before the duration if it comes first)."""

    @property
    def rate_label(self) -> str:
        """How fast camsim is asked to publish, in words."""
        if self.fps <= 0:
            return "unpaced"
        return f"{self.fps * self.cameras:,.0f} events/s"

    def camera_ids(self) -> list[str]:
        """The ids camsim derives (``{prefix}{index:03d}`` from 1), to register beforehand."""
        return [f"{self.camera_prefix}{index:03d}" for index in range(1, self.cameras + 1)]


async def run_camsim(workload: Workload, workdir: Path, tag: str) -> dict[str, Any]:
    """Run ``vigil-camsim`` to its end and return its summary (raises if it printed none),
    with the CPU seconds it used (``cpu_s``)."""
    summary_file = workdir / f"camsim-{tag}.json"
    log = workdir / f"camsim-{tag}.log"
    args = [
        "--url", workload.url, "--cameras", str(workload.cameras),
        "--camera-prefix", workload.camera_prefix, "--fps", str(workload.fps),
        "--batch", str(workload.batch), "--duration", str(workload.duration_s),
        "--window", str(workload.window), "--qos", "1", "--seed", "1",
        "--drain-timeout", "120", "--summary-file", str(summary_file),
        "--client-id-prefix", f"bench-camsim-{tag}",
    ] + (["--count", str(workload.count)] if workload.count is not None else [])  # fmt: skip
    code, cpu_s = await run_to_end([console_script("vigil-camsim"), *args], log)
    if not summary_file.exists():
        raise RuntimeError(f"vigil-camsim exited {code} without a summary: {log_tail(log)}")
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    summary["exit_code"] = code
    summary["cpu_s"] = round(cpu_s, 2)
    summary.pop("cameras", None)
    return summary


def ingest_client_ids(client_id: str, replicas: int) -> list[str]:
    """The MQTT client ids (persistent sessions) of ``replicas`` replicas of one setup."""
    return [f"{client_id}-{index}" for index in range(replicas)]


def ingest_service(
    env: dict[str, str], log: Path, client_id: str, replicas: int = 1
) -> ServiceReplicas:
    """``replicas`` × ``vigil-ingest`` with default settings on one shared subscription group
    (as replicas of the StatefulSet would be); its series is the committed events.

    Replica ``i`` has the client id ``{client_id}-{i}`` (its persistent session) and the
    shared group ``{client_id}``, so runs with other replica counts never share its messages.
    """
    replica_envs = [
        {
            "VIGIL_MQTT_CLIENT_ID": replica_id,
            "VIGIL_MQTT_SHARED_GROUP": client_id,
            "VIGIL_INSTANCE": replica_id,
        }
        for replica_id in ingest_client_ids(client_id, replicas)
    ]
    return ServiceReplicas("vigil-ingest", env, replica_envs, log, COMMITTED_METRIC)


class BareSubscriber:
    """``python -m bench.ingest.bare`` as a child; its samples feed :attr:`series`.

    ``persistent`` keeps its broker session after it stops (so the broker queues a backlog
    for it); ``resume`` takes over that session.
    """

    def __init__(
        self, url: str, group: str, *, persistent: bool = False, resume: bool = False
    ) -> None:
        self._args = [
            "--url", url, "--group", group, "--client-id", f"bench-bare-{group}",
            "--interval", str(POLL_S),
            "--session-expiry", str(BARE_SESSION_EXPIRY_S if persistent else 0),
        ] + (["--resume"] if resume else [])  # fmt: skip
        self.series = Series()
        self.summary: dict[str, Any] = {}
        self.cpu_s: float | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[BareSubscriber]:
        """Start, wait for ``ready`` (subscriptions acknowledged), stop on leaving."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.ingest.bare", *self._args,
            stdout=asyncio.subprocess.PIPE, cwd=REPO,
        )  # fmt: skip
        ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), READY_TIMEOUT_S)
            yield self
        finally:
            await self._stop()

    async def create_session(self) -> None:
        """Subscribe once and leave: the broker then keeps the session and queues for it."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.ingest.bare", *self._args, "--subscribe-only",
            stdout=asyncio.subprocess.DEVNULL, cwd=REPO,
        )  # fmt: skip
        if await asyncio.wait_for(proc.wait(), READY_TIMEOUT_S) != 0:
            raise RuntimeError("the bare subscriber could not create its session")

    async def _read(self, ready: asyncio.Future[None]) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        async for raw in self._proc.stdout:
            word, _, rest = raw.decode().strip().partition(" ")
            if word == "ready" and not ready.done():
                ready.set_result(None)
            elif word == "sample":
                at, count = rest.split()
                self.series.add(float(at), int(count))
            elif word == "done":
                self.summary = json.loads(rest)
        if not ready.done():
            ready.set_exception(RuntimeError("the bare subscriber exited before subscribing"))

    async def wait_quiet(self, expected: int, timeout_s: float) -> bool:
        """Wait until ``expected`` events arrived (True), or none for a while, or the timeout
        (False)."""
        return await wait_quiet(lambda: self.series.total, expected, timeout_s)

    async def _stop(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self.cpu_s = cpu_seconds(proc.pid)
        await terminate([proc])
        if self._reader is not None:
            await self._reader
