"""Per-table storage status from a catalog read, and the gauges of ``metrics.py`` set from it.

- :func:`build_status` (pure): per policy table, by name: attached partitions, partitions
  ahead (attached, starting after ``now``), the oldest attached partition and its age, the
  total size of the attached partitions, and the count per
  :class:`~vigil_retention.models.PartitionState`.
- :func:`read_status`: :func:`build_status` of a fresh catalog read on ``conn``.
- :func:`set_gauges`: sets ``vigil_retention_partitions``, ``_partitions_ahead``,
  ``_oldest_partition_age_seconds``, ``_table_size_bytes``, ``_expiry_held`` (from a plan's
  held list) and ``_rollup_finalized_timestamp_seconds``. A table without an attached
  partition has no oldest-age sample (its old sample is removed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from prometheus_client import Gauge

from vigil_retention import metrics
from vigil_retention.catalog import read_partitions, read_policies
from vigil_retention.models import Held, Partition, PartitionState, Policy, RollupState

__all__ = ["TableStatus", "build_status", "read_status", "set_gauges"]


@dataclass(frozen=True, slots=True)
class TableStatus:
    """Storage status of one policy table at ``now``."""

    table: str
    attached: int
    ahead: int
    oldest_partition: str | None
    oldest_start: datetime | None
    oldest_age_s: float | None
    size_bytes: int
    by_state: dict[PartitionState, int] = field(default_factory=dict)


def build_status(
    now: datetime, policies: Iterable[Policy], partitions: Iterable[Partition]
) -> list[TableStatus]:
    """One :class:`TableStatus` per policy, by table name."""
    parts = list(partitions)
    return [
        _table_status(now, policy.table, [p for p in parts if p.table == policy.table])
        for policy in sorted(policies, key=lambda p: p.table)
    ]


def _table_status(now: datetime, table: str, own: Sequence[Partition]) -> TableStatus:
    attached = sorted(
        (p for p in own if p.state is PartitionState.ATTACHED), key=lambda p: (p.start, p.name)
    )
    oldest = attached[0] if attached else None
    counts = Counter(p.state for p in own)
    return TableStatus(
        table=table,
        attached=len(attached),
        ahead=sum(1 for p in attached if p.start > now),
        oldest_partition=oldest.name if oldest else None,
        oldest_start=oldest.start if oldest else None,
        oldest_age_s=(now - oldest.start).total_seconds() if oldest else None,
        size_bytes=sum(p.size_bytes for p in attached),
        by_state={state: counts.get(state, 0) for state in PartitionState},
    )


async def read_status(conn: asyncpg.Connection, now: datetime) -> list[TableStatus]:
    """:func:`build_status` of the policies and partitions read on ``conn``."""
    return build_status(now, await read_policies(conn), await read_partitions(conn))


def set_gauges(
    statuses: Iterable[TableStatus],
    held: Iterable[Held] = (),
    rollups: Iterable[RollupState] = (),
) -> None:
    """Set the storage gauges from ``statuses``, a plan's ``held`` and the ``rollups``."""
    held_per_table = Counter(h.table for h in held)
    for status in statuses:
        for state, count in status.by_state.items():
            metrics.PARTITIONS.labels(table=status.table, state=state.value).set(count)
        metrics.PARTITIONS_AHEAD.labels(table=status.table).set(status.ahead)
        metrics.TABLE_SIZE.labels(table=status.table).set(status.size_bytes)
        metrics.EXPIRY_HELD.labels(table=status.table).set(held_per_table.get(status.table, 0))
        if status.oldest_age_s is None:
            _remove(metrics.OLDEST_PARTITION_AGE, status.table)
        else:
            metrics.OLDEST_PARTITION_AGE.labels(table=status.table).set(status.oldest_age_s)
    for rollup in rollups:
        if rollup.finalized_through is None:
            _remove(metrics.ROLLUP_FINALIZED, rollup.name)
        else:
            metrics.ROLLUP_FINALIZED.labels(rollup=rollup.name).set(
                rollup.finalized_through.timestamp()
            )


def _remove(gauge: Gauge, label: str) -> None:
    """Drop one label set's sample, if it has one."""
    try:
        gauge.remove(label)
    except KeyError:
        return
