"""Launching and stopping the processes a benchmark measures.

Each runs as its own OS process (its own interpreter and GIL), as in production, so the
harness measures them without competing with them for the interpreter.

* :func:`run_to_end`: a command (a load generator such as ``vigil-camsim``) run to its exit,
  with the CPU seconds it used;
* :class:`ServiceReplicas`: N replicas of a service's console script with the runtime's
  conventions (``VIGIL_HTTP_PORT`` per replica, ``/readyz``, ``/metrics``): started, waited
  for, one counter of theirs sampled into a :class:`~bench.harness.counting.Series` (summed
  over the replicas), their CPU after start-up read from ``/proc``, SIGTERM on leaving;
* :func:`terminate`: SIGTERM, then SIGKILL after a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import aiohttp

from bench.harness.counting import POLL_S, Series, metric_value, wait_quiet
from bench.harness.cpu import cpu_seconds, reaped_children_cpu_seconds
from vigil_runtime.stack import procs
from vigil_runtime.stack.procs import free_port, log_tail

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def console_script(name: str) -> str:
    """A console script of the venv this interpreter runs from (else from PATH; else the
    bare name, for the error to name it)."""
    return procs.console_script(name) or name


async def run_to_end(argv: Sequence[str], log: Path) -> tuple[int, float]:
    """Run ``argv`` (stderr to ``log``) to its exit: ``(exit code, CPU seconds)``.

    The CPU is that of this process's children reaped meanwhile, so nothing else launched by
    this process may exit during the run.
    """
    before = reaped_children_cpu_seconds()
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
        code = await proc.wait()
    return code, reaped_children_cpu_seconds() - before


async def terminate(
    procs: Sequence[asyncio.subprocess.Process], timeout_s: float = STOP_TIMEOUT_S
) -> list[int]:
    """SIGTERM every live one of ``procs``, wait, SIGKILL those still there after
    ``timeout_s``; their exit codes."""
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    codes = []
    for proc in procs:
        try:
            codes.append(await asyncio.wait_for(proc.wait(), timeout_s))
        except TimeoutError:
            proc.kill()
            codes.append(await proc.wait())
    return codes


class ServiceReplicas:
    """``len(replica_envs)`` replicas of the console script ``script``, each with ``env``
    plus its own entry of ``replica_envs``, its own HTTP port, and its log
    ``{log.stem}-{index}{log.suffix}``; :attr:`series` sums their ``counter`` sample."""

    def __init__(
        self,
        script: str,
        env: Mapping[str, str],
        replica_envs: Sequence[Mapping[str, str]],
        log: Path,
        counter: str,
    ) -> None:
        self.script = script
        self.counter = counter
        self.ports = [free_port() for _ in replica_envs]
        self._envs = [
            dict(os.environ)
            | dict(env)
            | {
                "VIGIL_HTTP_PORT": str(port),
                "VIGIL_HTTP_HOST": "127.0.0.1",
                "VIGIL_ENV_FILE": str(log.with_suffix(".no-env-file")),  # no stray .env
            }
            | dict(extra)
            for extra, port in zip(replica_envs, self.ports, strict=True)
        ]
        self._logs = [log.with_name(f"{log.stem}-{i}{log.suffix}") for i in range(len(self.ports))]
        self.series = Series()
        self.cpu_s: float | None = None
        """CPU seconds of the replicas after start-up (from their first /metrics answer)."""
        self.startup_cpu_s = 0.0
        """CPU seconds the replicas used before that (imports, connections)."""
        self._startup_cpu_s: dict[int, float] = {}
        self.exit_code: int | None = None
        self._procs: list[asyncio.subprocess.Process] = []

    @property
    def replicas(self) -> int:
        """How many replicas run."""
        return len(self.ports)

    @contextlib.asynccontextmanager
    async def running(self, *, wait_ready: bool = True) -> AsyncIterator[ServiceReplicas]:
        """Start (sampling /metrics from the start), wait for every /readyz 200 if asked,
        stop on leaving.

        The series starts with a zero at launch, so work done before the first sample is
        not credited to a shorter time than it took.
        """
        self.series.add(time.monotonic(), 0)
        for env, log in zip(self._envs, self._logs, strict=True):
            with log.open("ab") as out:
                self._procs.append(
                    await asyncio.create_subprocess_exec(
                        console_script(self.script), env=env, stdout=out, stderr=out
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
                    raise RuntimeError(f"{self.script} exited {proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.script} not ready in {READY_TIMEOUT_S} s: {self.log_tail()}")

    async def _sample(self, http: aiohttp.ClientSession) -> None:
        last = [0] * len(self.ports)
        while True:
            for index, port in enumerate(self.ports):
                with contextlib.suppress(aiohttp.ClientError, ValueError):
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                        last[index] = int(metric_value(await response.text(), self.counter))
                    if index not in self._startup_cpu_s:
                        self._startup_cpu_s[index] = cpu_seconds(self._procs[index].pid) or 0.0
            self.series.add(time.monotonic(), sum(last))
            await asyncio.sleep(POLL_S)

    async def wait_quiet(self, expected: int, timeout_s: float) -> bool:
        """Wait until the counter sums to ``expected`` (True), or stops moving, or the
        timeout (False)."""
        return await wait_quiet(lambda: self.series.total, expected, timeout_s)

    async def _stop(self) -> None:
        live = [proc for proc in self._procs if proc.returncode is None]
        used = [cpu_seconds(proc.pid) for proc in live]
        self.cpu_s = sum(cpu for cpu in used if cpu is not None) if live else None
        if self.cpu_s is not None:
            self.startup_cpu_s = sum(self._startup_cpu_s.values())
            self.cpu_s -= self.startup_cpu_s
        codes = await terminate(self._procs)
        self.exit_code = next((code for code in codes if code != 0), 0) if codes else None

    def log_tail(self) -> str:
        """The last lines each replica wrote (for error messages)."""
        return "\n".join(log_tail(log) for log in self._logs)
