"""Run a Vigil service as a real subprocess in a test: start, wait until ready, drain.

Behind the ``run_service_process`` fixture of the pytest plugin::

    def test_drains(run_service_process):
        with run_service_process("alerter") as service:   # `vigil-alerter`, ready
            status, body = service.readyz()
        # left the block: SIGTERM sent, exit code asserted to be 0

The child gets the test's stack (``stack_env``; a Vigil service connects to PostgreSQL as its
own role's login, see ``vigil_schema.roles``), ``VIGIL_HTTP_HOST=127.0.0.1``, a free
``VIGIL_HTTP_PORT``, a known ``VIGIL_INSTANCE`` (so its heartbeat key is known) and a
``VIGIL_ENV_FILE`` that does not exist (a developer's ``.vigil/stack.env`` never leaks in).
Its stderr (the JSON log) goes to a file, readable as ``service.stderr`` and quoted in every
failure message.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import redis
from prometheus_client.parser import text_string_to_metric_families

from vigil_runtime.service import EXIT_STARTUP
from vigil_runtime.stack.procs import console_script, free_port
from vigil_schema.roles import SERVICE_ROLES
from vigil_schema.streams import service_key

__all__ = ["ServiceLauncher", "ServiceProcess"]

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 2.0
POLL_S = 0.1
BIND_ATTEMPTS = 3
STDERR_TAIL_CHARS = 4000
BIND_FAILURE = "ops server could not bind"
"""What `serve` logs before exiting with EXIT_STARTUP when its port is taken."""

Until = Literal["ready", "live"]
_instances = itertools.count(1)


@dataclass
class ServiceProcess:
    """A running service child process and what a test needs to talk to it."""

    name: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    stderr_path: Path
    _stderr_file: IO[bytes] = field(repr=False)

    @property
    def instance(self) -> str:
        return self.env["VIGIL_INSTANCE"]

    @property
    def url(self) -> str:
        """Base URL of its ops server, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def heartbeat_key(self) -> str:
        return service_key(self.name, self.instance)

    @property
    def stderr(self) -> str:
        """Everything it wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def get(self, path: str) -> tuple[int, Any]:
        """GET ``path`` on the ops server: (status, JSON body or text)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=HTTP_TIMEOUT_S) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())

    def readyz(self) -> tuple[int, Any]:
        return self.get("/readyz")

    def metric_total(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` on /metrics that carry ``labels`` (0 when none)."""
        status, text = self.get("/metrics")
        assert status == 200, self.describe(f"/metrics answered {status}")
        return sum(sample.value for family in text_string_to_metric_families(str(text))
                   for sample in family.samples if sample.name == name
                   and all(sample.labels.get(k) == v for k, v in labels.items()))  # fmt: skip

    def heartbeat(self) -> dict[str, str]:
        """Its heartbeat hash in Redis now (empty when there is none)."""
        client = redis.Redis.from_url(self.env["VIGIL_REDIS_URL"], decode_responses=True)
        try:
            return {str(k): str(v) for k, v in client.hgetall(self.heartbeat_key).items()}
        finally:
            client.close()

    def wait_heartbeat(self, status: str = "running", timeout_s: float = 10.0) -> dict[str, str]:
        """Poll until the heartbeat hash shows ``status``; return it."""
        deadline = time.monotonic() + timeout_s
        beat = self.heartbeat()
        while beat.get("status") != status:
            if time.monotonic() > deadline:
                raise AssertionError(self.describe(f"no {status!r} heartbeat, last {beat}"))
            time.sleep(POLL_S)
            beat = self.heartbeat()
        return beat

    def terminate(self) -> None:
        """Send SIGTERM (the drain signal) if it still runs; do not wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Wait for it to exit; its exit code. Raises AssertionError when it does not."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(self.describe(f"still running after {timeout_s}s")) from None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, then wait for the drain to finish; its exit code."""
        self.terminate()
        return self.wait(timeout_s)

    def kill(self) -> None:
        """SIGKILL if it still runs, reap it and close the stderr file."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._stderr_file.close()

    def describe(self, problem: str) -> str:
        """A failure message: the problem and the tail of its stderr."""
        tail = self.stderr[-STDERR_TAIL_CHARS:]
        return f"vigil-{self.name} (port {self.port}): {problem}\n--- stderr tail ---\n{tail}"


class _PortTaken(Exception):
    """The child could not bind its port: someone took it after `free_port`."""


class ServiceLauncher:
    """Starts service children with a test's stack env; the fixture kills leftovers."""

    def __init__(
        self,
        base_env: Mapping[str, str],
        workdir: Path,
        *,
        database_url_as: Callable[[str], str] | None = None,
    ) -> None:
        """``database_url_as(role)``: the test database's URL as that role's login; a
        Vigil service then gets its own role's URL (the ``env`` of a call still wins)."""
        self._base_env = dict(base_env)
        self._workdir = workdir
        self._database_url_as = database_url_as
        self._started: list[ServiceProcess] = []

    @contextlib.contextmanager
    def __call__(
        self,
        name: str,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        until: Until = "ready",
        ready_timeout_s: float = READY_TIMEOUT_S,
        expect_exit: int | None = 0,
        stop_timeout_s: float = STOP_TIMEOUT_S,
    ) -> Iterator[ServiceProcess]:
        """Run `vigil-<name>` (or `command`) until the block ends, then drain it.

        Waits until /readyz answers 200 (`until="ready"`) or /healthz does (`"live"`,
        for a service whose dependencies are meant to be down). On leaving the block
        normally it sends SIGTERM and asserts the exit code is `expect_exit` (None: not
        checked); when the block raised, the child is killed. `env` adds to or overrides
        the stack env; the HTTP port is always the launcher's.
        """
        service = self.start(name, command=command, env=env, until=until,
                             ready_timeout_s=ready_timeout_s)  # fmt: skip
        try:
            yield service
            code = service.stop(stop_timeout_s)
            if expect_exit is not None:
                assert code == expect_exit, service.describe(
                    f"exit code {code}, expected {expect_exit}"
                )
        finally:
            service.kill()

    def start(
        self,
        name: str,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        until: Until = "ready",
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> ServiceProcess:
        """Start the child and wait for it; retried on a fresh port if its port was taken."""
        argv = list(command) if command is not None else [_console_script(name)]
        for _ in range(BIND_ATTEMPTS):
            service = self._spawn(name, argv, env or {})
            try:
                _wait_until(service, until, ready_timeout_s)
            except _PortTaken:
                service.kill()
                continue
            except BaseException:
                service.kill()
                raise
            return service
        raise AssertionError(f"vigil-{name}: no free port after {BIND_ATTEMPTS} attempts")

    def kill_all(self) -> None:
        """Kill every child still running (fixture teardown)."""
        for service in self._started:
            service.kill()

    def _spawn(self, name: str, argv: list[str], extra: Mapping[str, str]) -> ServiceProcess:
        number = next(_instances)
        port = free_port()
        env = {
            **os.environ,
            **self._base_env,
            "VIGIL_ENV_FILE": str(self._workdir / "absent.env"),
            "VIGIL_HTTP_HOST": "127.0.0.1",
            "VIGIL_INSTANCE": f"test-{os.getpid()}-{number}",
            **self._role_env(name),
            **extra,
            "VIGIL_HTTP_PORT": str(port),
        }
        stderr_path = self._workdir / f"vigil-{name}-{number}.stderr"
        stderr_file = stderr_path.open("wb")
        try:
            process = subprocess.Popen(argv, env=env, cwd=self._workdir, stderr=stderr_file)
        except BaseException:
            stderr_file.close()
            raise
        service = ServiceProcess(name, port, env, process, stderr_path, stderr_file)
        self._started.append(service)
        return service

    def _role_env(self, name: str) -> dict[str, str]:
        """``VIGIL_DATABASE_URL`` as the service's own role, for a Vigil service."""
        if self._database_url_as is None or name not in SERVICE_ROLES:
            return {}
        return {"VIGIL_DATABASE_URL": self._database_url_as(SERVICE_ROLES[name])}


def _wait_until(service: ServiceProcess, until: Until, timeout_s: float) -> None:
    """Poll /readyz (or /healthz) until 200; fail early when the child exits."""
    path = "/readyz" if until == "ready" else "/healthz"
    deadline = time.monotonic() + timeout_s
    last: tuple[int, Any] | str = "no answer"
    while time.monotonic() < deadline:
        code = service.returncode
        if code is not None:
            if code == EXIT_STARTUP and BIND_FAILURE in service.stderr:
                raise _PortTaken
            raise AssertionError(service.describe(f"exited with {code} before {until}"))
        try:
            last = service.get(path)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if last[0] == 200:
                return
        time.sleep(POLL_S)
    raise AssertionError(service.describe(f"not {until} within {timeout_s}s, {path}: {last}"))


def _console_script(name: str) -> str:
    """`vigil-<name>` from this interpreter's bin folder (else from PATH)."""
    found = console_script(f"vigil-{name}")
    if found is None:
        raise AssertionError(f"console script vigil-{name} is not installed")
    return found


def _decode(raw: bytes) -> Any:
    text = raw.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
