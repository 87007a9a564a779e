"""The retention benchmark's summary (the ratios, the goal) and its block in
docs/benchmarks.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bench.retention.scenario import same_answer

SCENARIO_GOAL_MS = 20.0
"""Issue 11: scenario A from the rollups under 20 ms warm."""
MIB = 2**20
VARIANTS = {
    "weekday_filter": "filtered on each hour's weekday*",
}
"""The variants of :mod:`bench.retention.variants`, as the docs' table names them."""


def _ratio(numerator: float | None, denominator: float | None, digits: int = 1) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, digits)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The expiry comparison and the scenario's query times, with their ratios."""
    expiry, scenario = results["expiry"], results["scenario"]
    drop, delete, vacuum = expiry["detach_drop"], expiry["delete"], expiry["vacuum"]
    writer = expiry.get("writer") or {}
    hourly, raw = scenario["occupancy_hourly"], scenario["occupancy_events"]
    variants = scenario.get("variants") or {}
    return {
        "expiry": {
            "rows": expiry["partition_rows"],
            "detach_drop_s": drop["seconds"], "delete_s": delete["seconds"],
            "vacuum_after_delete_s": vacuum["seconds"],
            "delete_vs_detach_drop": _ratio(delete["seconds"], drop["seconds"]),
            "detach_drop_wal_bytes": drop["wal_bytes"], "delete_wal_bytes": delete["wal_bytes"],
            "vacuum_wal_bytes": vacuum["wal_bytes"],
            "delete_wal_vs_detach_drop": _ratio(delete["wal_bytes"], drop["wal_bytes"]),
            "dead_tuples_after_delete": delete["dead_tuples_after"],
            "vacuum_needed_after_delete": delete["vacuum_needed"],
            "vacuum_needed_after_detach_drop": drop["vacuum_needed"],
            "bytes_held_after_delete": delete["size_after_bytes"],
            "writer_p99_ms": {phase: figures["p99"] for phase, figures in writer.items()
                              if isinstance(figures, dict)},
        },
        "scenario": {
            "hourly_rows": scenario["fill"]["occupancy_hourly"]["rows"],
            "raw_rows": scenario["fill"]["occupancy_events"]["rows"],
            "raw_fill_s": scenario["fill"]["occupancy_events"]["seconds"],
            "hourly_median_ms": hourly["median_ms"], "raw_median_ms": raw["median_ms"],
            "raw_vs_hourly": _ratio(raw["median_ms"], hourly["median_ms"]),
            "same_answer": same_answer(hourly, raw),
            "goal_ms": SCENARIO_GOAL_MS, "goal_met": hourly["median_ms"] < SCENARIO_GOAL_MS,
            "variants_median_ms": {name: figures["median_ms"]
                                   for name, figures in variants.items()},
            "variants_meeting_goal": sorted(name for name, figures in variants.items()
                                            if figures["median_ms"] < SCENARIO_GOAL_MS),
        },
    }  # fmt: skip


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _mib(value: int | None) -> str:
    return "–" if value is None else f"{value / MIB:,.1f}"


def _heap(vacuum: dict[str, Any]) -> str:
    heap = vacuum.get("heap_bytes_after")
    return "" if heap is None else f" ({_mib(heap)} MiB of it the table itself)"


def _writer(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "–"
    return f"{_n(figures['p50'], 1)} / {_n(figures['p99'], 1)} / {_n(figures['max'], 1)}"


def _expiry_lines(
    params: dict[str, Any], expiry: dict[str, Any], summary: dict[str, Any]
) -> list[str]:
    writer = expiry.get("writer") or {}
    rows = [("DETACH CONCURRENTLY + DROP", expiry["detach_drop"], "detach_drop"),
            ("DELETE", expiry["delete"], "delete"),
            ("VACUUM after the DELETE", expiry["vacuum"], "vacuum")]  # fmt: skip
    lines = [
        f"**Expiring one day of {params['expiry_rows']:,} `camera_events` rows** "
        f"({params['expiry_cameras']} cameras; the partition {_mib(expiry['partition_bytes'])} "
        "MiB with its indexes):",
        "",
        "| method | seconds | WAL (MiB) | dead tuples left | size left (MiB) | "
        "writer insert p50 / p99 / max (ms) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label, figures, phase in rows:
        lines.append(
            f"| {label} | {_n(figures['seconds'], 2)} | {_mib(figures['wal_bytes'])} | "
            f"{_n(figures['dead_tuples_after'])} | {_mib(figures['size_after_bytes'])} | "
            f"{_writer(writer.get(phase))} |"
        )
    if writer.get("baseline"):
        lines.append(f"| (no expiry running) | | | | | {_writer(writer['baseline'])} |")
    drop, delete, vacuum = expiry["detach_drop"], expiry["delete"], expiry["vacuum"]
    both = _ratio(delete["seconds"] + vacuum["seconds"], drop["seconds"])
    lines += [
        "",
        f"- DELETE took x{_n(summary['delete_vs_detach_drop'], 1)} the time of DETACH + DROP "
        f"and wrote x{_n(summary['delete_wal_vs_detach_drop'], 0)} its WAL, and left "
        f"{_n(summary['dead_tuples_after_delete'])} dead tuples (VACUUM needed: "
        f"{'yes' if summary['vacuum_needed_after_delete'] else 'no'}); with the VACUUM it "
        f"needs, x{_n(both, 1)} the time and {_mib(delete['wal_bytes'] + vacuum['wal_bytes'])} "
        "MiB of WAL.",
        f"- After the VACUUM the emptied partition still holds {_mib(vacuum['size_after_bytes'])}"
        f" MiB{_heap(vacuum)}: VACUUM marks the indexes' pages free for reuse but does not "
        f"shrink their files. DETACH + DROP gave back all {_mib(drop['size_before_bytes'])} MiB "
        "at once and leaves nothing to vacuum.",
    ]
    return lines


def _scenario_lines(params: dict[str, Any], scenario: dict[str, Any],
                    summary: dict[str, Any]) -> list[str]:  # fmt: skip
    hourly, raw = scenario["occupancy_hourly"], scenario["occupancy_events"]
    fill = scenario["fill"]
    lines = [
        f"**Seed 004 scenario A**, average occupancy of `{scenario['args']['zone_id']}` on "
        f"Tuesdays ({scenario['args']['time_zone']}) over {params['scenario_days']} days × "
        f"{params['scenario_cameras']} cameras × {params['zones']} zones; raw at one sample "
        f"per {params['raw_interval_s']} s per camera and zone:",
        "",
        "| asked of | rows in the table | median (ms) | min–max (ms) | runs | server (ms) | plan |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    rows = [
        ("`occupancy_hourly`", "occupancy_hourly", hourly),
        ("`occupancy_events` (raw)", "occupancy_events", raw),
    ]
    variants = scenario.get("variants") or {}
    rows += [(f"`occupancy_hourly`, {VARIANTS[name]}", "occupancy_hourly", figures)
             for name, figures in variants.items() if name in VARIANTS]  # fmt: skip
    for label, table, figures in rows:
        lines.append(
            f"| {label} | {fill[table]['rows']:,} | {_n(figures['median_ms'], 2)} | "
            f"{_n(figures['min_ms'], 2)}–{_n(figures['max_ms'], 2)} | {figures['runs']} | "
            f"{_n(figures['server_ms'], 2)} | {', '.join(figures['plan'][:4])} |"
        )
    goal = "met" if summary["goal_met"] else "NOT met"
    lines += [
        "",
        f"- The rollup answers x{_n(summary['raw_vs_hourly'], 0)} faster than the raw rows, "
        f"the same answer ({hourly['avg_occupancy']:.4f} over {hourly['samples']:,} samples); "
        f"goal under {summary['goal_ms']:g} ms warm: {goal}.",
        f"- Generating the raw rows took {_n(fill['occupancy_events']['seconds'], 0)} s.",
    ]
    if variants:
        meeting = summary.get("variants_meeting_goal") or []
        lines.append(
            "- \\* not in the service (`bench/retention/variants.py`): the same question "
            "filtered on `extract(isodow FROM bucket AT TIME ZONE tz)` of every hour instead of "
            "one bucket range per local Tuesday. Under the goal: "
            + (", ".join(VARIANTS[name] for name in meeting if name in VARIANTS) or "none")
            + "."
        )
    return lines


def render(result: dict[str, Any], source: str) -> str:
    """The markdown of the docs' retention block for ``result`` (read from ``source``)."""
    params, summary, runs = result["parameters"], result["summary"], result["results"]
    when = datetime.fromisoformat(result["at"])
    commit = (result.get("code") or {}).get("commit")
    lines = [
        f"Last run: [`{source}`](../{source}), {when:%Y-%m-%d %H:%M} UTC"
        f"{f', commit {commit[:7]}' if commit else ''}, {params['cpus']} CPUs, durable stack.",
        "",
        *_expiry_lines(params, runs["expiry"], summary["expiry"]),
        "",
        *_scenario_lines(params, runs["scenario"], summary["scenario"]),
    ]
    return "\n".join(lines)
