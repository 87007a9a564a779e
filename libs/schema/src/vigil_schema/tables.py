"""Column lists of every Vigil table, mirroring the migrated database exactly.

Each :class:`TableSpec` lists a table's columns in the database's column order, with the
type spelled as PostgreSQL's ``format_type(atttypid, atttypmod)`` prints it and the column's
nullability. The COPY writers rely on this order: ``TableSpec.column_names`` is the COPY
column list (table order, without the identity columns the database assigns), and every row
a writer hands over is a tuple in exactly that order. COPY applies no column defaults to the
columns it lists, so writers fill ``received_at`` and friends themselves.
``TableSpec.all_column_names`` includes the identity columns.

A migration test compares every spec with ``pg_attribute`` and every :data:`CHECKED_ENUMS`
entry with its CHECK constraint, so these lists cannot drift from the schema: change both in
the same commit. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from vigil_schema.enums import (
    AiProvider,
    AlertSeverity,
    AlertStatus,
    AnalysisRequestType,
    ApplyMethod,
    ApplyPolicy,
    ApplyStatus,
    AuditStatus,
    CameraStatus,
    DesiredState,
    EventSource,
    EventType,
    ExpireAction,
    Granularity,
    HealthLevel,
    LogSeverity,
    MetricType,
    NotificationKind,
    NotificationStatus,
    OptimizationStatus,
    RejectReason,
    RetentionRunStatus,
    RiskLevel,
    StorageLocation,
    SystemMetricType,
    UserRole,
)

INGEST_REJECT_PAYLOAD_MAX_BYTES: Final = 65536
"""Largest ``ingest_rejects.payload`` the database accepts (CHECK); truncate longer ones."""


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: name, ``format_type`` spelling, nullability.

    ``generated`` marks identity columns: the database assigns them and writers leave them out.
    """

    name: str
    pg_type: str
    nullable: bool
    generated: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table (or view): its columns in order and, when partitioned, how."""

    name: str
    columns: tuple[Column, ...]
    partition_key: str | None = None
    granularity: Granularity | None = None
    dedup_key: tuple[str, ...] = ()
    """Columns of the table's unique dedup index (empty: none); this order is the order of the
    values in a stream entry's idempotency key (:mod:`vigil_schema.entry_keys`). A redelivered
    row with the same values is not stored twice."""

    @property
    def column_names(self) -> tuple[str, ...]:
        """The COPY column list: table order, identity columns left out."""
        return tuple(column.name for column in self.columns if not column.generated)

    @property
    def insert_column_names(self) -> tuple[str, ...]:
        """Same as :attr:`column_names` (the columns a writer supplies)."""
        return self.column_names

    @property
    def all_column_names(self) -> tuple[str, ...]:
        """Every column name in table order, identity columns included."""
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``; ``KeyError`` if there is none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


ALERTS: Final = TableSpec(
    name="alerts",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("fingerprint", "text", nullable=False),
        Column("rule", "text", nullable=False),
        Column("severity", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("camera_id", "text", nullable=True),
        Column("title", "text", nullable=False),
        Column("description", "text", nullable=False),
        Column("labels", "jsonb", nullable=False),
        Column("data", "jsonb", nullable=False),
        Column("trigger_event_id", "bigint", nullable=True),
        Column("claude_analysis_id", "bigint", nullable=True),
        Column("confidence", "real", nullable=True),
        Column("occurrences", "integer", nullable=False),
        Column("first_seen_at", "timestamp with time zone", nullable=False),
        Column("last_seen_at", "timestamp with time zone", nullable=False),
        Column("silence_id", "bigint", nullable=True),
        Column("acknowledged_by", "text", nullable=True),
        Column("acknowledged_at", "timestamp with time zone", nullable=True),
        Column("resolved_by", "text", nullable=True),
        Column("resolved_at", "timestamp with time zone", nullable=True),
        Column("resolution_notes", "text", nullable=True),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
        Column("source", "text", nullable=False),
        Column("annotations", "jsonb", nullable=False),
        Column("generator_url", "text", nullable=True),
        Column("active", "boolean", nullable=False),
        Column("ends_at", "timestamp with time zone", nullable=True),
        Column("escalated", "boolean", nullable=False),
        Column("escalated_at", "timestamp with time zone", nullable=True),
        Column("escalation_level", "integer", nullable=False),
    ),
)

ALERT_GROUPS: Final = TableSpec(
    name="alert_groups",
    columns=(
        Column("group_key", "text", nullable=False),
        Column("route_key", "text", nullable=False),
        Column("receiver", "text", nullable=False),
        Column("group_labels", "jsonb", nullable=False),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("next_flush_at", "timestamp with time zone", nullable=False),
        Column("flushed_at", "timestamp with time zone", nullable=True),
        Column("notified_at", "timestamp with time zone", nullable=True),
        Column("notified_firing", "text[]", nullable=False),
        Column("notified_resolved", "text[]", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
    ),
)

ALERT_GROUP_MEMBERS: Final = TableSpec(
    name="alert_group_members",
    columns=(
        Column("group_key", "text", nullable=False),
        Column("alert_id", "bigint", nullable=False),
    ),
)

APPLIED_CONFIGS: Final = TableSpec(
    name="applied_configs",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("optimization_id", "bigint", nullable=True),
        Column("settings", "jsonb", nullable=False),
        Column("previous_settings", "jsonb", nullable=True),
        Column("apply_method", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("applied_at", "timestamp with time zone", nullable=True),
        Column("applied_by", "text", nullable=True),
        Column("verified_at", "timestamp with time zone", nullable=True),
        Column("verification", "jsonb", nullable=True),
        Column("error_message", "text", nullable=True),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
    ),
)

AUDIT_LOG: Final = TableSpec(
    name="audit_log",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("actor", "text", nullable=False),
        Column("action", "text", nullable=False),
        Column("entity_type", "text", nullable=False),
        Column("entity_id", "text", nullable=True),
        Column("action_status", "text", nullable=False),
        Column("severity", "text", nullable=False),
        Column("details", "jsonb", nullable=False),
        Column("service", "text", nullable=True),
        Column("ip_address", "inet", nullable=True),
        Column("correlation_id", "text", nullable=True),
    ),
    partition_key="ts",
    granularity=Granularity.MONTH,
)

CAMERA_EVENTS: Final = TableSpec(
    name="camera_events",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("event_type", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("frame_number", "bigint", nullable=False),
        Column("received_at", "timestamp with time zone", nullable=False),
        Column("source", "text", nullable=False),
        Column("motion_score", "real", nullable=True),
        Column("motion_regions", "jsonb", nullable=True),
        Column("objects", "jsonb", nullable=True),
        Column("object_count", "integer", nullable=False),
        Column("max_confidence", "real", nullable=True),
        Column("scene_hash", "text", nullable=True),
        Column("scene_change_score", "real", nullable=True),
        Column("fps_actual", "real", nullable=True),
        Column("image_quality_score", "real", nullable=True),
        Column("bandwidth_usage_bytes", "bigint", nullable=True),
        Column("inference_ms", "real", nullable=True),
        Column("processing_ms", "real", nullable=True),
        Column("extra", "jsonb", nullable=True),
    ),
    partition_key="ts",
    granularity=Granularity.DAY,
    dedup_key=("camera_id", "event_type", "frame_number", "ts"),
)

CAMERA_STATS_HOURLY: Final = TableSpec(
    name="camera_stats_hourly",
    columns=(
        Column("camera_id", "text", nullable=False),
        Column("bucket", "timestamp with time zone", nullable=False),
        Column("event_count", "bigint", nullable=False),
        Column("motion_events", "bigint", nullable=False),
        Column("object_events", "bigint", nullable=False),
        Column("scene_changes", "bigint", nullable=False),
        Column("avg_motion_score", "real", nullable=True),
        Column("avg_fps", "real", nullable=True),
        Column("avg_quality_score", "real", nullable=True),
        Column("bandwidth_bytes", "bigint", nullable=True),
        Column("frame_count", "bigint", nullable=False),
        Column("detection_count", "bigint", nullable=False),
        Column("computed_at", "timestamp with time zone", nullable=False),
        Column("avg_objects", "real", nullable=True),
        Column("max_objects", "integer", nullable=True),
        Column("heatmap_minutes", "integer", nullable=False),
        Column("heatmap_intensity", "double precision", nullable=False),
    ),
)

CAMERAS: Final = TableSpec(
    name="cameras",
    columns=(
        Column("id", "text", nullable=False),
        Column("name", "text", nullable=False),
        Column("site", "text", nullable=True),
        Column("vendor", "text", nullable=True),
        Column("model", "text", nullable=True),
        Column("firmware", "text", nullable=True),
        Column("ip", "inet", nullable=True),
        Column("onvif_port", "integer", nullable=True),
        Column("vms_system", "text", nullable=True),
        Column("vms_camera_id", "text", nullable=True),
        Column("location", "text", nullable=True),
        Column("scene_type", "text", nullable=True),
        Column("purpose", "text", nullable=True),
        Column("zone_config", "jsonb", nullable=False),
        Column("desired_state", "text", nullable=False),
        Column("credentials_encrypted", "bytea", nullable=True),
        Column("connection_string_encrypted", "bytea", nullable=True),
        Column("capabilities", "jsonb", nullable=False),
        Column("tags", "jsonb", nullable=False),
        Column("health_interval_s", "integer", nullable=False),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
        Column("apply_policy", "text", nullable=False),
        Column("maintenance_window", "jsonb", nullable=True),
        Column("auto_apply_min_confidence", "real", nullable=True),
    ),
)

CLAUDE_ANALYSES: Final = TableSpec(
    name="claude_analyses",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("trigger_event_id", "bigint", nullable=True),
        Column("frame_number", "bigint", nullable=True),
        Column("request_type", "text", nullable=False),
        Column("prompt_template", "text", nullable=True),
        Column("context_events", "integer", nullable=False),
        Column("model", "text", nullable=False),
        Column("response", "jsonb", nullable=False),
        Column("primary_insight", "text", nullable=True),
        Column("scene_description", "text", nullable=True),
        Column("confidence", "real", nullable=True),
        Column("objects_identified", "text[]", nullable=False),
        Column("activities_detected", "text[]", nullable=False),
        Column("anomalies_flagged", "text[]", nullable=False),
        Column("risk_level", "text", nullable=False),
        Column("pattern_type", "text", nullable=True),
        Column("pattern_confidence", "real", nullable=True),
        Column("should_alert", "boolean", nullable=False),
        Column("alert_reason", "text", nullable=True),
        Column("input_tokens", "integer", nullable=True),
        Column("output_tokens", "integer", nullable=True),
        Column("duration_ms", "integer", nullable=True),
        Column("created_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="ts",
    granularity=Granularity.MONTH,
    dedup_key=("camera_id", "frame_number", "ts"),
)

DETECTIONS: Final = TableSpec(
    name="detections",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("frame_number", "bigint", nullable=False),
        Column("det_index", "smallint", nullable=False),
        Column("class_name", "text", nullable=False),
        Column("confidence", "real", nullable=False),
        Column("bbox_x", "real", nullable=False),
        Column("bbox_y", "real", nullable=False),
        Column("bbox_w", "real", nullable=False),
        Column("bbox_h", "real", nullable=False),
        Column("track_id", "text", nullable=True),
        Column("zone_ids", "text[]", nullable=False),
        Column("model", "text", nullable=False),
        Column("created_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="ts",
    granularity=Granularity.DAY,
    dedup_key=("camera_id", "frame_number", "det_index", "ts"),
)

FRAME_METADATA: Final = TableSpec(
    name="frame_metadata",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("frame_number", "bigint", nullable=False),
        Column("received_at", "timestamp with time zone", nullable=False),
        Column("frame_hash", "text", nullable=False),
        Column("perceptual_hash", "text", nullable=True),
        Column("scene_hash", "text", nullable=True),
        Column("width", "integer", nullable=True),
        Column("height", "integer", nullable=True),
        Column("format", "text", nullable=False),
        Column("size_bytes", "integer", nullable=False),
        Column("sharpness_score", "real", nullable=True),
        Column("brightness_level", "real", nullable=True),
        Column("contrast_level", "real", nullable=True),
        Column("noise_level", "real", nullable=True),
        Column("quality_score", "real", nullable=True),
        Column("storage_location", "text", nullable=False),
        Column("storage_path", "text", nullable=True),
    ),
    partition_key="ts",
    granularity=Granularity.DAY,
    dedup_key=("camera_id", "frame_number", "ts"),
)

HEALTH_LOGS: Final = TableSpec(
    name="health_logs",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("status", "text", nullable=False),
        Column("level", "text", nullable=False),
        Column("message", "text", nullable=False),
        Column("source", "text", nullable=False),
        Column("details", "jsonb", nullable=True),
        Column("received_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="ts",
    granularity=Granularity.MONTH,
)

HEALTH_METRICS: Final = TableSpec(
    name="health_metrics",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("metric_type", "text", nullable=False),
        Column("value", "double precision", nullable=False),
        Column("status", "text", nullable=True),
        Column("received_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="ts",
    granularity=Granularity.DAY,
    dedup_key=("camera_id", "metric_type", "ts"),
)

HEATMAP_MINUTES: Final = TableSpec(
    name="heatmap_minutes",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("height", "integer", nullable=False),
        Column("width", "integer", nullable=False),
        Column("downscale_factor", "real", nullable=False),
        Column("intensity_array", "bytea", nullable=False),
        Column("frame_count", "integer", nullable=False),
        Column("total_intensity", "real", nullable=False),
        Column("max_intensity", "real", nullable=False),
        Column("nonzero_pixels", "integer", nullable=False),
        Column("processed_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="ts",
    granularity=Granularity.DAY,
    dedup_key=("camera_id", "ts"),
)

HEATMAP_STATS: Final = TableSpec(
    name="heatmap_stats",
    columns=(
        Column("camera_id", "text", nullable=True),
        Column("hour", "timestamp with time zone", nullable=True),
        Column("minutes", "integer", nullable=True),
        Column("frame_count", "bigint", nullable=True),
        Column("total_intensity", "double precision", nullable=True),
        Column("avg_intensity", "double precision", nullable=True),
        Column("max_intensity", "real", nullable=True),
        Column("avg_nonzero_pixels", "double precision", nullable=True),
    ),
)

INGEST_REJECTS: Final = TableSpec(
    name="ingest_rejects",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("received_at", "timestamp with time zone", nullable=False),
        Column("topic", "text", nullable=False),
        Column("camera_id", "text", nullable=True),
        Column("payload", "bytea", nullable=True),
        Column("payload_size", "integer", nullable=False),
        Column("reason", "text", nullable=False),
        Column("detail", "text", nullable=False),
        Column("source", "text", nullable=False),
    ),
    partition_key="received_at",
    granularity=Granularity.DAY,
)

NOTIFICATIONS: Final = TableSpec(
    name="notifications",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("alert_id", "bigint", nullable=False),
        Column("receiver", "text", nullable=False),
        Column("channel", "text", nullable=False),
        Column("status", "text", nullable=False),
        Column("attempts", "integer", nullable=False),
        Column("last_error", "text", nullable=True),
        Column("sent_at", "timestamp with time zone", nullable=True),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
        Column("group_key", "text", nullable=True),
        Column("alert_ids", "bigint[]", nullable=False),
        Column("kind", "text", nullable=False),
        Column("idempotency_key", "text", nullable=True),
        Column("payload", "jsonb", nullable=True),
        Column("next_attempt_at", "timestamp with time zone", nullable=True),
        Column("deadline_at", "timestamp with time zone", nullable=True),
        Column("lease_owner", "text", nullable=True),
        Column("lease_until", "timestamp with time zone", nullable=True),
    ),
    partition_key="created_at",
    granularity=Granularity.MONTH,
)

OCCUPANCY_EVENTS: Final = TableSpec(
    name="occupancy_events",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("zone_id", "text", nullable=False),
        Column("object_class", "text", nullable=False),
        Column("occupied_count", "integer", nullable=False),
        Column("capacity", "integer", nullable=True),
        Column("frame_number", "bigint", nullable=True),
        Column("raw_data", "jsonb", nullable=True),
        Column("created_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="ts",
    granularity=Granularity.DAY,
    dedup_key=("camera_id", "zone_id", "object_class", "ts"),
)

OCCUPANCY_HOURLY: Final = TableSpec(
    name="occupancy_hourly",
    columns=(
        Column("camera_id", "text", nullable=False),
        Column("zone_id", "text", nullable=False),
        Column("object_class", "text", nullable=False),
        Column("bucket", "timestamp with time zone", nullable=False),
        Column("samples", "integer", nullable=False),
        Column("avg_count", "real", nullable=False),
        Column("min_count", "integer", nullable=False),
        Column("max_count", "integer", nullable=False),
        Column("computed_at", "timestamp with time zone", nullable=False),
        Column("sum_count", "bigint", nullable=False),
    ),
)

OPTIMIZATIONS: Final = TableSpec(
    name="optimizations",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("request_data", "jsonb", nullable=False),
        Column("current_settings", "jsonb", nullable=True),
        Column("recommended_settings", "jsonb", nullable=False),
        Column("confidence", "real", nullable=True),
        Column("warnings", "jsonb", nullable=False),
        Column("explanation", "text", nullable=True),
        Column("ai_provider", "text", nullable=False),
        Column("model", "text", nullable=True),
        Column("processing_time_ms", "integer", nullable=True),
        Column("status", "text", nullable=False),
        Column("reviewed_by", "text", nullable=True),
        Column("reviewed_at", "timestamp with time zone", nullable=True),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
    ),
)

RETENTION_POLICIES: Final = TableSpec(
    name="retention_policies",
    columns=(
        Column("table_name", "text", nullable=False),
        Column("granularity", "text", nullable=False),
        Column("retention_days", "integer", nullable=False),
        Column("premake", "integer", nullable=False),
        Column("description", "text", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
        Column("expire_action", "text", nullable=False),
        Column("archive_keep_days", "integer", nullable=True),
        Column("min_retention_days", "integer", nullable=False),
    ),
)

ROLLUP_STATE: Final = TableSpec(
    name="rollup_state",
    columns=(
        Column("rollup_name", "text", nullable=False),
        Column("source_tables", "text[]", nullable=False),
        Column("bucket_width", "interval", nullable=False),
        Column("lateness", "interval", nullable=False),
        Column("keep_days", "integer", nullable=True),
        Column("finalized_through", "timestamp with time zone", nullable=True),
        Column("refreshed_through", "timestamp with time zone", nullable=True),
        Column("last_run_at", "timestamp with time zone", nullable=True),
        Column("last_rows", "bigint", nullable=False),
        Column("description", "text", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
    ),
)

RETENTION_RUNS: Final = TableSpec(
    name="retention_runs",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("started_at", "timestamp with time zone", nullable=False),
        Column("finished_at", "timestamp with time zone", nullable=True),
        Column("instance", "text", nullable=False),
        Column("dry_run", "boolean", nullable=False),
        Column("status", "text", nullable=False),
        Column("actions", "jsonb", nullable=False),
        Column("error", "text", nullable=True),
    ),
)

SILENCES: Final = TableSpec(
    name="silences",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("matchers", "jsonb", nullable=False),
        Column("starts_at", "timestamp with time zone", nullable=False),
        Column("ends_at", "timestamp with time zone", nullable=False),
        Column("created_by", "text", nullable=False),
        Column("comment", "text", nullable=False),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
        Column("uuid", "uuid", nullable=False),
    ),
)

SNAPSHOTS: Final = TableSpec(
    name="snapshots",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("camera_id", "text", nullable=False),
        Column("captured_at", "timestamp with time zone", nullable=False),
        Column("file_path", "text", nullable=True),
        Column("content_sha256", "text", nullable=True),
        Column("width", "integer", nullable=True),
        Column("height", "integer", nullable=True),
        Column("size_bytes", "integer", nullable=True),
        Column("health_level", "text", nullable=True),
        Column("health_metrics", "jsonb", nullable=False),
        Column("anomalies", "jsonb", nullable=False),
        Column("created_at", "timestamp with time zone", nullable=False),
    ),
    partition_key="captured_at",
    granularity=Granularity.MONTH,
    dedup_key=("camera_id", "captured_at"),
)

SYSTEM_METRICS: Final = TableSpec(
    name="system_metrics",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("ts", "timestamp with time zone", nullable=False),
        Column("metric_name", "text", nullable=False),
        Column("metric_type", "text", nullable=False),
        Column("component", "text", nullable=False),
        Column("source_id", "text", nullable=True),
        Column("value", "double precision", nullable=False),
        Column("unit", "text", nullable=True),
        Column("tags", "jsonb", nullable=True),
    ),
    partition_key="ts",
    granularity=Granularity.HOUR,
)

SYSTEM_METRICS_ROLLUP_1M: Final = TableSpec(
    name="system_metrics_rollup_1m",
    columns=(
        Column("metric_name", "text", nullable=False),
        Column("component", "text", nullable=False),
        Column("source_id", "text", nullable=False),
        Column("bucket", "timestamp with time zone", nullable=False),
        Column("value_min", "double precision", nullable=False),
        Column("value_max", "double precision", nullable=False),
        Column("value_avg", "double precision", nullable=False),
        Column("value_sum", "double precision", nullable=False),
        Column("value_count", "bigint", nullable=False),
        Column("value_p50", "double precision", nullable=True),
        Column("value_p95", "double precision", nullable=True),
        Column("value_p99", "double precision", nullable=True),
    ),
)

USERS: Final = TableSpec(
    name="users",
    columns=(
        Column("id", "bigint", nullable=False, generated=True),
        Column("username", "text", nullable=False),
        Column("email", "text", nullable=True),
        Column("password_hash", "text", nullable=False),
        Column("role", "text", nullable=False),
        Column("disabled", "boolean", nullable=False),
        Column("created_at", "timestamp with time zone", nullable=False),
        Column("updated_at", "timestamp with time zone", nullable=False),
        Column("last_login_at", "timestamp with time zone", nullable=True),
    ),
)


ALL_TABLES: Final[tuple[TableSpec, ...]] = (
    CAMERAS,
    RETENTION_POLICIES,
    ROLLUP_STATE,
    RETENTION_RUNS,
    CAMERA_EVENTS,
    FRAME_METADATA,
    HEALTH_METRICS,
    HEALTH_LOGS,
    DETECTIONS,
    OCCUPANCY_EVENTS,
    HEATMAP_MINUTES,
    CLAUDE_ANALYSES,
    SNAPSHOTS,
    OPTIMIZATIONS,
    APPLIED_CONFIGS,
    ALERTS,
    ALERT_GROUPS,
    ALERT_GROUP_MEMBERS,
    NOTIFICATIONS,
    SILENCES,
    SYSTEM_METRICS,
    SYSTEM_METRICS_ROLLUP_1M,
    OCCUPANCY_HOURLY,
    CAMERA_STATS_HOURLY,
    AUDIT_LOG,
    USERS,
    INGEST_REJECTS,
)
"""Every table of the schema (views are in :data:`ALL_VIEWS`)."""

ALL_VIEWS: Final[tuple[TableSpec, ...]] = (HEATMAP_STATS,)
"""Every view of the schema."""

PARTITIONED_TABLES: Final[tuple[TableSpec, ...]] = tuple(
    spec for spec in ALL_TABLES if spec.partition_key is not None
)
"""The range-partitioned tables; each has a row in ``retention_policies``."""

TABLES_BY_NAME: Final[dict[str, TableSpec]] = {spec.name: spec for spec in ALL_TABLES}

CHECKED_ENUMS: Final[dict[tuple[str, str], type[StrEnum]]] = {
    ("cameras", "desired_state"): DesiredState,
    ("cameras", "apply_policy"): ApplyPolicy,
    ("retention_policies", "granularity"): Granularity,
    ("retention_policies", "expire_action"): ExpireAction,
    ("retention_runs", "status"): RetentionRunStatus,
    ("camera_events", "event_type"): EventType,
    ("camera_events", "source"): EventSource,
    ("frame_metadata", "storage_location"): StorageLocation,
    ("health_metrics", "metric_type"): MetricType,
    ("health_metrics", "status"): HealthLevel,
    ("health_logs", "status"): CameraStatus,
    ("health_logs", "level"): HealthLevel,
    ("claude_analyses", "request_type"): AnalysisRequestType,
    ("claude_analyses", "risk_level"): RiskLevel,
    ("snapshots", "health_level"): HealthLevel,
    ("optimizations", "ai_provider"): AiProvider,
    ("optimizations", "status"): OptimizationStatus,
    ("applied_configs", "apply_method"): ApplyMethod,
    ("applied_configs", "status"): ApplyStatus,
    ("alerts", "severity"): AlertSeverity,
    ("alerts", "status"): AlertStatus,
    ("notifications", "status"): NotificationStatus,
    ("notifications", "kind"): NotificationKind,
    ("system_metrics", "metric_type"): SystemMetricType,
    ("audit_log", "action_status"): AuditStatus,
    ("audit_log", "severity"): LogSeverity,
    ("users", "role"): UserRole,
    ("ingest_rejects", "reason"): RejectReason,
}
"""(table, column) → the enum whose values the column's CHECK constraint lists."""
