"""One simulated camera at run time: spec, vendor, captures, state, faults, clock, caches.

:class:`SimCamera` is what handlers, the snapshot endpoint and the control API share. Its
clock is the host clock plus ``spec.skew_s``. :meth:`SimCamera.begin_set` applies the
injected Set faults (see :mod:`faults`) and returns the fields the Set must leave unchanged.
Rendered answers to Get operations are cached per request text until the state changes, so
a camera serializes each answer once, not once per call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vigil_tools.onvif_sim.captures import Captures, load_captures
from vigil_tools.onvif_sim.faults import Faults
from vigil_tools.onvif_sim.model import CameraState, initial_state
from vigil_tools.onvif_sim.spec import CameraSpec
from vigil_tools.onvif_sim.vendors import PROFILES, EncoderOptions, default_captures_root
from vigil_tools.onvif_sim.xmlkit import Element, SoapFault

__all__ = ["Scene", "SimCamera"]


@dataclass
class Scene:
    """How bad the scene is before the camera's imaging settings act (see :mod:`picture`)."""

    darkness: float
    noise: float
    blur: float


class SimCamera:
    """A simulated camera (see the module docstring)."""

    def __init__(self, spec: CameraSpec) -> None:
        self.spec = spec.check()
        self.vendor = PROFILES[spec.vendor]
        root = spec.captures_root or default_captures_root()
        self.captures: Captures = load_captures(root / spec.vendor)
        self.state: CameraState = initial_state(self.captures, self.vendor)
        self.faults = Faults(latency_ms=spec.latency_ms)
        self.scene = Scene(spec.darkness, spec.noise, spec.blur)
        configs = self.captures.body("GetVideoEncoderConfigurations")
        self.encoder_templates: dict[str, Element] = {str(c.get("token")): c for c in configs}
        self.profile_templates: list[Element] = list(self.captures.body("GetProfiles"))
        self.port = spec.port
        self._cache: dict[bytes, bytes] = {}
        self._cache_version = -1
        self.snapshot_cache: tuple[object, bytes] | None = None

    @property
    def name(self) -> str:
        """The camera's name (control API path)."""
        return self.spec.name

    @property
    def host(self) -> str:
        """The address the camera advertises in XAddrs and URIs."""
        return self.spec.host

    def now(self) -> dt.datetime:
        """The camera's clock: host UTC plus ``skew_s``."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.spec.skew_s)

    def encoder_options(self, token: str) -> EncoderOptions:
        """What encoder configuration ``token`` accepts."""
        return self.vendor.options_for(token)

    def cached(self, key: bytes) -> bytes | None:
        """A rendered answer for ``key`` if the state has not changed since."""
        if self._cache_version != self.state.version:
            self._cache.clear()
            self._cache_version = self.state.version
        return self._cache.get(key)

    def store(self, key: bytes, answer: bytes) -> None:
        """Remember a rendered answer (bounded: cleared when it grows past 64 entries)."""
        if len(self._cache) >= 64:
            self._cache.clear()
        self._cache[key] = answer

    def begin_set(self, kind: str) -> frozenset[str]:
        """Apply injected Set faults for a Set of ``kind`` ("encoder" or "imaging")."""
        faults = self.faults
        if faults.refuse_sets > 0:
            faults.refuse_sets -= 1
            raise SoapFault("Sender", ("ter:OperationProhibited",), "injected: set refused")
        if kind == "imaging" and faults.fail_imaging_after_encoder and faults.encoder_applied:
            faults.fail_imaging_after_encoder = False
            faults.encoder_applied = False
            raise SoapFault("Receiver", ("ter:Action",), "injected: imaging apply failed")
        dropped = frozenset(faults.drop_fields)
        faults.drop_fields = []
        return dropped
