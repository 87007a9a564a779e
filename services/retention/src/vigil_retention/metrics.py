"""Prometheus metrics of vigil-retention (``vigil_retention_*``), for the storage dashboard.

Counters count what a run did (dry runs count nothing); gauges are set from the catalog at the
end of each run, so they describe the database as that run left it.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ARCHIVES_DELETED",
    "EXPIRY_HELD",
    "LAST_SUCCESS",
    "OLDEST_PARTITION_AGE",
    "PARTITIONS",
    "PARTITIONS_AHEAD",
    "PARTITIONS_ARCHIVED",
    "PARTITIONS_CREATED",
    "PARTITIONS_DETACHED",
    "PARTITIONS_DROPPED",
    "ROLLUP_FINALIZED",
    "ROLLUP_ROWS",
    "ROLLUP_ROWS_PRUNED",
    "RUNS",
    "RUN_DURATION",
    "SNAPSHOT_FILES_DELETED",
    "TABLE_SIZE",
]

PARTITIONS_CREATED: Final = Counter(
    "vigil_retention_partitions_created_total", "Partitions created ahead", ["table"]
)
PARTITIONS_DETACHED: Final = Counter(
    "vigil_retention_partitions_detached_total",
    "Expired partitions detached (DETACH CONCURRENTLY or FINALIZE)",
    ["table"],
)
PARTITIONS_DROPPED: Final = Counter(
    "vigil_retention_partitions_dropped_total",
    "Expired partitions dropped (after detach, or after a file export)",
    ["table"],
)
PARTITIONS_ARCHIVED: Final = Counter(
    "vigil_retention_partitions_archived_total",
    "Expired partitions archived: mode schema (moved to vigil_archive) or file (COPY export)",
    ["table", "mode"],
)
ARCHIVES_DELETED: Final = Counter(
    "vigil_retention_archives_deleted_total",
    "Archives past archive_keep_days deleted: mode schema (table dropped) or file",
    ["table", "mode"],
)
SNAPSHOT_FILES_DELETED: Final = Counter(
    "vigil_retention_snapshot_files_deleted_total",
    "Snapshot image files deleted with their expired snapshots partition",
)
ROLLUP_ROWS: Final = Counter(
    "vigil_retention_rollup_rows_total", "Rollup rows written (upserted)", ["rollup"]
)
ROLLUP_ROWS_PRUNED: Final = Counter(
    "vigil_retention_rollup_rows_pruned_total", "Rollup rows deleted past keep_days", ["rollup"]
)
ROLLUP_FINALIZED: Final = Gauge(
    "vigil_retention_rollup_finalized_timestamp_seconds",
    "End of the rollup's final buckets (Unix time); raw data before it may be expired",
    ["rollup"],
)
RUNS: Final = Counter(
    "vigil_retention_runs_total",
    "Retention runs by outcome: succeeded, failed, locked (another runner held the lock)",
    ["outcome"],
)
RUN_DURATION: Final = Histogram(
    "vigil_retention_run_duration_seconds",
    "Duration of a retention run that held the lock",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
LAST_SUCCESS: Final = Gauge(
    "vigil_retention_last_success_timestamp_seconds", "Unix time of the last successful run"
)
PARTITIONS: Final = Gauge(
    "vigil_retention_partitions",
    "Partition-shaped tables per policy table and state (attached, detach_pending, detached, "
    "archived)",
    ["table", "state"],
)
PARTITIONS_AHEAD: Final = Gauge(
    "vigil_retention_partitions_ahead",
    "Attached partitions starting after now (the premake margin)",
    ["table"],
)
OLDEST_PARTITION_AGE: Final = Gauge(
    "vigil_retention_oldest_partition_age_seconds",
    "Age of the start of the table's oldest attached partition",
    ["table"],
)
TABLE_SIZE: Final = Gauge(
    "vigil_retention_table_size_bytes",
    "Total size (heap, indexes, TOAST) of the table's attached partitions",
    ["table"],
)
EXPIRY_HELD: Final = Gauge(
    "vigil_retention_expiry_held",
    "Expired partitions held back by the last run (reason: rollup not final, ...)",
    ["table"],
)
