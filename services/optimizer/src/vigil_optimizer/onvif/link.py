"""``OnvifCameraLink``: the :class:`~vigil_optimizer.camera_link.CameraLink` over ONVIF.

Host, port, user, password and the call policy are all it needs::

    async with OnvifCameraLink.connect(host, port, user, password, timeout_s=5) as link:
        inspection = await link.inspect()

- :meth:`inspect` reads device information, the media profiles with their encoder
  configurations and options (Media 2 where offered), the imaging options and settings of
  the main video source (the first profile's), and the main profile's snapshot URI. A part
  the camera lacks or refuses (``imaging``, ``media2``, ``GetVideoEncoderConfigurationOptions``,
  ``GetOptions``, ``GetImagingSettings``, ``GetSnapshotUri``) is named in
  ``capabilities.missing`` and inspection carries on; an unreachable camera, a timeout, or a
  refused ``GetDeviceInformation``/``GetProfiles`` raises :class:`CameraError`.
- :meth:`read_settings` reads one profile's stream settings and the imaging groups in the
  same :class:`CameraSettings` shape; :meth:`write_settings` writes one section (see
  :mod:`vigil_optimizer.camera_link`), starting from the camera's current configuration.

Vendor behaviour comes from :func:`~vigil_optimizer.onvif.quirks.quirks_for` (manufacturer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from onvif.util import strip_user_pass_url  # type: ignore[import-untyped]

from vigil_optimizer.camera_link import CameraError, Inspection
from vigil_runtime.logging import get_logger
from vigil_schema.camera_settings import (
    CameraCapabilities,
    CameraSettings,
    DeviceInfo,
    ProfileInfo,
    SettingsSection,
)

from .calls import CallPolicy
from .imaging_access import ImagingAccess
from .media import MediaAccess, open_media, optional
from .quirks import GENERIC, Quirks, quirks_for
from .session import OnvifSession
from .values import field, text

__all__ = ["OnvifCameraLink"]

_log = get_logger("vigil_optimizer.onvif")


class OnvifCameraLink:
    """One camera over ONVIF; see the module docstring."""

    def __init__(self, session: OnvifSession) -> None:
        self.session = session
        self.quirks: Quirks = GENERIC
        self._media: MediaAccess | None = None
        self._caps: CameraCapabilities | None = None

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        user: str | None,
        password: str | None,
        *,
        timeout_s: float = 10.0,
        attempts: int = 3,
        rewrite_xaddrs: bool = True,
    ) -> OnvifCameraLink:
        """Connect: clock offset and service discovery (raises :class:`CameraError`)."""
        policy = CallPolicy(timeout_s=timeout_s, attempts=attempts)
        session = OnvifSession(
            host, port, user, password, policy=policy, rewrite_xaddrs=rewrite_xaddrs
        )
        try:
            await session.open()
        except BaseException:
            await session.close()
            raise
        return cls(session)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        host: str,
        port: int,
        user: str | None,
        password: str | None,
        *,
        timeout_s: float = 10.0,
        attempts: int = 3,
        rewrite_xaddrs: bool = True,
    ) -> AsyncIterator[OnvifCameraLink]:
        """:meth:`open` as an async context manager that closes the link."""
        link = await cls.open(
            host,
            port,
            user,
            password,
            timeout_s=timeout_s,
            attempts=attempts,
            rewrite_xaddrs=rewrite_xaddrs,
        )
        try:
            yield link
        finally:
            await link.close()

    async def close(self) -> None:
        """Close the camera's HTTP sessions."""
        await self.session.close()

    # -- inspect ---------------------------------------------------------------------------

    async def inspect(self) -> Inspection:
        """Capabilities and the main profile's current settings (see the module docstring)."""
        missing: list[str] = []
        device = await self._device_info()
        self.quirks = quirks_for(device.manufacturer)
        self._media, profiles = await open_media(self.session, missing)
        profiles = await self._with_options(profiles, missing)
        main = profiles[0] if profiles else None
        source = main.video_source_token if main else None
        options, current = await ImagingAccess(self.session).inspect(source, missing)
        snapshot = await self._snapshot(main, missing)
        self._caps = CameraCapabilities(
            device=device,
            media_version=self._media.version,
            services=dict(self.session.announced),
            profiles=profiles,
            video_source_token=source,
            imaging=options,
            snapshot_uri=snapshot,
            missing=missing,
            inspected_at=dt.datetime.now(dt.UTC),
        )
        stream = main.stream_settings() if main else None
        _log.info(
            "onvif_inspected",
            host=self.session.host,
            vendor=self.quirks.vendor,
            media=self._media.version,
            profiles=len(profiles),
            missing=missing,
        )
        current = current.model_copy(update={"stream": stream})
        return Inspection(capabilities=self._caps, current=current)

    async def _device_info(self) -> DeviceInfo:
        device = await self.session.service("devicemgmt")
        answer = await self.session.caller.call(
            "GetDeviceInformation", lambda: device.GetDeviceInformation()
        )
        return DeviceInfo(
            manufacturer=text(field(answer, "Manufacturer")),
            model=text(field(answer, "Model")),
            firmware_version=text(field(answer, "FirmwareVersion")),
            serial_number=text(field(answer, "SerialNumber")),
            hardware_id=text(field(answer, "HardwareId")),
        )

    async def _with_options(
        self, profiles: list[ProfileInfo], missing: list[str]
    ) -> list[ProfileInfo]:
        assert self._media is not None
        result: list[ProfileInfo] = []
        for profile in profiles:
            if profile.encoder_token is None or "GetVideoEncoderConfigurationOptions" in missing:
                result.append(profile)
                continue
            try:
                options = await self._media.options(profile)
            except CameraError as exc:
                optional(exc, missing, "GetVideoEncoderConfigurationOptions")
                result.append(profile)
                continue
            result.append(profile.model_copy(update={"options": options}))
        return result

    async def _snapshot(self, main: ProfileInfo | None, missing: list[str]) -> str | None:
        assert self._media is not None
        if main is None:
            return None
        try:
            uri = await self._media.snapshot_uri(main.token)
        except CameraError as exc:
            optional(exc, missing, "GetSnapshotUri")
            return None
        if uri is None:
            return None
        rewritten: str | None = self.session.camera.rewrite_url(uri)
        if not rewritten:
            return None
        stripped: str = strip_user_pass_url(rewritten)  # never keep credentials in a URI
        return stripped

    # -- read and write --------------------------------------------------------------------

    async def _ready(self) -> tuple[CameraCapabilities, MediaAccess]:
        if self._caps is None or self._media is None:
            await self.inspect()
        assert self._caps is not None
        assert self._media is not None
        return self._caps, self._media

    async def read_settings(self, profile_token: str | None = None) -> CameraSettings:
        """One profile's stream settings (main if None) and the imaging groups."""
        caps, media = await self._ready()
        main = caps.profile(profile_token)
        if main is None:
            raise CameraError("GetProfiles", "invalid", "no such profile")
        found = [p for p in await media.profiles(main.token) if p.token == main.token]
        stream = found[0].stream_settings() if found else None
        current = await ImagingAccess(self.session).read(caps)
        return current.model_copy(update={"stream": stream})

    async def write_settings(self, section: SettingsSection, settings: CameraSettings) -> None:
        """Write one section, only the fields set (see the module docstring)."""
        caps, media = await self._ready()
        if section == "stream":
            await self._write_stream(caps, media, settings)
            return
        name = _FIELD[section]
        group = getattr(settings, name)
        if group is None:
            return
        await ImagingAccess(self.session).write(caps, CameraSettings(**{name: group}))

    async def _write_stream(
        self, caps: CameraCapabilities, media: MediaAccess, settings: CameraSettings
    ) -> None:
        stream = settings.stream
        if stream is None:
            return
        profile = caps.profile(stream.profile_token)
        if profile is None or profile.encoder_token is None:
            raise CameraError("SetVideoEncoderConfiguration", "invalid", "no such profile")
        await media.write_stream(profile.encoder_token, stream, self.quirks)
        _log.info(
            "onvif_written",
            host=self.session.host,
            section="stream",
            profile=profile.token,
            fields=sorted(stream.to_json()),
        )


_FIELD = {"exposure": "exposure", "lowLight": "low_light", "image": "image"}
