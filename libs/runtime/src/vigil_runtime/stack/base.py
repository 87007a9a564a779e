"""The common shape of a launched server: start on a port, probe, stop, purge."""

from __future__ import annotations

import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from vigil_runtime.stack.info import STATE_FILE, Backend, ServerState, StackError
from vigil_runtime.stack.procs import log_tail, pid_alive, same_process, terminate


class Server(ABC):
    """One server of the stack, living in its own folder ``<data_dir>/<name>``."""

    name: ClassVar[str]
    start_timeout_s: ClassVar[float] = 30.0

    def __init__(self, folder: Path, backend: Backend, *, durable: bool = True) -> None:
        self.folder = folder
        self.backend: Backend = backend
        self.durable = durable

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    @abstractmethod
    def start(self, port: int) -> ServerState:
        """Start the server on 127.0.0.1:port and return once it answers its protocol."""

    @abstractmethod
    def answers(self, state: ServerState) -> bool:
        """One quick protocol-level probe of a running server."""

    def stop(self, state: ServerState) -> None:
        """Stop the server recorded in ``state`` (default: SIGTERM, then SIGKILL)."""
        if self.owns(state):
            terminate(state.pid)

    def warnings(self) -> list[str]:
        """Caveats the user must know about this backend (shown by ``vigil stack up``)."""
        return []

    def purge(self, state: ServerState | None) -> None:
        """Delete the server's data (it must be stopped), including folders outside ``folder``."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def owns(self, state: ServerState) -> bool:
        """The recorded pid still is the process this stack started (not a reused pid)."""
        return same_process(state.pid, state.extra.get("identity"))

    def alive(self, state: ServerState) -> bool:
        """The recorded process exists and answers."""
        return self.owns(state) and self.answers(state)

    def wait_ready(
        self, probe: Callable[[], bool], pid: Callable[[], int | None], log: Path | None
    ) -> None:
        """Poll ``probe`` until it succeeds; fail fast if the process died, with the log tail.

        A server that is still running but never answered is killed before the error is
        raised, so a failed start leaves no stray process behind.
        """
        deadline = time.monotonic() + self.start_timeout_s
        while not probe():
            current = pid()
            if current is not None and not pid_alive(current):
                raise StackError(f"{self.name} exited during startup:\n{log_tail(log)}")
            if time.monotonic() >= deadline:
                if current is not None:
                    terminate(current)
                raise StackError(
                    f"{self.name} did not answer within {self.start_timeout_s:.0f}s:\n"
                    f"{log_tail(log)}"
                )
            time.sleep(0.1)
