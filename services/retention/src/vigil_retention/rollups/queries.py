"""The seeds' history questions, answered from the rollups (and, to check, from raw rows).

Constants used by the tests, the retention bench and docs/retention.md ("Queries from the
rollups"). Each ``*_RAW_SQL`` asks the same question of the raw table, with the same
parameters; on hour-aligned bounds both give the same answer (tests/test_scenario_queries.py).

- :data:`OCCUPANCY_BY_WEEKDAY_SQL` (seed 004, scenario A: "average occupancy of North Lot on
  Tuesdays"): ``$1`` zone_id, ``$2`` object_class (NULL: every class), ``$3``/``$4`` the
  range ``[from, to)`` (hour-aligned, e.g. the last 90 days), ``$5`` the IANA time zone in
  which the weekday is taken, ``$6`` the ISO weekday (1 Monday … 7 Sunday; Tuesday = 2).
  Returns one row: ``avg_occupancy`` (NULL when no sample) and ``samples``.
  ``sum(sum_count) / sum(samples)`` is the exact average of the raw samples. The weekday's
  local days are listed first (a 23- or 25-hour day included), then each is one bucket range
  on the index ``occupancy_hourly_zone_bucket_idx`` (an index-only scan): a filter on
  ``extract(isodow FROM bucket ...)`` of every hour instead reads every row of the period
  (bench/retention measures both). Hourly buckets are UTC hours, so the weekday is exact in
  zones whose offset is a whole number of hours.
- :data:`BUSIEST_HOURS_SQL` (seed 002, "find busiest hours today"): ``$1`` camera_id,
  ``$2`` now, ``$3`` the IANA time zone whose calendar day "today" is. Returns
  ``(hour, activity)`` rows, busiest first (``activity``: the sum of heatmap_minutes'
  total_intensity over the hour).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BUSIEST_HOURS_RAW_SQL",
    "BUSIEST_HOURS_SQL",
    "OCCUPANCY_BY_WEEKDAY_RAW_SQL",
    "OCCUPANCY_BY_WEEKDAY_SQL",
    "TUESDAY",
]

TUESDAY: Final = 2
"""ISO weekday number of Tuesday (``extract(isodow ...)``)."""

OCCUPANCY_BY_WEEKDAY_SQL: Final = """
WITH days AS (
    SELECT greatest(d AT TIME ZONE $5::text, $3::timestamptz) AS day_from,
           least((d + interval '1 day') AT TIME ZONE $5::text, $4::timestamptz) AS day_to
      FROM generate_series(date_trunc('day', $3::timestamptz AT TIME ZONE $5::text),
                           $4::timestamptz AT TIME ZONE $5::text, interval '1 day') AS d
     WHERE extract(isodow FROM d) = $6::integer
)
SELECT sum(h.sum_count)::double precision / nullif(sum(h.samples), 0) AS avg_occupancy,
       coalesce(sum(h.samples), 0)::bigint AS samples
  FROM days
  JOIN occupancy_hourly h ON h.bucket >= days.day_from AND h.bucket < days.day_to
 WHERE h.zone_id = $1
   AND ($2::text IS NULL OR h.object_class = $2::text)
""".strip()

OCCUPANCY_BY_WEEKDAY_RAW_SQL: Final = """
SELECT avg(occupied_count)::double precision AS avg_occupancy, count(*) AS samples
  FROM occupancy_events
 WHERE zone_id = $1
   AND ($2::text IS NULL OR object_class = $2::text)
   AND ts >= $3::timestamptz AND ts < $4::timestamptz
   AND extract(isodow FROM ts AT TIME ZONE $5::text) = $6::integer
""".strip()

BUSIEST_HOURS_SQL: Final = """
WITH today AS (SELECT date_trunc('day', $2::timestamptz AT TIME ZONE $3::text) AS day)
SELECT s.bucket AS hour, s.heatmap_intensity AS activity
  FROM camera_stats_hourly s, today
 WHERE s.camera_id = $1
   AND s.bucket >= today.day AT TIME ZONE $3::text
   AND s.bucket < (today.day + interval '1 day') AT TIME ZONE $3::text
   AND s.heatmap_minutes > 0
 ORDER BY activity DESC, hour
""".strip()

BUSIEST_HOURS_RAW_SQL: Final = """
WITH today AS (SELECT date_trunc('day', $2::timestamptz AT TIME ZONE $3::text) AS day)
SELECT date_bin('1 hour', h.ts, timestamptz '1970-01-01 00:00:00+00') AS hour,
       sum(h.total_intensity::double precision) AS activity
  FROM heatmap_minutes h, today
 WHERE h.camera_id = $1
   AND h.ts >= today.day AT TIME ZONE $3::text
   AND h.ts < (today.day + interval '1 day') AT TIME ZONE $3::text
 GROUP BY 1
 ORDER BY activity DESC, hour
""".strip()
