-- Vigil initial schema: one schema unifying seeds 000-004 (see ../shared/ARCHITECTURE.md §4).
--
-- Conventions
--   * Objects live in the schema `public`; every time column is timestamptz.
--   * Camera ids are text matching ^[a-z0-9][a-z0-9_-]{0,63}$ (CHECK on cameras.id).
--   * Time-series tables are RANGE-partitioned on their timestamp, their primary keys include
--     that timestamp, and there is no DEFAULT partition: a writer meeting "no partition of
--     relation ... found for row" calls vigil_ensure_partition() and retries.
--   * Partitioned tables carry camera_id WITHOUT a foreign key: an FK check per row would take
--     a KEY SHARE lock on the camera row on the ingest hot path, and history must outlive a
--     removed camera until retention drops it. Relational tables do reference cameras(id).
--   * Every value set in a CHECK is mirrored by a StrEnum in vigil_schema.enums and listed in
--     vigil_schema.tables.CHECKED_ENUMS; tests compare them.
--   * Ids are identity columns, so inserting roles need no sequence privileges.

-- ---------------------------------------------------------------------------------------------
-- Shared trigger functions
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION vigil_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION vigil_touch_updated_at() IS 'BEFORE UPDATE trigger: sets updated_at to now().';

CREATE FUNCTION vigil_reject_modification() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'vigil: % on % is not allowed: rows are immutable', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old partitions are removed by the retention service, never row by row.';
END;
$$;
COMMENT ON FUNCTION vigil_reject_modification() IS
    'BEFORE UPDATE OR DELETE trigger that makes a table append-only (audit_log).';

-- ---------------------------------------------------------------------------------------------
-- cameras (seeds 000, 001, 003, 004)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE cameras (
    id                          text        NOT NULL,
    name                        text        NOT NULL,
    site                        text,
    vendor                      text,
    model                       text,
    firmware                    text,
    ip                          inet,
    onvif_port                  integer,
    vms_system                  text,
    vms_camera_id               text,
    location                    text,
    scene_type                  text,
    purpose                     text,
    zone_config                 jsonb       NOT NULL DEFAULT '{"zones": []}'::jsonb,
    desired_state               text        NOT NULL DEFAULT 'active',
    credentials_encrypted       bytea,
    connection_string_encrypted bytea,
    capabilities                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    tags                        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    health_interval_s           integer     NOT NULL DEFAULT 60,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cameras_pkey PRIMARY KEY (id),
    CONSTRAINT cameras_id_format CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    CONSTRAINT cameras_desired_state_check
        CHECK (desired_state IN ('active', 'disabled', 'maintenance')),
    CONSTRAINT cameras_onvif_port_check CHECK (onvif_port BETWEEN 1 AND 65535),
    CONSTRAINT cameras_health_interval_s_check CHECK (health_interval_s > 0),
    CONSTRAINT cameras_zone_config_object CHECK (jsonb_typeof(zone_config) = 'object'),
    CONSTRAINT cameras_capabilities_object CHECK (jsonb_typeof(capabilities) = 'object')
);
COMMENT ON TABLE cameras IS 'Camera registry. Written by the vigil CLI and the optimizer.';
COMMENT ON COLUMN cameras.credentials_encrypted IS 'Fernet token of the camera credentials JSON.';
COMMENT ON COLUMN cameras.connection_string_encrypted IS 'Fernet token of the RTSP/stream URL.';
COMMENT ON COLUMN cameras.health_interval_s IS 'Expected seconds between health samples.';
CREATE INDEX cameras_site_idx ON cameras (site);
CREATE INDEX cameras_scene_purpose_idx ON cameras (scene_type, purpose);
CREATE INDEX cameras_vms_idx ON cameras (vms_system, vms_camera_id);
CREATE TRIGGER cameras_touch_updated_at BEFORE UPDATE ON cameras
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- retention_policies and the partition functions (the one implementation of partition naming)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE retention_policies (
    table_name     text        NOT NULL,
    granularity    text        NOT NULL,
    retention_days integer     NOT NULL,
    premake        integer     NOT NULL,
    archive        boolean     NOT NULL DEFAULT false,
    description    text        NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT retention_policies_pkey PRIMARY KEY (table_name),
    CONSTRAINT retention_policies_granularity_check
        CHECK (granularity IN ('hour', 'day', 'month')),
    CONSTRAINT retention_policies_retention_days_check CHECK (retention_days > 0),
    CONSTRAINT retention_policies_premake_check CHECK (premake >= 0)
);
COMMENT ON TABLE retention_policies IS
    'One row per partitioned table: partition size, how long to keep, how many partitions to '
    'create ahead, and whether expired partitions are archived (detached) or dropped.';
CREATE TRIGGER retention_policies_touch_updated_at BEFORE UPDATE ON retention_policies
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

-- Defaults from the seeds: 000 "Data Retention Policy" (snapshots 30 d, health_metrics 90 d,
-- optimizations/applied_configs 1 y), 001 (camera_events 30 d hot, frame_metadata 7 d hot,
-- claude_analyses 90 d, alerts 1 y, system_metrics 7 d raw, audit_log 1 y minimum),
-- 002 (heatmaps 90 d), 003 (detections 3 months), 004 (occupancy_events 90 d).
INSERT INTO retention_policies (table_name, granularity, retention_days, premake, archive, description)
VALUES
    ('camera_events',    'day',   30,  7, false, 'Camera events; seed 001: 30 days hot.'),
    ('frame_metadata',   'day',    7,  7, false, 'Frame metadata; seed 001: 7 days hot.'),
    ('health_metrics',   'day',   90,  7, false, 'Camera health samples; seed 000: 90 days.'),
    ('health_logs',      'month', 365, 3, false, 'Camera status transitions; kept a year.'),
    ('detections',       'day',   90,  7, false, 'Object detections; seed 003: 3 months.'),
    ('occupancy_events', 'day',   90,  7, false, 'Occupancy observations; seed 004: 90 days.'),
    ('heatmap_minutes',  'day',   90,  7, false, 'Per-minute heatmaps; seed 002: 90 days.'),
    ('claude_analyses',  'month', 90,  3, false, 'Claude analyses; seed 001: 90 days.'),
    ('snapshots',        'month', 30,  3, false, 'Optimizer snapshots; seed 000: 30 days.'),
    ('notifications',    'month', 365, 3, false, 'Alert deliveries; seed 001: alerts 1 year.'),
    ('system_metrics',   'hour',   7, 24, false, 'Raw platform metrics; seed 001: 7 days raw.'),
    ('audit_log',        'month', 365, 3, true,  'Audit trail; seed 001: 1 year minimum, archived.'),
    ('ingest_rejects',   'day',   14,  7, false, 'Rejected input kept for diagnosis.');

-- Partitions detached by retention (archive = true) are moved here, out of the live schema.
CREATE SCHEMA vigil_archive;
COMMENT ON SCHEMA vigil_archive IS 'Partitions detached by retention for tables with archive = true.';

CREATE FUNCTION vigil_partition_bounds(
    parent text, ts timestamptz,
    OUT partition_name text, OUT range_start timestamptz, OUT range_end timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_granularity text;
    v_start       timestamp;  -- UTC wall-clock start of the period
BEGIN
    IF ts IS NULL THEN
        RAISE EXCEPTION 'vigil_partition_bounds: ts must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT rp.granularity INTO v_granularity
      FROM public.retention_policies rp WHERE rp.table_name = parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'vigil_partition_bounds: % is not a partitioned table of retention_policies',
            quote_literal(parent) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Arithmetic on timestamp (not timestamptz) so the session TimeZone never matters.
    v_start := date_trunc(v_granularity, ts AT TIME ZONE 'UTC');
    range_start := v_start AT TIME ZONE 'UTC';
    range_end := (v_start + ('1 ' || v_granularity)::interval) AT TIME ZONE 'UTC';
    partition_name := parent || '_p' || to_char(v_start,
        CASE v_granularity WHEN 'hour' THEN 'YYYYMMDDHH24' WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END);
END;
$$;
COMMENT ON FUNCTION vigil_partition_bounds(text, timestamptz) IS
    'Name and UTC range [range_start, range_end) of the partition of parent that holds ts, '
    'sized by retention_policies.granularity. Creates nothing.';

CREATE FUNCTION vigil_ensure_partition(parent text, ts timestamptz) RETURNS text
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
    -- Serialise creators of one parent's partitions; the loser then finds the table.
    PERFORM pg_advisory_xact_lock(hashtext('vigil_ensure_partition'), hashtext(parent));
    BEGIN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
            b.partition_name, parent,
            to_char(b.range_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"'),
            to_char(b.range_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"'));
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL;  -- created concurrently by a session that bypassed the advisory lock
    END;
    RETURN b.partition_name;
END;
$$;
COMMENT ON FUNCTION vigil_ensure_partition(text, timestamptz) IS
    'Creates (if missing) the partition of parent that holds ts and returns its name. '
    'Safe under concurrent callers. The partition is owned by the schema owner; privileges on '
    'the parent govern every INSERT/SELECT made through the parent.';

CREATE FUNCTION vigil_ensure_partition_range(parent text, range_from timestamptz, range_to timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_at timestamptz := range_from;
BEGIN
    WHILE v_at <= range_to LOOP
        RETURN NEXT public.vigil_ensure_partition(parent, v_at);
        SELECT range_end INTO v_at FROM public.vigil_partition_bounds(parent, v_at);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION vigil_ensure_partition_range(text, timestamptz, timestamptz) IS
    'vigil_ensure_partition for every period from range_from through range_to (inclusive).';

CREATE FUNCTION vigil_partition_parent(partition_name text) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT parent.relname::text
      FROM pg_inherits i
      JOIN pg_class child ON child.oid = i.inhrelid
      JOIN pg_class parent ON parent.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = child.relnamespace
      JOIN public.retention_policies rp ON rp.table_name = parent.relname
     WHERE n.nspname = 'public' AND child.relname = partition_name;
$$;
COMMENT ON FUNCTION vigil_partition_parent(text) IS
    'Parent of a live partition of a retention-managed table, or NULL.';

CREATE FUNCTION vigil_drop_partition(partition_name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF public.vigil_partition_parent(partition_name) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP TABLE public.%I', partition_name);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION vigil_drop_partition(text) IS
    'Drops a partition of a retention-managed table (false if it is not one). For retention.';

CREATE FUNCTION vigil_archive_partition(partition_name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_parent text := public.vigil_partition_parent(partition_name);
BEGIN
    IF v_parent IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', v_parent, partition_name);
    EXECUTE format('ALTER TABLE public.%I SET SCHEMA vigil_archive', partition_name);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION vigil_archive_partition(text) IS
    'Detaches a partition of a retention-managed table and moves it to schema vigil_archive.';

-- ---------------------------------------------------------------------------------------------
-- camera_events (seed 001), daily. Written by ingest with binary COPY.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE camera_events (
    id                    bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id             text        NOT NULL,
    event_type            text        NOT NULL,
    ts                    timestamptz NOT NULL,
    frame_number          bigint      NOT NULL,
    received_at           timestamptz NOT NULL DEFAULT now(),
    source                text        NOT NULL DEFAULT 'camera',
    motion_score          real,
    motion_regions        jsonb,
    objects               jsonb,
    object_count          integer     NOT NULL DEFAULT 0,
    max_confidence        real,
    scene_hash            text,
    scene_change_score    real,
    fps_actual            real,
    image_quality_score   real,
    bandwidth_usage_bytes bigint,
    inference_ms          real,
    processing_ms         real,
    extra                 jsonb,
    CONSTRAINT camera_events_pkey PRIMARY KEY (id, ts),
    CONSTRAINT camera_events_event_type_check
        CHECK (event_type IN ('motion', 'object_detected', 'scene_change', 'manual_trigger')),
    CONSTRAINT camera_events_source_check CHECK (source IN ('camera', 'frigate')),
    CONSTRAINT camera_events_frame_number_check CHECK (frame_number >= 0),
    CONSTRAINT camera_events_motion_score_check CHECK (motion_score BETWEEN 0 AND 1),
    CONSTRAINT camera_events_scene_change_score_check CHECK (scene_change_score BETWEEN 0 AND 1),
    CONSTRAINT camera_events_image_quality_score_check CHECK (image_quality_score BETWEEN 0 AND 1),
    CONSTRAINT camera_events_max_confidence_check CHECK (max_confidence BETWEEN 0 AND 1),
    CONSTRAINT camera_events_object_count_check CHECK (object_count >= 0)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE camera_events IS
    'Camera events (MQTT vigil/cameras/{id}/events, Frigate bridge). Dedup key: '
    '(camera_id, event_type, frame_number, ts); a redelivered event must not add a row.';
CREATE UNIQUE INDEX camera_events_dedup_key ON camera_events (camera_id, event_type, frame_number, ts);
CREATE INDEX camera_events_camera_ts_idx ON camera_events (camera_id, ts DESC);
CREATE INDEX camera_events_type_ts_idx ON camera_events (event_type, ts DESC);
CREATE INDEX camera_events_scene_hash_idx ON camera_events (scene_hash) WHERE scene_hash IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- frame_metadata (seed 001), daily. One row per JPEG received on .../frames.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE frame_metadata (
    id                bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id         text        NOT NULL,
    ts                timestamptz NOT NULL,
    frame_number      bigint      NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    frame_hash        text        NOT NULL,
    perceptual_hash   text,
    scene_hash        text,
    width             integer,
    height            integer,
    format            text        NOT NULL DEFAULT 'jpeg',
    size_bytes        integer     NOT NULL,
    sharpness_score   real,
    brightness_level  real,
    contrast_level    real,
    noise_level       real,
    quality_score     real,
    storage_location  text        NOT NULL DEFAULT 'none',
    storage_path      text,
    CONSTRAINT frame_metadata_pkey PRIMARY KEY (id, ts),
    CONSTRAINT frame_metadata_storage_location_check
        CHECK (storage_location IN ('none', 'local', 's3', 'archive')),
    CONSTRAINT frame_metadata_frame_number_check CHECK (frame_number >= 0),
    CONSTRAINT frame_metadata_size_bytes_check CHECK (size_bytes >= 0),
    CONSTRAINT frame_metadata_dimensions_check CHECK (width > 0 AND height > 0)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE frame_metadata IS 'Metadata of received frames; dedup key (camera_id, frame_number, ts).';
CREATE UNIQUE INDEX frame_metadata_dedup_key ON frame_metadata (camera_id, frame_number, ts);
CREATE INDEX frame_metadata_camera_ts_idx ON frame_metadata (camera_id, ts DESC);
CREATE INDEX frame_metadata_frame_hash_idx ON frame_metadata (frame_hash);

-- ---------------------------------------------------------------------------------------------
-- health_metrics (seed 000), daily; health_logs (seed 004), monthly.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE health_metrics (
    id          bigint           GENERATED BY DEFAULT AS IDENTITY,
    camera_id   text             NOT NULL,
    ts          timestamptz      NOT NULL,
    metric_type text             NOT NULL,
    value       double precision NOT NULL,
    status      text,
    received_at timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT health_metrics_pkey PRIMARY KEY (id, ts),
    CONSTRAINT health_metrics_metric_type_check CHECK (metric_type IN (
        'brightness', 'noise_level', 'blur_score', 'bitrate_mbps', 'fps_actual',
        'frame_drops', 'latency_ms', 'cpu_percent', 'temperature_c', 'uptime_s')),
    CONSTRAINT health_metrics_status_check CHECK (status IN ('ok', 'warning', 'critical'))
) PARTITION BY RANGE (ts);
COMMENT ON TABLE health_metrics IS
    'One row per metric of a health sample; dedup key (camera_id, metric_type, ts).';
CREATE UNIQUE INDEX health_metrics_dedup_key ON health_metrics (camera_id, metric_type, ts);
CREATE INDEX health_metrics_camera_ts_idx ON health_metrics (camera_id, ts DESC);
CREATE INDEX health_metrics_type_ts_idx ON health_metrics (metric_type, ts DESC);

CREATE TABLE health_logs (
    id          bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id   text        NOT NULL,
    ts          timestamptz NOT NULL,
    status      text        NOT NULL,
    level       text        NOT NULL DEFAULT 'ok',
    message     text        NOT NULL DEFAULT '',
    source      text        NOT NULL,
    details     jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT health_logs_pkey PRIMARY KEY (id, ts),
    CONSTRAINT health_logs_status_check CHECK (status IN ('online', 'offline', 'unknown')),
    CONSTRAINT health_logs_level_check CHECK (level IN ('ok', 'warning', 'critical'))
) PARTITION BY RANGE (ts);
COMMENT ON TABLE health_logs IS
    'Camera connectivity/health transitions (MQTT status topic, optimizer checks).';
COMMENT ON COLUMN health_logs.source IS 'Who observed it, e.g. mqtt_status, optimizer.';
CREATE INDEX health_logs_camera_ts_idx ON health_logs (camera_id, ts DESC);
CREATE INDEX health_logs_problems_idx ON health_logs (ts DESC) WHERE level <> 'ok';

-- ---------------------------------------------------------------------------------------------
-- Analyzer tables: detections (seed 003), occupancy_events (seed 004), heatmap_minutes (002).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE detections (
    id           bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id    text        NOT NULL,
    ts           timestamptz NOT NULL,
    frame_number bigint      NOT NULL,
    det_index    smallint    NOT NULL,
    class_name   text        NOT NULL,
    confidence   real        NOT NULL,
    bbox_x       real        NOT NULL,
    bbox_y       real        NOT NULL,
    bbox_w       real        NOT NULL,
    bbox_h       real        NOT NULL,
    track_id     text,
    zone_ids     text[]      NOT NULL DEFAULT '{}',
    model        text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT detections_pkey PRIMARY KEY (id, ts),
    CONSTRAINT detections_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT detections_det_index_check CHECK (det_index >= 0),
    CONSTRAINT detections_bbox_check CHECK (bbox_w >= 0 AND bbox_h >= 0)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE detections IS
    'One row per detected object per analysed frame; dedup key (camera_id, frame_number, det_index, ts).';
CREATE UNIQUE INDEX detections_dedup_key ON detections (camera_id, frame_number, det_index, ts);
CREATE INDEX detections_camera_ts_idx ON detections (camera_id, ts DESC);
CREATE INDEX detections_class_ts_idx ON detections (class_name, ts DESC);
CREATE INDEX detections_track_idx ON detections (camera_id, track_id) WHERE track_id IS NOT NULL;

CREATE TABLE occupancy_events (
    id             bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id      text        NOT NULL,
    ts             timestamptz NOT NULL,
    zone_id        text        NOT NULL,
    object_class   text        NOT NULL,
    occupied_count integer     NOT NULL,
    capacity       integer,
    frame_number   bigint,
    raw_data       jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT occupancy_events_pkey PRIMARY KEY (id, ts),
    CONSTRAINT occupancy_events_occupied_count_check CHECK (occupied_count >= 0),
    CONSTRAINT occupancy_events_capacity_check CHECK (capacity >= 0)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE occupancy_events IS
    'Objects of a class counted in a zone (zone_id ''*'' = whole frame) at ts; '
    'dedup key (camera_id, zone_id, object_class, ts).';
CREATE UNIQUE INDEX occupancy_events_dedup_key ON occupancy_events (camera_id, zone_id, object_class, ts);
CREATE INDEX occupancy_events_camera_ts_idx ON occupancy_events (camera_id, ts DESC);

CREATE TABLE heatmap_minutes (
    id               bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id        text        NOT NULL,
    ts               timestamptz NOT NULL,
    height           integer     NOT NULL,
    width            integer     NOT NULL,
    downscale_factor real        NOT NULL,
    intensity_array  bytea       NOT NULL,
    frame_count      integer     NOT NULL,
    total_intensity  real        NOT NULL,
    max_intensity    real        NOT NULL,
    nonzero_pixels   integer     NOT NULL,
    processed_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT heatmap_minutes_pkey PRIMARY KEY (id, ts),
    CONSTRAINT heatmap_minutes_dimensions_check CHECK (height > 0 AND width > 0),
    CONSTRAINT heatmap_minutes_downscale_factor_check CHECK (downscale_factor > 0),
    CONSTRAINT heatmap_minutes_frame_count_check CHECK (frame_count >= 0),
    CONSTRAINT heatmap_minutes_nonzero_pixels_check CHECK (nonzero_pixels >= 0)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE heatmap_minutes IS
    'Per-minute motion heatmap: zlib-compressed float32 array of height x width; ts = minute start.';
CREATE UNIQUE INDEX heatmap_minutes_camera_minute_key ON heatmap_minutes (camera_id, ts);
CREATE INDEX heatmap_minutes_ts_idx ON heatmap_minutes (ts DESC);

CREATE VIEW heatmap_stats AS
SELECT camera_id,
       date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
       count(*)::integer                                           AS minutes,
       sum(frame_count)::bigint                                    AS frame_count,
       sum(total_intensity)::double precision                      AS total_intensity,
       avg(total_intensity)::double precision                      AS avg_intensity,
       max(max_intensity)                                          AS max_intensity,
       avg(nonzero_pixels)::double precision                       AS avg_nonzero_pixels
  FROM heatmap_minutes
 GROUP BY camera_id, 2;
COMMENT ON VIEW heatmap_stats IS 'Hourly (UTC) activity per camera from heatmap_minutes (seed 002).';

-- ---------------------------------------------------------------------------------------------
-- claude_analyses (seed 001), monthly.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE claude_analyses (
    id                  bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id           text        NOT NULL,
    ts                  timestamptz NOT NULL,
    trigger_event_id    bigint,
    frame_number        bigint,
    request_type        text        NOT NULL,
    prompt_template     text,
    context_events      integer     NOT NULL DEFAULT 0,
    model               text        NOT NULL,
    response            jsonb       NOT NULL,
    primary_insight     text,
    scene_description   text,
    confidence          real,
    objects_identified  text[]      NOT NULL DEFAULT '{}',
    activities_detected text[]      NOT NULL DEFAULT '{}',
    anomalies_flagged   text[]      NOT NULL DEFAULT '{}',
    risk_level          text        NOT NULL DEFAULT 'none',
    pattern_type        text,
    pattern_confidence  real,
    should_alert        boolean     NOT NULL DEFAULT false,
    alert_reason        text,
    input_tokens        integer,
    output_tokens       integer,
    duration_ms         integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT claude_analyses_pkey PRIMARY KEY (id, ts),
    CONSTRAINT claude_analyses_request_type_check CHECK (request_type IN (
        'scene_description', 'anomaly_detection', 'pattern_analysis', 'real_time_query')),
    CONSTRAINT claude_analyses_risk_level_check
        CHECK (risk_level IN ('none', 'low', 'medium', 'high', 'critical')),
    CONSTRAINT claude_analyses_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT claude_analyses_pattern_confidence_check CHECK (pattern_confidence BETWEEN 0 AND 1)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE claude_analyses IS 'Claude''s analysis of a frame/event; ts = time of the analysed frame.';
CREATE INDEX claude_analyses_camera_ts_idx ON claude_analyses (camera_id, ts DESC);
CREATE INDEX claude_analyses_trigger_event_idx ON claude_analyses (trigger_event_id)
    WHERE trigger_event_id IS NOT NULL;
CREATE INDEX claude_analyses_risk_idx ON claude_analyses (risk_level, ts DESC) WHERE risk_level <> 'none';
CREATE INDEX claude_analyses_alert_idx ON claude_analyses (ts DESC) WHERE should_alert;

-- ---------------------------------------------------------------------------------------------
-- Optimizer tables (seed 000): snapshots (monthly), optimizations, applied_configs.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE snapshots (
    id             bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id      text        NOT NULL,
    captured_at    timestamptz NOT NULL,
    file_path      text,
    content_sha256 text,
    width          integer,
    height         integer,
    size_bytes     integer,
    health_level   text,
    health_metrics jsonb       NOT NULL DEFAULT '{}'::jsonb,
    anomalies      jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT snapshots_pkey PRIMARY KEY (id, captured_at),
    CONSTRAINT snapshots_health_level_check CHECK (health_level IN ('ok', 'warning', 'critical'))
) PARTITION BY RANGE (captured_at);
COMMENT ON TABLE snapshots IS 'Snapshot image analyses (exposure, noise, blur) by the optimizer.';
CREATE UNIQUE INDEX snapshots_camera_captured_key ON snapshots (camera_id, captured_at);
CREATE INDEX snapshots_captured_idx ON snapshots (captured_at DESC);

CREATE TABLE optimizations (
    id                   bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id            text        NOT NULL,
    request_data         jsonb       NOT NULL,
    current_settings     jsonb,
    recommended_settings jsonb       NOT NULL,
    confidence           real,
    warnings             jsonb       NOT NULL DEFAULT '[]'::jsonb,
    explanation          text,
    ai_provider          text        NOT NULL,
    model                text,
    processing_time_ms   integer,
    status               text        NOT NULL DEFAULT 'proposed',
    reviewed_by          text,
    reviewed_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT optimizations_pkey PRIMARY KEY (id),
    CONSTRAINT optimizations_camera_fkey FOREIGN KEY (camera_id)
        REFERENCES cameras (id) ON DELETE CASCADE,
    CONSTRAINT optimizations_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT optimizations_ai_provider_check CHECK (ai_provider IN ('claude', 'heuristic')),
    CONSTRAINT optimizations_status_check CHECK (status IN (
        'proposed', 'approved', 'rejected', 'applied', 'superseded'))
);
COMMENT ON TABLE optimizations IS 'Recommended camera settings (Claude or heuristic) and their review.';
CREATE INDEX optimizations_camera_created_idx ON optimizations (camera_id, created_at DESC);
CREATE INDEX optimizations_status_idx ON optimizations (status, created_at DESC);
CREATE TRIGGER optimizations_touch_updated_at BEFORE UPDATE ON optimizations
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

CREATE TABLE applied_configs (
    id                bigint      GENERATED BY DEFAULT AS IDENTITY,
    camera_id         text        NOT NULL,
    optimization_id   bigint,
    settings          jsonb       NOT NULL,
    previous_settings jsonb,
    apply_method      text        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending',
    applied_at        timestamptz,
    applied_by        text,
    verified_at       timestamptz,
    verification      jsonb,
    error_message     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT applied_configs_pkey PRIMARY KEY (id),
    CONSTRAINT applied_configs_camera_fkey FOREIGN KEY (camera_id)
        REFERENCES cameras (id) ON DELETE CASCADE,
    CONSTRAINT applied_configs_optimization_fkey FOREIGN KEY (optimization_id)
        REFERENCES optimizations (id) ON DELETE SET NULL,
    CONSTRAINT applied_configs_apply_method_check
        CHECK (apply_method IN ('onvif', 'vms', 'vendor', 'manual')),
    CONSTRAINT applied_configs_status_check CHECK (status IN (
        'pending', 'in_progress', 'success', 'failed', 'partial', 'rolled_back'))
);
COMMENT ON TABLE applied_configs IS 'Settings pushed to a camera, with previous values for rollback.';
CREATE INDEX applied_configs_camera_created_idx ON applied_configs (camera_id, created_at DESC);
CREATE INDEX applied_configs_optimization_idx ON applied_configs (optimization_id)
    WHERE optimization_id IS NOT NULL;
CREATE INDEX applied_configs_status_idx ON applied_configs (status, created_at DESC);
CREATE TRIGGER applied_configs_touch_updated_at BEFORE UPDATE ON applied_configs
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Alerter tables (seed 001): silences, alerts, notifications (monthly).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE silences (
    id         bigint      GENERATED BY DEFAULT AS IDENTITY,
    matchers   jsonb       NOT NULL,
    starts_at  timestamptz NOT NULL DEFAULT now(),
    ends_at    timestamptz NOT NULL,
    created_by text        NOT NULL,
    comment    text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT silences_pkey PRIMARY KEY (id),
    CONSTRAINT silences_window_check CHECK (ends_at >= starts_at),
    CONSTRAINT silences_matchers_object CHECK (jsonb_typeof(matchers) = 'object')
);
COMMENT ON TABLE silences IS
    'Suppress notifications of alerts whose labels match every key/value of matchers '
    'while now() is in [starts_at, ends_at). Expiring sets ends_at.';
CREATE INDEX silences_ends_at_idx ON silences (ends_at DESC);
CREATE TRIGGER silences_touch_updated_at BEFORE UPDATE ON silences
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

CREATE TABLE alerts (
    id                 bigint      GENERATED BY DEFAULT AS IDENTITY,
    fingerprint        text        NOT NULL,
    rule               text        NOT NULL,
    severity           text        NOT NULL,
    status             text        NOT NULL DEFAULT 'firing',
    camera_id          text,
    title              text        NOT NULL,
    description        text        NOT NULL DEFAULT '',
    labels             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    data               jsonb       NOT NULL DEFAULT '{}'::jsonb,
    trigger_event_id   bigint,
    claude_analysis_id bigint,
    confidence         real,
    occurrences        integer     NOT NULL DEFAULT 1,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    silence_id         bigint,
    acknowledged_by    text,
    acknowledged_at    timestamptz,
    resolved_by        text,
    resolved_at        timestamptz,
    resolution_notes   text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alerts_pkey PRIMARY KEY (id),
    CONSTRAINT alerts_camera_fkey FOREIGN KEY (camera_id)
        REFERENCES cameras (id) ON DELETE SET NULL,
    CONSTRAINT alerts_silence_fkey FOREIGN KEY (silence_id)
        REFERENCES silences (id) ON DELETE SET NULL,
    CONSTRAINT alerts_severity_check CHECK (severity IN ('info', 'warning', 'critical')),
    CONSTRAINT alerts_status_check
        CHECK (status IN ('firing', 'acknowledged', 'resolved', 'silenced')),
    CONSTRAINT alerts_confidence_check CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT alerts_occurrences_check CHECK (occurrences > 0)
);
COMMENT ON TABLE alerts IS
    'Alerts after dedup/grouping: at most one open (not resolved) alert per fingerprint.';
CREATE UNIQUE INDEX alerts_open_fingerprint_key ON alerts (fingerprint) WHERE status <> 'resolved';
CREATE INDEX alerts_status_severity_idx ON alerts (status, severity, created_at DESC);
CREATE INDEX alerts_camera_created_idx ON alerts (camera_id, created_at DESC);
CREATE INDEX alerts_created_idx ON alerts (created_at DESC);
CREATE TRIGGER alerts_touch_updated_at BEFORE UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

CREATE TABLE notifications (
    id          bigint      GENERATED BY DEFAULT AS IDENTITY,
    alert_id    bigint      NOT NULL,
    receiver    text        NOT NULL,
    channel     text        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending',
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    sent_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_pkey PRIMARY KEY (id, created_at),
    CONSTRAINT notifications_alert_fkey FOREIGN KEY (alert_id)
        REFERENCES alerts (id) ON DELETE CASCADE,
    CONSTRAINT notifications_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    CONSTRAINT notifications_attempts_check CHECK (attempts >= 0)
) PARTITION BY RANGE (created_at);
COMMENT ON TABLE notifications IS 'One row per delivery of an alert to one receiver.';
COMMENT ON COLUMN notifications.channel IS 'Apprise scheme of the receiver URL (slack, mailto, ntfy ...).';
CREATE INDEX notifications_alert_idx ON notifications (alert_id, created_at DESC);
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';
CREATE TRIGGER notifications_touch_updated_at BEFORE UPDATE ON notifications
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- system_metrics (seed 001), hourly, and the rollups written by retention.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE system_metrics (
    id          bigint           GENERATED BY DEFAULT AS IDENTITY,
    ts          timestamptz      NOT NULL,
    metric_name text             NOT NULL,
    metric_type text             NOT NULL,
    component   text             NOT NULL,
    source_id   text,
    value       double precision NOT NULL,
    unit        text,
    tags        jsonb,
    CONSTRAINT system_metrics_pkey PRIMARY KEY (id, ts),
    CONSTRAINT system_metrics_metric_type_check
        CHECK (metric_type IN ('counter', 'gauge', 'histogram', 'rate'))
) PARTITION BY RANGE (ts);
COMMENT ON TABLE system_metrics IS 'Platform metric samples (component = camera, mqtt, claude, ...).';
CREATE INDEX system_metrics_name_ts_idx ON system_metrics (metric_name, ts DESC);
CREATE INDEX system_metrics_component_ts_idx ON system_metrics (component, ts DESC);

CREATE TABLE system_metrics_rollup_1m (
    metric_name text             NOT NULL,
    component   text             NOT NULL,
    source_id   text             NOT NULL DEFAULT '',
    bucket      timestamptz      NOT NULL,
    value_min   double precision NOT NULL,
    value_max   double precision NOT NULL,
    value_avg   double precision NOT NULL,
    value_sum   double precision NOT NULL,
    value_count bigint           NOT NULL,
    value_p50   double precision,
    value_p95   double precision,
    value_p99   double precision,
    CONSTRAINT system_metrics_rollup_1m_pkey PRIMARY KEY (metric_name, component, source_id, bucket)
);
COMMENT ON TABLE system_metrics_rollup_1m IS
    'One-minute rollups of system_metrics; source_id '''' stands for "no source".';
CREATE INDEX system_metrics_rollup_1m_bucket_idx ON system_metrics_rollup_1m (bucket DESC);
CREATE INDEX system_metrics_rollup_1m_component_idx ON system_metrics_rollup_1m (component, bucket DESC);

CREATE TABLE occupancy_hourly (
    camera_id    text        NOT NULL,
    zone_id      text        NOT NULL,
    object_class text        NOT NULL,
    bucket       timestamptz NOT NULL,
    samples      integer     NOT NULL,
    avg_count    real        NOT NULL,
    min_count    integer     NOT NULL,
    max_count    integer     NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT occupancy_hourly_pkey PRIMARY KEY (camera_id, zone_id, object_class, bucket),
    CONSTRAINT occupancy_hourly_samples_check CHECK (samples > 0)
);
COMMENT ON TABLE occupancy_hourly IS 'Hourly rollup of occupancy_events (bucket = hour start, UTC).';
CREATE INDEX occupancy_hourly_bucket_idx ON occupancy_hourly (bucket DESC);

CREATE TABLE camera_stats_hourly (
    camera_id           text        NOT NULL,
    bucket              timestamptz NOT NULL,
    event_count         bigint      NOT NULL,
    motion_events       bigint      NOT NULL,
    object_events       bigint      NOT NULL,
    scene_changes       bigint      NOT NULL,
    avg_motion_score    real,
    avg_fps             real,
    avg_quality_score   real,
    bandwidth_bytes     bigint,
    frame_count         bigint      NOT NULL DEFAULT 0,
    detection_count     bigint      NOT NULL DEFAULT 0,
    computed_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT camera_stats_hourly_pkey PRIMARY KEY (camera_id, bucket)
);
COMMENT ON TABLE camera_stats_hourly IS 'Hourly per-camera rollup of camera_events, frames, detections.';
CREATE INDEX camera_stats_hourly_bucket_idx ON camera_stats_hourly (bucket DESC);

-- ---------------------------------------------------------------------------------------------
-- audit_log (seed 001), monthly, immutable.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE audit_log (
    id             bigint      GENERATED BY DEFAULT AS IDENTITY,
    ts             timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    entity_type    text        NOT NULL,
    entity_id      text,
    action_status  text        NOT NULL DEFAULT 'success',
    severity       text        NOT NULL DEFAULT 'info',
    details        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    service        text,
    ip_address     inet,
    correlation_id text,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id, ts),
    CONSTRAINT audit_log_action_status_check
        CHECK (action_status IN ('success', 'failure', 'denied', 'pending')),
    CONSTRAINT audit_log_severity_check
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical'))
) PARTITION BY RANGE (ts);
COMMENT ON TABLE audit_log IS
    'Append-only audit trail: UPDATE and DELETE raise; retention drops or archives whole partitions.';
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, ts DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, ts DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, ts DESC);
CREATE INDEX audit_log_correlation_idx ON audit_log (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION vigil_reject_modification();

-- ---------------------------------------------------------------------------------------------
-- users (seed 000)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE users (
    id            bigint      GENERATED BY DEFAULT AS IDENTITY,
    username      text        NOT NULL,
    email         text,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'operator',
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('admin', 'operator', 'viewer'))
);
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- ingest_rejects, daily: bad input kept with a reason code (ARCHITECTURE §5).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE ingest_rejects (
    id           bigint      GENERATED BY DEFAULT AS IDENTITY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text        NOT NULL,
    camera_id    text,
    payload      bytea,
    payload_size integer     NOT NULL,
    reason       text        NOT NULL,
    detail       text        NOT NULL,
    source       text        NOT NULL DEFAULT 'ingest',
    CONSTRAINT ingest_rejects_pkey PRIMARY KEY (id, received_at),
    CONSTRAINT ingest_rejects_reason_check CHECK (reason IN (
        'invalid_json', 'invalid_utf8', 'validation_error', 'unknown_camera', 'camera_disabled',
        'camera_mismatch', 'timestamp_future', 'timestamp_too_old', 'payload_too_large',
        'unsupported_topic', 'missing_property', 'dead_letter')),
    CONSTRAINT ingest_rejects_payload_cap CHECK (octet_length(payload) <= 65536),
    CONSTRAINT ingest_rejects_payload_size_check CHECK (payload_size >= 0)
) PARTITION BY RANGE (received_at);
COMMENT ON TABLE ingest_rejects IS
    'Rejected messages: topic (or stream), camera id when known, the first 64 KiB of the payload, '
    'its full size, a reason code and a human-readable detail; source = service that rejected it.';
CREATE INDEX ingest_rejects_reason_idx ON ingest_rejects (reason, received_at DESC);
CREATE INDEX ingest_rejects_camera_idx ON ingest_rejects (camera_id, received_at DESC)
    WHERE camera_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- Initial partitions: from the period holding now() - 1 day (yesterday's daily partition, the
-- hour 24 hours ago, the month of yesterday) through `premake` periods ahead of now.
-- ---------------------------------------------------------------------------------------------

DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT table_name, granularity, premake FROM retention_policies ORDER BY table_name LOOP
        PERFORM vigil_ensure_partition_range(
            p.table_name,
            now() - interval '1 day',
            ((now() AT TIME ZONE 'UTC') + p.premake * ('1 ' || p.granularity)::interval) AT TIME ZONE 'UTC');
    END LOOP;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Roles and privileges.
--
-- Roles are cluster-wide NOLOGIN groups: deployments create LOGIN roles and GRANT these to
-- them. INSERT/SELECT/UPDATE/DELETE through a partitioned parent check only the parent's
-- privileges, so the grants below also cover partitions created later by
-- vigil_ensure_partition; partitions themselves carry no grants (direct partition access is
-- for the owner only). Identity columns need no sequence privileges.
--
--   vigil_ingest       INSERT (+ SELECT for INSERT ... RETURNING / ON CONFLICT) on the ingest
--                      tables, SELECT on cameras, INSERT on audit_log, EXECUTE on the
--                      partition-creating functions. No UPDATE/DELETE anywhere.
--   vigil_app          services and CLI: read everything, write application tables,
--                      INSERT-only on audit_log and ingest_rejects (dead letters).
--   vigil_maintenance  retention: read everything, write the rollup tables and
--                      EXECUTE vigil_ensure_partition(_range),
--                      vigil_drop_partition and vigil_archive_partition (SECURITY DEFINER
--                      wrappers that only touch partitions of retention_policies tables, so the
--                      role owns nothing and holds no DDL rights of its own).
--   vigil_readonly     SELECT on every table and view (Grafana).
-- ---------------------------------------------------------------------------------------------

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vigil_ingest', 'vigil_app', 'vigil_maintenance', 'vigil_readonly'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created by a concurrent migration of another database
            END;
        END IF;
    END LOOP;
END;
$$;

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
