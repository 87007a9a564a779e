"""What a retention run reads and decides, as plain frozen values (no I/O).

- :class:`Policy`: one ``retention_policies`` row.
- :class:`RollupState`: one ``rollup_state`` row (a rollup's sources and watermarks).
- :class:`Partition`: one partition-shaped table of a policy table: attached to its parent
  in ``public``, detach-pending (an interrupted ``DETACH ... CONCURRENTLY``), detached but
  still in ``public`` (a run stopped between detach and drop/archive), or archived in
  ``vigil_archive``. Its range ``[start, end)`` is UTC.
- :class:`ArchiveFile`: one exported partition in the archive folder.
- :class:`Action`: one step of a plan; :class:`Held`: an expiry the plan holds back and why;
  :class:`Plan`: both, in execution order.

Times are timezone-aware UTC datetimes throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from vigil_schema.enums import ExpireAction, Granularity

__all__ = [
    "ARCHIVE_SCHEMA",
    "Action",
    "ActionKind",
    "ArchiveFile",
    "Held",
    "Partition",
    "PartitionState",
    "Plan",
    "Policy",
    "RollupState",
]

ARCHIVE_SCHEMA = "vigil_archive"
"""Where ``archive_schema`` partitions go (created by migration 0001)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """One ``retention_policies`` row."""

    table: str
    granularity: Granularity
    retention_days: int
    premake: int
    expire_action: ExpireAction
    archive_keep_days: int | None
    min_retention_days: int


@dataclass(frozen=True, slots=True)
class RollupState:
    """One ``rollup_state`` row."""

    name: str
    source_tables: tuple[str, ...]
    bucket_width: timedelta
    lateness: timedelta
    keep_days: int | None
    finalized_through: datetime | None
    refreshed_through: datetime | None


class PartitionState(StrEnum):
    """Where a partition-shaped table stands."""

    ATTACHED = "attached"
    DETACH_PENDING = "detach_pending"
    """``DETACH ... CONCURRENTLY`` was interrupted: finish it with ``FINALIZE``."""
    DETACHED = "detached"
    """No longer a partition but still in ``public`` (stopped before drop or archive)."""
    ARCHIVED = "archived"
    """In schema ``vigil_archive``."""


@dataclass(frozen=True, slots=True)
class Partition:
    """A partition (or ex-partition) of the policy table ``table``."""

    table: str
    name: str
    start: datetime
    end: datetime
    state: PartitionState
    size_bytes: int = 0

    @property
    def schema(self) -> str:
        """``vigil_archive`` when archived, else ``public``."""
        return ARCHIVE_SCHEMA if self.state is PartitionState.ARCHIVED else "public"


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """An exported partition: ``<archive_dir>/<table>/<partition>.sql.gz`` (+ ``.json``)."""

    table: str
    partition: str
    path: Path
    start: datetime
    end: datetime


class ActionKind(StrEnum):
    """The steps a plan can hold, in the order a run executes them."""

    CREATE_AHEAD = "create_ahead"
    """Create the missing partitions of ``table`` from now through ``until``."""
    EXPIRE = "expire"
    """Detach (or finalize) ``partition`` of ``table``, then ``expire_action`` it."""
    DROP_ARCHIVED = "drop_archived"
    """Drop ``partition`` from vigil_archive: older than archive_keep_days."""
    DELETE_ARCHIVE_FILE = "delete_archive_file"
    """Delete an export (``path``): older than archive_keep_days."""
    PRUNE_ROLLUP = "prune_rollup"
    """Delete the rows of rollup ``table`` with bucket before ``until`` (keep_days)."""


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a plan. Which fields matter depends on ``kind`` (see :class:`ActionKind`)."""

    kind: ActionKind
    table: str
    partition: Partition | None = None
    expire_action: ExpireAction | None = None
    until: datetime | None = None
    path: Path | None = None
    reason: str = ""

    def describe(self) -> dict[str, Any]:
        """JSON-able form, for ``--dry-run``, ``retention_runs.actions`` and audit details."""
        out: dict[str, Any] = {"kind": self.kind.value, "table": self.table}
        if self.partition is not None:
            out["partition"] = self.partition.name
            out["range"] = [self.partition.start.isoformat(), self.partition.end.isoformat()]
            out["state"] = self.partition.state.value
        if self.expire_action is not None:
            out["expire_action"] = self.expire_action.value
        if self.until is not None:
            out["until"] = self.until.isoformat()
        if self.path is not None:
            out["path"] = str(self.path)
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class Held:
    """An expired partition the plan leaves alone this run, and why."""

    table: str
    partition: str
    reason: str


@dataclass(slots=True)
class Plan:
    """A run's actions, in execution order, and what it holds back."""

    now: datetime
    actions: list[Action] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
