"""Fixtures of the retention tests: the service's settings and a pool as vigil_retention."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from vigil_retention.settings import RetentionSettings
from vigil_runtime.db import create_pool


@pytest.fixture
def retention_url(role_database_url: Callable[[str], str]) -> str:
    """The test database as vigil_retention's login (what the service connects as)."""
    return role_database_url("vigil_retention")


@pytest.fixture
def retention_settings(retention_url: str, redis_url: str, tmp_path: Path) -> RetentionSettings:
    """Settings of a runner against this test's database, with its own folders."""
    return RetentionSettings(
        database_url=retention_url,
        redis_url=redis_url,
        archive_dir=tmp_path / "archive",
        snapshot_dir=tmp_path / "snapshots",
        instance="test",
    )


@pytest.fixture
async def retention_pool(retention_url: str) -> AsyncIterator[Any]:
    """An asyncpg pool as vigil_retention."""
    pool = await create_pool(retention_url, application_name="retention-test")
    try:
        yield pool
    finally:
        await pool.close()
