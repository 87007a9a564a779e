"""The demo's Claude: `vigil-fake-anthropic` (tools/fake_anthropic) as a child process.

Nothing on a demo machine may reach api.anthropic.com (and a demo must cost nothing), so the
analyzer talks to the protocol double instead: the real anthropic SDK, pointed at it with
``ANTHROPIC_BASE_URL`` and a placeholder key. It answers every tool call with a valid scene
analysis and counts tokens like the real API, so the analyzer's limits, budget and
``claude_analyses`` rows behave as in production. Its log: ``<data dir>/logs/fake-anthropic.log``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from vigil_tools.fake_anthropic.process import FakeProcess, start_fake_process

DEMO_API_KEY: Final = "demo-key-not-a-secret"


def analyzer_env(fake: FakeProcess) -> dict[str, str]:
    """What the analyzer needs to use the fake; routine batches go out and come back within
    seconds, so the demo shows analyses soon (production waits a minute)."""
    return {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": fake.api_key,
            "VIGIL_CLAUDE_BATCH_WAIT_S": "5", "VIGIL_CLAUDE_BATCH_POLL_S": "2"}  # fmt: skip


def start_fake_anthropic(data_dir: Path) -> FakeProcess:
    """Start the double on a free port and wait until it answers; raises RuntimeError."""
    return start_fake_process(data_dir / "logs" / "fake-anthropic.log", api_key=DEMO_API_KEY)


def optimizer_claude_env(fake: FakeProcess) -> dict[str, str]:
    """What the optimizer's Claude engine needs to use the fake."""
    return {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": fake.api_key}
