"""Keeping snapshots: the file under the snapshot folder and the rows, as ``vigil_optimizer``.

Real PostgreSQL (the project's test stack), the optimizer's own role, and a real photograph:
the file is written where the path scheme says, the ``snapshots`` and ``health_metrics`` rows
hold what was measured, a second save changes nothing, and a capture time whose partitions do
not exist yet gets them created on the way.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from PIL import Image

from vigil_analyzer.model_files import default_models_dir
from vigil_optimizer.health import SnapshotStore, measure_jpeg
from vigil_optimizer.health.store import relative_path
from vigil_tools.photo_degrade import degrade_jpeg

PoolAs = Callable[[str], Awaitable[Any]]


def _dog() -> Image.Image:
    path = Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir()) / "testdata/dog.jpg"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make models`")
    return Image.open(path).convert("RGB")


NOISY = degrade_jpeg(_dog(), noise=25.0, seed=1)
NOISY_ASSESSMENT = measure_jpeg(NOISY)


def test_the_path_is_camera_date_and_utc_time_without_colons() -> None:
    at = datetime(2026, 12, 2, 7, 30, 5, 250000, tzinfo=timezone(timedelta(hours=2)))
    assert relative_path("cam-1", at) == PurePosixPath(
        "cam-1/2026/12/02/2026-12-02T05-30-05.250000Z.jpg"
    )
    midnight = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert str(relative_path("cam-1", midnight)) == "cam-1/2026/12/31/2026-12-31T23-30-00Z.jpg"


@pytest.mark.parametrize("camera_id", ["../etc", "Cam/1", "", "a b"])
def test_a_camera_id_that_could_leave_the_folder_is_refused(camera_id: str) -> None:
    with pytest.raises(ValueError):
        relative_path(camera_id, datetime(2026, 1, 1, tzinfo=UTC))


def test_a_capture_time_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        relative_path("cam-1", datetime(2026, 1, 1))


async def _partitions(conn: Any, parent: str) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass", parent
    )
    return count


async def test_save_writes_the_file_and_the_rows(pg_pool_as: PoolAs, tmp_path: Path) -> None:
    pool = await pg_pool_as("vigil_optimizer")
    store = SnapshotStore(pool, tmp_path)
    at = datetime.now(UTC).replace(microsecond=123456)

    stored = await store.save("cam-7", at, NOISY, NOISY_ASSESSMENT)

    assert stored.inserted
    assert stored.file_path == str(relative_path("cam-7", at))
    assert (tmp_path / stored.file_path).read_bytes() == NOISY
    assert [p.name for p in (tmp_path / stored.file_path).parent.iterdir()] == [
        Path(stored.file_path).name
    ]  # no temporary file left behind
    health = NOISY_ASSESSMENT.health
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM snapshots WHERE id = $1", stored.snapshot_id)
        metrics = await conn.fetch(
            "SELECT metric_type, value, status, ts FROM health_metrics WHERE camera_id = $1"
            " ORDER BY metric_type",
            "cam-7",
        )
    assert row is not None
    assert (row["camera_id"], row["captured_at"], row["file_path"]) == (
        "cam-7",
        at,
        stored.file_path,
    )
    assert row["content_sha256"] == hashlib.sha256(NOISY).hexdigest()
    assert (row["width"], row["height"], row["size_bytes"]) == (768, 576, len(NOISY))
    assert row["health_level"] == "critical" == health.level
    assert row["health_metrics"] == health.metrics
    assert row["anomalies"] == health.anomalies
    assert [a["type"] for a in row["anomalies"]] == ["high_noise"]
    assert [(m["metric_type"], m["status"]) for m in metrics] == [
        ("blur_score", "ok"), ("brightness", "ok"), ("noise_level", "critical"),
    ]  # fmt: skip
    values = {m["metric_type"]: m["value"] for m in metrics}
    assert values["noise_level"] == health.metrics["noise"]["noiseLevel"] > 15
    assert values["brightness"] == health.metrics["exposure"]["meanBrightness"]
    assert values["blur_score"] == health.metrics["motionBlur"]["blurScore"]
    assert all(m["ts"] == at for m in metrics)


async def test_saving_the_same_capture_again_changes_nothing(
    pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    pool = await pg_pool_as("vigil_optimizer")
    store = SnapshotStore(pool, tmp_path)
    at = datetime.now(UTC)
    first = await store.save("cam-7", at, NOISY, NOISY_ASSESSMENT)
    other = degrade_jpeg(_dog(), darkness=0.85)

    again = await store.save("cam-7", at, other, measure_jpeg(other))

    assert (again.snapshot_id, again.file_path, again.inserted) == (
        first.snapshot_id, first.file_path, False,
    )  # fmt: skip
    assert (tmp_path / first.file_path).read_bytes() == NOISY
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM snapshots") == 1
        assert await conn.fetchval("SELECT count(*) FROM health_metrics") == 3
        level = await conn.fetchval("SELECT health_level FROM snapshots")
    assert level == "critical"


async def test_missing_partitions_are_created_on_the_way(
    pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    pool = await pg_pool_as("vigil_optimizer")
    at = datetime(2031, 7, 14, 23, 59, 59, tzinfo=UTC)  # far beyond the premade partitions
    async with pool.acquire() as conn:
        before = (await _partitions(conn, "snapshots"), await _partitions(conn, "health_metrics"))

    stored = await SnapshotStore(pool, tmp_path).save("cam-7", at, NOISY, NOISY_ASSESSMENT)

    assert stored.inserted
    async with pool.acquire() as conn:
        after = (await _partitions(conn, "snapshots"), await _partitions(conn, "health_metrics"))
        where = await conn.fetchval(
            "SELECT tableoid::regclass::text FROM snapshots WHERE id = $1", stored.snapshot_id
        )
        days = await conn.fetch(
            "SELECT DISTINCT tableoid::regclass::text AS p FROM health_metrics WHERE ts = $1", at
        )
    assert after == (before[0] + 1, before[1] + 1)
    assert "2031" in where
    assert [day["p"] for day in days] == [days[0]["p"]]
    assert "2031" in days[0]["p"]
    assert (tmp_path / "cam-7/2031/07/14/2031-07-14T23-59-59Z.jpg").read_bytes() == NOISY


async def test_a_failed_file_write_rolls_the_rows_back(pg_pool_as: PoolAs, tmp_path: Path) -> None:
    pool = await pg_pool_as("vigil_optimizer")
    blocker = tmp_path / "cam-7"
    blocker.write_text("a file where the camera's folder should be")
    with pytest.raises(OSError):
        await SnapshotStore(pool, tmp_path).save(
            "cam-7", datetime.now(UTC), NOISY, NOISY_ASSESSMENT
        )
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM snapshots") == 0
        assert await conn.fetchval("SELECT count(*) FROM health_metrics") == 0
