"""What would bring seed 004 scenario A under its goal: measured, not part of the service.

The service's query (:data:`vigil_retention.rollups.queries.OCCUPANCY_BY_WEEKDAY_SQL`)
filters every hourly row of the period on ``extract(isodow FROM bucket AT TIME ZONE tz)``:
no index can serve that, so it reads every row of the period, every zone's. Two changes,
timed on the same data in the same run (``occupancy_hourly`` as the scenario filled it):

* :data:`DAY_RANGES_SQL`: the same question with the weekday's local days enumerated first
  (``generate_series`` over local dates, each day's bounds converted back with ``AT TIME
  ZONE``, so a 23- or 25-hour day is right), then one bucket range per day: ranges an index
  on ``bucket`` can serve. Same parameters, same answer;
* :data:`COVERING_INDEX_SQL`: an index on ``(zone_id, bucket)`` that includes what the sum
  needs, so one zone's rows are read from the index alone.

:func:`measure_variants` times the day-ranges query on the schema's indexes, then adds the
index and times both queries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from vigil_retention.rollups.queries import OCCUPANCY_BY_WEEKDAY_SQL

DAY_RANGES_SQL = """
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
"""Scenario A by the weekday's local days: the parameters of OCCUPANCY_BY_WEEKDAY_SQL."""

COVERING_INDEX_SQL = (
    "CREATE INDEX bench_occupancy_hourly_zone_bucket_idx ON occupancy_hourly"
    " (zone_id, bucket) INCLUDE (object_class, samples, sum_count)"
)

Timer = Callable[[asyncpg.Connection, str, tuple[Any, ...], int], Awaitable[dict[str, Any]]]


async def measure_variants(conn: asyncpg.Connection, args: tuple[Any, ...], runs: int,
                           time_query: Timer) -> dict[str, Any]:  # fmt: skip
    """Each variant's timing (``time_query``'s figures), by name; the index stays."""
    variants = {"day_ranges": await time_query(conn, DAY_RANGES_SQL, args, runs)}
    await conn.execute(COVERING_INDEX_SQL)
    await conn.execute("VACUUM ANALYZE occupancy_hourly")
    variants["covering_index"] = await time_query(conn, OCCUPANCY_BY_WEEKDAY_SQL, args, runs)
    variants["day_ranges_covering_index"] = await time_query(conn, DAY_RANGES_SQL, args, runs)
    return variants
