-- One NOLOGIN role per service, an owner role, least-privilege grants (see 0004_service_roles.py).
--
--   vigil_owner      owns every table, partition, view and function of the schema and the
--                    vigil_archive schema. Migrations run as a login that is a member of it
--                    (or a superuser). The SECURITY DEFINER partition functions run as it:
--                    that is how writers create partitions without owning anything.
--   vigil_ingest     camera_events, frame_metadata, health_metrics, health_logs,
--                    system_metrics, ingest_rejects; reads cameras (not their secrets) and
--                    retention_policies.
--   vigil_analyzer   detections, occupancy_events, heatmap_minutes, claude_analyses; reads
--                    cameras (not their secrets).
--   vigil_optimizer  snapshots, optimizations, applied_configs, health_metrics, health_logs,
--                    camera configuration (UPDATE cameras); reads what it tunes from.
--   vigil_alerter    alerts, notifications, silences; reads cameras (not their secrets).
--   vigil_retention  system_metrics and the rollups; reads their sources; drops and archives
--                    partitions through vigil_drop_partition / vigil_archive_partition.
--   vigil_cli        the operator's tool: reads everything, manages cameras, users, silences,
--                    alert states, recommendations and retention settings.
--   vigil_readonly   Grafana: SELECT on every table and view except users and the cameras'
--                    encrypted credentials.
--
-- Every service and the CLI: INSERT on audit_log (never UPDATE/DELETE/SELECT: it is
-- append-only, and a trigger refuses changes even to the owner) and EXECUTE on
-- vigil_ensure_partition(_range). Stream consumers (analyzer, optimizer, alerter) may also
-- INSERT into ingest_rejects, their dead letters. Privileges on a partitioned parent govern
-- every access through it, so partitions created later need no grants.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vigil_owner', 'vigil_ingest', 'vigil_analyzer', 'vigil_optimizer',
                             'vigil_alerter', 'vigil_retention', 'vigil_cli', 'vigil_readonly'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created by a concurrent migration of another database
            END;
        END IF;
    END LOOP;
    -- A non-superuser migration login (CREATEROLE) must be a member of the owner to hand it
    -- objects and to create objects as it later.
    IF NOT pg_has_role(current_user, 'vigil_owner', 'MEMBER') THEN
        EXECUTE format('GRANT vigil_owner TO %I', current_user);
    END IF;
END;
$$;

GRANT USAGE, CREATE ON SCHEMA public TO vigil_owner;

CREATE FUNCTION vigil_adopt_ownership() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_owner oid := 'vigil_owner'::regrole;
    v_obj   text;
    v_count integer := 0;
BEGIN
    IF (SELECT nspowner FROM pg_namespace WHERE nspname = 'vigil_archive') <> v_owner THEN
        ALTER SCHEMA vigil_archive OWNER TO vigil_owner;
        v_count := v_count + 1;
    END IF;
    FOR v_obj IN
        SELECT format('ALTER %s %s OWNER TO vigil_owner',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                      c.oid::regclass)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('public', 'vigil_archive')
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND c.relowner <> v_owner
           -- identity/serial sequences follow their table; extensions keep their owner
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
         ORDER BY c.oid
    LOOP
        EXECUTE v_obj;
        v_count := v_count + 1;
    END LOOP;
    FOR v_obj IN
        SELECT format('ALTER ROUTINE %s OWNER TO vigil_owner', p.oid::regprocedure)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.proowner <> v_owner
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.deptype = 'e')
    LOOP
        EXECUTE v_obj;
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END;
$$;
COMMENT ON FUNCTION vigil_adopt_ownership() IS
    'Hands every table, partition, view, sequence and function of schemas public and '
    'vigil_archive (alembic_version too) to vigil_owner; returns how many changed owner. '
    'Every revision that creates objects calls it last.';
REVOKE ALL ON FUNCTION vigil_adopt_ownership() FROM PUBLIC;

SELECT vigil_adopt_ownership();

-- ---------------------------------------------------------------------------------------------
-- 0001's roles: vigil_app and vigil_maintenance go; vigil_ingest and vigil_readonly start over.
-- ---------------------------------------------------------------------------------------------

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vigil_ingest', 'vigil_app', 'vigil_maintenance', 'vigil_readonly'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA public FROM %I', r);
        CONTINUE WHEN r IN ('vigil_ingest', 'vigil_readonly');
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

-- ---------------------------------------------------------------------------------------------
-- What every service and the CLI share.
-- ---------------------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA public TO vigil_ingest, vigil_analyzer, vigil_optimizer, vigil_alerter,
    vigil_retention, vigil_cli, vigil_readonly;
GRANT INSERT ON audit_log TO vigil_ingest, vigil_analyzer, vigil_optimizer, vigil_alerter,
    vigil_retention, vigil_cli;
GRANT EXECUTE ON FUNCTION vigil_ensure_partition(text, timestamptz)
    TO vigil_ingest, vigil_analyzer, vigil_optimizer, vigil_alerter, vigil_retention, vigil_cli;
GRANT EXECUTE ON FUNCTION vigil_ensure_partition_range(text, timestamptz, timestamptz)
    TO vigil_ingest, vigil_analyzer, vigil_optimizer, vigil_alerter, vigil_retention, vigil_cli;
GRANT INSERT ON ingest_rejects TO vigil_analyzer, vigil_optimizer, vigil_alerter;

-- cameras without the encrypted credentials, for the roles that never talk to a camera.
DO $$
DECLARE
    v_columns text;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO v_columns
      FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = 'cameras'
       AND column_name NOT IN ('credentials_encrypted', 'connection_string_encrypted');
    EXECUTE format('GRANT SELECT (%s) ON cameras TO vigil_ingest, vigil_analyzer, vigil_alerter, '
                   'vigil_retention, vigil_readonly', v_columns);
END;
$$;

-- vigil_ingest. It reads back only health_logs (the liveness sweeper's NOT EXISTS check). The
-- COPY writer needs no SELECT on the tables it writes: its staging temp table is
-- CREATE TABLE AS ... WITH NO DATA, which reads nothing, and ON CONFLICT DO NOTHING reads
-- nothing either (migrations/tests/test_roles.py runs both as vigil_ingest).
GRANT SELECT ON retention_policies TO vigil_ingest;
GRANT INSERT ON camera_events, frame_metadata, health_metrics, system_metrics, ingest_rejects
    TO vigil_ingest;
GRANT SELECT, INSERT ON health_logs TO vigil_ingest;

-- vigil_analyzer
GRANT SELECT, INSERT, UPDATE ON detections, occupancy_events, heatmap_minutes, claude_analyses
    TO vigil_analyzer;
GRANT SELECT ON frame_metadata, camera_events TO vigil_analyzer;

-- vigil_optimizer
GRANT SELECT, UPDATE ON cameras TO vigil_optimizer;
GRANT SELECT, INSERT, UPDATE ON snapshots, optimizations, applied_configs TO vigil_optimizer;
GRANT SELECT, INSERT ON health_metrics, health_logs TO vigil_optimizer;
GRANT SELECT ON camera_events, frame_metadata, detections, claude_analyses, retention_policies
    TO vigil_optimizer;

-- vigil_alerter
GRANT SELECT, INSERT, UPDATE ON alerts, notifications, silences TO vigil_alerter;
GRANT SELECT ON camera_events, detections, occupancy_events, claude_analyses, health_logs
    TO vigil_alerter;

-- vigil_retention
GRANT SELECT, INSERT ON system_metrics TO vigil_retention;
GRANT SELECT, INSERT, UPDATE, DELETE ON system_metrics_rollup_1m, occupancy_hourly,
    camera_stats_hourly TO vigil_retention;
GRANT SELECT ON retention_policies, camera_events, occupancy_events, detections, health_metrics
    TO vigil_retention;
GRANT EXECUTE ON FUNCTION vigil_drop_partition(text) TO vigil_retention;
GRANT EXECUTE ON FUNCTION vigil_archive_partition(text) TO vigil_retention;

-- vigil_cli: reads every table and view (vigil status, lists), writes what the operator manages.
GRANT INSERT, UPDATE, DELETE ON cameras, users, silences TO vigil_cli;
GRANT UPDATE ON alerts, optimizations, retention_policies TO vigil_cli;
GRANT INSERT ON applied_configs TO vigil_cli;
-- vigil rejects replay re-publishes a reject's payload, then deletes the row (in one
-- transaction with its audit_log entry).
GRANT DELETE ON ingest_rejects TO vigil_cli;

-- SELECT on every table and view for the CLI, and (but users) for Grafana. cameras is above.
DO $$
DECLARE
    rel record;
BEGIN
    FOR rel IN
        SELECT c.oid::regclass AS oid, c.relname FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
           AND c.relname NOT LIKE 'alembic_version%'
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO vigil_cli', rel.oid);
        CONTINUE WHEN rel.relname IN ('users', 'cameras');
        EXECUTE format('GRANT SELECT ON %s TO vigil_readonly', rel.oid);
    END LOOP;
END;
$$;
