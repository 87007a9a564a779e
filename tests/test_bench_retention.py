"""The retention benchmark's own code, at a small size against the real database: both
measurements (a day of 20,000 camera_events rows expired both ways; scenario A over 8 days
of 3 cameras from the rollup, the raw rows and the variants), then the summary
and the docs block computed from them.

No full-size benchmark runs here (`make bench-retention` runs it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from bench.retention.expiry import DELETE_DAY, DROP_DAY, measure_expiry
from bench.retention.report import render, summarize
from bench.retention.scenario import measure_scenario, samples_per_hour
from bench.retention.stats import median, percentiles

ROWS = 20_000


def test_stats_and_the_raw_interval() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert percentiles([float(v) for v in range(1, 101)], scale=1000.0) == {
        "p50": 50000.0, "p99": 99000.0, "max": 100000.0,
    }  # fmt: skip
    assert percentiles([]) == {"p50": None, "p99": None, "max": None}
    assert samples_per_hour(300) == 12
    with pytest.raises(ValueError, match="divide 3600"):
        samples_per_hour(7)


async def test_small_run_measures_both_ways_and_renders(
    database_url: str, pg_pool: asyncpg.Pool
) -> None:
    expiry = await measure_expiry(database_url, ROWS, 10, writer_interval_s=0.01,
                                  baseline_s=0.3, log=lambda line: None)  # fmt: skip
    scenario = await measure_scenario(database_url, days=8, cameras=3, raw_interval_s=600,
                                      runs=3, raw_runs=2, log=lambda line: None)  # fmt: skip

    drop, delete, vacuum = expiry["detach_drop"], expiry["delete"], expiry["vacuum"]
    assert expiry["partition_rows"] == ROWS
    assert drop["size_before_bytes"] > 0
    assert drop["size_after_bytes"] == 0
    assert delete["rows_deleted"] == ROWS
    assert delete["dead_tuples_after"] == ROWS
    assert delete["vacuum_needed"] is True
    assert delete["size_after_bytes"] == delete["size_before_bytes"]  # DELETE frees nothing
    assert vacuum["dead_tuples_after"] == 0
    assert vacuum["heap_bytes_after"] == 0  # every page empty: the heap is truncated
    assert vacuum["size_after_bytes"] < delete["size_after_bytes"]
    assert delete["wal_bytes"] > drop["wal_bytes"] > 0
    assert {"baseline", "detach_drop", "delete", "vacuum"} <= set(expiry["writer"])
    assert expiry["writer"]["baseline"]["inserts"] > 5
    assert expiry["writer"]["errors"] == 0
    parts = await pg_pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'camera_events'::regclass"
    )
    names = {row["relname"] for row in parts}
    assert f"camera_events_p{DROP_DAY:%Y%m%d}" not in names  # detached and dropped
    assert f"camera_events_p{DELETE_DAY:%Y%m%d}" in names  # emptied, still there
    assert await pg_pool.fetchval(
        "SELECT to_regclass($1) IS NULL", f"camera_events_p{DROP_DAY:%Y%m%d}"
    )

    hourly, raw = scenario["occupancy_hourly"], scenario["occupancy_events"]
    assert scenario["fill"]["occupancy_hourly"]["rows"] == 8 * 24 * 3 * 4
    assert scenario["fill"]["occupancy_events"]["rows"] == 8 * 24 * 6 * 3 * 4
    # Tuesdays in Paris (UTC+1) within [01-04, 01-12) UTC: the whole of 01-05 (24 hours) and
    # the first hour of 01-12 (23:00 UTC on the 11th).
    assert hourly["samples"] == raw["samples"] == (24 + 1) * 6 * 3
    assert hourly["avg_occupancy"] == pytest.approx(raw["avg_occupancy"], abs=1e-9)
    assert set(scenario["variants"]) == {"weekday_filter"}
    for variant in scenario["variants"].values():
        assert variant["samples"] == hourly["samples"]
        assert variant["avg_occupancy"] == pytest.approx(hourly["avg_occupancy"], abs=1e-9)
    assert hourly["runs"] == 3
    assert raw["runs"] == 2
    assert hourly["median_ms"] > 0

    results: dict[str, Any] = {"expiry": expiry, "scenario": scenario}
    summary = summarize(results)
    assert summary["expiry"]["rows"] == ROWS
    assert summary["expiry"]["vacuum_needed_after_delete"] is True
    assert summary["scenario"]["same_answer"] is True
    parameters = {"expiry_rows": ROWS, "expiry_cameras": 10, "scenario_days": 8,
                  "scenario_cameras": 3, "zones": 4, "raw_interval_s": 600, "cpus": 2}  # fmt: skip
    text = render({"parameters": parameters, "results": results, "summary": summary,
                   "at": datetime(2026, 12, 2, 18, 0, tzinfo=UTC).isoformat()},
                  "bench/results/retention/x.json")  # fmt: skip
    assert f"**Expiring one day of {ROWS:,} `camera_events` rows**" in text
    assert "| DETACH CONCURRENTLY + DROP |" in text
    assert "| DELETE |" in text
    assert f"| `occupancy_hourly` | {8 * 24 * 3 * 4:,} |" in text
    assert "over 8 days × 3 cameras × 4 zones" in text
    assert "| `occupancy_hourly`, filtered on each hour's weekday* |" in text
