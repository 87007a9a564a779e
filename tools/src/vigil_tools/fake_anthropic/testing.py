"""In-process fake for tests: ``async with running_fake() as fake:`` gives a server on a free
local port and a handle to script it directly (no HTTP round trip for the control side).

    async with running_fake(api_key="k") as fake:
        client = anthropic.AsyncAnthropic(api_key="k", base_url=fake.base_url)
        fake.add_faults({"kind": "rate_limit", "retry_after": 0.05})
        fake.script_answers({"primary_insight": "..."})
        ...
        assert fake.summary()["by_path"]["/v1/messages"] == 2

For a fake in another process (``vigil-fake-anthropic``), :mod:`remote` has the same control
methods over HTTP. `SAMPLE_TOOL`, `sample_tool_request` and `image_block` build requests.
"""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from PIL import Image

from vigil_tools.fake_anthropic.app import build_app
from vigil_tools.fake_anthropic.faults import Fault
from vigil_tools.fake_anthropic.state import FakeConfig, FakeState

SAMPLE_MODEL = "claude-sonnet-4-5"

SAMPLE_TOOL: dict[str, Any] = {
    "name": "record_answer",
    "description": "Record the answer.",
    "input_schema": {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "minLength": 1, "maxLength": 40},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "level": {"type": "string", "enum": ["low", "high"]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "flag": {"type": "boolean"},
        },
        "required": ["summary", "score", "level", "tags", "flag"],
        "additionalProperties": False,
    },
}


def jpeg_bytes(width: int, height: int) -> bytes:
    """A plain JPEG of this size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 140)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def jpeg_b64(width: int, height: int) -> str:
    """A plain JPEG of this size, base64-encoded."""
    return base64.b64encode(jpeg_bytes(width, height)).decode()


def image_block(width: int, height: int, media_type: str = "image/jpeg") -> dict[str, Any]:
    """A base64 image content block."""
    source = {"type": "base64", "media_type": media_type, "data": jpeg_b64(width, height)}
    return {"type": "image", "source": source}


def user_message(*content: dict[str, Any] | str) -> Any:
    """A `user` message of these blocks (a str is a text block); typed Any for the SDK's
    TypedDict parameters."""
    blocks = [{"type": "text", "text": c} if isinstance(c, str) else c for c in content]
    return {"role": "user", "content": blocks}


def sample_tool_request(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments of `messages.create` forcing SAMPLE_TOOL."""
    request: dict[str, Any] = {
        "model": SAMPLE_MODEL,
        "max_tokens": 512,
        "tools": [SAMPLE_TOOL],
        "tool_choice": {"type": "tool", "name": SAMPLE_TOOL["name"]},
        "messages": [{"role": "user", "content": "Describe."}],
    }
    request.update(overrides)
    return request


@dataclass
class FakeAnthropic:
    """A running fake: where it listens, its key, and its state."""

    base_url: str
    api_key: str
    state: FakeState

    def add_faults(self, *faults: Fault | Mapping[str, Any]) -> None:
        """Queue faults for the next requests (see :mod:`faults` for the fields)."""
        self.state.faults.add(
            [f if isinstance(f, Fault) else Fault.model_validate(f) for f in faults]
        )

    def script_answers(self, *inputs: Any) -> None:
        """The next tool inputs, used verbatim (valid or not), one per answer."""
        self.state.answers.extend(inputs)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Logged requests, all or those of one route (e.g. `/v1/messages`, `batch_item`)."""
        return [e for e in self.state.log.entries if path is None or e["path"] == path]

    def summary(self) -> dict[str, Any]:
        """Counts per path and status, and token totals (no entries)."""
        return self.state.log.summary(with_entries=False)

    @property
    def config(self) -> FakeConfig:
        """The live settings (latency_s, batch_delay_s, ...): assign to change them."""
        return self.state.config

    def reset(self) -> None:
        """Forget faults, answers, cached prefixes, the log and the batches."""
        self.state.reset()


@asynccontextmanager
async def running_fake(
    *,
    api_key: str = "test-key",
    latency_s: float = 0.0,
    batch_delay_s: float = 0.2,
    min_cache_tokens: int = 1024,
    host: str = "127.0.0.1",
) -> AsyncIterator[FakeAnthropic]:
    """Serve a fake on a free port of `host` for the duration of the block."""
    config = FakeConfig(api_key, latency_s, batch_delay_s, min_cache_tokens)
    state = FakeState(config=config)
    runner = web.AppRunner(build_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield FakeAnthropic(f"http://{host}:{port}", api_key, state)
    finally:
        await runner.cleanup()
