"""Turn a snapshot's :class:`~vigil_optimizer.health.metrics.Measurements` into seed 000's
health verdict: the ``health_metrics`` object, the ``anomalies`` list and an overall level.

:func:`assess` returns an :class:`Assessment`: the
:class:`~vigil_optimizer.recommendation.SnapshotHealth` (``snapshot_id`` unset; the store
fills it in) and the raw measurements. ``health.metrics`` has one group per aspect, each with
a ``status`` (``ok``, ``warning``, ``critical``)::

    {"exposure": {"status": "critical", "meanBrightness": 17.0},
     "clipping": {"status": "ok", "darkShare": 0.165, "brightShare": 0.0},
     "noise": {"status": "ok", "noiseLevel": 0.9},
     "motionBlur": {"status": "ok", "blurScore": 74.2, "laplacianVariance": 71.9},
     "contrast": {"status": "critical", "rmsContrast": 10.3}}

and ``health.anomalies`` one ``{"type", "severity", "message"}`` per problem: ``too_dark``,
``too_bright``, ``crushed_shadows``, ``overexposed_highlights``, ``high_noise``, ``blurred``,
``low_contrast``; severity ``medium`` past a warning threshold, ``high`` past a critical one.
One cause gives one anomaly: clipped shadows are not listed again when the picture is already
``too_dark`` (nor clipped highlights when ``too_bright``), and low contrast is not listed when
the exposure is off (darkening a picture to 15 % leaves 15 % of its contrast). The groups'
statuses are still their own. ``health.level`` is the worst group status.

The thresholds are :class:`HealthThresholds` (pydantic, so the service settings can override
them). The defaults were chosen from measurements (:mod:`vigil_optimizer.health.metrics`) of
real photographs, JPEG quality 90: ``dog.jpg``, ``bus.jpg`` and scikit-image's ``rocket.jpg``,
``motorcycle_left.png``, ``coffee.png``, ``astronaut.png``, ``chelsea.png``, ``camera.png`` and
``coins.png``, clean and degraded by :func:`vigil_tools.photo_degrade.degrade` or (the first
five) multiplied by an exposure gain:

* mean brightness: clean 61–133; darkness 0.5: 30–66; darkness 0.85: 8.7–19.5; gain 2.5:
  144–229, gain 3.5: 185–238. Too dark below 40 (warning) / 25 (critical); too bright above
  200 / 225.
* shadows ≤ 5: clean 0–0.14 (astronaut's black background); a warning from 0.20, critical
  from 0.40. Highlights ≥ 250: clean 0–0.016; gain 1.8: 0.013–0.41; warning from 0.05,
  critical from 0.15.
* noise σ (Immerkær): clean 1.9–4.7; noise σ 10: 7.0–9.5; noise σ 25: 16.4–18.6. Warning
  above 8, critical above 15.
* blur score: clean 15.5–93; blur radius 2: 0.17–1.8; blur radius 6: 0.04–0.36 (darkness 0.85
  leaves it at 13–75, noise raises it). Warning below 5, critical below 1.
* RMS contrast: clean 30–75 (the low-contrast moon photo 13); blur 6 keeps 25–69; darkness
  0.85: 4.6–11. Warning below 12, critical below 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vigil_optimizer.health.metrics import Measurements
from vigil_optimizer.recommendation import HealthStatus, SnapshotHealth

__all__ = ["Assessment", "HealthThresholds", "Severity", "assess", "worst"]

Severity = Literal["low", "medium", "high"]

_RANK: dict[HealthStatus, int] = {"ok": 0, "warning": 1, "critical": 2}
_SEVERITY: dict[HealthStatus, Severity] = {"warning": "medium", "critical": "high"}


class HealthThresholds(BaseModel):
    """Where each measurement turns into a warning and a critical status (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dark_warning: float = Field(default=40.0, ge=0, le=255)
    """Mean brightness below this is too dark."""
    dark_critical: float = Field(default=25.0, ge=0, le=255)
    bright_warning: float = Field(default=200.0, ge=0, le=255)
    """Mean brightness above this is too bright."""
    bright_critical: float = Field(default=225.0, ge=0, le=255)
    shadow_clip_warning: float = Field(default=0.20, ge=0, le=1)
    """A share of pixels ≤ 5 from this on is crushed shadows."""
    shadow_clip_critical: float = Field(default=0.40, ge=0, le=1)
    highlight_clip_warning: float = Field(default=0.05, ge=0, le=1)
    """A share of pixels ≥ 250 from this on is blown highlights."""
    highlight_clip_critical: float = Field(default=0.15, ge=0, le=1)
    noise_warning: float = Field(default=8.0, ge=0)
    """A noise σ (grey levels) above this is high noise."""
    noise_critical: float = Field(default=15.0, ge=0)
    blur_warning: float = Field(default=5.0, ge=0)
    """A blur score below this is blurred."""
    blur_critical: float = Field(default=1.0, ge=0)
    contrast_warning: float = Field(default=12.0, ge=0)
    """An RMS contrast (grey levels) below this is low contrast."""
    contrast_critical: float = Field(default=6.0, ge=0)

    @model_validator(mode="after")
    def _critical_beyond_warning(self) -> Self:
        pairs = (
            ("dark", self.dark_critical <= self.dark_warning),
            ("bright", self.bright_critical >= self.bright_warning),
            ("shadow_clip", self.shadow_clip_critical >= self.shadow_clip_warning),
            ("highlight_clip", self.highlight_clip_critical >= self.highlight_clip_warning),
            ("noise", self.noise_critical >= self.noise_warning),
            ("blur", self.blur_critical <= self.blur_warning),
            ("contrast", self.contrast_critical <= self.contrast_warning),
        )
        wrong = [name for name, ordered in pairs if not ordered]
        if wrong:
            raise ValueError(f"critical must lie beyond warning for: {', '.join(wrong)}")
        if self.dark_warning >= self.bright_warning:
            raise ValueError("dark_warning must lie below bright_warning")
        return self


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict (``snapshot_id`` unset) and the measurements it was made from."""

    health: SnapshotHealth
    measurements: Measurements


def worst(statuses: list[HealthStatus]) -> HealthStatus:
    """The most severe of ``statuses`` (``ok`` for none)."""
    return max(statuses, key=_RANK.__getitem__, default="ok")


@dataclass(frozen=True, slots=True)
class _Limit:
    """A measurement's warning and critical thresholds; ``low``: smaller values are worse."""

    warning: float
    critical: float
    low: bool = False
    inclusive: bool = False

    def status(self, value: float) -> HealthStatus:
        if self._past(value, self.critical):
            return "critical"
        return "warning" if self._past(value, self.warning) else "ok"

    def _past(self, value: float, limit: float) -> bool:
        if self.low:
            return value < limit
        return value >= limit if self.inclusive else value > limit

    def threshold(self, status: HealthStatus) -> float:
        return self.critical if status == "critical" else self.warning


class _Findings:
    """Collects the anomalies of one assessment."""

    def __init__(self) -> None:
        self.anomalies: list[dict[str, Any]] = []

    def judge(self, kind: str | None, what: str, value: float, limit: _Limit) -> HealthStatus:
        """``value``'s status; an anomaly of ``kind`` (None: none) when it is not ok."""
        status = limit.status(value)
        if status != "ok" and kind is not None:
            side = "below" if limit.low else "above"
            message = (f"{what} {value:.3g} is {side} the {status} threshold "
                       f"{limit.threshold(status):g}")  # fmt: skip
            self.anomalies.append({"type": kind, "severity": _SEVERITY[status],
                                   "message": message})  # fmt: skip
        return status


def _exposure(m: Measurements, t: HealthThresholds, found: _Findings) -> dict[str, Any]:
    mean = m.mean_brightness
    dark = found.judge("too_dark", "Mean brightness", mean,
                       _Limit(t.dark_warning, t.dark_critical, low=True))  # fmt: skip
    bright = found.judge("too_bright", "Mean brightness", mean,
                         _Limit(t.bright_warning, t.bright_critical))  # fmt: skip
    return {"status": worst([dark, bright]), "meanBrightness": round(mean, 1)}


def _clipping(m: Measurements, t: HealthThresholds, found: _Findings) -> dict[str, Any]:
    # one cause, one anomaly: a too dark (too bright) picture is not also clipped shadows
    # (highlights)
    shadows_kind = "crushed_shadows" if m.mean_brightness >= t.dark_warning else None
    highlights_kind = "overexposed_highlights" if m.mean_brightness <= t.bright_warning else None
    shadows = found.judge(shadows_kind, "Share of black pixels (≤ 5)", m.dark_share,
                          _Limit(t.shadow_clip_warning, t.shadow_clip_critical,
                                 inclusive=True))  # fmt: skip
    highlights = found.judge(highlights_kind, "Share of white pixels (≥ 250)", m.bright_share,
                             _Limit(t.highlight_clip_warning, t.highlight_clip_critical,
                                    inclusive=True))  # fmt: skip
    return {"status": worst([shadows, highlights]), "darkShare": round(m.dark_share, 4),
            "brightShare": round(m.bright_share, 4)}  # fmt: skip


def _noise(m: Measurements, t: HealthThresholds, found: _Findings) -> dict[str, Any]:
    status = found.judge("high_noise", "Noise σ", m.noise_sigma,
                         _Limit(t.noise_warning, t.noise_critical))  # fmt: skip
    return {"status": status, "noiseLevel": round(m.noise_sigma, 2)}


def _blur(m: Measurements, t: HealthThresholds, found: _Findings) -> dict[str, Any]:
    status = found.judge("blurred", "Blur score", m.blur_score,
                         _Limit(t.blur_warning, t.blur_critical, low=True))  # fmt: skip
    return {"status": status, "blurScore": round(m.blur_score, 3),
            "laplacianVariance": round(m.laplacian_variance, 2)}  # fmt: skip


def _contrast(
    m: Measurements, t: HealthThresholds, exposure: HealthStatus, found: _Findings
) -> dict[str, Any]:
    kind = "low_contrast" if exposure == "ok" else None  # else the exposure explains it
    status = found.judge(kind, "RMS contrast", m.rms_contrast,
                         _Limit(t.contrast_warning, t.contrast_critical, low=True))  # fmt: skip
    return {"status": status, "rmsContrast": round(m.rms_contrast, 2)}


def assess(measurements: Measurements, thresholds: HealthThresholds | None = None) -> Assessment:
    """Seed 000's verdict on one snapshot (see the module docstring)."""
    t = thresholds or HealthThresholds()
    found = _Findings()
    exposure = _exposure(measurements, t, found)
    groups = {
        "exposure": exposure,
        "clipping": _clipping(measurements, t, found),
        "noise": _noise(measurements, t, found),
        "motionBlur": _blur(measurements, t, found),
        "contrast": _contrast(measurements, t, exposure["status"], found),
    }
    level = worst([group["status"] for group in groups.values()])
    health = SnapshotHealth(level=level, metrics=groups, anomalies=found.anomalies)
    return Assessment(health=health, measurements=measurements)
