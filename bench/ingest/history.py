"""Every ingest run side by side, from the results files in bench/results/ingest/.

The box's spread between runs is large (the same code has given bare-subscriber rates
15 % apart within half an hour), so a run is compared with earlier ones by its ratios and by
the rates of the same setup, never by one absolute figure. Files written
before the benchmark measured replicas (one ingest, flat summary keys) count as ``x1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Run = tuple[str, dict[str, Any]]
"""A results file's repository path and its content."""


def by_replicas(mode_summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A mode's ingest figures by replica count, from either summary layout."""
    if "ingest" in mode_summary:
        rows: dict[str, dict[str, Any]] = mode_summary["ingest"]
        return rows
    return {
        "1": {
            "live_vs_bare": mode_summary.get("live_ingest_vs_bare"),
            "live_events_per_s": mode_summary.get("live_ingest_events_per_s"),
            "backlog_events_per_s": mode_summary.get("backlog_ingest_events_per_s"),
        }
    }


def history_table(runs: list[Run]) -> list[str]:
    """The markdown table of ``runs``, oldest first."""
    lines = [
        "Every run kept in `bench/results/ingest/` (code as of each run; the box's spread "
        "shows between runs of the same code: compare ratios within a run):",
        "",
        "| run (UTC) | commit | single live / bare, x1 · x2 | batch50 live, x1 · x2 "
        "| batch50 backlog, x1 · x2 | lost, duplicated |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for source, result in runs:
        summary = result["summary"]
        single = by_replicas(summary.get("single", {})) if "single" in summary else {}
        batch = by_replicas(summary.get("batch50", {})) if "batch50" in summary else {}
        modes = [row for mode, row in summary.items() if mode != "targets"]
        lost = sum(row.get("lost") or 0 for row in modes)
        duplicated = sum(row.get("duplicated") or 0 for row in modes)
        when = datetime.fromisoformat(result["at"])
        commit = ((result.get("code") or {}).get("commit") or "–")[:7]
        lines.append(
            f"| [{when:%Y-%m-%d %H:%M}](../{source}) | {commit} "
            f"| {_pair(single, 'live_vs_bare', '{:.3f}')} "
            f"| {_pair(batch, 'live_events_per_s', '{:,.0f}')} "
            f"| {_pair(batch, 'backlog_events_per_s', '{:,.0f}')} | {lost}, {duplicated} |"
        )
    return lines


def _pair(rows: dict[str, dict[str, Any]], key: str, form: str) -> str:
    """``x1 · x2`` of ``key`` (``–`` where a count was not measured)."""
    cells = []
    for replicas in ("1", "2"):
        value = rows.get(replicas, {}).get(key)
        cells.append("–" if value is None else form.format(value))
    return " · ".join(cells)
