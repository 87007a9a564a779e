"""The image files of an expired ``snapshots`` partition, deleted before its rows.

``snapshots.file_path`` holds a path relative to the optimizer's snapshot folder
(``settings.snapshot_dir``, the runtime's ``SnapshotDirSettings``). When a snapshots
partition leaves the database (dropped, or dropped after a file export, or dropped from
``vigil_archive``), :func:`partition_file_paths` reads its rows' paths (from the detached or
archived table, so in an :func:`~vigil_retention.owner_ddl.owner_session`) and
:func:`delete_snapshot_files` deletes those files first; the caller drops the table after.
A run killed in between finds the rows again next time and the files already gone, which
counts as done: missing files are fine.

Path-escape safe: a path that is absolute, or that resolves (through ``..`` or a symlinked
folder) outside the snapshot folder, is refused and left alone, never deleted. A file that
is itself a symlink is unlinked as a link (its target stays). Day folders left empty are
removed, up to (not including) the snapshot folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import asyncpg

from vigil_retention.owner_ddl import qualified
from vigil_runtime.logging import get_logger

__all__ = ["FileDeletion", "delete_snapshot_files", "partition_file_paths", "safe_path"]

log = get_logger(__name__)


@dataclass(slots=True)
class FileDeletion:
    """What :func:`delete_snapshot_files` did with each path."""

    deleted: int = 0
    missing: int = 0
    refused: list[str] = field(default_factory=list)


async def partition_file_paths(conn: asyncpg.Connection, schema: str, name: str) -> list[str]:
    """The non-null ``file_path`` values of the snapshots table ``schema.name``."""
    rows = await conn.fetch(
        f"SELECT file_path FROM {qualified(schema, name)} WHERE file_path IS NOT NULL"
    )
    return [str(r["file_path"]) for r in rows]


def safe_path(root: Path, relative: str) -> Path | None:
    """``root/relative`` with its folder resolved, or ``None`` if it would leave ``root``."""
    rel = PurePosixPath(relative)
    if not relative or rel.is_absolute() or ".." in rel.parts or "\x00" in relative:
        return None
    real_root = Path(root).resolve()
    candidate = real_root.joinpath(*rel.parts)
    real = candidate.parent.resolve() / candidate.name
    if real == real_root or not real.is_relative_to(real_root):
        return None
    return real


def delete_snapshot_files(root: Path, paths: Iterable[str]) -> FileDeletion:
    """Delete each ``root/path`` (module docstring); refused paths are logged and kept."""
    result = FileDeletion()
    folders: set[Path] = set()
    for relative in paths:
        target = safe_path(root, relative)
        if target is None:
            result.refused.append(relative)
            log.warning("snapshot_file_refused", path=relative, snapshot_dir=str(root))
            continue
        try:
            target.unlink()
            result.deleted += 1
            folders.add(target.parent)
        except FileNotFoundError:
            result.missing += 1
    _remove_empty_folders(Path(root).resolve(), folders)
    return result


def _remove_empty_folders(root: Path, folders: set[Path]) -> None:
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        current = folder
        while current != root and current.is_relative_to(root):
            try:
                os.rmdir(current)
            except OSError:  # not empty, or gone already
                break
            current = current.parent
