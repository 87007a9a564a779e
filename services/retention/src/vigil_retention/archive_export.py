"""Export of a detached partition to a gzip'd psql script in the archive folder (archive_file).

:func:`export_partition` writes ``<archive_dir>/<table>/<partition>.sql.gz``:

- header comments (table, partition, range, rows, exported at, how to restore);
- ``CREATE SCHEMA IF NOT EXISTS vigil_restore;`` and ``CREATE TABLE IF NOT EXISTS
  vigil_restore.<partition> (LIKE public.<table>);``
- ``COPY vigil_restore.<partition> (<columns>) FROM stdin;``, the rows in COPY's text format
  (streamed from the server, ``copy_from_table``), and ``\\.``.

Restore it with ``gunzip -c F | psql -v ON_ERROR_STOP=1 <database>``, then put the rows back
with ``INSERT INTO public.<table> OVERRIDING SYSTEM VALUE SELECT * FROM
vigil_restore.<partition>`` (the partition of their range must exist:
``SELECT vigil_ensure_partition('<table>', '<range start>')``).

The script is written to a temporary name in the same folder, flushed and fsynced, renamed,
then the sidecar ``<partition>.json`` manifest (table, partition, range, rows, sha256 and
bytes of the ``.sql.gz``) likewise, and the folder fsynced. An export is complete when its
manifest exists and matches the file's size and SHA-256 (:func:`complete_export`): a rerun
reuses a complete one of the same table (its OID, in the manifest) and rewrites anything
else, so a run killed mid-export is finished by the next; a complete export of an earlier
table of that name (late rows re-created the partition after it expired) is never reused
nor overwritten: :class:`ExportConflict`, for an operator. The caller drops the partition
only after this returns. The row count is only known at the end: the header says where the
trailer with the count is (the manifest has it too).

:func:`delete_export` removes an export (script and manifest), refusing paths outside the
archive folder. The export reads the detached partition, so it runs in an
:func:`~vigil_retention.owner_ddl.owner_session`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg

from vigil_retention.owner_ddl import qualified, quote_ident

__all__ = [
    "COPY_TIMEOUT_S",
    "RESTORE_SCHEMA",
    "ExportConflict",
    "ExportResult",
    "complete_export",
    "delete_export",
    "export_partition",
    "export_paths",
]

RESTORE_SCHEMA = "vigil_restore"
COPY_TIMEOUT_S = 6 * 3600.0
"""COPY of a whole partition: far longer than the pool's command timeout."""

_OID_SQL = "SELECT to_regclass(format('%I.%I', $1::text, $2::text))::oid"
_COLUMNS_SQL = """
SELECT a.attname FROM pg_attribute a
 WHERE a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text))
   AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
 ORDER BY a.attnum
"""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A complete export: its script and manifest, rows, bytes, SHA-256; reused or written."""

    path: Path
    manifest: Path
    rows: int
    bytes: int
    sha256: str
    reused: bool
    relation_oid: int | None = None
    """OID of the exported table: a later table of the same name (late rows re-created the
    partition after it expired) has another one, and never reuses nor overwrites this."""


class ExportConflict(FileExistsError):
    """A complete export of an earlier table of the same name is in the way."""


def export_paths(archive_dir: Path, table: str, partition: str) -> tuple[Path, Path]:
    """``(<dir>/<table>/<partition>.sql.gz, <dir>/<table>/<partition>.json)``."""
    folder = Path(archive_dir) / table
    return folder / f"{partition}.sql.gz", folder / f"{partition}.json"


def complete_export(path: Path, manifest: Path) -> ExportResult | None:
    """The export at ``path`` when its manifest matches it (size and SHA-256), else ``None``."""
    try:
        meta = json.loads(manifest.read_text())
        size = path.stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("bytes") != size:
        return None
    if meta.get("sha256") != _sha256_file(path):
        return None
    oid = meta.get("relation_oid")
    return ExportResult(
        path, manifest, int(meta["rows"]), size, str(meta["sha256"]), True,
        int(oid) if isinstance(oid, int) else None,
    )  # fmt: skip


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def export_partition(
    conn: asyncpg.Connection, *, schema: str, table: str, partition: str,
    start: datetime, end: datetime, archive_dir: Path, exported_at: datetime,
) -> ExportResult:  # fmt: skip
    """Reuse the complete export of ``schema.partition`` or write it (module docstring)."""
    path, manifest = export_paths(archive_dir, table, partition)
    oid = await conn.fetchval(_OID_SQL, schema, partition)
    if oid is None:
        raise LookupError(f"{schema}.{partition} does not exist: nothing to export")
    done = await asyncio.to_thread(complete_export, path, manifest)
    if done is not None and done.relation_oid == oid:
        return done
    if done is not None:
        raise ExportConflict(
            f"{path} holds an earlier table {partition} (oid {done.relation_oid}, not {oid}):"
            " move that export away, then rerun"
        )
    columns = [str(r["attname"]) for r in await conn.fetch(_COLUMNS_SQL, schema, partition)]
    path.parent.mkdir(parents=True, exist_ok=True)
    header = _header(table, partition, start, end, exported_at, columns)
    rows, size, sha256 = await _write_script(conn, schema, partition, columns, header, path)
    meta = {
        "table": table, "partition": partition, "schema": schema,
        "range": [start.isoformat(), end.isoformat()], "rows": rows, "bytes": size,
        "sha256": sha256, "exported_at": exported_at.isoformat(), "columns": columns,
        "relation_oid": oid,
    }  # fmt: skip
    await asyncio.to_thread(_write_atomic, manifest, json.dumps(meta, indent=2).encode())
    return ExportResult(path, manifest, rows, size, sha256, False, oid)


def _header(
    table: str, partition: str, start: datetime, end: datetime, exported_at: datetime,
    columns: list[str],
) -> bytes:  # fmt: skip
    target = qualified(RESTORE_SCHEMA, partition)
    cols = ", ".join(quote_ident(c) for c in columns)
    lines = [
        f"-- Vigil retention export of partition {partition} of table {table}",
        f"-- range: [{start.isoformat()}, {end.isoformat()})",
        f"-- exported at: {exported_at.isoformat()}",
        "-- rows: see the trailer at the end of this file (and the .json manifest)",
        "-- restore: gunzip -c FILE | psql -v ON_ERROR_STOP=1 DATABASE",
        f"-- then:    INSERT INTO public.{quote_ident(table)} OVERRIDING SYSTEM VALUE"
        f" SELECT * FROM {target};",
        f"CREATE SCHEMA IF NOT EXISTS {quote_ident(RESTORE_SCHEMA)};",
        f"CREATE TABLE IF NOT EXISTS {target} (LIKE {qualified('public', table)});",
        f"COPY {target} ({cols}) FROM stdin;",
    ]
    return ("\n".join(lines) + "\n").encode()


class _Sink:
    """A file that hashes and counts what is written to it (under gzip)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        return self.raw.write(view)

    def flush(self) -> None:
        self.raw.flush()


async def _write_script(
    conn: asyncpg.Connection, schema: str, partition: str, columns: list[str], header: bytes,
    path: Path,
) -> tuple[int, int, str]:  # fmt: skip
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = 0
    try:
        with temporary.open("wb") as raw:
            sink = _Sink(raw)
            with gzip.GzipFile(fileobj=sink, mode="wb", mtime=0) as gz:
                gz.write(header)

                async def out(chunk: bytes) -> None:
                    nonlocal rows
                    rows += chunk.count(b"\n")
                    await asyncio.to_thread(gz.write, chunk)

                await conn.copy_from_table(
                    partition, schema_name=schema, columns=columns, output=out,
                    format="text", timeout=COPY_TIMEOUT_S,
                )  # fmt: skip
                gz.write(f"\\.\n-- rows: {rows}\n".encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
        _fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return rows, sink.size, sink.digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        _fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def delete_export(archive_dir: Path, path: Path) -> bool:
    """Delete the export ``path`` and its manifest; whether anything was there.

    Raises ``ValueError`` when ``path`` is not a ``.sql.gz`` inside ``archive_dir``.
    """
    root = Path(archive_dir).resolve()
    target = Path(path)
    if not target.name.endswith(".sql.gz"):
        raise ValueError(f"not an archive export: {path}")
    real = target.parent.resolve() / target.name
    if not real.is_relative_to(root) or real.parent == root:
        raise ValueError(f"{path} is outside the archive folder {root}")
    manifest = real.with_name(target.name.removesuffix(".sql.gz") + ".json")
    existed = False
    for victim in (manifest, real):  # the manifest first: a half-deleted export is incomplete
        try:
            victim.unlink()
            existed = True
        except FileNotFoundError:
            pass
    return existed
