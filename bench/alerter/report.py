"""The alerter benchmark's summary (rates, latency percentiles, CPU per alert, the ratios of
vigil-alerter to Alertmanager) and its block in docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

LABELS = {
    "alertmanager": "Alertmanager 0.25 (API)",
    "alerter": "vigil-alerter (API)",
    "alerter-stream": "vigil-alerter (vigil:alerts)",
}


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max of sorted ``values`` (nearest rank), in seconds."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}

    def rank(q: float) -> float:
        return round(values[min(len(values) - 1, max(0, int(q * len(values) + 0.5) - 1))], 4)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": round(values[-1], 4)}


def _rate(figures: dict[str, Any]) -> float | None:
    wall = figures["wall_s"]
    return round(figures["delivered"] / wall, 1) if wall and figures["delivered"] else None


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Per target and scenario: alerts per second, latency, CPU ms per alert; the ratios of
    vigil-alerter (API) to Alertmanager."""
    summary: dict[str, Any] = {}
    for target, scenarios in results.items():
        for scenario, figures in scenarios.items():
            delivered = figures["delivered"] or 1
            summary.setdefault(target, {})[scenario] = {
                "alerts_per_s": _rate(figures),
                "all_delivered": figures["delivered"] == figures["alerts"],
                "latency_p50_s": figures["latency_s"]["p50"],
                "latency_p99_s": figures["latency_s"]["p99"],
                "target_cpu_ms_per_alert": round(1000 * figures["cpu_s"]["target"] / delivered,
                                                 3),
            }  # fmt: skip
    am, mine = summary.get("alertmanager", {}), summary.get("alerter", {})
    ratios: dict[str, Any] = {}
    if "burst" in am and "burst" in mine:
        ratios["burst_rate_vs_alertmanager"] = _ratio(
            mine["burst"]["alerts_per_s"], am["burst"]["alerts_per_s"]
        )
    if "paced" in am and "paced" in mine:
        ratios["paced_p50_extra_s"] = _difference(
            mine["paced"]["latency_p50_s"], am["paced"]["latency_p50_s"]
        )
    summary["ratios"] = ratios
    return summary


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def _difference(mine: float | None, theirs: float | None) -> float | None:
    if mine is None or theirs is None:
        return None
    return round(mine - theirs, 4)


def _flush(params: dict[str, Any]) -> str:
    value = params.get("flush_interval_s")
    return "" if value is None else f", flush interval {value:g} s"


def _n(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def render(result: dict[str, Any], source: str) -> str:
    """The markdown of the docs' alerter block for ``result`` (read from ``source``)."""
    params, summary, runs = result["parameters"], result["summary"], result["results"]
    when = datetime.fromisoformat(result["at"])
    commit = (result.get("code") or {}).get("commit")
    lines = [
        f"Last run: [`{source}`](../{source}), {when:%Y-%m-%d %H:%M} UTC"
        f"{f', commit {commit[:7]}' if commit else ''}, {params['cpus']} CPUs. Each alert its "
        f"own group (group_wait 0s), one webhook per alert to a local sink; burst: "
        f"{params['alerts']} alerts in batches of {params['batch']}; paced: "
        f"{params['paced_alerts']} alerts at {params['rate']:g}/s. Alerter: "
        f"{params['alerter_settings']}{_flush(params)}.",
        "",
        "| target | scenario | delivered | alerts/s | latency p50 (s) | p99 (s) | "
        "target CPU per alert (ms) | postgres CPU (s) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for target, scenarios in summary.items():
        if target == "ratios":
            continue
        for scenario, row in scenarios.items():
            figures = runs[target][scenario]
            lines.append(
                f"| {LABELS.get(target, target)} | {scenario} | {figures['delivered']}/"
                f"{figures['alerts']} | {_n(row['alerts_per_s'])} | "
                f"{_n(row['latency_p50_s'], 3)} | {_n(row['latency_p99_s'], 3)} | "
                f"{_n(row['target_cpu_ms_per_alert'], 2)} | "
                f"{_n(figures['cpu_s'].get('postgres'), 2)} |"
            )
    lines.append("")
    ratios = summary["ratios"]
    if ratios.get("burst_rate_vs_alertmanager") is not None:
        lines.append(f"- burst: vigil-alerter at x{_n(ratios['burst_rate_vs_alertmanager'], 2)} "
                     "Alertmanager's rate.")  # fmt: skip
    if ratios.get("paced_p50_extra_s") is not None:
        lines.append(f"- paced: vigil-alerter's median latency {_n(ratios['paced_p50_extra_s'], 3)}"
                     " s above Alertmanager's (intake wakes the flusher and a flush the "
                     "dispatcher, polling every "
                     f"{params.get('flush_interval_s', 0.5):g} s otherwise; the difference is "
                     "PostgreSQL's commits on the way).")  # fmt: skip
    return "\n".join(lines)
