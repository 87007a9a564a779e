"""One retention run: lock, rollups, plan, actions, record. `RetentionRunner.run(now)`.

Order, each step on the caller's clock ``now`` (tests pass a controlled one):

1. Take :class:`~vigil_retention.run_lock.RunLock`; if another runner holds it, do nothing
   (``vigil_retention_runs_total{outcome="locked"}``) and return a report with ``held=False``.
2. Insert the ``retention_runs`` row.
3. Bring the rollups up to date (:func:`~vigil_retention.rollups.runner.run_rollups`), so
   that their watermarks are current before any raw partition is judged.
4. Read the catalog and :func:`~vigil_retention.planner.plan`.
5. Execute the actions in plan order (dry run: none). One failed action is logged, recorded
   and counted; the others still run, and the run ends ``failed``. Before each action the lock
   is checked; a run that lost it (or was asked to stop) ends there.
6. Refresh the storage gauges from the catalog, finish the run row, write the
   ``retention.run`` audit entry, count the run and its duration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from vigil_retention import catalog, metrics, planner, status_report
from vigil_retention.expiry import ACTOR, ExpiryContext, execute
from vigil_retention.models import ActionKind, Plan
from vigil_retention.rollups.prune import prune_rollup
from vigil_retention.rollups.runner import RollupResult, failed, run_rollups
from vigil_retention.run_lock import RunLock
from vigil_retention.run_record import finish_run, start_run
from vigil_retention.settings import RetentionSettings
from vigil_runtime.audit import AuditEntry, write_audits
from vigil_runtime.logging import get_logger
from vigil_schema.enums import RetentionRunStatus

__all__ = ["RetentionRunner", "RunReport"]

_log = get_logger(__name__)


@dataclass(slots=True)
class RunReport:
    """What one run did (or, dry run, would do)."""

    now: datetime
    dry_run: bool
    held: bool = False
    run_id: int | None = None
    rollups: list[RollupResult] = field(default_factory=list)
    plan: Plan | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def status(self) -> RetentionRunStatus:
        """``failed`` if any step failed or the run stopped early, else ``succeeded``."""
        bad = self.errors or self.stopped_early
        return RetentionRunStatus.FAILED if bad else RetentionRunStatus.SUCCEEDED


@contextlib.asynccontextmanager
async def _ddl_connection(settings: RetentionSettings) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own for one action's owner DDL: a ``SET ROLE`` can never leak
    into the pool, and a detach that waits holds no pooled connection."""
    conn = await asyncpg.connect(
        settings.database_url, server_settings={"application_name": "vigil-retention-ddl"}
    )
    try:
        yield conn
    finally:
        await conn.close()


def _log_holds(plan: Plan) -> None:
    """One log line per table whose expiry is held: how many partitions, the first reason."""
    per_table: dict[str, list[str]] = {}
    for held in plan.held:
        per_table.setdefault(held.table, []).append(held.reason)
    for table, reasons in per_table.items():
        _log.info("expiry held", table=table, partitions=len(reasons), reason=reasons[0])


class RetentionRunner:
    """Runs retention passes with one pool (the vigil_retention role) and the settings."""

    def __init__(
        self,
        pool: Any,
        settings: RetentionSettings,
        *,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._should_stop = should_stop

    async def run(self, now: datetime, *, dry_run: bool = False) -> RunReport:
        """One pass (module docstring). Raises only if the lock or run row cannot be had."""
        report = RunReport(now=now, dry_run=dry_run)
        started = time.monotonic()
        async with RunLock(self._settings.database_url) as lock:
            if not lock.held:
                metrics.RUNS.labels(outcome="locked").inc()
                _log.info("retention run skipped: another runner holds the lock")
                return report
            report.held = True
            async with self._pool.acquire() as conn:
                report.run_id = await start_run(conn, now, self._settings.instance, dry_run)
            try:
                await self._pass(report, lock)
            except Exception as exc:  # recorded below; the caller decides about the process
                _log.exception("retention run failed")
                report.errors.append(f"{type(exc).__name__}: {exc}")
            await self._finish(report, time.monotonic() - started)
        return report

    async def _pass(self, report: RunReport, lock: RunLock) -> None:
        settings, now = self._settings, report.now
        report.rollups = await run_rollups(
            self._pool,
            now,
            chunk_buckets=settings.rollup_chunk_buckets,
            dry_run=report.dry_run,
            timeout_s=settings.statement_timeout_s,
        )
        for broken in failed(report.rollups):
            report.errors.append(f"rollup {broken.name}: {broken.error}")
        report.plan = await self._plan(now, report.rollups if report.dry_run else ())
        _log_holds(report.plan)
        if report.dry_run:
            report.outcomes = [action.describe() for action in report.plan.actions]
            return
        ctx = ExpiryContext.from_settings(
            self._pool, settings, now, ddl_connection=lambda: _ddl_connection(settings)
        )
        for action in report.plan.actions:
            if self._should_stop() or not await lock.still_held():
                report.stopped_early = True
                report.errors.append("stopped before the plan was done")
                return
            await self._execute(report, action, ctx)

    async def _plan(self, now: datetime, dry_rollups: Sequence[RollupResult]) -> Plan:
        """The plan from the catalog; a dry run plans with the watermarks its rollups would
        have reached (``dry_rollups``), as the real run would."""
        async with self._pool.acquire() as conn:
            policies = await catalog.read_policies(conn)
            rollups = await catalog.read_rollups(conn)
            partitions = await catalog.read_partitions(conn)
        would = {r.name: r.finalized_through for r in dry_rollups if r.error is None}
        rollups = [
            dataclasses.replace(state, finalized_through=would[state.name])
            if state.name in would
            else state
            for state in rollups
        ]
        files = catalog.read_archive_files(self._settings.archive_dir)
        return planner.plan(now, policies, partitions, rollups, files)

    async def _execute(self, report: RunReport, action: Any, ctx: ExpiryContext) -> None:
        described = action.describe()
        try:
            if action.kind is ActionKind.PRUNE_ROLLUP:
                async with self._pool.acquire() as conn:
                    rows = await prune_rollup(conn, action.table, action.until, now=report.now)
                described["rows"] = rows
            else:
                outcome = await execute(action, ctx)
                described.update(outcome.describe())
            described["ok"] = True
        except Exception as exc:
            _log.exception("retention action failed", action=described)
            described.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            report.errors.append(f"{action.kind.value} {action.table}: {exc}")
        report.outcomes.append(described)

    async def _finish(self, report: RunReport, duration_s: float) -> None:
        status = report.status
        finished = datetime.fromtimestamp(report.now.timestamp() + duration_s, report.now.tzinfo)
        error = "; ".join(report.errors) or None
        async with self._pool.acquire() as conn:
            if report.run_id is not None:
                await finish_run(conn, report.run_id, finished, status, report.outcomes, error)
            await write_audits(conn, [self._audit(report, duration_s)])
            statuses = await status_report.read_status(conn, report.now)
            rollups = await catalog.read_rollups(conn)
        held = [] if report.plan is None else report.plan.held
        status_report.set_gauges(statuses, held, rollups)
        if report.dry_run:
            return
        metrics.RUNS.labels(outcome=status.value).inc()
        metrics.RUN_DURATION.observe(duration_s)
        if status is RetentionRunStatus.SUCCEEDED:
            metrics.LAST_SUCCESS.set(time.time())
        _log.info(
            "retention run finished",
            status=status.value,
            actions=len(report.outcomes),
            errors=len(report.errors),
            duration_s=round(duration_s, 3),
        )

    def _audit(self, report: RunReport, duration_s: float) -> AuditEntry:
        held = [] if report.plan is None else report.plan.held
        return AuditEntry(
            actor=ACTOR,
            action="retention.run",
            entity_type="retention_run",
            entity_id=None if report.run_id is None else str(report.run_id),
            details={
                "dry_run": report.dry_run,
                "actions": len(report.outcomes),
                "held": [
                    {"table": h.table, "partition": h.partition, "reason": h.reason} for h in held
                ],
                "errors": report.errors,
                "duration_s": round(duration_s, 3),
            },
            action_status="success" if report.status is RetentionRunStatus.SUCCEEDED else "failure",
            severity="info" if not report.errors else "error",
            service="retention",
        )
