"""The straightforward form of seed 004 scenario A, measured beside the service's query.

The service's query (:data:`vigil_retention.rollups.queries.OCCUPANCY_BY_WEEKDAY_SQL`) lists
the weekday's local days first and reads one bucket range per day from the index
``occupancy_hourly_zone_bucket_idx``. :data:`WEEKDAY_FILTER_SQL` asks the same question the
obvious way, filtering every hourly row of the period on
``extract(isodow FROM bucket AT TIME ZONE tz)``: no index serves that filter, so it reads
every row of the period of the zone. Timed on the same rows in the same run, same answer:
the reason the service's query has its shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

WEEKDAY_FILTER_SQL = """
SELECT sum(sum_count)::double precision / nullif(sum(samples), 0) AS avg_occupancy,
       coalesce(sum(samples), 0)::bigint AS samples
  FROM occupancy_hourly
 WHERE zone_id = $1
   AND ($2::text IS NULL OR object_class = $2::text)
   AND bucket >= $3::timestamptz AND bucket < $4::timestamptz
   AND extract(isodow FROM bucket AT TIME ZONE $5::text) = $6::integer
""".strip()
"""Scenario A filtered on each hour's weekday: the parameters of OCCUPANCY_BY_WEEKDAY_SQL."""

Timer = Callable[[asyncpg.Connection, str, tuple[Any, ...], int], Awaitable[dict[str, Any]]]


async def measure_variants(conn: asyncpg.Connection, args: tuple[Any, ...], runs: int,
                           time_query: Timer) -> dict[str, Any]:  # fmt: skip
    """Each variant's timing (``time_query``'s figures), by name."""
    return {"weekday_filter": await time_query(conn, WEEKDAY_FILTER_SQL, args, runs)}
