-- camera_events: one index fewer per stored event (see 0003_camera_events_one_index_fewer.py).
-- The dedup key keeps its four columns (the same uniqueness, still what ON CONFLICT DO NOTHING
-- arbitrates on); led by (camera_id, ts), its index serves per-camera time-range scans in
-- both directions, so the separate (camera_id, ts DESC) index goes.
CREATE UNIQUE INDEX camera_events_dedup_key_0003
    ON camera_events (camera_id, ts, event_type, frame_number);
DROP INDEX camera_events_dedup_key;
ALTER INDEX camera_events_dedup_key_0003 RENAME TO camera_events_dedup_key;
DROP INDEX camera_events_camera_ts_idx;
COMMENT ON INDEX camera_events_dedup_key IS
    'Dedup key (camera_id, event_type, frame_number, ts), ordered to serve camera + time ranges.';
