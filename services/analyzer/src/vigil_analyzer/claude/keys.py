"""Redis keys and limit scopes of the Claude analyst, in one place (docs/contracts.md).

- ``vigil:claude:claimed:{frame key}``: a frame's claim (SET NX, a day): whoever sets it may
  ask Claude about the frame; a redelivered frame finds it and is skipped, so a frame is
  analysed at most once across redeliveries and replicas.
- ``vigil:ratelimit:claude:calls:*``: the sliding-window limits
  (:class:`~vigil_runtime.rate_limit.RateLimiter`), global and per camera, per minute and
  per hour.
- ``vigil:ratelimit:claude:tokens:*``: the daily token budget
  (:class:`~vigil_runtime.token_budget.TokenBudget`).
- ``vigil:camera:{id}:scene``: the camera's last summaries (:mod:`.memory`,
  :func:`vigil_schema.streams.camera_scene_key`).
- ``vigil:claude:questions``: hash camera → an operator's question (``vigil ask``), answered
  on the camera's next analysed frame (:data:`vigil_schema.streams.CLAUDE_QUESTIONS_KEY`).
- ``vigil:claude:batches``: hash batch id → the submitted batch's requests (JSON), so any
  replica can collect a batch's results after the submitter died.

A frame's key (:func:`~.models.request_key`) is ``{camera_id}:{frame_number}:{ts in epoch
ms}``, the claude_analyses dedup key (camera_id, frame_number, ts) as one string.
"""

from __future__ import annotations

from typing import Final

from vigil_runtime.rate_limit import Limit
from vigil_schema.streams import CLAUDE_QUESTIONS_KEY, ratelimit_key

CLAIM_PREFIX: Final = "vigil:claude:claimed:"
CLAIM_TTL_S: Final = 24 * 3600
RATE_PREFIX: Final = ratelimit_key("claude", "calls")
BUDGET_PREFIX: Final = ratelimit_key("claude", "tokens")
QUESTIONS: Final = CLAUDE_QUESTIONS_KEY
BATCHES: Final = "vigil:claude:batches"
BUDGET_NAME: Final = "claude"


def claim_key(key: str) -> str:
    """The Redis key of a frame's claim."""
    return CLAIM_PREFIX + key


def call_limits(
    camera_id: str,
    *,
    per_minute: int,
    per_hour: int,
    camera_per_minute: int,
    camera_per_hour: int,
) -> list[Limit]:
    """The four hard limits one call must fit in, all at once."""
    return [
        Limit("global:minute", per_minute, 60.0),
        Limit("global:hour", per_hour, 3600.0),
        Limit(f"camera:{camera_id}:minute", camera_per_minute, 60.0),
        Limit(f"camera:{camera_id}:hour", camera_per_hour, 3600.0),
    ]
