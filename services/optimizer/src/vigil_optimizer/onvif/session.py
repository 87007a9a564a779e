"""A connected ONVIF camera: clock offset, service addresses, and service clients.

:meth:`OnvifSession.open` does, in this order:

1. ``GetSystemDateAndTime`` without authentication (ONVIF allows it), or with it when the
   camera insists (Axis); the camera's UTC clock minus ours becomes onvif-zeep-async's
   ``dt_diff``, which ``UsernameDigestTokenDtDiff`` adds to the WS-Security ``Created``
   timestamp (and so to the password digest) of every later request. A camera whose clock is
   years off (the Hikvision capture: 2018) is then still accepted.
2. ``GetServices`` for every service address, falling back to ``GetCapabilities`` when the
   camera lacks it. With ``rewrite_xaddrs`` (the default) every address is rewritten to the
   host and port Vigil connected to (onvif-zeep-async's ``nat_override``): cameras announce
   their LAN address, unreachable through NAT or port forwarding.

Service clients come from onvif-zeep-async's generic factory
(``ONVIFCamera.create_onvif_service``); ``media2`` is added to it by overriding
``get_definition`` with the Media 2 WSDL Vigil ships (:mod:`.media2_wsdl`). Each client gets
the :mod:`.tolerant` plugin (firmware whitespace and ``30.0``-style integers).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from onvif import ONVIFCamera  # type: ignore[import-untyped]
from onvif.definition import SERVICES  # type: ignore[import-untyped]
from onvif.exceptions import ONVIFError  # type: ignore[import-untyped]
from onvif.util import normalize_url  # type: ignore[import-untyped]

from vigil_optimizer.camera_link import CameraError
from vigil_runtime.logging import get_logger

from .calls import Caller, CallPolicy
from .media2_wsdl import MEDIA2_BINDING, MEDIA2_NAMESPACE, media2_wsdl_path, prepare_media2_document
from .tolerant import add_to
from .values import field, items, text, whole

__all__ = [
    "IMAGING_NAMESPACE",
    "MEDIA2_NAMESPACE",
    "MEDIA_NAMESPACE",
    "OnvifSession",
    "clock_offset",
]

_log = get_logger("vigil_optimizer.onvif")

MEDIA_NAMESPACE = "http://www.onvif.org/ver10/media/wsdl"
IMAGING_NAMESPACE = "http://www.onvif.org/ver20/imaging/wsdl"
_RETRY_CLOCK_WITH_AUTH = ("auth", "refused", "unsupported")
_NO_GETSERVICES = ("unsupported", "refused", "invalid")


class _Camera(ONVIFCamera):  # type: ignore[misc]
    """onvif-zeep-async's camera with a ``media2`` service definition."""

    def get_definition(self, name: str, port_type: str | None = None) -> tuple[str, str, str]:
        """The library's definitions, plus Media 2 from Vigil's WSDL."""
        if name != "media2":
            definition: tuple[str, str, str] = super().get_definition(name, port_type)
            return definition
        xaddr = self.xaddrs.get(MEDIA2_NAMESPACE)
        if not xaddr:
            raise ONVIFError("Device doesn't support service: media2")
        return xaddr, media2_wsdl_path(), MEDIA2_BINDING


def clock_offset(answer: Any, now: dt.datetime | None = None) -> dt.timedelta | None:
    """The camera's UTC clock minus ours, from ``GetSystemDateAndTime`` (None if unreadable)."""
    utc = field(answer, "UTCDateTime")
    parts = [whole(field(utc, "Date", name)) for name in ("Year", "Month", "Day")] + [
        whole(field(utc, "Time", name)) for name in ("Hour", "Minute", "Second")
    ]
    if any(part is None for part in parts):
        return None
    try:
        camera = dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[arg-type, misc]
    except (ValueError, OverflowError):
        return None
    return camera - (now or dt.datetime.now(dt.UTC))


class OnvifSession:
    """One camera over ONVIF; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str | None,
        password: str | None,
        *,
        policy: CallPolicy,
        rewrite_xaddrs: bool = True,
    ) -> None:
        self.host = host
        self.caller = Caller(host, policy)
        self.camera = _Camera(host, port, user, password, nat_override=rewrite_xaddrs)
        self.announced: dict[str, str] = {}
        """Service namespace → XAddr as the camera announced it."""

    @property
    def clock_offset(self) -> dt.timedelta | None:
        """The camera's clock minus ours, as measured at open (None when it gave no time)."""
        offset: dt.timedelta | None = self.camera.dt_diff
        return offset

    async def open(self) -> None:
        """Measure the clock offset and discover the services (see the module docstring)."""
        await self._sync_clock()
        await self._discover()

    async def close(self) -> None:
        """Close every HTTP session of the camera's service clients."""
        await self.camera.close()

    async def service(self, name: str) -> Any:
        """The client of service ``name`` (``devicemgmt``, ``media``, ``media2``, ``imaging``)."""
        if name == "media2":
            try:
                await prepare_media2_document()
            except Exception as exc:  # a broken WSDL install: Media 2 is then missing
                _log.warning("onvif_media2_wsdl_failed", error=type(exc).__name__)
                raise CameraError(name, "unsupported", "the Media 2 WSDL did not load") from exc
        try:
            service = await self.camera.create_onvif_service(name)
        except ONVIFError as exc:
            raise CameraError(name, "unsupported", "the camera announces no such service") from exc
        return add_to(service)

    def offers(self, namespace: str) -> bool:
        """Whether the camera announced the service ``namespace``."""
        return namespace in self.camera.xaddrs

    async def _sync_clock(self) -> None:
        device = await self.service("devicemgmt")
        try:
            answer = await self.caller.call(
                "GetSystemDateAndTime", lambda: device.authless_GetSystemDateAndTime()
            )
        except CameraError as exc:
            if exc.kind not in _RETRY_CLOCK_WITH_AUTH:
                raise
            answer = await self.caller.call(
                "GetSystemDateAndTime", lambda: device.GetSystemDateAndTime()
            )
        offset = clock_offset(answer)
        if offset is None:
            _log.warning("onvif_clock_unknown", host=self.host)
            return
        self.camera.dt_diff = offset
        # The devicemgmt client signed with no offset: rebuild it with the offset.
        await device.close()
        self.camera.services.pop(device.binding_key, None)
        _log.info("onvif_clock_offset", host=self.host, offset_s=round(offset.total_seconds(), 1))

    async def _discover(self) -> None:
        device = await self.service("devicemgmt")
        try:
            answer = await self.caller.call(
                "GetServices", lambda: device.GetServices({"IncludeCapability": False})
            )
            announced = _from_services(answer)
        except CameraError as exc:
            if exc.kind not in _NO_GETSERVICES:
                raise
            announced = {}
        if not announced:
            answer = await self.caller.call(
                "GetCapabilities", lambda: device.GetCapabilities({"Category": "All"})
            )
            announced = _from_capabilities(answer)
        self.announced = announced
        self.camera.xaddrs = {
            namespace: self.camera.rewrite_url(normalize_url(xaddr))
            for namespace, xaddr in announced.items()
        }


def _from_services(answer: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for service in items(answer):
        namespace, xaddr = text(field(service, "Namespace")), text(field(service, "XAddr"))
        if namespace and xaddr:
            found[namespace] = xaddr
    return found


def _from_capabilities(answer: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    groups = [
        (name, field(answer, name))
        for name in ("Device", "Media", "Imaging", "Events", "PTZ", "Analytics")
    ]
    extension = field(answer, "Extension")
    groups += [
        (name, field(extension, name))
        for name in ("DeviceIO", "Recording", "Search", "Replay", "Receiver")
    ]
    for name, group in groups:
        xaddr = text(field(group, "XAddr"))
        definition = SERVICES.get("devicemgmt" if name == "Device" else name.lower())
        if xaddr and definition:
            found[definition["ns"]] = xaddr
    return found
