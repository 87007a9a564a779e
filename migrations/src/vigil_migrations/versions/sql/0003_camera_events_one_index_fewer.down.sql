-- Back to 0002's indexes on camera_events.
CREATE INDEX camera_events_camera_ts_idx ON camera_events (camera_id, ts DESC);
CREATE UNIQUE INDEX camera_events_dedup_key_0002
    ON camera_events (camera_id, event_type, frame_number, ts);
DROP INDEX camera_events_dedup_key;
ALTER INDEX camera_events_dedup_key_0002 RENAME TO camera_events_dedup_key;
