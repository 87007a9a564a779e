"""Everything one fake server remembers: its settings, faults, scripted answers, the prompt
cache, the request log and the batches. One instance per server; the control API and
:mod:`testing` change it; :meth:`FakeState.reset` returns it to a fresh start (settings kept).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vigil_tools.fake_anthropic.faults import FaultQueue
from vigil_tools.fake_anthropic.log import RequestLog
from vigil_tools.fake_anthropic.usage import PromptCache


@dataclass
class FakeConfig:
    """Settings: the key required (None: any non-empty key), latency, batch processing time."""

    api_key: str | None = None
    latency_s: float = 0.0
    batch_delay_s: float = 1.0
    min_cache_tokens: int = 1024


@dataclass
class FakeState:
    """The mutable state behind one server."""

    config: FakeConfig = field(default_factory=FakeConfig)
    faults: FaultQueue = field(default_factory=FaultQueue)
    answers: deque[Any] = field(default_factory=deque)
    log: RequestLog = field(default_factory=RequestLog)
    batches: dict[str, Any] = field(default_factory=dict)
    cache: PromptCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = PromptCache(min_tokens=self.config.min_cache_tokens)

    def reset(self) -> None:
        """Forget faults, scripted answers, cached prefixes, the log and the batches."""
        self.faults.clear()
        self.answers.clear()
        self.log.clear()
        self.batches.clear()
        self.cache.clear()
        self.cache.min_tokens = self.config.min_cache_tokens
