"""Value sets shared by payloads, services and the database.

Every enum whose values a database CHECK constraint also lists is registered in
``vigil_schema.tables.CHECKED_ENUMS``; a migration test compares the two, so adding a value
here means adding it to the CHECK in a new migration (and vice versa).
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Kind of a camera event (``camera_events.event_type``)."""

    MOTION = "motion"
    OBJECT_DETECTED = "object_detected"
    SCENE_CHANGE = "scene_change"
    MANUAL_TRIGGER = "manual_trigger"


class EventSource(StrEnum):
    """Where a camera event came from (``camera_events.source``)."""

    CAMERA = "camera"
    FRIGATE = "frigate"


class DesiredState(StrEnum):
    """What the operator wants a camera to be doing (``cameras.desired_state``)."""

    ACTIVE = "active"
    DISABLED = "disabled"
    MAINTENANCE = "maintenance"


class ApplyPolicy(StrEnum):
    """Whether the optimizer may change a camera on its own (``cameras.apply_policy``).

    ``manual``: a recommendation waits for an operator's approval; ``auto``: applied when its
    confidence reaches the camera's threshold, inside its maintenance window; ``off``: never.
    """

    MANUAL = "manual"
    AUTO = "auto"
    OFF = "off"


class CameraStatus(StrEnum):
    """Observed connectivity of a camera (``health_logs.status``, Redis camera state)."""

    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


class HealthLevel(StrEnum):
    """Health grade of a sample or a camera (``health_metrics.status``, ``health_logs.level``)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


class MetricType(StrEnum):
    """Camera health metric names (``health_metrics.metric_type``)."""

    BRIGHTNESS = "brightness"
    NOISE_LEVEL = "noise_level"
    BLUR_SCORE = "blur_score"
    BITRATE_MBPS = "bitrate_mbps"
    FPS_ACTUAL = "fps_actual"
    FRAME_DROPS = "frame_drops"
    LATENCY_MS = "latency_ms"
    CPU_PERCENT = "cpu_percent"
    TEMPERATURE_C = "temperature_c"
    UPTIME_S = "uptime_s"


class SystemMetricType(StrEnum):
    """Kind of a platform metric sample (``system_metrics.metric_type``)."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    RATE = "rate"


class StorageLocation(StrEnum):
    """Where a frame's image is kept (``frame_metadata.storage_location``)."""

    NONE = "none"
    LOCAL = "local"
    S3 = "s3"
    ARCHIVE = "archive"


class AlertStatus(StrEnum):
    """The operator's lifecycle of an alert (``alerts.status``, seed 001).

    ``new`` -> ``acknowledged`` -> ``investigating`` -> one of the closed states. The source's
    own state (Alertmanager's firing/resolved) is ``alerts.active``, not this.
    """

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"
    DISMISSED = "dismissed"

    @property
    def is_open(self) -> bool:
        """Whether an operator still has to act on the alert."""
        return self in (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.INVESTIGATING)


class CandidateStatus(StrEnum):
    """What a source says of an alert (``AlertCandidate.status``): Alertmanager's two states."""

    FIRING = "firing"
    RESOLVED = "resolved"


class NotificationKind(StrEnum):
    """Why a notification was queued (``notifications.kind``)."""

    FIRING = "firing"
    RESOLVED = "resolved"
    ESCALATION = "escalation"


class AlertSeverity(StrEnum):
    """How urgent an alert is (``alerts.severity``)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class NotificationStatus(StrEnum):
    """State of one alert delivery to one receiver (``notifications.status``)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class RiskLevel(StrEnum):
    """Claude's risk assessment of a scene (``claude_analyses.risk_level``)."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AnalysisRequestType(StrEnum):
    """Why Claude was asked about a frame (``claude_analyses.request_type``)."""

    SCENE_DESCRIPTION = "scene_description"
    ANOMALY_DETECTION = "anomaly_detection"
    PATTERN_ANALYSIS = "pattern_analysis"
    REAL_TIME_QUERY = "real_time_query"


class AiProvider(StrEnum):
    """Who produced an optimization recommendation (``optimizations.ai_provider``)."""

    CLAUDE = "claude"
    HEURISTIC = "heuristic"


class OptimizationStatus(StrEnum):
    """Review state of a recommendation (``optimizations.status``)."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"
    SUPERSEDED = "superseded"


class ApplyMethod(StrEnum):
    """How settings are pushed to a camera (``applied_configs.apply_method``)."""

    ONVIF = "onvif"
    VMS = "vms"
    VENDOR = "vendor"
    MANUAL = "manual"


class ApplyStatus(StrEnum):
    """Progress of one apply job (``applied_configs.status``)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILED = "failed"
    PARTIAL = "partial"
    ROLLED_BACK = "rolled_back"


class UserRole(StrEnum):
    """Operator account role (``users.role``)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class AuditStatus(StrEnum):
    """Outcome of an audited action (``audit_log.action_status``)."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
    PENDING = "pending"


class LogSeverity(StrEnum):
    """Severity of an audit entry (``audit_log.severity``)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class RejectReason(StrEnum):
    """Why an incoming message was refused (``ingest_rejects.reason``)."""

    INVALID_JSON = "invalid_json"
    INVALID_UTF8 = "invalid_utf8"
    VALIDATION_ERROR = "validation_error"
    UNKNOWN_CAMERA = "unknown_camera"
    CAMERA_DISABLED = "camera_disabled"
    CAMERA_MISMATCH = "camera_mismatch"
    TIMESTAMP_FUTURE = "timestamp_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_TOPIC = "unsupported_topic"
    MISSING_PROPERTY = "missing_property"
    DEAD_LETTER = "dead_letter"


class Granularity(StrEnum):
    """Partition size of a partitioned table (``retention_policies.granularity``)."""

    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class ExpireAction(StrEnum):
    """What retention does with an expired partition (``retention_policies.expire_action``)."""

    DROP = "drop"
    ARCHIVE_SCHEMA = "archive_schema"
    """Detached and moved to schema ``vigil_archive``."""
    ARCHIVE_FILE = "archive_file"
    """Detached, exported with COPY to a gzip'd psql script in the archive folder, dropped."""


class RetentionRunStatus(StrEnum):
    """Outcome of one retention run (``retention_runs.status``)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
