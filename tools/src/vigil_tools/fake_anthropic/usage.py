"""Token counts the way the real API reports them, and the prompt cache.

Approximations of the documented rules (the real tokenizer is not public):

- text: ⌈characters / 4⌉;
- an image: first downscaled as the API does (long edge ≤ 1568 px, and at most
  1568 × 784 pixels, the largest of the documented sizes that are not resized, ~1.2 MP),
  then ⌈width · height / 750⌉;
- tools: each definition's JSON text, plus the tool-use system prompt the API adds
  (346 tokens with tool_choice auto/none, 313 with any/tool, as documented for Claude 4);
- output: the tool input's JSON text (+10 for the block) or the answer text.

Prompt caching: the prompt is tools → system → messages; a `cache_control` block ends a
cacheable prefix. A prefix shorter than `min_cache_tokens` (1,024 for Sonnet) is not cached,
silently, as the API does. The first request with a prefix reports it as
`cache_creation_input_tokens`; later ones with the same prefix (same model) within the TTL
report `cache_read_input_tokens`; `input_tokens` is what follows the last breakpoint.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_LONG_EDGE = 1568
MAX_IMAGE_PIXELS = 1568 * 784
PIXELS_PER_TOKEN = 750
TOOL_PROMPT_AUTO = 346
TOOL_PROMPT_FORCED = 313
MESSAGE_OVERHEAD = 3
TOOL_USE_OUTPUT_OVERHEAD = 10
CACHE_TTL_S = 300.0


def text_tokens(text: str) -> int:
    """⌈len / 4⌉ tokens (0 for the empty string)."""
    return math.ceil(len(text) / 4)


def api_image_size(width: int, height: int) -> tuple[int, int]:
    """The size the API scales an image to before counting (aspect ratio kept)."""
    scale = min(1.0, MAX_LONG_EDGE / max(width, height))
    budget = MAX_IMAGE_PIXELS
    if width * height * scale * scale > budget:
        scale = math.sqrt(budget / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def image_tokens(width: int, height: int) -> int:
    """Tokens of an image of this size as sent (after the API's own downscale)."""
    w, h = api_image_size(width, height)
    return math.ceil(w * h / PIXELS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class PromptBlock:
    """One piece of the prompt in API order: its tokens, its content, a cache breakpoint."""

    tokens: int
    content: bytes
    breakpoint: bool = False


@dataclass(frozen=True, slots=True)
class PromptUsage:
    """The input side of `usage`."""

    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def total(self) -> int:
        """Every prompt token, cached or not (what count_tokens answers)."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


@dataclass
class PromptCache:
    """Prefixes seen recently, by hash of model and content, with their expiry."""

    min_tokens: int = 1024
    ttl_s: float = CACHE_TTL_S
    _expiry: dict[bytes, float] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget every cached prefix."""
        self._expiry.clear()

    def account(self, model: str, blocks: Sequence[PromptBlock]) -> PromptUsage:
        """Split the prompt's tokens into read / created / uncached, and remember prefixes."""
        now = time.monotonic()
        total, cumulative, digest = 0, [], hashlib.sha256(model.encode())
        keys: list[bytes] = []
        for block in blocks:
            total += block.tokens
            digest.update(block.content)
            cumulative.append(total)
            keys.append(digest.copy().digest())
        points = [
            i for i, b in enumerate(blocks) if b.breakpoint and cumulative[i] >= self.min_tokens
        ]
        if not points:
            return PromptUsage(input_tokens=total)
        hits = [i for i in points if self._expiry.get(keys[i], 0.0) > now]
        read = cumulative[hits[-1]] if hits else 0
        last = cumulative[points[-1]]
        for i in points:
            self._expiry[keys[i]] = now + self.ttl_s
        return PromptUsage(total - last, last - read, read)
