"""``camera_stats_hourly``: per camera and hour, from four source tables.

- camera_events: ``event_count``; ``motion_events``, ``object_events``, ``scene_changes``
  (event_type motion, object_detected, scene_change); ``avg_motion_score``, ``avg_fps``
  (fps_actual), ``avg_quality_score`` (image_quality_score), ``bandwidth_bytes`` (sum of
  bandwidth_usage_bytes), ``avg_objects``/``max_objects`` (object_count);
- frame_metadata: ``frame_count``; detections: ``detection_count``;
- heatmap_minutes: ``heatmap_minutes`` (rows) and ``heatmap_intensity`` (sum of
  total_intensity, added in double precision: seed 002's "activity").

Each source is aggregated once (a CTE per table, materialised because it is read twice);
a camera-hour present in any source gets a row, zero counts and NULL averages for the
sources it lacks.
"""

from __future__ import annotations

from typing import Final

from vigil_retention.rollups.base import BUCKET_SQL, Rollup

__all__ = ["CAMERA_STATS_HOURLY"]

_RANGE: Final = "ts >= $1::timestamptz AND ts < $2::timestamptz"

_SQL: Final = f"""
WITH ev AS (
    SELECT camera_id, {BUCKET_SQL} AS bucket,
           count(*) AS event_count,
           count(*) FILTER (WHERE event_type = 'motion') AS motion_events,
           count(*) FILTER (WHERE event_type = 'object_detected') AS object_events,
           count(*) FILTER (WHERE event_type = 'scene_change') AS scene_changes,
           avg(motion_score) AS avg_motion_score, avg(fps_actual) AS avg_fps,
           avg(image_quality_score) AS avg_quality_score,
           sum(bandwidth_usage_bytes) AS bandwidth_bytes,
           avg(object_count) AS avg_objects, max(object_count) AS max_objects
      FROM camera_events WHERE {_RANGE} GROUP BY 1, 2
), fr AS (
    SELECT camera_id, {BUCKET_SQL} AS bucket, count(*) AS frame_count
      FROM frame_metadata WHERE {_RANGE} GROUP BY 1, 2
), de AS (
    SELECT camera_id, {BUCKET_SQL} AS bucket, count(*) AS detection_count
      FROM detections WHERE {_RANGE} GROUP BY 1, 2
), hm AS (
    SELECT camera_id, {BUCKET_SQL} AS bucket, count(*) AS heatmap_minutes,
           sum(total_intensity::double precision) AS heatmap_intensity
      FROM heatmap_minutes WHERE {_RANGE} GROUP BY 1, 2
), k AS (
    SELECT camera_id, bucket FROM ev UNION SELECT camera_id, bucket FROM fr
    UNION SELECT camera_id, bucket FROM de UNION SELECT camera_id, bucket FROM hm
)
INSERT INTO camera_stats_hourly AS r (
    camera_id, bucket, event_count, motion_events, object_events, scene_changes,
    avg_motion_score, avg_fps, avg_quality_score, bandwidth_bytes, avg_objects, max_objects,
    frame_count, detection_count, heatmap_minutes, heatmap_intensity, computed_at)
SELECT k.camera_id, k.bucket, coalesce(ev.event_count, 0), coalesce(ev.motion_events, 0),
       coalesce(ev.object_events, 0), coalesce(ev.scene_changes, 0),
       ev.avg_motion_score, ev.avg_fps, ev.avg_quality_score, ev.bandwidth_bytes,
       ev.avg_objects, ev.max_objects, coalesce(fr.frame_count, 0),
       coalesce(de.detection_count, 0), coalesce(hm.heatmap_minutes, 0),
       coalesce(hm.heatmap_intensity, 0), now()
  FROM k
  LEFT JOIN ev USING (camera_id, bucket)
  LEFT JOIN fr USING (camera_id, bucket)
  LEFT JOIN de USING (camera_id, bucket)
  LEFT JOIN hm USING (camera_id, bucket)
ON CONFLICT (camera_id, bucket) DO UPDATE
   SET event_count = EXCLUDED.event_count, motion_events = EXCLUDED.motion_events,
       object_events = EXCLUDED.object_events, scene_changes = EXCLUDED.scene_changes,
       avg_motion_score = EXCLUDED.avg_motion_score, avg_fps = EXCLUDED.avg_fps,
       avg_quality_score = EXCLUDED.avg_quality_score,
       bandwidth_bytes = EXCLUDED.bandwidth_bytes, avg_objects = EXCLUDED.avg_objects,
       max_objects = EXCLUDED.max_objects, frame_count = EXCLUDED.frame_count,
       detection_count = EXCLUDED.detection_count, heatmap_minutes = EXCLUDED.heatmap_minutes,
       heatmap_intensity = EXCLUDED.heatmap_intensity, computed_at = EXCLUDED.computed_at
"""

CAMERA_STATS_HOURLY: Final = Rollup(
    name="camera_stats_hourly",
    source_tables=("camera_events", "frame_metadata", "detections", "heatmap_minutes"),
    upsert_sql=_SQL,
    description="per camera and hour: events, motion, objects, frames, detections, heatmaps",
)
