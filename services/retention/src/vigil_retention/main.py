"""vigil-retention: partitions ahead, expiry (drop, archive to a schema or a file), rollups.

Modes (one process, three ways to run it):

- ``vigil-retention`` — loop: a run every ``interval_s`` (``VIGIL_INTERVAL_S``, 300 s) until
  SIGTERM; /metrics, /healthz, /readyz on port 9105 and the heartbeat for `vigil status`.
- ``vigil-retention --once`` — one run, then exit: 0 when it succeeded or another runner held
  the lock, 1 when it failed (a Kubernetes CronJob).
- ``vigil-retention --dry-run`` — one run that changes nothing: rollups are not written, no
  partition is touched; the plan (and what it holds back, and why) is printed as JSON lines
  on stdout and recorded in ``retention_runs`` with ``dry_run = true``.

Replicas and CronJobs may overlap freely: a run holds a PostgreSQL advisory lock
(:mod:`vigil_retention.run_lock`), and a runner that cannot take it does nothing. A run
interrupted by SIGTERM stops between actions; one killed mid-action is finished by the next
(every action is idempotent; an interrupted ``DETACH ... CONCURRENTLY`` is finalized).
The run itself is :mod:`vigil_retention.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import asyncpg

from vigil_retention import metrics
from vigil_retention.run import RetentionRunner, RunReport
from vigil_retention.settings import RetentionSettings
from vigil_runtime.logging import get_logger
from vigil_runtime.service import Body, ServiceContext, service_main

SERVICE = "retention"
_log = get_logger(__name__)


class RunFailedError(RuntimeError):
    """A ``--once`` run ended ``failed`` (the process exits 1)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``--once`` and ``--dry-run`` (which implies ``--once``)."""
    parser = argparse.ArgumentParser(prog="vigil-retention", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="one run, then exit (CronJob)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan, change nothing (implies --once)"
    )
    args = parser.parse_args(argv)
    args.once = args.once or args.dry_run
    return args


def print_plan(report: RunReport) -> None:
    """The dry run's plan as JSON lines: actions, then holds."""
    for outcome in report.outcomes:
        print(json.dumps({"plan": outcome}), flush=True)
    for held in [] if report.plan is None else report.plan.held:
        hold = {"table": held.table, "partition": held.partition, "reason": held.reason}
        print(json.dumps({"held": hold}), flush=True)
    for rollup in report.rollups:
        print(json.dumps({"rollup": rollup.describe()}), flush=True)


async def run_guarded(runner: RetentionRunner, now: datetime) -> RunReport | None:
    """One run of the loop: a run that could not even start (PostgreSQL unreachable for the
    lock or the run row) is logged and counted ``failed``, and the loop tries again at the
    next interval instead of ending the process."""
    try:
        return await runner.run(now)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _log.error("retention run could not start", error=f"{type(exc).__name__}: {exc}")
        metrics.RUNS.labels(outcome="failed").inc()
        return None


def make_body(once: bool, dry_run: bool) -> Body:
    """The service body for the chosen mode."""

    async def body(ctx: ServiceContext) -> None:
        settings = cast(RetentionSettings, ctx.settings)
        async with ctx.dependencies() as deps:
            runner = RetentionRunner(deps.pool, settings, should_stop=ctx.stopping.is_set)
            while not ctx.stopping.is_set():
                if once:
                    report = await runner.run(datetime.now(UTC), dry_run=dry_run)
                    if dry_run:
                        print_plan(report)
                    if report.held and report.errors:
                        raise RunFailedError("; ".join(report.errors))
                    return
                await run_guarded(runner, datetime.now(UTC))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ctx.stopping.wait(), timeout=settings.interval_s)

    return body


def main(argv: Sequence[str] | None = None) -> None:
    """Console script `vigil-retention`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    service_main(SERVICE, RetentionSettings, make_body(args.once, args.dry_run))


if __name__ == "__main__":
    main()
