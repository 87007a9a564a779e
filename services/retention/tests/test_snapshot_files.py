"""snapshot_files: an expired snapshots partition's image files, path-escape safe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from vigil_retention.owner_ddl import owner_session
from vigil_retention.snapshot_files import delete_snapshot_files, partition_file_paths, safe_path

from .expire_helpers import OLD_DAY, OWNER, make_partition

PoolAs = Callable[[str], Awaitable[Any]]


def write(path: Path, data: bytes = b"jpeg") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_safe_path_keeps_paths_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "snaps"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    assert safe_path(root, "cam-1/2026/03/02/a.jpg") == root.resolve() / "cam-1/2026/03/02/a.jpg"
    for bad in ("", "/etc/passwd", "../x.jpg", "cam/../../x.jpg", "linked/x.jpg", ".", "a\x00b"):
        assert safe_path(root, bad) is None, bad


def test_delete_files_counts_missing_refuses_escapes_prunes_folders(tmp_path: Path) -> None:
    root = tmp_path / "snaps"
    kept_same_day = write(root / "cam-2/2026/03/02/b.jpg")
    write(root / "cam-1/2026/03/02/a.jpg")
    write(root / "cam-1/2026/03/03/c.jpg")
    outside = write(tmp_path / "secret.jpg", b"keep")
    (root / "cam-1/2026/03/03/link.jpg").symlink_to(outside)

    result = delete_snapshot_files(
        root, ["cam-1/2026/03/02/a.jpg", "cam-1/2026/03/03/c.jpg", "cam-1/2026/03/03/link.jpg",
               "cam-9/gone.jpg", "../secret.jpg", "/abs/secret.jpg"],
    )  # fmt: skip

    assert (result.deleted, result.missing) == (3, 1)
    assert result.refused == ["../secret.jpg", "/abs/secret.jpg"]
    assert outside.read_bytes() == b"keep"  # the symlink went, not its target
    assert not (root / "cam-1").exists()  # its emptied folders pruned
    assert kept_same_day.exists()
    assert root.is_dir()


async def test_partition_file_paths_reads_a_detached_partition(
    pg_pool: Any, pg_pool_as: PoolAs
) -> None:
    part = await make_partition(pg_pool, "snapshots", OLD_DAY)
    await pg_pool.executemany(
        "INSERT INTO snapshots (camera_id, captured_at, file_path) VALUES ($1, $2, $3)",
        [("cam-1", OLD_DAY, "cam-1/a.jpg"), ("cam-2", OLD_DAY, None),
         ("cam-3", OLD_DAY, "cam-3/c.jpg")],
    )  # fmt: skip
    pool = await pg_pool_as("vigil_retention")
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.detach_concurrently(part.table, part.name)
        paths = await partition_file_paths(conn, "public", part.name)
    assert sorted(paths) == ["cam-1/a.jpg", "cam-3/c.jpg"]
