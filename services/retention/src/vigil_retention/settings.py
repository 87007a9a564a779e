"""Settings of vigil-retention: the shared `VigilSettings` with this service's name and port.

- ``interval_s``: seconds between runs in loop mode (``vigil-retention``; ``--once`` runs one).
- ``archive_dir``: where ``archive_file`` exports go (``<dir>/<table>/<partition>.sql.gz``).
- ``snapshot_dir``: the optimizer's snapshot folder (``VIGIL_SNAPSHOT_DIR``, the runtime's
  :class:`~vigil_runtime.settings.SnapshotDirSettings`), whose files go with their rows.
- ``ddl_role``: the role ``SET ROLE`` switches to for partition DDL (migration 0008).
- ``lock_timeout_s``: lock wait of one DDL statement; a busy table is retried next run.
- ``rollup_chunk_buckets``: buckets recomputed per transaction.
- ``statement_timeout_s``: client-side limit of one long statement (a rollup chunk, a detach).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vigil_runtime.settings import SnapshotDirSettings


class RetentionSettings(SnapshotDirSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9105 by default."""

    service_name: str = "retention"
    http_port: int = Field(default=9105, ge=0, le=65535)
    interval_s: float = Field(default=300.0, gt=0, le=86400)
    archive_dir: Path = Path("archive")
    ddl_role: str = "vigil_owner"
    lock_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    rollup_chunk_buckets: int = Field(default=60, ge=1, le=100000)
    statement_timeout_s: float = Field(default=900.0, gt=0, le=86400)
