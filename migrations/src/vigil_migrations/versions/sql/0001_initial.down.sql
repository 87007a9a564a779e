-- Reverts 0001_initial.up.sql: drops every object it created, then this database's grants to
-- the vigil_* roles, then the roles themselves unless something else in the cluster still
-- depends on them (another database's grants or objects, or member roles).

DROP VIEW IF EXISTS heatmap_stats;

DROP TABLE IF EXISTS
    notifications, alerts, silences,
    applied_configs, optimizations, snapshots,
    camera_events, frame_metadata, health_metrics, health_logs,
    detections, occupancy_events, heatmap_minutes, claude_analyses,
    system_metrics, system_metrics_rollup_1m, occupancy_hourly, camera_stats_hourly,
    audit_log, users, ingest_rejects, cameras, retention_policies;

DROP SCHEMA IF EXISTS vigil_archive CASCADE;

DROP FUNCTION IF EXISTS vigil_archive_partition(text);
DROP FUNCTION IF EXISTS vigil_drop_partition(text);
DROP FUNCTION IF EXISTS vigil_partition_parent(text);
DROP FUNCTION IF EXISTS vigil_ensure_partition_range(text, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS vigil_ensure_partition(text, timestamptz);
DROP FUNCTION IF EXISTS vigil_partition_bounds(text, timestamptz);
DROP FUNCTION IF EXISTS vigil_reject_modification();
DROP FUNCTION IF EXISTS vigil_touch_updated_at();

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vigil_ingest', 'vigil_app', 'vigil_maintenance', 'vigil_readonly'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        -- Remaining privileges of r in this database (schema public, objects not ours).
        EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA public FROM %I', r);
        IF EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                    WHERE g.rolname = r) THEN
            RAISE NOTICE 'vigil: keeping role % because other roles are members of it', r;
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('DROP ROLE %I', r);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'vigil: keeping role % because objects elsewhere in the cluster depend on it', r;
        END;
    END LOOP;
END;
$$;
