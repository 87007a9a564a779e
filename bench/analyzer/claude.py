"""Claude calls and tokens per camera-hour: the counts of a scenario run and their summary.

:func:`snapshot` reads the analyst's ``vigil_analyzer_claude_*`` counters of this process
(calls by mode and outcome, selections and skips by reason, tokens by kind, estimated cost);
:func:`delta` is what a run added. :func:`stored_rows` counts the ``claude_analyses`` rows of
the run's cameras (by request type; errors: rows without a primary insight). :func:`summarize`
divides everything by the camera-hours of simulated time the run's frames span and sets the
result beside the hard limits that applied: per camera ``claude_camera_calls_per_minute`` and
``claude_camera_calls_per_hour``, globally ``claude_calls_per_minute`` and
``claude_calls_per_hour``, and the daily token budget. Over a span of at least an hour no
camera can exceed ``claude_camera_calls_per_hour`` calls per camera-hour; a shorter span has
not filled the hour's window, so its rate may, and the summary says which applies. The daily
budget's bound is computed from the measured tokens per call: the calls a day it pays for,
spread over the cameras (every billed token counts: input, output, cache reads and
writes, as the budget counts them). Without the analyst in the tree the result is
``measured: false``.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from typing import Any

import asyncpg
from prometheus_client import REGISTRY

ANALYST_MODULE = "vigil_analyzer.claude.analyst"
FAMILIES = {
    "vigil_analyzer_claude_calls": ("calls", ("mode", "outcome")),
    "vigil_analyzer_claude_selected": ("selected", ("reason",)),
    "vigil_analyzer_claude_skipped": ("skipped", ("reason",)),
    "vigil_analyzer_claude_tokens": ("tokens", ("kind",)),
    "vigil_analyzer_claude_cost_usd": ("cost_usd", ()),
}
"""Counter family (prometheus_client's name, without ``_total``) → key and label names."""
Counts = dict[str, dict[str, float]]


def analyst_available() -> bool:
    """Whether the Claude analyst is in this tree."""
    try:
        return importlib.util.find_spec(ANALYST_MODULE) is not None
    except ImportError:
        return False


def not_measured(reason: str) -> dict[str, Any]:
    """The result when nothing could be measured."""
    return {"measured": False, "reason": reason}


def snapshot() -> Counts:
    """The Claude counters now: key → ``"label/label"`` → value (``""`` without labels)."""
    counts: Counts = defaultdict(dict)
    for family in REGISTRY.collect():
        if family.name not in FAMILIES:
            continue
        key, labels = FAMILIES[family.name]
        for sample in family.samples:
            if sample.name.endswith("_total"):
                label = "/".join(sample.labels[name] for name in labels)
                counts[key][label] = sample.value
    return dict(counts)


def delta(before: Counts, after: Counts) -> Counts:
    """What ``after`` adds to ``before`` (zeros left out)."""
    out: Counts = {}
    for key, values in after.items():
        changed = {label: value - before.get(key, {}).get(label, 0.0)
                   for label, value in values.items()}  # fmt: skip
        out[key] = {label: value for label, value in changed.items() if value}
    return out


async def stored_rows(pool: asyncpg.Pool, cameras: list[str]) -> dict[str, Any]:
    """``claude_analyses`` rows of ``cameras``: by request type, errors, tokens."""
    rows = await pool.fetch(
        "SELECT request_type, count(*) AS n, count(*) FILTER (WHERE primary_insight IS NULL)"
        " AS errors, coalesce(sum(input_tokens), 0) AS input_tokens,"
        " coalesce(sum(output_tokens), 0) AS output_tokens FROM claude_analyses"
        " WHERE camera_id = ANY($1::text[]) GROUP BY request_type",
        cameras,
    )
    return {
        "rows": sum(int(r["n"]) for r in rows),
        "by_request_type": {r["request_type"]: int(r["n"]) for r in rows},
        "errors": sum(int(r["errors"]) for r in rows),
        "input_tokens": sum(int(r["input_tokens"]) for r in rows),
        "output_tokens": sum(int(r["output_tokens"]) for r in rows),
    }


def _per_hour(values: dict[str, float], camera_hours: float) -> dict[str, float]:
    return {key: round(value / camera_hours, 1) for key, value in sorted(values.items())}


def _by_first_label(values: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for label, value in values.items():
        out[label.split("/")[0]] += value
    return dict(out)


def summarize(counts: Counts, rows: dict[str, Any], *, cameras: int, span_s: float,
              limits: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    """The run's counts per camera-hour, beside the limits (see the module docstring)."""
    camera_hours = cameras * span_s / 3600
    if camera_hours <= 0:
        return not_measured("the scenario spanned no time")
    calls = counts.get("calls", {})
    by_mode = _by_first_label(calls)
    tokens = counts.get("tokens", {})
    total_calls = sum(calls.values())
    call_tokens = sum(tokens.values())  # billed, and what the budget counts: cache too
    tokens_per_call = call_tokens / total_calls if total_calls else 0.0
    cost = counts.get("cost_usd", {}).get("", 0.0)
    cap = limits["camera_calls_per_hour"]
    budget_calls = limits["daily_token_budget"] / tokens_per_call if tokens_per_call else None
    return {
        "measured": True,
        "cameras": cameras,
        "span_minutes": round(span_s / 60, 1),
        "camera_hours": round(camera_hours, 3),
        "calls": int(total_calls),
        "calls_by_mode_outcome": {k: int(v) for k, v in sorted(calls.items())},
        "per_camera_hour": {
            "calls": round(total_calls / camera_hours, 1),
            "calls_by_mode": _per_hour(by_mode, camera_hours),
            "selected_by_reason": _per_hour(counts.get("selected", {}), camera_hours),
            "skipped_by_reason": _per_hour(counts.get("skipped", {}), camera_hours),
            "tokens": _per_hour(tokens, camera_hours),
            "cost_usd": round(cost / camera_hours, 4),
        },
        "tokens_per_call": round(tokens_per_call),
        "cost_usd": round(cost, 4),
        "cost_usd_per_call": round(cost / total_calls, 5) if total_calls else 0.0,
        "rows": rows,
        "limits": limits,
        "hour_window_full": span_s >= 3600,
        "steady_calls_per_camera_hour_bound": min(cap, limits["calls_per_hour"] / cameras),
        "budget_calls_per_camera_hour_bound": (
            round(budget_calls / 24 / cameras, 1) if budget_calls is not None else None
        ),
    }
