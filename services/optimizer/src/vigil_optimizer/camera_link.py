"""The optimizer's view of one reachable camera: inspect it, read and write its settings.

:class:`CameraLink` is implemented over ONVIF by ``vigil_optimizer.onvif`` (and could be over
a VMS later). The apply engine uses only this protocol, so it works the same for every
transport:

- :meth:`CameraLink.inspect` returns the capabilities and the current settings of the main
  profile (or raises :class:`CameraError`);
- :meth:`CameraLink.read_settings` reads the current settings of one profile;
- :meth:`CameraLink.write_settings` writes one section (``stream`` through the media service's
  SetVideoEncoderConfiguration, ``exposure``/``lowLight``/``image`` through the imaging
  service's SetImagingSettings), only the fields set in ``settings``, keeping the rest as the
  camera has them. It raises :class:`CameraError` when the camera refuses.

Errors name the operation and never contain credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vigil_schema.camera_settings import CameraCapabilities, CameraSettings, SettingsSection

__all__ = ["CameraError", "CameraLink", "Inspection"]


class CameraError(Exception):
    """A camera could not be reached, refused an operation or answered nonsense.

    ``operation`` is the ONVIF operation (``SetImagingSettings``); ``kind`` one of
    ``unreachable``, ``timeout``, ``auth``, ``refused``, ``unsupported``, ``invalid``.
    """

    def __init__(self, operation: str, kind: str, message: str) -> None:
        super().__init__(f"{operation}: {kind}: {message}")
        self.operation = operation
        self.kind = kind


@dataclass(frozen=True)
class Inspection:
    """What :meth:`CameraLink.inspect` found."""

    capabilities: CameraCapabilities
    current: CameraSettings


class CameraLink(Protocol):
    """See the module docstring."""

    async def inspect(self) -> Inspection: ...

    async def read_settings(self, profile_token: str | None = None) -> CameraSettings: ...

    async def write_settings(self, section: SettingsSection, settings: CameraSettings) -> None: ...

    async def close(self) -> None: ...
