-- Undo 0008: the retention role's grants here, the partition function, runs, rollup state
-- and columns, and retention_policies' expire_action (back to the `archive` flag).

-- vigil_retention's membership in vigil_owner (NOINHERIT) stays: roles are cluster-wide and
-- another database of the cluster may still be at 0008 (its retention would lose its DDL).
-- 0004's downgrade drops the roles themselves once nothing in the cluster uses them.
REVOKE SELECT ON frame_metadata, heatmap_minutes, snapshots, claude_analyses, health_logs,
    notifications, audit_log, ingest_rejects FROM vigil_retention;

CREATE OR REPLACE FUNCTION vigil_ensure_partition(parent text, ts timestamptz) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    b record;
BEGIN
    SELECT * INTO STRICT b FROM public.vigil_partition_bounds(parent, ts);
    IF to_regclass(format('public.%I', b.partition_name)) IS NOT NULL THEN
        RETURN b.partition_name;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('vigil_ensure_partition'), hashtext(parent));
    BEGIN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
            b.partition_name, parent,
            to_char(b.range_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"'),
            to_char(b.range_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"'));
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL;
    END;
    RETURN b.partition_name;
END;
$$;
COMMENT ON FUNCTION vigil_ensure_partition(text, timestamptz) IS
    'Creates (if missing) the partition of parent that holds ts and returns its name. '
    'Safe under concurrent callers. The partition is owned by the schema owner; privileges on '
    'the parent govern every INSERT/SELECT made through the parent.';

DROP TABLE retention_runs;
DROP TABLE rollup_state;
ALTER TABLE camera_stats_hourly
    DROP COLUMN avg_objects, DROP COLUMN max_objects,
    DROP COLUMN heatmap_minutes, DROP COLUMN heatmap_intensity;
DROP INDEX occupancy_hourly_zone_bucket_idx;
ALTER TABLE occupancy_hourly DROP COLUMN sum_count;

ALTER TABLE retention_policies ADD COLUMN archive boolean NOT NULL DEFAULT false;
UPDATE retention_policies SET archive = (expire_action <> 'drop');
UPDATE retention_policies SET retention_days = 14, description = 'Rejected input kept for diagnosis.'
 WHERE table_name = 'ingest_rejects';
UPDATE retention_policies SET description = 'Camera events; seed 001: 30 days hot.'
 WHERE table_name = 'camera_events';
UPDATE retention_policies SET description = 'Audit trail; seed 001: 1 year minimum, archived.'
 WHERE table_name = 'audit_log';
UPDATE retention_policies SET description = 'Optimizer snapshots; seed 000: 30 days.'
 WHERE table_name = 'snapshots';
ALTER TABLE retention_policies
    DROP CONSTRAINT retention_policies_expire_action_check,
    DROP CONSTRAINT retention_policies_archive_keep_days_check,
    DROP CONSTRAINT retention_policies_min_retention_days_check,
    DROP COLUMN expire_action, DROP COLUMN archive_keep_days, DROP COLUMN min_retention_days;
COMMENT ON COLUMN retention_policies.retention_days IS NULL;
