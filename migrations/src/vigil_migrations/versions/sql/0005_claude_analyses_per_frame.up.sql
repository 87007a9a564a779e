-- claude_analyses: at most one analysis per frame (see 0005_claude_analyses_per_frame.py).
CREATE UNIQUE INDEX claude_analyses_dedup_key ON claude_analyses (camera_id, ts, frame_number);
COMMENT ON INDEX claude_analyses_dedup_key IS
    'At most one Claude analysis per frame (camera_id, frame_number, ts); NULL frame_number never conflicts.';
SELECT vigil_adopt_ownership();
