"""Settings of vigil-analyzer: the shared `VigilSettings` plus the analyzer's own knobs.

Every field reads from `VIGIL_<FIELD>` (e.g. `VIGIL_DETECTOR_BACKEND`); the model path also
from `VIGIL_ANALYZER_MODEL`. See docs/analyzer.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator

from vigil_runtime.claude.settings import AnthropicSettings
from vigil_runtime.settings import VigilSettings
from vigil_schema.enums import AlertSeverity

DetectorBackend = Literal["darknet", "onnx", "ultralytics"]


class AnalyzerSettings(VigilSettings, AnthropicSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9102 by default."""

    service_name: str = "analyzer"
    http_port: int = Field(default=9102, ge=0, le=65535)

    # --- detector -----------------------------------------------------------------------
    detector_backend: DetectorBackend = "darknet"
    detector_model: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("VIGIL_ANALYZER_MODEL", "VIGIL_DETECTOR_MODEL"),
    )
    """Model file (`.weights` with its `.cfg` beside it, `.onnx`, `.pt`); None: the
    backend's default (darknet: YOLOv3-tiny from `make models`)."""
    models_dir: Path | None = None
    """Where `make models` put the darknet files; None: the repository's `models/`."""
    detector_confidence: float = Field(default=0.25, gt=0, le=1)
    """Lowest confidence kept (0.25 lets YOLOv3-tiny's 0.38 bicycle on dog.jpg through)."""
    detector_nms_iou: float = Field(default=0.45, gt=0, le=1)
    detector_input_size: int = Field(default=416, ge=32, le=4096)
    detector_max_batch: int = Field(default=8, ge=1, le=256)
    detector_device: Literal["cpu", "cuda", "auto"] = "auto"
    detector_classes: list[str] = Field(default_factory=list)
    """Only these classes are kept (empty: every class of the model)."""

    # --- sampling and scheduling --------------------------------------------------------
    detect_fps: float = Field(default=5.0, gt=0)
    """Most frames analysed per camera per second (frames' own timestamps)."""
    motion_threshold: float = Field(default=0.002, ge=0, le=1)
    """Share of changed pixels (downscaled) below which a frame with no tracked objects is
    still and skipped."""
    max_frame_age_s: float = Field(default=30.0, gt=0)
    """A frame older than this when read is skipped as stale (the analyzer fell behind)."""
    consumer_batch: int = Field(default=64, ge=1)
    frame_budget: int | None = Field(default=None, ge=1)
    """Most frames one read batch sends to the detector; beyond it (the analyzer is behind)
    each camera keeps its newest frames and the older are skipped as ``superseded``. None:
    every admitted frame is detected (the rate cap and staleness still apply)."""
    membership_ttl_s: float = Field(default=10.0, gt=0)
    """A replica that stops refreshing its membership loses its cameras after this."""
    claim_idle_ms: int = Field(default=30_000, ge=1000)
    """Entries a dead replica held are reclaimed after this (well above membership_ttl_s)."""

    # --- tracking, zones, heatmaps ------------------------------------------------------
    loiter_s: float = Field(default=60.0, gt=0)
    classes_of_interest: list[str] = Field(default_factory=lambda: ["person"])
    alert_classes: list[str] = Field(default_factory=list)
    """A new track of one of these classes raises an alert candidate."""
    heatmap_downscale: float = Field(default=4.0, ge=1)
    occupancy_heartbeat_s: float = Field(default=60.0, gt=0)

    # --- Claude (the key and endpoint: AnthropicSettings) --------------------------------
    claude_model: str = "claude-sonnet-4-5"
    claude_max_tokens: int = Field(default=1024, ge=64)
    claude_timeout_s: float = Field(default=60.0, gt=0)
    claude_calls_per_minute: int = Field(default=30, ge=0)
    claude_calls_per_hour: int = Field(default=600, ge=0)
    claude_camera_calls_per_minute: int = Field(default=2, ge=0)
    claude_camera_calls_per_hour: int = Field(default=30, ge=0)
    claude_daily_token_budget: int = Field(default=2_000_000, ge=0)
    claude_scene_change_distance: int = Field(default=12, ge=1, le=64)
    """Perceptual-hash (64-bit dHash) distance from the last analysed frame that counts as
    a scene change."""
    claude_alert_hours: str = "22:00-06:00"
    """Hours (in ``claude_alert_tz``) in which a zone entry of a class of interest is sent to
    Claude."""
    claude_alert_tz: str = "UTC"
    """IANA time zone of ``claude_alert_hours``, e.g. ``Europe/Berlin``."""
    claude_severity_cap: AlertSeverity = AlertSeverity.WARNING
    """Claude can never raise an alert above this (an image can carry a prompt injection)."""
    claude_use_batches: bool = True
    """Routine descriptions go through the Message Batches API (half price)."""
    claude_breaker_failures: int = Field(default=5, ge=1)
    claude_breaker_reset_s: float = Field(default=30.0, gt=0)
    claude_queue: int = Field(default=64, ge=1)
    """Frames waiting for Claude; beyond this the selection is skipped and counted."""
    claude_workers: int = Field(default=2, ge=1, le=32)
    """Claude requests in flight at once from this replica."""
    claude_batch_size: int = Field(default=16, ge=1, le=10_000)
    """A routine batch is submitted when it holds this many requests ..."""
    claude_batch_wait_s: float = Field(default=60.0, gt=0)
    """... or when its oldest request has waited this long."""
    claude_batch_poll_s: float = Field(default=30.0, gt=0)
    """How often submitted batches are polled for their results."""
    claude_questions_poll_s: float = Field(default=2.0, gt=0)
    """How often operators' questions (``vigil ask``) are read from Redis."""
    claude_input_price_per_mtok: float = Field(default=3.0, ge=0)
    claude_output_price_per_mtok: float = Field(default=15.0, ge=0)

    @field_validator("claude_alert_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Berlin)"
            ) from None
        return value
