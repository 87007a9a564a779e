"""The media service in one shape for Media 1 (``ver10/media``) and Media 2 (``ver20/media``).

:class:`MediaAccess` reads profiles, encoder options and the snapshot URI, and reads and
writes one video encoder configuration, with the operations and element layout of its
version. :func:`open_media` picks Media 2 when the camera announces it and it answers
``GetProfiles`` with profiles (H.265 exists only there), else Media 1, and records ``media2``
in ``missing`` when Media 2 is absent or broken.
"""

from __future__ import annotations

from typing import Any, Literal

from vigil_optimizer.camera_link import CameraError
from vigil_schema.camera_settings import EncoderOptions, ProfileInfo, StreamSettings

from .encoders import options_media1, options_media2, profile_media1, profile_media2
from .quirks import Quirks
from .session import MEDIA2_NAMESPACE, MEDIA_NAMESPACE, OnvifSession
from .stream import apply_stream_media1, apply_stream_media2
from .values import field, items, plain, text

__all__ = ["OPTIONAL_FAILURES", "MediaAccess", "open_media", "optional"]

OPTIONAL_FAILURES = ("unsupported", "refused", "invalid", "auth")
"""Kinds of CameraError that make an optional part missing instead of failing inspection."""

_MEDIA2_TYPES = ["VideoSource", "VideoEncoder"]


def optional(exc: CameraError, missing: list[str], name: str) -> None:
    """Record an optional part as missing, or re-raise a failure of the camera itself."""
    if exc.kind not in OPTIONAL_FAILURES:
        raise exc
    if name not in missing:
        missing.append(name)


class MediaAccess:
    """One media service version; see the module docstring."""

    def __init__(self, session: OnvifSession, service: Any, version: Literal[1, 2]) -> None:
        self.session = session
        self.service = service
        self.version = version

    async def _call(self, operation: str, params: dict[str, Any]) -> Any:
        method = getattr(self.service, operation)
        return await self.session.caller.call(operation, lambda: method(params))

    async def profiles(self, token: str | None = None) -> list[ProfileInfo]:
        """All profiles (or the one ``token``) with their current encoder configuration."""
        if self.version == 2:
            params: dict[str, Any] = {"Type": _MEDIA2_TYPES}
            if token is not None:
                params["Token"] = token
            answer = await self._call("GetProfiles", params)
            found = [profile_media2(p) for p in items(answer)]
        elif token is not None:
            found = [profile_media1(await self._call("GetProfile", {"ProfileToken": token}))]
        else:
            found = [profile_media1(p) for p in items(await self._call("GetProfiles", {}))]
        return [p for p in found if p is not None]

    async def options(self, profile: ProfileInfo) -> EncoderOptions:
        """``GetVideoEncoderConfigurationOptions`` for the profile's encoder."""
        params = {"ProfileToken": profile.token}
        if profile.encoder_token:
            params["ConfigurationToken"] = profile.encoder_token
        answer = await self._call("GetVideoEncoderConfigurationOptions", params)
        if self.version == 2:
            return options_media2(answer, profile.encoding)
        return options_media1(answer, profile.encoding)

    async def snapshot_uri(self, profile_token: str) -> str | None:
        """The profile's snapshot URI as the camera states it."""
        answer = await self._call("GetSnapshotUri", {"ProfileToken": profile_token})
        return text(answer) if isinstance(answer, str) else text(field(answer, "Uri"))

    async def write_stream(
        self, encoder_token: str, stream: StreamSettings, quirks: Quirks
    ) -> None:
        """Change the set fields of ``stream`` in the encoder configuration ``encoder_token``."""
        if self.version == 2:
            answer = await self._call(
                "GetVideoEncoderConfigurations", {"ConfigurationToken": encoder_token}
            )
            current = plain(items(answer)[0] if items(answer) else None)
        else:
            answer = await self._call(
                "GetVideoEncoderConfiguration", {"ConfigurationToken": encoder_token}
            )
            current = plain(answer)
        if not current:
            raise CameraError("GetVideoEncoderConfiguration", "invalid", "no configuration")
        try:
            if self.version == 2:
                changed = apply_stream_media2(current, stream)
                await self._call("SetVideoEncoderConfiguration", {"Configuration": changed})
                return
            changed = apply_stream_media1(current, stream, quirks)
        except ValueError as exc:
            raise CameraError("SetVideoEncoderConfiguration", "unsupported", str(exc)) from exc
        await self._call(
            "SetVideoEncoderConfiguration", {"Configuration": changed, "ForcePersistence": True}
        )


async def open_media(
    session: OnvifSession, missing: list[str]
) -> tuple[MediaAccess, list[ProfileInfo]]:
    """Media 2 if the camera offers a working one, else Media 1, with the profiles read."""
    if session.offers(MEDIA2_NAMESPACE):
        try:
            media2 = MediaAccess(session, await session.service("media2"), 2)
            profiles = await media2.profiles()
        except CameraError as exc:
            optional(exc, missing, "media2")
            profiles = []
        if profiles:
            return media2, profiles
    if "media2" not in missing:
        missing.append("media2")
    if not session.offers(MEDIA_NAMESPACE):
        raise CameraError("GetProfiles", "unsupported", "the camera announces no media service")
    media1 = MediaAccess(session, await session.service("media"), 1)
    return media1, await media1.profiles()
