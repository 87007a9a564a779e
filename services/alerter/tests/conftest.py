"""Fixtures shared by the alerter's tests.

- ``clock``: a :class:`~vigil_alerter.clock.ManualClock` (2026-01-06 12:00 UTC, a Tuesday).
- ``alerter_pool``: an asyncpg pool on this test's database as the ``vigil_alerter`` role
  (what the service gets; arrange rows it may not write through ``pg_pool``).
- ``loaded_config``: ``loaded_config(yaml_text)`` → a
  :class:`~vigil_alerter.config.holder.LoadedConfig` (tree, inhibitor, intervals) of that
  text, loaded at ``clock()``.
- ``config_source``: ``config_source(yaml_text)`` → an object whose ``current`` is that
  ``LoadedConfig`` (what the engine takes instead of a file-backed ``ConfigHolder``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from vigil_alerter.clock import ManualClock
from vigil_alerter.config.holder import LoadedConfig


@dataclass
class FixedConfig:
    """A configuration source that never reloads."""

    current: LoadedConfig


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest_asyncio.fixture
async def alerter_pool(pg_pool_as: Callable[[str], Awaitable[Any]]) -> Any:
    return await pg_pool_as("vigil_alerter")


@pytest.fixture
def loaded_config(clock: ManualClock) -> Callable[[str], LoadedConfig]:
    def build(text: str) -> LoadedConfig:
        return LoadedConfig.parse(text, "test.yml", clock())

    return build


@pytest.fixture
def config_source(loaded_config: Callable[[str], LoadedConfig]) -> Callable[[str], FixedConfig]:
    def build(text: str) -> FixedConfig:
        return FixedConfig(loaded_config(text))

    return build
