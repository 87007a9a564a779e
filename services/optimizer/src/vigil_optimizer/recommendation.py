"""What a recommendation engine is given and what it returns.

:class:`RecommendationContext` is everything known about one camera when settings are
recommended: its registry facts (``cameras`` row: site, scene_type, purpose, and the operator's
hints in ``tags``: ``lighting``, ``speed_kmh``, ``mains_hz``, ``motion``), what inspection found
(capabilities and the current settings), the latest snapshot health, and the bit rate this
camera may use out of its site's shared budget. It is stored verbatim as
``optimizations.request_data`` (:meth:`RecommendationContext.request_data`), so every
recommendation can be reproduced.

:class:`Recommendation` is an engine's answer: settings already clamped to the camera's
capabilities (:mod:`vigil_optimizer.clamp`), a confidence in [0, 1], warnings (including one
per clamped value and, for a Claude answer that fell back, why), a human explanation, the
provider (``heuristic`` or ``claude``, as the ``optimizations`` CHECK allows), the model, and
the processing time. Engines implement :class:`RecommendationEngine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from vigil_schema.camera_settings import CameraCapabilities, CameraSettings

__all__ = [
    "Lighting",
    "Motion",
    "Provider",
    "Recommendation",
    "RecommendationContext",
    "RecommendationEngine",
    "SnapshotHealth",
]

Lighting = Literal["daylight", "artificial", "low_light", "backlit", "mixed"]
Motion = Literal["low", "high"]
Provider = Literal["heuristic", "claude"]
HealthStatus = Literal["ok", "warning", "critical"]


@dataclass(frozen=True)
class SnapshotHealth:
    """The measured picture quality of the latest snapshot (see ``vigil_optimizer.health``).

    ``metrics`` is seed 000's ``health_metrics`` object (``exposure``, ``noise``,
    ``motionBlur``, ``clipping``, ``contrast`` groups, each with a ``status``); ``anomalies``
    its list of ``{"type", "severity", "message"}``.
    """

    level: HealthStatus
    metrics: dict[str, Any]
    anomalies: list[dict[str, Any]]
    snapshot_id: int | None = None

    def anomaly_types(self) -> set[str]:
        """The ``type`` of every anomaly (``too_dark``, ``high_noise``, ``blurred``...)."""
        return {str(a.get("type")) for a in self.anomalies}


@dataclass(frozen=True)
class RecommendationContext:
    """One camera, as the engines see it (see the module docstring)."""

    camera_id: str
    capabilities: CameraCapabilities
    current: CameraSettings
    site: str | None = None
    scene_type: str | None = None
    """``indoor``, ``outdoor``, ``entrance``, ``parking``, ``corridor``, ``perimeter``..."""
    purpose: str | None = None
    """``overview``, ``facial``, ``plates``, ``detection``..."""
    lighting: Lighting | None = None
    speed_kmh: float | None = None
    """The fastest subject to freeze (plates: the traffic speed)."""
    mains_hz: Literal[50, 60] = 50
    motion: Motion | None = None
    health: SnapshotHealth | None = None
    bandwidth_kbps: int | None = None
    """This camera's share of its site's bit rate budget; None: no budget."""
    reason: str = "manual"
    """Why a recommendation was asked for: ``manual``, ``degraded_health``, ``periodic``."""
    extra: dict[str, Any] = field(default_factory=dict)

    def request_data(self) -> dict[str, Any]:
        """The context as JSON for ``optimizations.request_data`` (seed 000's layout)."""
        health = None
        if self.health is not None:
            health = {"level": self.health.level, "metrics": self.health.metrics,
                      "anomalies": self.health.anomalies,
                      "snapshotId": self.health.snapshot_id}  # fmt: skip
        return {
            "camera": {"id": self.camera_id, "site": self.site, "sceneType": self.scene_type,
                       "purpose": self.purpose},
            "capabilities": self.capabilities.model_dump(mode="json", by_alias=True,
                                                         exclude_none=True),
            "currentSettings": self.current.to_json(),
            "context": {"lighting": self.lighting, "speedKmh": self.speed_kmh,
                        "mainsHz": self.mains_hz, "motion": self.motion,
                        "bandwidthKbps": self.bandwidth_kbps, "reason": self.reason,
                        **self.extra},
            "health": health,
        }  # fmt: skip


@dataclass(frozen=True)
class Recommendation:
    """An engine's answer (see the module docstring)."""

    settings: CameraSettings
    confidence: float
    explanation: str
    provider: Provider
    warnings: list[str] = field(default_factory=list)
    model: str | None = None
    processing_time_ms: int | None = None
    rules: list[str] = field(default_factory=list)
    """The ids of the documented rules that fired (docs/optimizer-rules.md), heuristic only."""


class RecommendationEngine(Protocol):
    """Recommends settings for one camera."""

    async def recommend(self, context: RecommendationContext) -> Recommendation:
        """Settings within ``context.capabilities`` (never raises for a camera's data)."""
        ...
