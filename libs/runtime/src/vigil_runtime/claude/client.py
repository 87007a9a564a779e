"""The anthropic SDK client as every service builds it, and bounds of a request's tokens.

:func:`sdk_client` builds ``anthropic.AsyncAnthropic`` from a key, an optional base URL (the
fake API in tests and demos), a per-attempt timeout and :data:`MAX_RETRIES` retries (the SDK
retries 429/5xx/529 and connection failures, honouring ``retry-after``); it answers None
without a key, an empty or blank one included, so a service runs without Claude.

A budget reservation needs an upper bound of a request's tokens before it is sent:
:func:`text_tokens_bound` counts at most one token per :data:`CHARS_PER_TOKEN_BOUND`
characters, and :data:`TOOL_PROMPT_TOKENS` is the tool-use system prompt the API adds
(images: :func:`~vigil_runtime.claude.image.image_tokens_bound`).
"""

from __future__ import annotations

import math
from typing import Final

import anthropic
from pydantic import SecretStr

__all__ = [
    "CHARS_PER_TOKEN_BOUND",
    "MAX_RETRIES",
    "TOOL_PROMPT_TOKENS",
    "sdk_client",
    "text_tokens_bound",
]

MAX_RETRIES: Final = 2
TOOL_PROMPT_TOKENS: Final = 346
"""The tool-use system prompt the API adds (Claude 4, the larger of auto and forced)."""
CHARS_PER_TOKEN_BOUND: Final = 3


def sdk_client(
    api_key: SecretStr | str | None,
    *,
    base_url: str | None,
    timeout_s: float,
    max_retries: int = MAX_RETRIES,
) -> anthropic.AsyncAnthropic | None:
    """The SDK client; None without a key (None, empty or blank)."""
    secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    key = (secret or "").strip()
    if not key:
        return None
    return anthropic.AsyncAnthropic(
        api_key=key, base_url=base_url or None, timeout=timeout_s, max_retries=max_retries
    )


def text_tokens_bound(*texts: str) -> int:
    """At most how many tokens these texts are."""
    return math.ceil(sum(len(text) for text in texts) / CHARS_PER_TOKEN_BOUND)
