"""The alerter benchmark's own code: percentiles, the summary and the docs block computed
from the runs. No benchmark runs here (`make bench-alerter` runs it)."""

from __future__ import annotations

from typing import Any

from bench.alerter.benchmark import bench_config
from bench.alerter.report import percentiles, render, summarize


def figures(delivered: int, wall_s: float, p50: float) -> dict[str, Any]:
    return {"alerts": 100, "delivered": delivered, "bodies": delivered, "handover_s": 0.1,
            "wall_s": wall_s, "latency_s": {"p50": p50, "p90": p50, "p99": p50 * 2, "max": 1.0},
            "cpu_s": {"target": 0.5, "postgres": 0.2}}  # fmt: skip


def test_percentiles_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}
    assert percentiles([]) == {"p50": None, "p90": None, "p99": None, "max": None}


def test_summary_and_render() -> None:
    results = {
        "alertmanager": {"burst": figures(100, 0.5, 0.2)},
        "alerter": {"burst": figures(90, 1.0, 0.4)},
    }
    summary = summarize(results)
    assert summary["alertmanager"]["burst"]["alerts_per_s"] == 200.0
    assert summary["alerter"]["burst"]["all_delivered"] is False
    assert summary["ratios"] == {"burst_rate_vs_alertmanager": 0.45}
    result = {"parameters": {"cpus": 2, "alerts": 100, "batch": 10, "paced_alerts": 10,
                             "rate": 5.0, "alerter_settings": "defaults"},
              "results": results, "summary": summary, "at": "2026-12-02T13:00:00+00:00",
              "code": {"commit": "abcdef0123"}}  # fmt: skip
    text = render(result, "bench/results/alerter/x.json")
    assert "| vigil-alerter (API) | burst | 90/100 | 90.0 |" in text
    assert "x0.45 Alertmanager's rate" in text
    results["alertmanager"]["paced"] = figures(10, 2.0, 0.01)
    results["alerter"]["paced"] = figures(10, 2.0, 0.51)
    assert summarize(results)["ratios"]["paced_p50_extra_s"] == 0.5


def test_config_groups_every_alert_alone() -> None:
    text = bench_config("http://127.0.0.1:1/hook")
    assert "group_by: ['...']" in text
    assert "group_wait: 0s" in text
