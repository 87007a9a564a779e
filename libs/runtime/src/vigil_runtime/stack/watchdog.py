"""Stop a stack when the process that owns it dies (a killed test session leaks nothing).

Usage: ``python -m vigil_runtime.stack.watchdog --owner PID --data-dir DIR [--purge]``.
Started detached by the pytest plugin; the plugin kills it after a normal teardown. If the
owner disappears first (SIGKILL, OOM, CI timeout), the watchdog runs ``LocalStack.down``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from vigil_runtime.stack.launcher import LocalStack
from vigil_runtime.stack.procs import pid_alive

POLL_INTERVAL_S = 1.0


def spawn(owner: int, data_dir: Path, *, purge: bool) -> int:
    """Start a detached watchdog for ``data_dir`` and return its pid."""
    args = [sys.executable, "-m", __name__, "--owner", str(owner), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [*args, "--purge"] if purge else args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc.pid


def watch(owner: int, data_dir: Path, *, purge: bool) -> None:
    """Block until ``owner`` is gone, then stop (and optionally purge) the stack."""
    while pid_alive(owner):
        time.sleep(POLL_INTERVAL_S)
    LocalStack(data_dir).down(purge=purge)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--owner", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--purge", action="store_true")
    args = parser.parse_args(argv)
    watch(args.owner, args.data_dir, purge=args.purge)


if __name__ == "__main__":
    main()
