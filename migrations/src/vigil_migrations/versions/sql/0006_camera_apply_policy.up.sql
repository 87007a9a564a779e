-- cameras: the optimizer's apply policy (see 0006_camera_apply_policy.py).
ALTER TABLE cameras
    ADD COLUMN apply_policy              text NOT NULL DEFAULT 'manual',
    ADD COLUMN maintenance_window        jsonb,
    ADD COLUMN auto_apply_min_confidence real,
    ADD CONSTRAINT cameras_apply_policy_check CHECK (apply_policy IN ('manual', 'auto', 'off')),
    ADD CONSTRAINT cameras_maintenance_window_object
        CHECK (maintenance_window IS NULL OR jsonb_typeof(maintenance_window) = 'object'),
    ADD CONSTRAINT cameras_auto_apply_min_confidence_check
        CHECK (auto_apply_min_confidence BETWEEN 0 AND 1);
COMMENT ON COLUMN cameras.apply_policy IS
    'manual: recommendations wait for approval; auto: applied above the confidence threshold '
    'inside the maintenance window; off: never applied.';
COMMENT ON COLUMN cameras.maintenance_window IS
    'NULL (any time) or {"days": [0-6, Monday = 0], "start": "HH:MM", "end": "HH:MM", "tz": '
    '"Area/City"}; end before start crosses midnight.';
COMMENT ON COLUMN cameras.auto_apply_min_confidence IS
    'Lowest confidence applied under the auto policy; NULL: the optimizer''s default.';
GRANT SELECT (apply_policy, maintenance_window, auto_apply_min_confidence) ON cameras
    TO vigil_ingest, vigil_analyzer, vigil_alerter, vigil_retention, vigil_readonly;
SELECT vigil_adopt_ownership();
