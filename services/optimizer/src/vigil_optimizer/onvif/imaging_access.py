"""The imaging service of the main video source: inspect, read and write.

:meth:`ImagingAccess.inspect` reads ``GetOptions`` and ``GetImagingSettings`` and names what
failed in ``missing`` (``imaging`` when the service is absent or both fail);
:meth:`ImagingAccess.read` reads the current exposure / lowLight / image groups;
:meth:`ImagingAccess.write` changes one group's set fields, starting from the camera's
current ``ImagingSettings``, with ``SetImagingSettings`` and ``ForcePersistence``.
"""

from __future__ import annotations

from typing import Any

from vigil_optimizer.camera_link import CameraError
from vigil_runtime.logging import get_logger
from vigil_schema.camera_settings import CameraCapabilities, CameraSettings, ImagingOptions

from .imaging import apply_imaging, imaging_options, imaging_settings
from .media import optional
from .session import IMAGING_NAMESPACE, OnvifSession
from .values import plain

__all__ = ["ImagingAccess"]

_log = get_logger("vigil_optimizer.onvif")


class ImagingAccess:
    """See the module docstring."""

    def __init__(self, session: OnvifSession) -> None:
        self.session = session

    async def _settings(self, imaging: Any, source: str) -> Any:
        return await self.session.caller.call(
            "GetImagingSettings", lambda: imaging.GetImagingSettings({"VideoSourceToken": source})
        )

    async def inspect(
        self, source: str | None, missing: list[str]
    ) -> tuple[ImagingOptions | None, CameraSettings]:
        """The imaging options and current settings of video source ``source``."""
        if source is None or not self.session.offers(IMAGING_NAMESPACE):
            missing.append("imaging")
            return None, CameraSettings()
        imaging = await self.session.service("imaging")
        options: ImagingOptions | None = None
        current = CameraSettings()
        try:
            answer = await self.session.caller.call(
                "GetOptions", lambda: imaging.GetOptions({"VideoSourceToken": source})
            )
            options = imaging_options(answer)
        except CameraError as exc:
            optional(exc, missing, "GetOptions")
        try:
            current = imaging_settings(await self._settings(imaging, source))
        except CameraError as exc:
            optional(exc, missing, "GetImagingSettings")
        if "GetOptions" in missing and "GetImagingSettings" in missing:
            missing.append("imaging")
        return options, current

    def _readable(self, caps: CameraCapabilities) -> str | None:
        """The video source whose settings can be read, if any."""
        if "imaging" in caps.missing or "GetImagingSettings" in caps.missing:
            return None
        return caps.video_source_token

    async def read(self, caps: CameraCapabilities) -> CameraSettings:
        """The current imaging groups (empty when the camera has no readable imaging)."""
        source = self._readable(caps)
        if source is None:
            return CameraSettings()
        imaging = await self.session.service("imaging")
        return imaging_settings(await self._settings(imaging, source))

    async def write(self, caps: CameraCapabilities, partial: CameraSettings) -> None:
        """Change the set fields of ``partial``'s imaging groups."""
        source = self._readable(caps)
        if source is None:
            raise CameraError("SetImagingSettings", "unsupported", "the camera has no imaging")
        imaging = await self.session.service("imaging")
        changed = apply_imaging(plain(await self._settings(imaging, source)), partial)
        params = {"VideoSourceToken": source, "ImagingSettings": changed, "ForcePersistence": True}
        await self.session.caller.call(
            "SetImagingSettings", lambda: imaging.SetImagingSettings(params)
        )
        _log.info("onvif_written", host=self.session.host, section=list(partial.to_json()))
