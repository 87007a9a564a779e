ALTER TABLE cameras
    DROP COLUMN IF EXISTS auto_apply_min_confidence,
    DROP COLUMN IF EXISTS maintenance_window,
    DROP COLUMN IF EXISTS apply_policy;
