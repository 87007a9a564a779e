"""``occupancy_hourly``: occupancy_events per camera, zone, object class and hour.

Columns: ``samples`` (rows), ``avg_count``, ``min_count``, ``max_count`` and ``sum_count``
(the sum of ``occupied_count``), so that ``sum(sum_count) / sum(samples)`` over any set of
buckets is the exact average of the raw samples (seed 004, scenario A).
"""

from __future__ import annotations

from typing import Final

from vigil_retention.rollups.base import BUCKET_SQL, Rollup

__all__ = ["OCCUPANCY_HOURLY"]

_SQL: Final = f"""
INSERT INTO occupancy_hourly AS r (
    camera_id, zone_id, object_class, bucket, samples, avg_count, min_count, max_count,
    sum_count, computed_at)
SELECT camera_id, zone_id, object_class, {BUCKET_SQL},
       count(*), avg(occupied_count), min(occupied_count), max(occupied_count),
       sum(occupied_count), now()
  FROM occupancy_events
 WHERE ts >= $1::timestamptz AND ts < $2::timestamptz
 GROUP BY 1, 2, 3, 4
ON CONFLICT (camera_id, zone_id, object_class, bucket) DO UPDATE
   SET samples = EXCLUDED.samples, avg_count = EXCLUDED.avg_count,
       min_count = EXCLUDED.min_count, max_count = EXCLUDED.max_count,
       sum_count = EXCLUDED.sum_count, computed_at = EXCLUDED.computed_at
"""

OCCUPANCY_HOURLY: Final = Rollup(
    name="occupancy_hourly",
    source_tables=("occupancy_events",),
    upsert_sql=_SQL,
    description="occupancy_events per camera, zone, class and hour",
)
