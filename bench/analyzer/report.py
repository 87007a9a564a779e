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
    lines += _claude_lines(summary["claude"])
    return "\n".join(lines)


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value:g}" for key, value in values.items()) or "none"


def _claude_lines(claude: dict[str, Any]) -> list[str]:
    """The Claude scenario's lines: per camera-hour figures and the limits that applied."""
    if not claude.get("measured"):
        return [f"Claude calls and tokens per camera-hour: not measured ({claude['reason']})."]
    p, hour, lim = claude["parameters"], claude["per_camera_hour"], claude["limits"]
    tokens = hour["tokens"]
    window = ("the span filled the hour's window" if claude["hour_window_full"] else
              f"the span ({claude['span_minutes']} min) is shorter than the hour's window, so "
              "this rate is not yet bounded by the hourly cap")  # fmt: skip
    return [
        f"Claude scenario ({p['cameras']} camsim cameras × {p['minutes']:g} simulated "
        f"minutes, a frame every {p['interval_s']:g} s, {p['backend']} detector, "
        f"{p['model']} priced as configured, fake Anthropic API; "
        f"{claude['camera_hours']} camera-hours), per camera-hour:",
        "",
        "| calls | by mode | selected, by reason | skipped, by reason | input tokens "
        "(uncached / cache read / cache write) | output tokens | est. cost USD |",
        "|--:|---|---|---|--:|--:|--:|",
        f"| {hour['calls']:g} | {_pairs(hour['calls_by_mode'])} "
        f"| {_pairs(hour['selected_by_reason'])} | {_pairs(hour['skipped_by_reason'])} "
        f"| {tokens.get('input', 0):,.0f} / {tokens.get('cache_read', 0):,.0f} / "
        f"{tokens.get('cache_creation', 0):,.0f} | {tokens.get('output', 0):,.0f} "
        f"| {hour['cost_usd']:.4f} |",
        "",
        f"{claude['calls']} calls ({claude['tokens_per_call']:,} billed tokens and "
        f"${claude['cost_usd_per_call']:.4f} a call), {claude['rows']['rows']} claude_analyses "
        f"rows ({claude['rows']['errors']} errors). Limits (simulated clock): per camera "
        f"{lim['camera_calls_per_minute']}/min and {lim['camera_calls_per_hour']}/h, global "
        f"{lim['calls_per_minute']}/min and {lim['calls_per_hour']}/h, "
        f"{lim['daily_token_budget']:,} tokens a day. The caps bound calls at "
        f"{claude['steady_calls_per_camera_hour_bound']:g} per camera-hour "
        f"(claude_camera_calls_per_hour) once an hour has passed; {window}. At this many "
        f"tokens a call the daily budget pays for "
        f"{claude['budget_calls_per_camera_hour_bound']} calls per camera-hour over "
        f"{p['cameras']} cameras.",
    ]
