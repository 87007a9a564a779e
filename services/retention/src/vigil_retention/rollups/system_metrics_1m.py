"""``system_metrics_rollup_1m``: system_metrics per metric, component, source and minute.

Columns: ``value_min``, ``value_max``, ``value_avg``, ``value_sum``, ``value_count`` and the
continuous percentiles ``value_p50``/``value_p95``/``value_p99`` (``percentile_cont``, linear
interpolation between samples). A sample without a source counts under ``source_id ''``.
"""

from __future__ import annotations

from typing import Final

from vigil_retention.rollups.base import BUCKET_SQL, Rollup

__all__ = ["SYSTEM_METRICS_1M"]

_SQL: Final = f"""
INSERT INTO system_metrics_rollup_1m AS r (
    metric_name, component, source_id, bucket, value_min, value_max, value_avg, value_sum,
    value_count, value_p50, value_p95, value_p99)
SELECT metric_name, component, coalesce(source_id, ''), {BUCKET_SQL},
       min(value), max(value), avg(value), sum(value), count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY value),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY value),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY value)
  FROM system_metrics
 WHERE ts >= $1::timestamptz AND ts < $2::timestamptz
 GROUP BY 1, 2, 3, 4
ON CONFLICT (metric_name, component, source_id, bucket) DO UPDATE
   SET value_min = EXCLUDED.value_min, value_max = EXCLUDED.value_max,
       value_avg = EXCLUDED.value_avg, value_sum = EXCLUDED.value_sum,
       value_count = EXCLUDED.value_count, value_p50 = EXCLUDED.value_p50,
       value_p95 = EXCLUDED.value_p95, value_p99 = EXCLUDED.value_p99
"""

SYSTEM_METRICS_1M: Final = Rollup(
    name="system_metrics_rollup_1m",
    source_tables=("system_metrics",),
    upsert_sql=_SQL,
    description="system_metrics per minute: min, max, avg, sum, count, p50/p95/p99",
)
