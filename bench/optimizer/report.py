"""The optimizer benchmark's summary (rates, CPU, ratios) and its block in docs/benchmarks.md.

The sequential baseline reviews a subset one camera at a time; its time per camera,
multiplied by each fleet size, is that fleet's sequential time (an extrapolation: a
sequential review's cost does not depend on the fleet's size). The speed-up of a fleet is
that time over the fleet's measured concurrent time. With dead cameras, the figure is the
time until the last *live* camera was reviewed, against the same fleet without them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

MINUTES_TARGET_500 = 10.0
"""Issue 9: "500 cameras are reviewed in minutes, not hours": at most 10 minutes."""
DEAD_SLOWDOWN_TARGET = 1.5
"""Dead cameras hold up no one: the live cameras finish within 1.5x their time without."""


def _ratio(numerator: float | None, denominator: float | None, digits: int = 2) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, digits)


def summarize(results: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Per fleet size: cameras per minute, CPU per recommendation, the speed-up over the
    sequential baseline; the dead-camera comparison; the targets."""
    sequential = results["sequential"]
    per_camera_s = _ratio(sequential["live_done_s"], sequential["cameras"], 3)
    fleets: dict[str, Any] = {}
    for size, run in results["concurrent"].items():
        extrapolated = per_camera_s * int(size) if per_camera_s else None
        fleets[size] = {
            "wall_s": run["live_done_s"],
            "cameras_per_min": run["cameras_per_min"],
            "optimizer_cpu_ms_per_recommendation": run["optimizer_cpu_ms_per_recommendation"],
            "optimizer_busy_cores": _ratio(run["cpu_s"]["optimizer"], run["wall_s"]),
            "sequential_extrapolated_s": round(extrapolated, 1) if extrapolated else None,
            "speedup_vs_sequential": _ratio(extrapolated, run["live_done_s"], 1),
            "all_reviewed": run["live_outcomes"].keys() <= {"recommended", "no_change"},
        }
    summary: dict[str, Any] = {
        "sequential": {
            "cameras": sequential["cameras"],
            "per_camera_s": per_camera_s,
            "cameras_per_min": sequential["cameras_per_min"],
            "optimizer_cpu_ms_per_recommendation": sequential[
                "optimizer_cpu_ms_per_recommendation"
            ],
        },
        "fleets": fleets,
    }
    if "dead" in results:
        summary["dead"] = _dead(results["dead"], results["concurrent"])
    if "apply" in results:
        summary["apply"] = _apply(results["apply"], results["concurrent"])
    summary["targets"] = _targets(summary)
    return summary


def _dead(dead: dict[str, Any], concurrent: dict[str, Any]) -> dict[str, Any]:
    without = concurrent[str(dead["cameras"])]
    return {
        "cameras": dead["cameras"],
        "dead_cameras": dead["dead_cameras"],
        "live_done_s": dead["live_done_s"],
        "without_dead_s": without["live_done_s"],
        "slowdown": _ratio(dead["live_done_s"], without["live_done_s"]),
        "dead_done_s": dead["dead_done_s"],
        "dead_outcomes": dead["dead_outcomes"],
        "live_outcomes": dead["live_outcomes"],
    }


def _apply(applied: dict[str, Any], concurrent: dict[str, Any]) -> dict[str, Any]:
    without = concurrent[str(applied["cameras"])]
    return {
        "cameras": applied["cameras"],
        "wall_s": applied["live_done_s"],
        "cameras_per_min": applied["cameras_per_min"],
        "optimizer_cpu_ms_per_review": applied["optimizer_cpu_ms_per_recommendation"],
        "outcomes": applied["live_outcomes"],
        "time_vs_manual": _ratio(applied["live_done_s"], without["live_done_s"]),
        "cpu_vs_manual": _ratio(applied["optimizer_cpu_ms_per_recommendation"],
                                without["optimizer_cpu_ms_per_recommendation"]),
    }  # fmt: skip


def _targets(summary: dict[str, Any]) -> dict[str, Any]:
    """Issue 9's fleet-scale targets, met or not."""
    targets: dict[str, Any] = {}
    largest = max(summary["fleets"], key=int)
    row = summary["fleets"][largest]
    minutes = row["wall_s"] / 60
    targets[f"{largest}_cameras_minutes"] = {
        "met": row["all_reviewed"] and (int(largest) < 500 or minutes <= MINUTES_TARGET_500),
        "minutes": round(minutes, 2),
        "fleet_below_500": int(largest) < 500,
    }
    dead = summary.get("dead")
    if dead is not None:
        slowdown = dead["slowdown"]
        targets["dead_cameras_hold_up_no_one"] = {
            "met": slowdown is not None and slowdown <= DEAD_SLOWDOWN_TARGET,
            "slowdown": slowdown,
        }
    return targets


def _n(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def render(result: dict[str, Any], source: str) -> str:
    """The markdown of the docs' optimizer block for ``result`` (read from ``source``)."""
    params, summary = result["parameters"], result["summary"]
    when = datetime.fromisoformat(result["at"])
    low, high = params["latency_ms"]
    seq = summary["sequential"]
    lines = [
        f"Last run: [`{source}`](../{source}), {when:%Y-%m-%d %H:%M} UTC{_commit(result)}, "
        f"{params['cpus']} CPUs. Simulated cameras ({params['vendors']}) on "
        f"{params['sites']} sites, {low:g}–{high:g} ms per SOAP call, served by "
        "vigil-onvif-sim in its own process; the real pipeline (ONVIF inspection, snapshot "
        f"health, {params['engine']} engine, recommendation stored; policy "
        f"{params['apply_policy']}, nothing applied) under the fleet scheduler, durable stack.",
        "",
        "| cameras | bounds (global / site) | time (s) | cameras/min | optimizer CPU per "
        "recommendation (ms) | optimizer busy cores | sequential, extrapolated (s) | "
        "speed-up |",
        "|--:|---|--:|--:|--:|--:|--:|--:|",
        f"| {seq['cameras']} | 1 / 1 (sequential) | "
        f"{_n(seq['per_camera_s'] * seq['cameras'] if seq['per_camera_s'] else None)} | "
        f"{_n(seq['cameras_per_min'])} | {_n(seq['optimizer_cpu_ms_per_recommendation'])} "
        "| | | 1 |",
    ]
    bounds = result["results"]["concurrent"]
    for size, row in summary["fleets"].items():
        run = bounds[size]
        lines.append(
            f"| {size} | {run['global_concurrency']} / {run['per_site_concurrency']} | "
            f"{_n(row['wall_s'])} | {_n(row['cameras_per_min'])} | "
            f"{_n(row['optimizer_cpu_ms_per_recommendation'])} | "
            f"{_n(row['optimizer_busy_cores'], 2)} | {_n(row['sequential_extrapolated_s'])} | "
            f"{_n(row['speedup_vs_sequential'])} |"
        )
    lines += [
        "",
        f"The sequential row reviews {seq['cameras']} cameras one at a time; its time per "
        "camera times each fleet size is the extrapolated sequential time, and the speed-up "
        "is that over the measured time.",
    ]
    dead = summary.get("dead")
    if dead is not None:
        lines += [
            "",
            f"**Dead cameras**: {dead['cameras']} cameras plus {dead['dead_cameras']} dead "
            f"ones (one per site, {params['dead_camera']}): the live cameras were all "
            f"reviewed in {_n(dead['live_done_s'])} s against {_n(dead['without_dead_s'])} s "
            f"without the dead ones (x{_n(dead['slowdown'], 2)}); the dead cameras were given "
            f"up after {_n(dead['dead_done_s'])} s ({_outcomes(dead['dead_outcomes'])}).",
        ]
    applied = summary.get("apply")
    if applied is not None:
        lines += [
            "",
            f"**Auto-apply** (last, policy `auto` on the first {applied['cameras']} cameras): "
            f"reviewed in {_n(applied['wall_s'])} s, {_n(applied['cameras_per_min'])} cameras/"
            f"min, {_n(applied['optimizer_cpu_ms_per_review'])} ms of optimizer CPU per "
            f"review ({_outcomes(applied['outcomes'])}): x{_n(applied['time_vs_manual'], 2)} "
            f"the time and x{_n(applied['cpu_vs_manual'], 2)} the CPU of the same cameras "
            "without applying.",
        ]
    lines += ["", *_cpu_lines(result), "", "Targets (issue 9):", ""]
    for name, target in summary["targets"].items():
        verdict = "met" if target["met"] else "**not met**"
        lines.append(f"- `{name}`: {verdict} ({_target_detail(target)})")
    return "\n".join(lines)


def _target_detail(target: dict[str, Any]) -> str:
    if "minutes" in target:
        below = ", a fleet smaller than 500" if target.get("fleet_below_500") else ""
        return f"{target['minutes']} minutes{below}"
    return f"live cameras x{_n(target.get('slowdown'), 2)} their time without dead ones"


def _cpu_lines(result: dict[str, Any]) -> list[str]:
    """Where the CPU went in each concurrent run, and how long one review took."""
    lines = [
        "Where the CPU went (seconds, by process) and one live camera's review time:",
        "",
        "| run | optimizer | onvif-sim | postgres | redis | busy cores | review p50 / p95 (s) |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    runs = result["results"]
    named = [("sequential", runs["sequential"])]
    named += [(f"{size} cameras", run) for size, run in runs["concurrent"].items()]
    if "dead" in runs:
        named.append((f"{runs['dead']['cameras']} cameras + dead", runs["dead"]))
    if "apply" in runs:
        named.append((f"{runs['apply']['cameras']} cameras, auto-apply", runs["apply"]))
    for label, run in named:
        cpu, review = run["cpu_s"], run.get("review_s") or {}
        lines.append(
            f"| {label} | {_n(cpu.get('optimizer'))} | {_n(cpu.get('onvif_sim'))} | "
            f"{_n(cpu.get('postgres'))} | {_n(cpu.get('redis-server'))} | "
            f"{_n(cpu.get('busy_cores'), 2)} | {_n(review.get('p50'), 2)} / "
            f"{_n(review.get('p95'), 2)} |"
        )
    return lines


def _outcomes(values: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in values.items())


def _commit(result: dict[str, Any]) -> str:
    commit = (result.get("code") or {}).get("commit")
    if not commit:
        return ""
    dirty = " with uncommitted changes" if result["code"].get("dirty") else ""
    return f", commit {commit[:7]}{dirty}"
