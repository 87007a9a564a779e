"""Settings of vigil-ingest: the shared `VigilSettings` plus the ingest's own knobs.

Every field reads from `VIGIL_<FIELD>` (e.g. `VIGIL_MQTT_CLIENT_ID`), see docs/ingest.md.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from vigil_runtime.settings import VigilSettings
from vigil_schema.mqtt import DEFAULT_MAX_EVENTS_PAYLOAD_BYTES, DEFAULT_MAX_FRAME_BYTES
from vigil_schema.streams import FRAMES_MAXLEN
from vigil_schema.topics import FRIGATE_DEFAULT_PREFIX, SHARED_GROUP

MIB = 1024 * 1024


class IngestSettings(VigilSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9101 by default."""

    service_name: str = "ingest"
    http_port: int = Field(default=9101, ge=0, le=65535)

    # --- MQTT ---------------------------------------------------------------------------
    mqtt_client_id: str = Field(default="vigil-ingest", min_length=1, max_length=128)
    """Stable across restarts: the broker keeps the persistent session under this id.
    Each replica sets its own."""
    mqtt_shared_group: str = SHARED_GROUP
    """MQTT v5 shared-subscription group; empty subscribes without `$share/`."""
    mqtt_protocol: Literal["v5", "v311"] = "v5"
    """`v311` only for the amqtt fallback broker (no shared subscriptions, no frames)."""
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    """How long the broker keeps this client's session (and queues its messages) while it is
    away: the longest ingest outage that loses nothing, together with the broker's
    `max_queued_bytes` (deploy/mosquitto/mosquitto.conf keeps sessions 7 days too)."""
    receive_maximum: int = Field(default=65535, ge=1, le=65535)
    keepalive_s: int = Field(default=30, ge=5, le=65535)

    # --- batching and backpressure ------------------------------------------------------
    batch_max_rows: int = Field(default=5000, ge=1)
    batch_max_age_s: float = Field(default=0.2, gt=0)
    queue_high_water: int = Field(default=50_000, ge=2)
    """Messages queued or awaiting commit/fan-out above which reading is paused."""
    queue_low_water: int = Field(default=10_000, ge=1)
    """Reading resumes once the queue is back at or below this (and below the bytes mark)."""
    queue_high_water_bytes: int = Field(default=192 * MIB, ge=MIB)
    """Bytes held by unacknowledged messages (``vigil_ingest.memory.held_bytes``) above
    which reading is paused: 192 MiB fits a 512 MiB pod (docs/ingest.md "Memory")."""
    queue_low_water_bytes: int = Field(default=96 * MIB, ge=0)
    """Reading resumes once the bytes held are back at or below this (and the count too)."""

    # --- payload limits and timestamp window --------------------------------------------
    max_payload_bytes: int = Field(default=DEFAULT_MAX_EVENTS_PAYLOAD_BYTES, ge=1024)
    max_frame_bytes: int = Field(default=DEFAULT_MAX_FRAME_BYTES // 2, ge=1024)
    max_future_s: float = Field(default=300.0, ge=0)
    """Timestamps further ahead of the ingest's clock are `timestamp_future`."""
    default_max_age_days: int = Field(default=30, ge=1)
    """Age limit for a table that has no `retention_policies` row."""

    # --- fan-out ------------------------------------------------------------------------
    frames_maxlen: int = Field(default=FRAMES_MAXLEN, ge=1)
    fanout_group_max: int = Field(default=2000, ge=1)
    """Most messages fanned out in one Redis pipeline."""
    fanout_group_max_bytes: int = Field(default=8 * MIB, ge=64 * 1024)
    """Most stream-entry bytes in one fan-out call (``vigil_ingest.memory.fanout_bytes``),
    far below Redis's 1 GiB client query buffer limit; a single larger message still goes
    out, alone."""

    # --- registry -----------------------------------------------------------------------
    registry_refresh_s: float = Field(default=60.0, gt=0)

    # --- liveness (vigil_ingest.liveness) ---------------------------------------------
    liveness_silence_factor: float = Field(default=3.0, gt=1)
    """Offline after ``health_interval_s × factor`` seconds without a message."""
    liveness_sweep_s: float = Field(default=5.0, gt=0)
    liveness_lock_ttl_s: float = Field(default=15.0, gt=0)

    # --- Frigate bridge -----------------------------------------------------------------
    frigate_enabled: bool = False
    frigate_prefix: str = FRIGATE_DEFAULT_PREFIX
    frigate_camera_map: dict[str, str] = Field(default_factory=dict)
    """Frigate camera name → Vigil camera id (JSON in VIGIL_FRIGATE_CAMERA_MAP); unmapped
    names must be registered Vigil ids."""

    # --- shutdown -----------------------------------------------------------------------
    drain_timeout_s: float = Field(default=8.0, gt=0)
    """Time the drain may take to commit, fan out and acknowledge (< shutdown_grace_s)."""

    @model_validator(mode="after")
    def _water_marks(self) -> Self:
        if self.queue_low_water >= self.queue_high_water:
            raise ValueError("queue_low_water must be below queue_high_water")
        if self.queue_low_water_bytes >= self.queue_high_water_bytes:
            raise ValueError("queue_low_water_bytes must be below queue_high_water_bytes")
        return self
