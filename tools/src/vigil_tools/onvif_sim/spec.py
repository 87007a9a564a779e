"""What one simulated camera is: vendor, credentials, clock, services, picture, latency.

A :class:`CameraSpec` is plain configuration; :meth:`CameraSpec.check` raises ValueError with
a clear message for anything invalid (unknown vendor, Media2 on a profile without
GetServices, darkness outside [0, 1]...). ``media2=None`` means the vendor's default
(see :mod:`vendors`). ``captures_root`` overrides the folder holding ``<vendor>/`` captures.
``pretty_xml`` serves answers indented and with whitespace around values, as the captures
were stored before clean-up, for testing a client's tolerance of such firmware.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigil_tools.onvif_sim.vendors import PROFILES

__all__ = ["CameraSpec"]


@dataclass
class CameraSpec:
    """One simulated camera (see the module docstring and docs/onvif-sim.md)."""

    name: str
    vendor: str = "hikvision"
    username: str = "admin"
    password: str = "vigil-sim-pass"
    host: str = "127.0.0.1"
    port: int = 0
    skew_s: float = 0.0
    max_clock_drift_s: float = 300.0
    latency_ms: float = 0.0
    imaging: bool = True
    media2: bool | None = None
    encoder_options: bool = True
    snapshot_basic_auth: bool = False
    darkness: float = 0.0
    noise: float = 0.0
    blur: float = 0.0
    photo: Path | None = None
    captures_root: Path | None = None
    pretty_xml: bool = False

    def check(self) -> CameraSpec:
        """Raise ValueError unless the spec describes a camera that can exist."""
        if self.vendor not in PROFILES:
            raise ValueError(f"unknown vendor {self.vendor!r}: choose from {sorted(PROFILES)}")
        if self.media2 and not PROFILES[self.vendor].get_services:
            raise ValueError(f"{self.vendor} has no GetServices (ONVIF 1.2): no Media2 possible")
        if not self.name or "/" in self.name:
            raise ValueError(f"camera name {self.name!r} must be non-empty without '/'")
        if not 0.0 <= self.darkness <= 1.0 or self.noise < 0 or self.blur < 0:
            raise ValueError("darkness must lie in [0, 1]; noise and blur must not be negative")
        if self.max_clock_drift_s <= 0 or self.latency_ms < 0:
            raise ValueError("max_clock_drift_s must be positive and latency_ms not negative")
        if not self.username or not self.password:
            raise ValueError("a camera needs a username and a password")
        return self

    @property
    def offers_media2(self) -> bool:
        """Whether this camera lists and answers Media2."""
        return PROFILES[self.vendor].media2 if self.media2 is None else self.media2
