"""The demo's Claude: `vigil-fake-anthropic` (tools/fake_anthropic) as a child process.

Nothing on a demo machine may reach api.anthropic.com (and a demo must cost nothing), so the
analyzer talks to the protocol double instead: the real anthropic SDK, pointed at it with
``ANTHROPIC_BASE_URL`` and a placeholder key. It answers every tool call with a valid scene
analysis and counts tokens like the real API, so the analyzer's limits, budget and
``claude_analyses`` rows behave as in production. Its log: ``<data dir>/logs/fake-anthropic.log``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vigil_runtime.stack.procs import log_tail

DEMO_API_KEY: Final = "demo-key-not-a-secret"
READY_TIMEOUT_S: Final = 15.0
STOP_TIMEOUT_S: Final = 5.0


@dataclass
class FakeAnthropic:
    """The running double: its process, URL and log."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def env(self) -> dict[str, str]:
        """What the analyzer needs to use it; routine batches go out and come back within
        seconds, so the demo shows analyses soon (production waits a minute)."""
        return {"ANTHROPIC_BASE_URL": self.base_url, "ANTHROPIC_API_KEY": DEMO_API_KEY,
                "VIGIL_CLAUDE_BATCH_WAIT_S": "5", "VIGIL_CLAUDE_BATCH_POLL_S": "2"}  # fmt: skip

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_fake/requests", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_fake_anthropic(data_dir: Path) -> FakeAnthropic:
    """Start the double on a free port and wait until it answers; raises RuntimeError."""
    port = _free_port()
    log_path = data_dir / "logs" / "fake-anthropic.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "vigil_tools.fake_anthropic", "--port", str(port),
               "--api-key", DEMO_API_KEY]  # fmt: skip
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    fake = FakeAnthropic(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(fake.base_url):
        if process.poll() is not None or time.monotonic() > deadline:
            fake.stop()
            raise RuntimeError(f"vigil-fake-anthropic did not start:\n{fake.log_tail()}")
        time.sleep(0.1)
    return fake
