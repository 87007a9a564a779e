"""archive_export: a detached partition to a gzip'd psql script, restored with the real psql."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from vigil_retention.archive_export import (
    ExportConflict,
    complete_export,
    delete_export,
    export_partition,
    export_paths,
)
from vigil_retention.models import Partition, PartitionState
from vigil_retention.owner_ddl import owner_session
from vigil_runtime.stack.postgres_server import local_bin_dir

from .expire_helpers import NOW, OWNER, insert_rejects, make_partition, table_rows

PoolAs = Callable[[str], Awaitable[Any]]
DETACHED = PartitionState.DETACHED


def psql_binary() -> str:
    """The stack's psql (its bin folder), else the one on PATH."""
    folder = local_bin_dir()
    if folder is not None and (folder / "psql").exists():
        return str(folder / "psql")
    found = shutil.which("psql")
    if found is None:
        pytest.fail("no psql binary: install the PostgreSQL client")
    return found


async def detached_with_rows(admin: Any, pool: Any) -> Partition:
    part = await make_partition(admin, "ingest_rejects")
    await insert_rejects(admin)
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.detach_concurrently(part.table, part.name)
    return part


async def export(pool: Any, part: Partition, archive: Path) -> Any:
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0):
        return await export_partition(
            conn, schema="public", table=part.table, partition=part.name, start=part.start,
            end=part.end, archive_dir=archive, exported_at=NOW,
        )  # fmt: skip


async def test_export_restores_with_psql_to_the_same_rows(
    pg_pool: Any, pg_pool_as: PoolAs, database_url: str, tmp_path: Path
) -> None:
    pool = await pg_pool_as("vigil_retention")
    part = await detached_with_rows(pg_pool, pool)
    original = await table_rows(pg_pool, f"public.{part.name}")
    result = await export(pool, part, tmp_path)

    assert result.path == tmp_path / "ingest_rejects" / f"{part.name}.sql.gz"
    assert (result.rows, result.reused) == (3, False)
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    manifest = json.loads(result.manifest.read_text())
    assert manifest["rows"] == 3
    assert manifest["bytes"] == result.path.stat().st_size
    assert manifest["range"] == [part.start.isoformat(), part.end.isoformat()]
    text = gzip.decompress(result.path.read_bytes()).decode()
    assert f"-- range: [{part.start.isoformat()}, {part.end.isoformat()})" in text
    assert text.endswith("\\.\n-- rows: 3\n")
    assert not list(result.path.parent.glob(".*tmp"))

    await pg_pool.execute(f"DROP TABLE public.{part.name}")
    script = gzip.decompress(result.path.read_bytes())
    done = await asyncio.to_thread(
        subprocess.run, [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", database_url],
        input=script, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert await table_rows(pg_pool, f"vigil_restore.{part.name}") == original

    await pg_pool.execute("SELECT vigil_ensure_partition('ingest_rejects', $1)", part.start)
    await pg_pool.execute(
        f"INSERT INTO public.ingest_rejects OVERRIDING SYSTEM VALUE"
        f" SELECT * FROM vigil_restore.{part.name}"
    )
    assert await table_rows(pg_pool, "public.ingest_rejects") == original


async def test_complete_export_is_reused_and_a_broken_one_rewritten(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    pool = await pg_pool_as("vigil_retention")
    part = await detached_with_rows(pg_pool, pool)
    first = await export(pool, part, tmp_path)
    again = await export(pool, part, tmp_path)
    assert again.reused
    assert (again.sha256, again.rows) == (first.sha256, first.rows)

    first.path.write_bytes(first.path.read_bytes()[:-10])  # a torn file: manifest mismatch
    assert complete_export(first.path, first.manifest) is None
    rewritten = await export(pool, part, tmp_path)
    assert not rewritten.reused
    assert rewritten.sha256 == first.sha256

    first.manifest.unlink()  # killed before the manifest was written
    assert not (await export(pool, part, tmp_path)).reused


async def test_export_of_a_missing_table_fails(pg_pool_as: PoolAs, tmp_path: Path) -> None:
    pool = await pg_pool_as("vigil_retention")
    part = Partition("ingest_rejects", "ingest_rejects_p20200101", NOW, NOW, DETACHED)
    with pytest.raises(LookupError):
        await export(pool, part, tmp_path)
    assert not export_paths(tmp_path, part.table, part.name)[0].exists()


def test_delete_export_removes_script_and_manifest(tmp_path: Path) -> None:
    path, manifest = export_paths(tmp_path, "camera_events", "camera_events_p20260101")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    manifest.write_text("{}")
    assert delete_export(tmp_path, path) is True
    assert not path.exists()
    assert not manifest.exists()
    assert delete_export(tmp_path, path) is False


def test_delete_export_refuses_paths_outside_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    outside = tmp_path / "camera_events" / "x.sql.gz"
    outside.parent.mkdir(parents=True)
    outside.write_bytes(b"keep")
    for bad in (outside, archive / ".." / "camera_events" / "x.sql.gz", archive / "x.sql.gz"):
        with pytest.raises(ValueError, match="outside"):
            delete_export(archive, bad)
    with pytest.raises(ValueError, match="not an archive export"):
        delete_export(archive, archive / "t" / "x.json")
    assert outside.read_bytes() == b"keep"


async def test_an_export_of_an_earlier_table_of_that_name_is_kept(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    """Late rows re-created an expired partition: its export must not pass for theirs."""
    pool = await pg_pool_as("vigil_retention")
    part = await detached_with_rows(pg_pool, pool)
    first = await export(pool, part, tmp_path)
    assert first.relation_oid is not None
    await pg_pool.execute(f"DROP TABLE public.{part.name}")
    again = await detached_with_rows(pg_pool, pool)
    with pytest.raises(ExportConflict, match="earlier table"):
        await export(pool, again, tmp_path)
    assert complete_export(first.path, first.manifest) == dataclasses.replace(first, reused=True)
