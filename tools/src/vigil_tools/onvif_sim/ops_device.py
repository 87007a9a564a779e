"""Device service operations: information, capabilities, services, clock.

GetCapabilities and GetServices replay the captures, adjusted to the camera's services:
Imaging is removed when switched off (and added to Axis's GetCapabilities, whose capture
lacks it, when on); Media2 is added to GetServices when offered. GetSystemDateAndTime
reports the camera's skewed clock in the captured structure (local time keeps the
captured UTC offset). Profiles without GetServices (Axis) answer ActionNotSupported.
"""

from __future__ import annotations

import copy
import datetime as dt

from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.captures import first
from vigil_tools.onvif_sim.xmlkit import NS, Element, SoapFault, find, findtext, q, sub

__all__ = ["HANDLERS"]


def get_device_information(cam: SimCamera, op: Element, body: Element) -> None:
    """GetDeviceInformation from the state."""
    answer = sub(body, "tds", "GetDeviceInformationResponse")
    device = cam.state.device
    sub(answer, "tds", "Manufacturer", device.manufacturer)
    sub(answer, "tds", "Model", device.model)
    sub(answer, "tds", "FirmwareVersion", device.firmware_version)
    sub(answer, "tds", "SerialNumber", device.serial_number)
    sub(answer, "tds", "HardwareId", device.hardware_id)


def _imaging_xaddr(cam: SimCamera) -> str:
    media = findtext(cam.captures.body("GetCapabilities"), ".//tt:Media/tt:XAddr") or ""
    return media.rsplit("/", 1)[0] + ("/services" if cam.spec.vendor == "axis" else "/Imaging")


def get_capabilities(cam: SimCamera, op: Element, body: Element) -> None:
    """The captured GetCapabilities, with Imaging present exactly when offered."""
    answer = copy.deepcopy(cam.captures.body("GetCapabilities"))
    capabilities = first(answer, "tds:Capabilities")
    imaging = find(capabilities, "tt:Imaging")
    if not cam.spec.imaging and imaging is not None:
        capabilities.remove(imaging)
    elif cam.spec.imaging and imaging is None:
        imaging = capabilities.makeelement(q("tt", "Imaging"), {})
        sub(imaging, "tt", "XAddr", _imaging_xaddr(cam))
        media = find(capabilities, "tt:Media")
        capabilities.insert(capabilities.index(media) if media is not None else 0, imaging)
    category = findtext(op, "tds:Category")
    if category and category != "All":
        for child in list(capabilities):
            if child.tag != q("tt", category):
                capabilities.remove(child)
        if len(capabilities) == 0:
            raise SoapFault("Receiver", ("ter:ActionNotSupported", "ter:NoSuchService"), category)
    body.append(answer)


def _media2_service(cam: SimCamera, parent: Element, include: bool) -> None:
    device = findtext(cam.captures.body("GetCapabilities"), ".//tt:Device/tt:XAddr") or ""
    service = sub(parent, "tds", "Service")
    sub(service, "tds", "Namespace", NS["tr2"])
    sub(service, "tds", "XAddr", device.rsplit("/onvif/", 1)[0] + cam.vendor.media2_path)
    if include:
        holder = sub(service, "tds", "Capabilities")
        capabilities = sub(holder, "tr2", "Capabilities", SnapshotUri="true", Rotation="false")
        sub(capabilities, "tr2", "ProfileCapabilities", MaximumNumberOfProfiles="10")
        sub(capabilities, "tr2", "StreamingCapabilities", RTSPStreaming="true")
    version = sub(service, "tds", "Version")
    sub(version, "tt", "Major", 2)
    sub(version, "tt", "Minor", 60)


def get_services(cam: SimCamera, op: Element, body: Element) -> None:
    """The captured service list, adjusted to the camera's services."""
    if not cam.vendor.get_services:
        raise SoapFault.not_supported("GetServices")
    include = (findtext(op, "tds:IncludeCapability") or "false").lower() == "true"
    answer = copy.deepcopy(cam.captures.body("GetServices"))
    for service in list(answer):
        namespace = findtext(service, "tds:Namespace")
        if namespace == NS["timg"] and not cam.spec.imaging:
            answer.remove(service)
        elif not include and (capabilities := find(service, "tds:Capabilities")) is not None:
            service.remove(capabilities)
    if cam.spec.offers_media2:
        _media2_service(cam, answer, include)
    body.append(answer)


def get_service_capabilities(cam: SimCamera, op: Element, body: Element) -> None:
    """The captured device service capabilities."""
    if "GetServiceCapabilities" not in cam.captures.bodies:
        raise SoapFault.not_supported("GetServiceCapabilities")
    body.append(copy.deepcopy(cam.captures.body("GetServiceCapabilities")))


def _set_date_time(holder: Element | None, moment: dt.datetime) -> None:
    if holder is None:
        return
    for path, value in (
        ("tt:Time/tt:Hour", moment.hour), ("tt:Time/tt:Minute", moment.minute),
        ("tt:Time/tt:Second", moment.second), ("tt:Date/tt:Year", moment.year),
        ("tt:Date/tt:Month", moment.month), ("tt:Date/tt:Day", moment.day),
    ):  # fmt: skip
        element = find(holder, path)
        if element is not None:
            element.text = str(value)


def _read(holder: Element | None) -> dt.datetime | None:
    if holder is None:
        return None
    parts = [findtext(holder, f"tt:{p}") for p in ("Date/tt:Year", "Date/tt:Month",
             "Date/tt:Day", "Time/tt:Hour", "Time/tt:Minute", "Time/tt:Second")]  # fmt: skip
    if not all(parts):
        return None
    year, month, day, hour, minute, second = (int(p or 0) for p in parts)
    return dt.datetime(year, month, day, hour, minute, second)


def get_system_date_and_time(cam: SimCamera, op: Element, body: Element) -> None:
    """The captured clock answer, showing the camera's (skewed) clock."""
    answer = copy.deepcopy(cam.captures.body("GetSystemDateAndTime"))
    utc = find(answer, ".//tt:UTCDateTime")
    local = find(answer, ".//tt:LocalDateTime")
    captured_utc, captured_local = _read(utc), _read(local)
    offset = captured_local - captured_utc if captured_utc and captured_local else dt.timedelta()
    now = cam.now().replace(tzinfo=None)
    _set_date_time(utc, now)
    _set_date_time(local, now + offset)
    body.append(answer)


HANDLERS = {
    (NS["tds"], "GetDeviceInformation"): get_device_information,
    (NS["tds"], "GetCapabilities"): get_capabilities,
    (NS["tds"], "GetServices"): get_services,
    (NS["tds"], "GetServiceCapabilities"): get_service_capabilities,
    (NS["tds"], "GetSystemDateAndTime"): get_system_date_and_time,
}
