"""The fake as a child process (``python -m vigil_tools.fake_anthropic``): for ``vigil demo``
and for end-to-end tests, where the analyzer is a process of its own and needs a real HTTP
server to point ``ANTHROPIC_BASE_URL`` at.

:func:`start_fake_process` picks a free port, starts the fake with the given key (its own
session, so a terminal's Ctrl-C reaches its parent only), logs to ``log_path`` and returns
once the fake answers its control API; :meth:`FakeProcess.stop` sends SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vigil_runtime.stack.procs import free_port, log_tail

READY_TIMEOUT_S: Final = 15.0
STOP_TIMEOUT_S: Final = 5.0


@dataclass
class FakeProcess:
    """A running fake: its process, URL, key and log."""

    process: subprocess.Popen[bytes]
    base_url: str
    api_key: str
    log_path: Path

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> int:
        """SIGTERM, SIGKILL after a timeout; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_fake/requests", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_fake_process(log_path: Path, *, api_key: str, batch_delay_s: float = 2.0) -> FakeProcess:
    """Start the fake on a free port and wait until it answers; raises RuntimeError."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "vigil_tools.fake_anthropic", "--port", str(port),
               "--api-key", api_key, "--batch-delay", str(batch_delay_s)]  # fmt: skip
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    fake = FakeProcess(process, f"http://127.0.0.1:{port}", api_key, log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(fake.base_url):
        if process.poll() is not None or time.monotonic() > deadline:
            fake.stop()
            raise RuntimeError(f"vigil-fake-anthropic did not start:\n{fake.log_tail()}")
        time.sleep(0.1)
    return fake
