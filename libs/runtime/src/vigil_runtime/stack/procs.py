"""Process, port and log helpers shared by the server launchers, the test harness and bench/."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vigil_runtime.stack.info import StackError
from vigil_runtime.stack.users import OsUser

LOG_TAIL_LINES = 30


def console_script(name: str) -> str | None:
    """The console script ``name`` (``vigil-ingest``, ``vigil-camsim``) of the venv this
    interpreter runs from, else from PATH; None when neither has it."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else shutil.which(name)


def free_port() -> int:
    """Ask the kernel for a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie (a dead child not yet reaped)."""
    if pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def process_identity(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (ticks since boot): with the pid, names one process.

    Recorded in state files so that a pid reused after a reboot is never mistaken for the
    server (and never signalled).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def same_process(pid: int, identity: str | None) -> bool:
    """``pid`` is alive and, when an identity was recorded, is still that very process."""
    if not pid_alive(pid):
        return False
    return identity is None or process_identity(pid) in (identity, None)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process, then SIGKILL it if it is still alive after ``timeout`` seconds."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until(lambda: not pid_alive(pid), wait):
            return
    raise StackError(f"process {pid} did not exit after SIGKILL")


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a server log, or a note when there is none."""
    if path is None:
        return "(no log file)"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def run(
    args: Sequence[str],
    *,
    user: OsUser | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
    log: Path | None = None,
) -> None:
    """Run a command to completion (as ``user`` when given); raise StackError on failure.

    Output goes to a temporary file, not a pipe: ``pg_ctl start`` leaves a daemon behind
    that would otherwise hold the pipe open and hang the caller.
    """
    out_path = (cwd or Path("/tmp")) / f".cmd-{os.getpid()}-{time.monotonic_ns()}.out"
    try:
        with open(out_path, "w+b") as out:
            try:
                proc = subprocess.run(
                    list(args),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=cwd,
                    timeout=timeout,
                    start_new_session=True,
                    check=False,
                    **(user.popen_kwargs() if user else {}),
                )
            except subprocess.TimeoutExpired as exc:
                raise StackError(f"{args[0]} timed out after {timeout}s") from exc
            out.seek(0)
            output = out.read().decode("utf-8", errors="replace")
    finally:
        out_path.unlink(missing_ok=True)
    if proc.returncode != 0:
        detail = output.strip() or "(no output)"
        raise StackError(
            f"{' '.join(args)} failed with exit code {proc.returncode}:\n{detail}\n"
            f"--- log tail ---\n{log_tail(log)}"
        )
