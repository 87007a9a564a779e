"""LocalStack: PostgreSQL, Redis and an MQTT broker as local processes in one data folder."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from vigil_runtime.stack.base import Server
from vigil_runtime.stack.info import ENV_FILE, SERVER_NAMES, ServerState, StackError, StackInfo
from vigil_runtime.stack.procs import free_port, port_in_use, process_identity
from vigil_runtime.stack.registry import choose_backend, make_server, parse_forced

START_ATTEMPTS = 3
LAST_PORT_FILE = "last_port"  # survives `down`, so a restarted stack keeps its URLs
ServerStatus = dict[str, str | int | bool | None]


class LocalStack:
    """Start, find and stop the stack recorded under ``data_dir``.

    Every server writes ``<data_dir>/<name>/state.json`` (backend, pid, port, url), so a
    later ``LocalStack`` on the same folder, in any process, can reuse or stop it.
    ``durable=False`` trades crash safety for speed (fsync off): for tests only.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        force_embedded: bool | set[str] | frozenset[str] = False,
        durable: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.forced = parse_forced(force_embedded)
        self.durable = durable

    def up(self) -> StackInfo:
        """Start what is not running (reusing what is), write the env file, return the URLs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        started: list[tuple[Server, ServerState]] = []
        with self._lock():
            try:
                states = {name: self._ensure(name, started) for name in SERVER_NAMES}
            except BaseException:
                for server, state in reversed(started):
                    with contextlib.suppress(Exception):
                        server.stop(state)
                        server.state_path.unlink(missing_ok=True)
                raise
            info = self._info(states)
            info.write_env()
        return info

    def down(self, *, purge: bool = False) -> None:
        """Stop every recorded server; with ``purge`` also delete their data and the env file."""
        errors: list[str] = []
        with self._lock():
            for name in reversed(SERVER_NAMES):
                state = ServerState.load(self.data_dir / name / "state.json")
                backend = state.backend if state else "local"
                server = make_server(name, self.data_dir, backend, durable=self.durable)
                try:
                    if state is not None:
                        server.stop(state)
                        server.state_path.unlink(missing_ok=True)
                    if purge:
                        server.purge(state)
                except (StackError, OSError) as exc:
                    errors.append(f"{name}: {exc}")
            if purge:
                (self.data_dir / ENV_FILE).unlink(missing_ok=True)
        if errors:
            raise StackError("could not stop the stack cleanly:\n" + "\n".join(errors))

    def status(self) -> dict[str, ServerStatus]:
        """Per server: backend, pid, port, url and whether it is alive (answers its protocol)."""
        report: dict[str, ServerStatus] = {}
        for name in SERVER_NAMES:
            state = ServerState.load(self.data_dir / name / "state.json")
            if state is None:
                report[name] = {
                    "backend": None,
                    "pid": None,
                    "port": None,
                    "url": None,
                    "alive": False,
                }
                continue
            server = make_server(name, self.data_dir, state.backend, durable=self.durable)
            report[name] = {
                "backend": state.backend,
                "pid": state.pid,
                "port": state.port,
                "url": state.url,
                "alive": server.alive(state),
            }
        return report

    def _ensure(self, name: str, started: list[tuple[Server, ServerState]]) -> ServerState:
        """Reuse the recorded server if it runs with the wanted backend, else (re)start it."""
        backend = choose_backend(name, self.forced)
        server = make_server(name, self.data_dir, backend, durable=self.durable)
        previous = ServerState.load(server.state_path)
        if previous is not None:
            if previous.backend == backend and server.alive(previous):
                return previous
            old = make_server(name, self.data_dir, previous.backend, durable=self.durable)
            old.stop(previous)
            server.state_path.unlink(missing_ok=True)
        state = self._start(server, previous.port if previous else _last_port(server))
        identity = process_identity(state.pid)
        if identity is not None:
            state = replace(state, extra={**state.extra, "identity": identity})
        started.append((server, state))
        state.save(server.state_path)
        (server.folder / LAST_PORT_FILE).write_text(f"{state.port}\n", encoding="ascii")
        return state

    def _start(self, server: Server, preferred_port: int | None) -> ServerState:
        """Start on the previous port when free (URLs stay valid), else on a fresh free port.

        A free port can be taken by someone else before the server binds it; then the start
        is retried on another port.
        """
        port = preferred_port if preferred_port and not port_in_use(preferred_port) else None
        for attempt in range(1, START_ATTEMPTS + 1):
            port = port or free_port()
            try:
                return server.start(port)
            except StackError:
                if attempt == START_ATTEMPTS or not port_in_use(port):
                    raise
                port = None
        raise AssertionError("unreachable")

    def _info(self, states: dict[str, ServerState]) -> StackInfo:
        warnings: list[str] = []
        for name, state in states.items():
            server = make_server(name, self.data_dir, state.backend, durable=self.durable)
            warnings.extend(server.warnings())
        return StackInfo(
            database_url=states["postgres"].url,
            redis_url=states["redis"].url,
            mqtt_url=states["mqtt"].url,
            backends={name: state.backend for name, state in states.items()},
            warnings=warnings,
            data_dir=self.data_dir,
        )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise up/down on one data folder across processes (flock on ``.lock``)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _last_port(server: Server) -> int | None:
    """The port the server used last time, if recorded."""
    try:
        return int((server.folder / LAST_PORT_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
