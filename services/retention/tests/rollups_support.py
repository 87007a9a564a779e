"""Raw rows for the rollup tests, inserted as the superuser, and their aggregates in Python.

The expected aggregates are computed here from the generated rows (not by SQL), so the
tests compare the rollups with an independent computation. Values are multiples of powers
of two, exact in ``real``, so sums compare exactly and averages to float32 precision.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
"""A Monday, 00:00 UTC: the first hour of the generated data."""
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
CAMERAS = ("cam-1", "cam-2")
SOURCES = (
    "system_metrics", "occupancy_events", "camera_events", "frame_metadata", "detections",
    "heatmap_minutes",
)  # fmt: skip
EVENT_TYPES = ("motion", "object_detected", "scene_change", "manual_trigger")


@dataclass
class Raw:
    """Generated rows per source table (tuples in the column order of ``COLUMNS``)."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    frame_number: int = 0

    def next_frame(self) -> int:
        self.frame_number += 1
        return self.frame_number


COLUMNS: dict[str, tuple[str, ...]] = {
    "system_metrics": ("ts", "metric_name", "metric_type", "component", "source_id", "value"),
    "occupancy_events": ("camera_id", "ts", "zone_id", "object_class", "occupied_count"),
    "camera_events": (
        "camera_id", "event_type", "ts", "frame_number", "motion_score", "object_count",
        "fps_actual", "image_quality_score", "bandwidth_usage_bytes",
    ),
    "frame_metadata": ("camera_id", "ts", "frame_number", "frame_hash", "size_bytes"),
    "detections": (
        "camera_id", "ts", "frame_number", "det_index", "class_name", "confidence", "bbox_x",
        "bbox_y", "bbox_w", "bbox_h", "model",
    ),
    "heatmap_minutes": (
        "camera_id", "ts", "height", "width", "downscale_factor", "intensity_array",
        "frame_count", "total_intensity", "max_intensity", "nonzero_pixels",
    ),
}  # fmt: skip


def _maybe(rng: random.Random, value: Any) -> Any:
    return None if rng.random() < 0.2 else value


def generate(raw: Raw, start: datetime, hours: int, seed: int, per_hour: int = 12) -> Raw:
    """Rows of every source over ``hours`` hours from ``start`` (distinct keys throughout)."""
    rng = random.Random(seed)
    for h in range(hours):
        hour = start + h * HOUR
        minutes = rng.sample(range(60), per_hour)
        for m in minutes:
            generate_at(raw, hour + m * MINUTE + timedelta(seconds=rng.randrange(60)), rng)
    return raw


def generate_at(raw: Raw, ts: datetime, rng: random.Random) -> None:
    """One row of each source near ``ts`` (the heatmap minute at ``ts``'s minute)."""
    cam = rng.choice(CAMERAS)
    frame = raw.next_frame()
    raw.rows["system_metrics"].append(
        (ts, rng.choice(("cpu", "mem")), "gauge", rng.choice(("ingest", "analyzer")),
         rng.choice((None, "a")), rng.randrange(1000) / 8)
    )  # fmt: skip
    raw.rows["occupancy_events"].append(
        (cam, ts + frame * timedelta(microseconds=1), rng.choice(("north_lot", "south_lot")),
         rng.choice(("car", "person")), rng.randrange(40))
    )  # fmt: skip
    raw.rows["camera_events"].append(
        (cam, rng.choice(EVENT_TYPES), ts, frame, _maybe(rng, rng.randrange(65) / 64),
         rng.randrange(9), _maybe(rng, rng.randrange(61) / 2), _maybe(rng, rng.randrange(33) / 32),
         _maybe(rng, rng.randrange(10**6)))
    )  # fmt: skip
    raw.rows["frame_metadata"].append((cam, ts, frame, "h", 1000))
    for det in range(rng.randrange(3)):
        raw.rows["detections"].append((cam, ts, frame, det, "car", 0.5, 0.1, 0.1, 0.2, 0.2, "yolo"))
    minute = ts.replace(second=0, microsecond=0)
    if not any(r[0] == cam and r[1] == minute for r in raw.rows["heatmap_minutes"]):
        raw.rows["heatmap_minutes"].append(
            (cam, minute, 1, 1, 1.0, b"", 30, rng.randrange(4000) / 4, 1.0, 1)
        )


async def insert(conn: asyncpg.Connection, raw: Raw, tables: Iterable[str] = SOURCES) -> None:
    """Create the partitions the rows need and COPY them in (as the superuser)."""
    for table in tables:
        rows = raw.rows[table]
        if not rows:
            continue
        ts_at = COLUMNS[table].index("ts")
        stamps = [r[ts_at] for r in rows]
        await conn.execute(
            "SELECT vigil_ensure_partition_range($1, $2, $3)", table, min(stamps), max(stamps)
        )
        await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))


def bucket(ts: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((ts - epoch) // width) * width


def percentile_cont(values: Sequence[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the sorted values."""
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


def _avg(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def expected_system_metrics(raw: Raw) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    groups: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for ts, name, _type, comp, src, value in raw.rows["system_metrics"]:
        groups[(name, comp, src or "", bucket(ts, MINUTE))].append(value)
    return {
        key: (min(v), max(v), sum(v) / len(v), sum(v), len(v),
              percentile_cont(v, 0.5), percentile_cont(v, 0.95), percentile_cont(v, 0.99))
        for key, v in groups.items()
    }  # fmt: skip


def expected_occupancy(raw: Raw) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for cam, ts, zone, cls, count in raw.rows["occupancy_events"]:
        groups[(cam, zone, cls, bucket(ts, HOUR))].append(count)
    return {key: (len(v), sum(v) / len(v), min(v), max(v), sum(v)) for key, v in groups.items()}


def expected_camera_stats(raw: Raw) -> dict[tuple[Any, ...], dict[str, Any]]:
    """camera_stats_hourly's columns per (camera_id, bucket), from the generated rows."""
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(_empty_stats)
    events: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for ev in raw.rows["camera_events"]:
        events[(ev[0], bucket(ev[2], HOUR))].append(ev)
    for key, evs in events.items():
        bws = [e[8] for e in evs if e[8] is not None]
        out[key].update(
            event_count=len(evs),
            motion_events=sum(e[1] == "motion" for e in evs),
            object_events=sum(e[1] == "object_detected" for e in evs),
            scene_changes=sum(e[1] == "scene_change" for e in evs),
            avg_motion_score=_avg([e[4] for e in evs]), avg_fps=_avg([e[6] for e in evs]),
            avg_quality_score=_avg([e[7] for e in evs]), bandwidth_bytes=sum(bws) if bws else None,
            avg_objects=_avg([e[5] for e in evs]), max_objects=max(e[5] for e in evs),
        )  # fmt: skip
    for table, column in (("frame_metadata", "frame_count"), ("detections", "detection_count")):
        for row in raw.rows[table]:
            out[(row[0], bucket(row[1], HOUR))][column] += 1
    for row in raw.rows["heatmap_minutes"]:
        stats = out[(row[0], bucket(row[1], HOUR))]
        stats["heatmap_minutes"] += 1
        stats["heatmap_intensity"] += row[7]
    return dict(out)


def _empty_stats() -> dict[str, Any]:
    return {
        "event_count": 0, "motion_events": 0, "object_events": 0, "scene_changes": 0,
        "avg_motion_score": None, "avg_fps": None, "avg_quality_score": None,
        "bandwidth_bytes": None, "avg_objects": None, "max_objects": None, "frame_count": 0,
        "detection_count": 0, "heatmap_minutes": 0, "heatmap_intensity": 0.0,
    }  # fmt: skip


async def fetch_keyed(
    conn: asyncpg.Connection, table: str, key: Sequence[str], columns: Sequence[str]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """``table``'s rows as ``{key values: column values}``."""
    rows = await conn.fetch(f"SELECT {', '.join([*key, *columns])} FROM {table}")
    return {tuple(r[k] for k in key): tuple(r[c] for c in columns) for r in rows}


async def rollup_state(conn: asyncpg.Connection, name: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT * FROM rollup_state WHERE rollup_name = $1", name
    )
    return row
