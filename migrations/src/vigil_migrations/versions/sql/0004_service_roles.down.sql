-- Reverts 0004_service_roles.up.sql: objects go back to the login running the downgrade,
-- the roles 0004 added lose this database's privileges (and are dropped unless the cluster
-- still needs them), and 0001's roles and grants come back.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vigil_ingest', 'vigil_analyzer', 'vigil_optimizer', 'vigil_alerter',
                             'vigil_retention', 'vigil_cli', 'vigil_readonly', 'vigil_owner'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA public FROM %I', r);
    END LOOP;
END;
$$;

DROP FUNCTION IF EXISTS vigil_adopt_ownership();
REASSIGN OWNED BY vigil_owner TO CURRENT_USER;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vigil_analyzer', 'vigil_optimizer', 'vigil_alerter',
                             'vigil_retention', 'vigil_cli', 'vigil_owner'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
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
    FOREACH r IN ARRAY ARRAY['vigil_app', 'vigil_maintenance'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

-- 0001's grants, as 0001_initial.up.sql made them.
REVOKE ALL ON FUNCTION vigil_ensure_partition(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION vigil_ensure_partition_range(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION vigil_drop_partition(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vigil_archive_partition(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil_ensure_partition(text, timestamptz)
    TO vigil_ingest, vigil_app, vigil_maintenance;
GRANT EXECUTE ON FUNCTION vigil_ensure_partition_range(text, timestamptz, timestamptz)
    TO vigil_ingest, vigil_app, vigil_maintenance;
GRANT EXECUTE ON FUNCTION vigil_drop_partition(text) TO vigil_maintenance;
GRANT EXECUTE ON FUNCTION vigil_archive_partition(text) TO vigil_maintenance;

GRANT USAGE ON SCHEMA public TO vigil_ingest, vigil_app, vigil_maintenance, vigil_readonly;

-- vigil_ingest
GRANT SELECT ON cameras TO vigil_ingest;
GRANT SELECT, INSERT ON camera_events, frame_metadata, health_metrics, health_logs,
    ingest_rejects, system_metrics TO vigil_ingest;
GRANT INSERT ON audit_log TO vigil_ingest;

-- vigil_app
GRANT INSERT, UPDATE, DELETE ON cameras, optimizations, applied_configs, snapshots,
    health_metrics, health_logs, detections, occupancy_events, heatmap_minutes,
    claude_analyses, alerts, notifications, silences, users, retention_policies TO vigil_app;
GRANT INSERT ON audit_log, ingest_rejects TO vigil_app;

-- vigil_maintenance
GRANT INSERT, UPDATE, DELETE ON system_metrics_rollup_1m, occupancy_hourly, camera_stats_hourly
    TO vigil_maintenance;
GRANT INSERT ON audit_log TO vigil_maintenance;

-- SELECT on every table and view (not on partitions: reads go through the parent).
DO $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
           AND c.relname <> 'alembic_version'
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO vigil_app, vigil_maintenance, vigil_readonly', rel);
    END LOOP;
END;
$$;
