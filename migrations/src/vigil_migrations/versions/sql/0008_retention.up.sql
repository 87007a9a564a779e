-- Retention (issue 11): what happens to an expired partition and how long its archive stays;
-- the rollups' state (watermarks); the run history; partitions made ahead without an ACCESS
-- EXCLUSIVE lock on the parent; the retention role's path to the partition DDL.

-- ---------------------------------------------------------------------------------------------
-- retention_policies: expire_action replaces the `archive` flag.
--   drop            DETACH ... CONCURRENTLY, then DROP.
--   archive_schema  DETACH ... CONCURRENTLY, then move the table to schema vigil_archive;
--                   dropped there archive_keep_days after its range ended (NULL: never).
--   archive_file    DETACH ... CONCURRENTLY, export it (COPY) to a gzip'd psql script in the
--                   archive folder, then DROP; the file is deleted archive_keep_days after the
--                   range ended (NULL: never).
-- min_retention_days is a floor `vigil retention set` cannot go under (audit_log: 1 year).
-- ---------------------------------------------------------------------------------------------

ALTER TABLE retention_policies
    ADD COLUMN expire_action      text    NOT NULL DEFAULT 'drop',
    ADD COLUMN archive_keep_days  integer,
    ADD COLUMN min_retention_days integer NOT NULL DEFAULT 0;
UPDATE retention_policies SET expire_action = 'archive_schema' WHERE archive;
ALTER TABLE retention_policies
    DROP COLUMN archive,
    ADD CONSTRAINT retention_policies_expire_action_check
        CHECK (expire_action IN ('drop', 'archive_schema', 'archive_file')),
    ADD CONSTRAINT retention_policies_archive_keep_days_check
        CHECK (archive_keep_days IS NULL OR (expire_action <> 'drop' AND archive_keep_days >= retention_days)),
    ADD CONSTRAINT retention_policies_min_retention_days_check
        CHECK (min_retention_days >= 0 AND retention_days >= min_retention_days);
COMMENT ON COLUMN retention_policies.retention_days IS
    'A partition expires once its whole range is older than this many days.';
COMMENT ON COLUMN retention_policies.expire_action IS
    'drop | archive_schema (moved to vigil_archive) | archive_file (COPY to a gzip''d psql script, then dropped).';
COMMENT ON COLUMN retention_policies.archive_keep_days IS
    'Archives are deleted once their range is older than this many days; NULL keeps them.';
COMMENT ON COLUMN retention_policies.min_retention_days IS
    'Floor for retention_days (audit_log: 365); a policy cannot be set under it.';

-- The seeds' policies (issue 11): camera_events 30 days hot then archived, dropped after 90;
-- audit_log never under a year; ingest_rejects 30 days.
UPDATE retention_policies SET retention_days = 30, expire_action = 'archive_file', archive_keep_days = 90,
       description = 'Camera events; seed 001: 30 days hot, then archived to a file; archives dropped after 90 days.'
 WHERE table_name = 'camera_events';
UPDATE retention_policies SET expire_action = 'archive_schema', min_retention_days = 365,
       description = 'Audit trail; seed 001: 1 year minimum, then archived to schema vigil_archive.'
 WHERE table_name = 'audit_log';
UPDATE retention_policies SET retention_days = 30,
       description = 'Rejected input kept for diagnosis: 30 days.'
 WHERE table_name = 'ingest_rejects';
UPDATE retention_policies SET description = 'Optimizer snapshots; seed 000: 30 days, image files included.'
 WHERE table_name = 'snapshots';

-- ---------------------------------------------------------------------------------------------
-- Rollups: one row per rollup table. Buckets before finalized_through are final (their raw
-- rows can no longer change: older than `lateness`) and never recomputed; buckets from there
-- to refreshed_through are recomputed on every run. A raw partition is only expired once
-- every rollup over its table is final past the partition's end.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE rollup_state (
    rollup_name       text        NOT NULL,
    source_tables     text[]      NOT NULL,
    bucket_width      interval    NOT NULL,
    lateness          interval    NOT NULL,
    keep_days         integer,
    finalized_through timestamptz,
    refreshed_through timestamptz,
    last_run_at       timestamptz,
    last_rows         bigint      NOT NULL DEFAULT 0,
    description       text        NOT NULL DEFAULT '',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rollup_state_pkey PRIMARY KEY (rollup_name),
    CONSTRAINT rollup_state_keep_days_check CHECK (keep_days IS NULL OR keep_days > 0),
    CONSTRAINT rollup_state_lateness_check CHECK (lateness >= interval '0'),
    CONSTRAINT rollup_state_bucket_width_check CHECK (bucket_width > interval '0')
);
COMMENT ON TABLE rollup_state IS
    'Per rollup table: its sources, bucket, lateness window, how long its rows are kept, and the '
    'watermarks: finalized_through (final buckets end) and refreshed_through (last recompute end).';
CREATE TRIGGER rollup_state_touch_updated_at BEFORE UPDATE ON rollup_state
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();
INSERT INTO rollup_state (rollup_name, source_tables, bucket_width, lateness, keep_days, description)
VALUES
    ('system_metrics_rollup_1m', '{system_metrics}', '1 minute', '5 minutes', 90,
     'system_metrics per minute: min, max, avg, sum, count, p50/p95/p99; seed 001: 90 days.'),
    ('occupancy_hourly', '{occupancy_events}', '1 hour', '30 minutes', 730,
     'occupancy_events per camera, zone, class and hour; seed 004 scenario A.'),
    ('camera_stats_hourly', '{camera_events,frame_metadata,detections,heatmap_minutes}',
     '1 hour', '30 minutes', 730,
     'Per camera and hour: events, motion, objects, frames, detections, heatmap activity.');

ALTER TABLE occupancy_hourly ADD COLUMN sum_count bigint NOT NULL DEFAULT 0;
ALTER TABLE occupancy_hourly ALTER COLUMN sum_count DROP DEFAULT;
COMMENT ON COLUMN occupancy_hourly.sum_count IS
    'Sum of occupied_count over the hour''s samples: sum(sum_count) / sum(samples) averages exactly.';
-- Seed 004 scenario A ("average occupancy of North Lot on Tuesdays") reads one zone and class
-- over months, one bucket range per local Tuesday: an index-only scan here (bench/retention
-- measures it at 90 days x 100 cameras x 4 zones).
CREATE INDEX occupancy_hourly_zone_bucket_idx ON occupancy_hourly (zone_id, bucket)
    INCLUDE (object_class, samples, sum_count);

ALTER TABLE camera_stats_hourly
    ADD COLUMN avg_objects       real,
    ADD COLUMN max_objects       integer,
    ADD COLUMN heatmap_minutes   integer          NOT NULL DEFAULT 0,
    ADD COLUMN heatmap_intensity double precision NOT NULL DEFAULT 0;
COMMENT ON COLUMN camera_stats_hourly.heatmap_intensity IS
    'Sum of heatmap_minutes.total_intensity over the hour (seed 002''s "activity").';

-- ---------------------------------------------------------------------------------------------
-- retention_runs: one row per run that held the lock (vigil status: last retention run).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE retention_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    instance    text        NOT NULL,
    dry_run     boolean     NOT NULL,
    status      text        NOT NULL DEFAULT 'running',
    actions     jsonb       NOT NULL DEFAULT '[]'::jsonb,
    error       text,
    CONSTRAINT retention_runs_pkey PRIMARY KEY (id),
    CONSTRAINT retention_runs_status_check CHECK (status IN ('running', 'succeeded', 'failed')),
    CONSTRAINT retention_runs_actions_array CHECK (jsonb_typeof(actions) = 'array')
);
COMMENT ON TABLE retention_runs IS
    'One row per retention run that held the lock: when, where, what it did (or planned), outcome.';
CREATE INDEX retention_runs_started_idx ON retention_runs (started_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Partitions ahead without ACCESS EXCLUSIVE on the parent (pg_partman's way): CREATE TABLE
-- (LIKE parent INCLUDING ALL), a CHECK matching the bounds (so ATTACH skips its scan), ATTACH
-- PARTITION (SHARE UPDATE EXCLUSIVE on the parent: readers and writers carry on), drop the CHECK.
-- Still the one implementation of partition naming, used by writers and retention alike.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION vigil_ensure_partition(parent text, ts timestamptz) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    b        record;
    v_column text;
    v_from   text;
    v_to     text;
    v_check  text;
BEGIN
    SELECT * INTO STRICT b FROM public.vigil_partition_bounds(parent, ts);
    IF to_regclass(format('public.%I', b.partition_name)) IS NOT NULL THEN
        RETURN b.partition_name;
    END IF;
    -- Serialise creators of one parent's partitions; the loser then finds the table.
    PERFORM pg_advisory_xact_lock(hashtext('vigil_ensure_partition'), hashtext(parent));
    IF to_regclass(format('public.%I', b.partition_name)) IS NOT NULL THEN
        RETURN b.partition_name;
    END IF;
    SELECT a.attname INTO STRICT v_column
      FROM pg_partitioned_table pt
      JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
     WHERE pt.partrelid = format('public.%I', parent)::regclass;
    v_from := to_char(b.range_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"');
    v_to := to_char(b.range_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"');
    v_check := b.partition_name || '_bounds';
    BEGIN
        EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING ALL EXCLUDING IDENTITY)',
                       b.partition_name, parent);
        EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
                       b.partition_name, v_check, v_column, v_from, v_column, v_to);
        EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, b.partition_name, v_from, v_to);
        EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', b.partition_name, v_check);
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL;  -- created concurrently by a session that bypassed the advisory lock
    END;
    RETURN b.partition_name;
END;
$$;
COMMENT ON FUNCTION vigil_ensure_partition(text, timestamptz) IS
    'Creates (if missing) the partition of parent that holds ts and returns its name: CREATE TABLE '
    'LIKE + CHECK + ATTACH PARTITION, so the parent is never ACCESS EXCLUSIVE locked. Safe under '
    'concurrent callers. The partition is owned by the schema owner; privileges on the parent '
    'govern every INSERT/SELECT made through the parent.';

-- ---------------------------------------------------------------------------------------------
-- vigil_retention's DDL. DETACH PARTITION ... CONCURRENTLY cannot run in a transaction block,
-- so not in a SECURITY DEFINER function either, and it needs the parent's owner. The retention
-- role is made a member of vigil_owner but NOINHERIT: it holds none of the owner's rights
-- until it runs `SET ROLE vigil_owner`, which the retention service does only around its
-- partition DDL (detach, drop, move to vigil_archive, export) and resets after. The same
-- arrangement pg_partman asks of its maintenance role.
-- ---------------------------------------------------------------------------------------------

GRANT vigil_owner TO vigil_retention;
ALTER ROLE vigil_retention NOINHERIT;

GRANT SELECT ON frame_metadata, heatmap_minutes, snapshots, claude_analyses, health_logs,
    notifications, audit_log, ingest_rejects TO vigil_retention;
GRANT SELECT, INSERT, UPDATE, DELETE ON retention_runs TO vigil_retention;
GRANT SELECT, UPDATE ON rollup_state TO vigil_retention;
GRANT SELECT ON rollup_state, retention_runs TO vigil_cli, vigil_readonly;
GRANT UPDATE (keep_days, lateness) ON rollup_state TO vigil_cli;

SELECT vigil_adopt_ownership();
