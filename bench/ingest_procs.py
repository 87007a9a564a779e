"""The processes of the ingest benchmark: camsim, the bare subscriber and vigil-ingest.

Each runs as its own OS process (its own interpreter and GIL), as in production, so the
harness measures them without competing with them for the interpreter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.ingest_cpu import cpu_seconds, reaped_children_cpu_seconds
from bench.ingest_series import Series
from vigil_runtime.stack.procs import free_port, log_tail

COMMITTED_METRIC = "vigil_ingest_events_committed_total"
SAMPLE_INTERVAL_S = 0.25
READY_TIMEOUT_S = 60.0
QUIET_S = 15.0
"""A consumer that has received events and then none for this long is taken as drained."""


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


def _script(name: str) -> str:
    """A console script of the venv this interpreter runs from (else from PATH)."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else shutil.which(name) or name


async def run_camsim(workload: Workload, workdir: Path, tag: str) -> dict[str, Any]:
    """Run ``vigil-camsim`` to its end and return its summary (raises if it printed none),
    with the CPU seconds it used (``cpu_s``: the only child reaped meanwhile)."""
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
    children_before = reaped_children_cpu_seconds()
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            _script("vigil-camsim"), *args, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
        code = await proc.wait()
    cpu_s = reaped_children_cpu_seconds() - children_before
    if not summary_file.exists():
        raise RuntimeError(f"vigil-camsim exited {code} without a summary: {log_tail(log)}")
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    summary["exit_code"] = code
    summary["cpu_s"] = round(cpu_s, 2)
    summary.pop("cameras", None)
    return summary


REPO = Path(__file__).resolve().parent.parent
BARE_SESSION_EXPIRY_S = 3600


class BareSubscriber:
    """``python -m bench.ingest_bare`` as a child; its samples feed :attr:`series`.

    ``persistent`` keeps its broker session after it stops (so the broker queues a backlog
    for it); ``resume`` takes over that session.
    """

    def __init__(
        self, url: str, group: str, *, persistent: bool = False, resume: bool = False
    ) -> None:
        self._args = [
            "--url", url, "--group", group, "--client-id", f"bench-bare-{group}",
            "--interval", str(SAMPLE_INTERVAL_S),
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
            sys.executable, "-m", "bench.ingest_bare", *self._args,
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
            sys.executable, "-m", "bench.ingest_bare", *self._args, "--subscribe-only",
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
        return await _wait_quiet(lambda: self.series.total, expected, timeout_s)

    async def _stop(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self.cpu_s = cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        if self._reader is not None:
            await self._reader


class IngestProcess:
    """``replicas`` × ``vigil-ingest`` as children with default settings, on one shared
    subscription group (as replicas of the StatefulSet would be); polls their committed
    events metric and records the sum.

    Replica ``i`` has the client id ``{client_id}-{i}`` (its persistent session) and the
    shared group ``{client_id}``, so runs with other replica counts never share its
    messages.
    """

    def __init__(self, env: dict[str, str], log: Path, client_id: str, replicas: int = 1) -> None:
        self.client_ids = [f"{client_id}-{index}" for index in range(replicas)]
        self.ports = [free_port() for _ in range(replicas)]
        self._envs = [
            os.environ
            | env
            | {
                "VIGIL_HTTP_PORT": str(port),
                "VIGIL_HTTP_HOST": "127.0.0.1",
                "VIGIL_MQTT_CLIENT_ID": replica_id,
                "VIGIL_MQTT_SHARED_GROUP": client_id,
                "VIGIL_INSTANCE": replica_id,
                "VIGIL_ENV_FILE": str(log.with_suffix(".no-env-file")),
            }
            for replica_id, port in zip(self.client_ids, self.ports, strict=True)
        ]
        self._logs = [log.with_name(f"{log.stem}-{index}{log.suffix}") for index in range(replicas)]
        self.series = Series()
        self.cpu_s: float | None = None
        """CPU seconds of the replicas after start-up (from their first /metrics answer)."""
        self.startup_cpu_s = 0.0
        """CPU seconds the replicas used before that (imports, connections)."""
        self._startup_cpu_s: dict[int, float] = {}
        self.exit_code: int | None = None
        self._procs: list[asyncio.subprocess.Process] = []

    @contextlib.asynccontextmanager
    async def running(self, *, wait_ready: bool = True) -> AsyncIterator[IngestProcess]:
        """Start (sampling /metrics from the start), wait for every /readyz 200, SIGTERM on
        leaving.

        The series starts with a zero at launch, so a backlog committed before the first
        sample is not credited to a shorter time than it took.
        """
        self.series.add(time.monotonic(), 0)
        for env, log in zip(self._envs, self._logs, strict=True):
            with log.open("ab") as stderr:
                self._procs.append(
                    await asyncio.create_subprocess_exec(
                        _script("vigil-ingest"), env=env, stdout=stderr, stderr=stderr
                    )
                )
        async with aiohttp.ClientSession() as http:
            sampler = asyncio.create_task(self._sample(http))
            try:
                if wait_ready:
                    for port in self.ports:
                        await self._until_ready(http, port)
                yield self
            finally:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
                await self._stop()

    async def _until_ready(self, http: aiohttp.ClientSession, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.returncode is not None:
                    raise RuntimeError(f"vigil-ingest exited {proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"vigil-ingest not ready in {READY_TIMEOUT_S} s: {self.log_tail()}")

    async def _sample(self, http: aiohttp.ClientSession) -> None:
        last = [0] * len(self.ports)
        while True:
            for index, port in enumerate(self.ports):
                with contextlib.suppress(aiohttp.ClientError, ValueError):
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                        last[index] = committed_events(await response.text())
                    if index not in self._startup_cpu_s:
                        self._startup_cpu_s[index] = cpu_seconds(self._procs[index].pid) or 0.0
            self.series.add(time.monotonic(), sum(last))
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    async def wait_quiet(self, expected: int, timeout_s: float) -> bool:
        """Wait until ``expected`` events are committed (True), or none for a while, or the
        timeout (False)."""
        return await _wait_quiet(lambda: self.series.total, expected, timeout_s)

    async def _stop(self) -> None:
        live = [proc for proc in self._procs if proc.returncode is None]
        used = [cpu_seconds(proc.pid) for proc in live]
        self.cpu_s = sum(cpu for cpu in used if cpu is not None) if live else None
        if self.cpu_s is not None:
            self.startup_cpu_s = sum(self._startup_cpu_s.values())
            self.cpu_s -= self.startup_cpu_s
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self._procs:
            try:
                codes.append(await asyncio.wait_for(proc.wait(), 30))
            except TimeoutError:
                proc.kill()
                codes.append(await proc.wait())
        self.exit_code = next((code for code in codes if code != 0), 0) if codes else None

    def log_tail(self) -> str:
        """The last lines each replica wrote (for error messages)."""
        return "\n".join(log_tail(log) for log in self._logs)


def committed_events(metrics_text: str) -> int:
    """The value of ``vigil_ingest_events_committed_total`` in a /metrics page."""
    for line in metrics_text.splitlines():
        if line.startswith(COMMITTED_METRIC + " "):
            return int(float(line.split()[1]))
    raise ValueError(f"{COMMITTED_METRIC} not in /metrics")


async def _wait_quiet(total: Callable[[], int], expected: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    last, last_change = total(), time.monotonic()
    while total() < expected and time.monotonic() < deadline:
        await asyncio.sleep(SAMPLE_INTERVAL_S)
        if total() != last:
            last, last_change = total(), time.monotonic()
        elif last > 0 and time.monotonic() - last_change > QUIET_S:
            break
    return total() >= expected
