"""Settings of vigil-optimizer: the shared `VigilSettings` with this service's name and port,
plus the fleet scheduler's bounds and the review triggers (`VIGIL_*` environment).

Scheduler (:mod:`vigil_optimizer.scheduler`): ``global_concurrency`` reviews at once per
replica, ``per_site_concurrency`` of one site, each under ``review_timeout_s``.

Degraded health (:mod:`vigil_optimizer.triggers.health`): a ``vigil:health`` sample is
degraded when any enabled check fails (a threshold of ``None`` disables its check):
its own ``status`` at or above ``health_status_level``; ``fps_actual`` below
``health_min_fps_ratio`` × the camera's main profile frame rate limit (from its stored
capabilities); ``frame_drops``, ``latency_ms``, ``cpu_percent``, ``temperature_c`` or
``noise_level`` above their maximum; ``brightness`` outside ``[health_min_brightness,
health_max_brightness]`` (0–255); ``blur_score`` (variance of the Laplacian) or
``bitrate_mbps`` below their minimum (``off`` in the environment disables a check). A
degraded camera is reviewed at most once per ``health_cooldown_s`` across all replicas.

Requests (:mod:`vigil_optimizer.triggers.requests`): each inspect / apply / verify call runs
under ``request_timeout_s``; a request older than ``request_max_age_s`` (0: no limit) is
skipped, so an apply queued while the optimizer was down does not surprise anyone later.

Cameras (:mod:`vigil_optimizer.review`): every ONVIF call under ``onvif_timeout_s``, transport
errors retried up to ``onvif_attempts`` times; snapshots kept under ``snapshot_dir`` and
judged by ``snapshot_thresholds`` (JSON); each site's bit rate budget in
``site_bandwidth_kbps`` (JSON ``{"site": kbps}``); an ``auto`` camera applies a recommendation
whose confidence is at least its own threshold or ``auto_apply_min_confidence``.

Claude (:mod:`vigil_optimizer.claude.settings`, inherited): ``ANTHROPIC_API_KEY`` turns the
Claude engine on (the heuristic is its fallback); its limits are ``optimizer_claude_*``.

Periodic (:mod:`vigil_optimizer.triggers.periodic`): every active camera with an ONVIF
address is reviewed once per ``review_interval_s``, spread over the interval; the leader
replica checks every ``periodic_tick_s`` and holds its lock for ``periodic_lock_ttl_s``.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from vigil_optimizer.claude.settings import ClaudeEngineSettings
from vigil_optimizer.health.assess import HealthThresholds as SnapshotThresholds
from vigil_runtime.settings import SnapshotDirSettings
from vigil_schema.enums import HealthLevel

_MINUTE = 60.0
_DAY = 86_400.0


class OptimizerSettings(SnapshotDirSettings, ClaudeEngineSettings):
    """`VIGIL_*` environment (and the stack env file); ops HTTP port 9103 by default."""

    model_config = SettingsConfigDict(env_parse_none_str="off")
    """``VIGIL_HEALTH_MAX_NOISE=off`` disables that check (``None``); merged with the base's."""

    service_name: str = "optimizer"
    http_port: int = Field(default=9103, ge=0, le=65535)

    # -- fleet scheduler
    global_concurrency: int = Field(default=32, ge=1, le=4096)
    per_site_concurrency: int = Field(default=4, ge=1, le=4096)
    review_timeout_s: float = Field(default=300.0, gt=0, le=_DAY)
    review_drain_s: float = Field(default=10.0, ge=0)
    """On shutdown, how long running reviews may finish before they are cancelled."""

    # -- stream consumers (group names are fixed: ``optimizer``)
    consumer_name: str | None = Field(default=None, min_length=1, max_length=200)
    """This replica's consumer name in the groups; ``None``: the instance name."""
    consumer_batch: int = Field(default=100, ge=1, le=10_000)
    claim_idle_ms: int = Field(default=30_000, ge=1)

    # -- degraded health
    health_status_level: HealthLevel | None = HealthLevel.CRITICAL
    health_min_fps_ratio: float | None = Field(default=0.7, gt=0, le=1)
    health_max_frame_drops: int | None = Field(default=100, ge=0)
    health_max_latency_ms: float | None = Field(default=2000.0, gt=0)
    health_max_cpu_percent: float | None = Field(default=95.0, gt=0, le=100)
    health_max_temperature_c: float | None = Field(default=75.0, ge=-100, le=200)
    health_min_brightness: float | None = Field(default=40.0, ge=0, le=255)
    health_max_brightness: float | None = Field(default=220.0, ge=0, le=255)
    health_max_noise: float | None = Field(default=15.0, ge=0)
    health_min_blur_score: float | None = Field(default=30.0, ge=0)
    health_min_bitrate_mbps: float | None = Field(default=None, ge=0)
    health_cooldown_s: float = Field(default=30 * _MINUTE, gt=0, le=30 * _DAY)

    # -- requests
    request_timeout_s: float = Field(default=120.0, gt=0, le=_DAY)
    request_max_age_s: float = Field(default=3600.0, ge=0)

    # -- cameras
    onvif_timeout_s: float = Field(default=10.0, gt=0, le=300)
    onvif_attempts: int = Field(default=3, ge=1, le=10)
    snapshot_thresholds: SnapshotThresholds = Field(default_factory=SnapshotThresholds)
    site_bandwidth_kbps: dict[str, int] = Field(default_factory=dict)
    auto_apply_min_confidence: float = Field(default=0.8, ge=0, le=1)

    # -- periodic reviews
    review_interval_s: float = Field(default=_DAY, gt=0, le=365 * _DAY)
    periodic_tick_s: float = Field(default=60.0, gt=0)
    periodic_lock_ttl_s: float = Field(default=180.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.per_site_concurrency > self.global_concurrency:
            raise ValueError("per_site_concurrency cannot exceed global_concurrency")
        low, high = self.health_min_brightness, self.health_max_brightness
        if low is not None and high is not None and low >= high:
            raise ValueError("health_min_brightness must be below health_max_brightness")
        if self.periodic_lock_ttl_s <= self.periodic_tick_s:
            raise ValueError(
                "periodic_lock_ttl_s must exceed periodic_tick_s (the leader renews every tick)"
            )
        if self.periodic_tick_s > self.review_interval_s:
            raise ValueError("periodic_tick_s cannot exceed review_interval_s")
        return self

    @property
    def consumer(self) -> str:
        """This replica's consumer name in the optimizer's consumer groups."""
        return self.consumer_name or self.instance
