"""Imaging (ver20) operations: GetImagingSettings, SetImagingSettings, GetOptions.

Answers come from the camera's flat imaging state and the vendor's options. A Set changes
only the fields it carries (others keep their value), is validated as a whole before
anything changes, and honours injected faults. Every operation answers ActionNotSupported
when the camera was configured without Imaging (dispatch takes care of that).
"""

from __future__ import annotations

from collections.abc import Callable

from vigil_tools.onvif_sim import render
from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.model import imaging_from_xml
from vigil_tools.onvif_sim.validate import check_imaging
from vigil_tools.onvif_sim.xmlkit import NS, Element, SoapFault, find, findtext, q, sub

__all__ = ["HANDLERS"]


def _source(cam: SimCamera, op: Element) -> None:
    token = findtext(op, "timg:VideoSourceToken")
    if token != cam.state.video_source:
        raise SoapFault.invalid_arg("NoSource", f"no video source {token!r}")


def get_imaging_settings(cam: SimCamera, op: Element, body: Element) -> None:
    """The current imaging settings of the camera's video source."""
    _source(cam, op)
    answer = sub(body, "timg", "GetImagingSettingsResponse")
    render.imaging_settings(answer, q("timg", "ImagingSettings"), cam.state.imaging)


def get_options(cam: SimCamera, op: Element, body: Element) -> None:
    """The imaging options of the vendor profile."""
    _source(cam, op)
    answer = sub(body, "timg", "GetOptionsResponse")
    render.imaging_options(answer, q("timg", "ImagingOptions"), cam.vendor.imaging_options)


def set_imaging_settings(cam: SimCamera, op: Element, body: Element) -> None:
    """Validate and apply the given fields; faults leave the state unchanged."""
    _source(cam, op)
    settings = find(op, "timg:ImagingSettings")
    if settings is None:
        raise SoapFault.invalid_arg("SettingsInvalid", "ImagingSettings missing")
    try:
        changes = imaging_from_xml(settings)
    except ValueError as exc:
        raise SoapFault.invalid_arg("SettingsInvalid", f"not a number: {exc}") from exc
    dropped = cam.begin_set("imaging")
    changes = {path: value for path, value in changes.items() if path not in dropped}
    merged = cam.state.imaging | changes
    check_imaging(merged, changes, cam.vendor.imaging_options)
    cam.state.imaging = merged
    cam.state.touch()
    sub(body, "timg", "SetImagingSettingsResponse")


def get_service_capabilities(cam: SimCamera, op: Element, body: Element) -> None:
    """Imaging GetServiceCapabilities."""
    answer = sub(body, "timg", "GetServiceCapabilitiesResponse")
    sub(answer, "timg", "Capabilities", ImageStabilization="false")


HANDLERS: dict[tuple[str, str], Callable[[SimCamera, Element, Element], None]] = {
    (NS["timg"], "GetImagingSettings"): get_imaging_settings,
    (NS["timg"], "GetOptions"): get_options,
    (NS["timg"], "SetImagingSettings"): set_imaging_settings,
    (NS["timg"], "GetServiceCapabilities"): get_service_capabilities,
}
