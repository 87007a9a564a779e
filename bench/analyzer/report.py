"""The analyzer benchmark's summary (ratios, the target) and its block in docs/benchmarks.md."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

PIPELINE_VS_BARE_TARGET = 0.85


def median_rate(runs: list[dict[str, Any]]) -> float:
    """The median frames/s of repeated runs."""
    return round(float(statistics.median(run["frames_per_s"] for run in runs)), 2)


def best_rate(runs: list[dict[str, Any]]) -> float:
    """The fastest of repeated runs: other work on a shared box only ever slows a run down,
    so the fastest is the closest to what the code can do (used for the ratios)."""
    return round(float(max(run["frames_per_s"] for run in runs)), 2)


def summarize(results: dict[str, Any], claude: dict[str, Any]) -> dict[str, Any]:
    """Per backend and camera count: bare and pipeline frames/s (the fastest of the
    repetitions; medians beside them), their ratio, whether every pipeline run was verified;
    the target; Claude per camera-hour."""
    summary: dict[str, Any] = {}
    ratios: list[float] = []
    verified = True
    for backend, result in results.items():
        rows: dict[str, Any] = {}
        for cameras, runs in result["cameras"].items():
            bare, pipeline = best_rate(runs["bare"]), best_rate(runs["pipeline"])
            worker = best_rate(runs["bare_worker"])
            ratio = round(pipeline / bare, 3) if bare else 0.0
            ok = all(run["ok"] for run in runs["pipeline"])
            rows[cameras] = {
                "bare_frames_per_s": bare,
                "bare_worker_frames_per_s": worker,
                "pipeline_frames_per_s": pipeline,
                "pipeline_vs_bare": ratio,
                "pipeline_vs_bare_worker": round(pipeline / worker, 3) if worker else 0.0,
                "verified": ok,
                "median_bare_frames_per_s": median_rate(runs["bare"]),
                "median_pipeline_frames_per_s": median_rate(runs["pipeline"]),
            }
            ratios.append(ratio)
            verified = verified and ok
        summary[backend] = rows
    lowest = min(ratios) if ratios else None
    summary["targets"] = {
        "pipeline_vs_bare": PIPELINE_VS_BARE_TARGET,
        "lowest_ratio": lowest,
        "met": lowest is not None and lowest >= PIPELINE_VS_BARE_TARGET and verified,
        "verified": verified,
    }
    summary["claude"] = claude
    return summary


def render(result: dict[str, Any], path: str) -> str:
    """The docs block: parameters, the ratio table, the target, Claude."""
    p, summary = result["parameters"], result["summary"]
    at = datetime.fromisoformat(result["at"]).strftime("%Y-%m-%d %H:%M UTC")
    commit = (result.get("code") or {}).get("commit") or "unknown"
    machine = result.get("machine") or {}
    lines = [
        f"Last run: [`{path}`](../{path}), {at}, commit {commit[:7]}, "
        f"{machine.get('usable_cpus', '?')} cores, frames {p['frame_size']} JPEG "
        f"(~{p['jpeg_kib']} KiB), {p['frames_per_run']} frames per measurement, "
        f"the fastest of {p['repeat']} repetitions (medians in the results file). Frames per "
        "second.",
        "",
        "| backend | cameras | bare loop | bare loop, worker thread | pipeline "
        "| pipeline / bare | pipeline / bare in worker |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for backend, rows in summary.items():
        if backend in ("targets", "claude"):
            continue
        model = result["results"][backend]["model"]
        label = f"{backend} ({model['model']}, {model['weights']})"
        for cameras, row in rows.items():
            flag = "" if row["verified"] else " (NOT verified)"
            lines.append(
                f"| {label} | {cameras} | {row['bare_frames_per_s']:.1f} | "
                f"{row['bare_worker_frames_per_s']:.1f} | {row['pipeline_frames_per_s']:.1f} | "
                f"{row['pipeline_vs_bare']:.3f}{flag} | {row['pipeline_vs_bare_worker']:.3f} |"
            )
    targets = summary["targets"]
    verdict = "met" if targets["met"] else "NOT met"
    lines += ["", f"Target pipeline ≥ {targets['pipeline_vs_bare']} × bare: **{verdict}** "
              f"(lowest ratio {targets['lowest_ratio']}).", ""]  # fmt: skip
    lines.append(_claude_line(summary["claude"]))
    return "\n".join(lines)


def _claude_line(claude: dict[str, Any]) -> str:
    if not claude.get("measured"):
        return f"Claude calls and tokens per camera-hour: not measured ({claude['reason']})."
    return (
        f"Claude per camera-hour: {claude['calls_per_camera_hour']} calls, "
        f"{claude['tokens_per_camera_hour']:,} tokens ({claude['calls']} calls over "
        f"{claude['camera_hours']} camera-hours)."
    )
