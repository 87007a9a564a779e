"""Media (ver10) and Media2 (ver20) operations, answered from the camera's state.

Both services share the camera's encoder configurations. Set operations validate against
the vendor's options (:mod:`validate`), honour injected faults (:meth:`SimCamera.begin_set`)
and change the state; Media1 cannot select H.265, Media2 can where the vendor offers it.
``GetVideoEncoderConfigurationOptions`` answers ActionNotSupported when the camera was
configured without it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

from vigil_tools.onvif_sim import render
from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.model import IMAGING_PATHS, EncoderConfig, encoder_from_xml
from vigil_tools.onvif_sim.validate import check_encoder
from vigil_tools.onvif_sim.xmlkit import NS, Element, SoapFault, find, findtext, q, sub

__all__ = ["HANDLERS"]

Handler = Callable[[SimCamera, Element, Element], None]


def _profile(cam: SimCamera, token: str | None) -> Element:
    for profile in cam.profile_templates:
        if profile.get("token") == token:
            return profile
    raise SoapFault.invalid_arg("NoProfile", f"no profile {token!r}")


def _encoder(cam: SimCamera, token: str | None) -> EncoderConfig:
    config = cam.state.encoders.get(token or "")
    if config is None:
        raise SoapFault.invalid_arg("NoConfig", f"no video encoder configuration {token!r}")
    return config


def _profile_encoder_token(cam: SimCamera, op: Element, prefix: str) -> str | None:
    token = findtext(op, f"{prefix}:ConfigurationToken")
    if token:
        return token
    profile_token = findtext(op, f"{prefix}:ProfileToken")
    if not profile_token:
        return None
    encoder = find(_profile(cam, profile_token), "tt:VideoEncoderConfiguration")
    return None if encoder is None else str(encoder.get("token"))


def get_profiles(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetProfiles: captured profiles with the state's encoder configurations."""
    answer = sub(body, "trt", "GetProfilesResponse")
    for template in cam.profile_templates:
        render.profile_v1(
            answer, q("trt", "Profiles"), template, cam.state.encoders, cam.encoder_templates
        )


def get_profile(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetProfile."""
    template = _profile(cam, findtext(op, "trt:ProfileToken"))
    answer = sub(body, "trt", "GetProfileResponse")
    render.profile_v1(
        answer, q("trt", "Profile"), template, cam.state.encoders, cam.encoder_templates
    )


def get_encoder_configurations(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetVideoEncoderConfigurations."""
    answer = sub(body, "trt", "GetVideoEncoderConfigurationsResponse")
    for token, config in cam.state.encoders.items():
        render.encoder_v1(answer, q("trt", "Configurations"), config, cam.encoder_templates[token])


def get_encoder_configuration(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetVideoEncoderConfiguration."""
    config = _encoder(cam, findtext(op, "trt:ConfigurationToken"))
    answer = sub(body, "trt", "GetVideoEncoderConfigurationResponse")
    render.encoder_v1(
        answer, q("trt", "Configuration"), config, cam.encoder_templates[config.token]
    )


def get_encoder_options(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetVideoEncoderConfigurationOptions for one configuration or profile."""
    if not cam.spec.encoder_options:
        raise SoapFault.not_supported("GetVideoEncoderConfigurationOptions")
    token = _profile_encoder_token(cam, op, "trt")
    options = cam.encoder_options(_encoder(cam, token).token if token else "*")
    answer = sub(body, "trt", "GetVideoEncoderConfigurationOptionsResponse")
    render.encoder_options_v1(answer, q("trt", "Options"), options)


def _apply_encoder(cam: SimCamera, new: EncoderConfig, media2: bool) -> None:
    old = _encoder(cam, new.token)
    dropped = cam.begin_set("encoder")
    kept = {f: getattr(old, f) for f in dropped if hasattr(old, f)}
    new = dataclasses.replace(new, name=new.name or old.name, use_count=old.use_count,
                              quality_decimals=old.quality_decimals, **kept)  # fmt: skip
    check_encoder(new, cam.encoder_options(new.token), media2)
    cam.state.encoders[new.token] = new
    cam.state.touch()
    cam.faults.encoder_applied = True


def set_encoder_configuration(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 SetVideoEncoderConfiguration."""
    element = find(op, "trt:Configuration")
    if element is None:
        raise SoapFault.invalid_arg("ConfigModify", "Configuration missing")
    try:
        new = encoder_from_xml(element)
    except ValueError as exc:
        raise SoapFault.invalid_arg("ConfigModify", f"not a number: {exc}") from exc
    _apply_encoder(cam, new, media2=False)
    sub(body, "trt", "SetVideoEncoderConfigurationResponse")


def _sources(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetVideoSources: the capture, its imaging values taken from the state."""
    answer = copy.deepcopy(cam.captures.body("GetVideoSources"))
    imaging = find(answer, ".//tt:Imaging")
    if imaging is not None:
        for path in IMAGING_PATHS:
            element = find(imaging, "/".join(f"tt:{p}" for p in path.split("/")))
            if element is not None and path in cam.state.imaging:
                element.text = render.format_number(cam.state.imaging[path])
    body.append(answer)


def _replay(operation: str) -> Handler:
    def handler(cam: SimCamera, op: Element, body: Element) -> None:
        body.append(copy.deepcopy(cam.captures.body(operation)))

    handler.__doc__ = f"Media1 {operation}: the capture, URLs rewritten."
    return handler


def get_stream_uri(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetStreamUri: the captured URI, naming the requested profile."""
    token = findtext(op, "trt:ProfileToken")
    _profile(cam, token)
    answer = copy.deepcopy(cam.captures.body("GetStreamUri"))
    uri = find(answer, ".//tt:Uri")
    if uri is not None and uri.text and token:
        head, sep, tail = uri.text.partition("profile=")
        uri.text = head + sep + token + ("&" + tail.split("&", 1)[1] if "&" in tail else "")
    body.append(answer)


def get_media_service_capabilities(cam: SimCamera, op: Element, body: Element) -> None:
    """Media1 GetServiceCapabilities, from the media entry of the captured GetServices."""
    services = cam.captures.bodies.get("GetServices")
    found = None
    for service in [] if services is None else services:
        if findtext(service, "tds:Namespace") == NS["trt"]:
            found = find(service, "tds:Capabilities/trt:Capabilities")
    if found is None:
        raise SoapFault.not_supported("GetServiceCapabilities")
    answer = sub(body, "trt", "GetServiceCapabilitiesResponse")
    answer.append(copy.deepcopy(found))


# Media2 ------------------------------------------------------------------------------


def m2_get_profiles(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 GetProfiles (optionally one Token), with VideoSource and VideoEncoder."""
    token = findtext(op, "tr2:Token")
    answer = sub(body, "tr2", "GetProfilesResponse")
    templates = [_profile(cam, token)] if token else cam.profile_templates
    for template in templates:
        render.profile_v2(answer, template, cam.state.encoders)


def m2_get_encoder_configurations(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 GetVideoEncoderConfigurations (all, one configuration or one profile's)."""
    token = _profile_encoder_token(cam, op, "tr2")
    configs = [_encoder(cam, token)] if token else list(cam.state.encoders.values())
    answer = sub(body, "tr2", "GetVideoEncoderConfigurationsResponse")
    for config in configs:
        render.encoder_v2(answer, q("tr2", "Configurations"), config)


def m2_get_encoder_options(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 GetVideoEncoderConfigurationOptions: one Options per encoding."""
    if not cam.spec.encoder_options:
        raise SoapFault.not_supported("GetVideoEncoderConfigurationOptions")
    token = _profile_encoder_token(cam, op, "tr2")
    options = cam.encoder_options(_encoder(cam, token).token if token else "*")
    answer = sub(body, "tr2", "GetVideoEncoderConfigurationOptionsResponse")
    render.encoder_options_v2(answer, q("tr2", "Options"), options)


def _m2_config(cam: SimCamera, element: Element) -> EncoderConfig:
    old = _encoder(cam, str(element.get("token", "")))
    number = findtext
    try:
        return dataclasses.replace(
            old,
            name=number(element, "tt:Name") or old.name,
            encoding=number(element, "tt:Encoding") or old.encoding,
            width=int(number(element, "tt:Resolution/tt:Width") or old.width),
            height=int(number(element, "tt:Resolution/tt:Height") or old.height),
            quality=float(number(element, "tt:Quality") or old.quality),
            frame_rate_limit=round(
                float(number(element, "tt:RateControl/tt:FrameRateLimit") or old.frame_rate_limit)
            ),
            bitrate_limit=int(
                number(element, "tt:RateControl/tt:BitrateLimit") or old.bitrate_limit
            ),
            gov_length=int(element.get("GovLength") or old.gov_length or 1),
            h264_profile=element.get("Profile") or old.h264_profile,
        )
    except ValueError as exc:
        raise SoapFault.invalid_arg("ConfigModify", f"not a number: {exc}") from exc


def m2_set_encoder_configuration(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 SetVideoEncoderConfiguration (may select H.265)."""
    element = find(op, "tr2:Configuration")
    if element is None:
        raise SoapFault.invalid_arg("ConfigModify", "Configuration missing")
    _apply_encoder(cam, _m2_config(cam, element), media2=True)
    sub(body, "tr2", "SetVideoEncoderConfigurationResponse")


def _uri(cam: SimCamera, op: Element, body: Element, operation: str, captured: str) -> None:
    _profile(cam, findtext(op, "tr2:ProfileToken"))
    uri = findtext(cam.captures.body(captured), ".//tt:Uri") or ""
    answer = sub(body, "tr2", f"{operation}Response")
    sub(answer, "tr2", "Uri", uri)


def m2_get_snapshot_uri(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 GetSnapshotUri: the camera's snapshot URL."""
    _uri(cam, op, body, "GetSnapshotUri", "GetSnapshotUri")


def m2_get_stream_uri(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 GetStreamUri: the captured RTSP URL."""
    _uri(cam, op, body, "GetStreamUri", "GetStreamUri")


def m2_get_service_capabilities(cam: SimCamera, op: Element, body: Element) -> None:
    """Media2 GetServiceCapabilities."""
    answer = sub(body, "tr2", "GetServiceCapabilitiesResponse")
    capabilities = sub(answer, "tr2", "Capabilities", SnapshotUri="true", Rotation="false")
    sub(capabilities, "tr2", "ProfileCapabilities", MaximumNumberOfProfiles="10")
    sub(capabilities, "tr2", "StreamingCapabilities", RTSPStreaming="true")


_M1, _M2 = NS["trt"], NS["tr2"]
HANDLERS: dict[tuple[str, str], Handler] = {
    (_M1, "GetProfiles"): get_profiles,
    (_M1, "GetProfile"): get_profile,
    (_M1, "GetVideoEncoderConfigurations"): get_encoder_configurations,
    (_M1, "GetVideoEncoderConfiguration"): get_encoder_configuration,
    (_M1, "GetVideoEncoderConfigurationOptions"): get_encoder_options,
    (_M1, "SetVideoEncoderConfiguration"): set_encoder_configuration,
    (_M1, "GetVideoSources"): _sources,
    (_M1, "GetVideoSourceConfigurations"): _replay("GetVideoSourceConfigurations"),
    (_M1, "GetSnapshotUri"): _replay("GetSnapshotUri"),
    (_M1, "GetStreamUri"): get_stream_uri,
    (_M1, "GetServiceCapabilities"): get_media_service_capabilities,
    (_M2, "GetProfiles"): m2_get_profiles,
    (_M2, "GetVideoEncoderConfigurations"): m2_get_encoder_configurations,
    (_M2, "GetVideoEncoderConfigurationOptions"): m2_get_encoder_options,
    (_M2, "SetVideoEncoderConfiguration"): m2_set_encoder_configuration,
    (_M2, "GetSnapshotUri"): m2_get_snapshot_uri,
    (_M2, "GetStreamUri"): m2_get_stream_uri,
    (_M2, "GetServiceCapabilities"): m2_get_service_capabilities,
}
