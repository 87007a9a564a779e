"""Answers rendered from a camera's state into the ONVIF schema's element order.

Media1 encoder configurations and profiles start from the captured element (a deep copy),
so everything the simulator does not model (Multicast, SessionTimeout, PTZ, analytics,
audio, vendor extensions) stays as the firmware sent it, and only the modelled values are
replaced. Imaging settings/options, Media1 encoder options and everything Media2 are
synthesized from the state and :mod:`vendors` options, following the onvif.xsd types
``ImagingSettings20``, ``ImagingOptions20``, ``VideoEncoderConfigurationOptions``,
``VideoEncoder2Configuration`` and ``VideoEncoder2ConfigurationOptions``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from vigil_tools.onvif_sim.model import IMAGING_PATHS, EncoderConfig
from vigil_tools.onvif_sim.vendors import EncoderOptions, ImagingOption
from vigil_tools.onvif_sim.xmlkit import Element, etree, find, format_number, q, sub

__all__ = [
    "encoder_options_v1", "encoder_options_v2", "encoder_v1", "encoder_v2",
    "format_number", "imaging_options", "imaging_settings", "profile_v1", "profile_v2",
]  # fmt: skip

_FRAME_RATES = (1, 2, 4, 6, 8, 10, 12, 15, 16, 18, 20, 22, 25, 30)


def _set(element: Element, path: str, text: str) -> None:
    found = find(element, path)
    if found is not None:
        found.text = text


def encoder_v1(parent: Element, tag: str, config: EncoderConfig, template: Element) -> Element:
    """``config`` as a Media1 VideoEncoderConfiguration named ``tag``, on ``template``."""
    element = copy.deepcopy(template)
    element.tag = tag
    element.set("token", config.token)
    _set(element, "tt:Name", config.name)
    _set(element, "tt:Encoding", config.encoding)
    _set(element, "tt:Resolution/tt:Width", str(config.width))
    _set(element, "tt:Resolution/tt:Height", str(config.height))
    _set(element, "tt:Quality", config.quality_text())
    _set(element, "tt:RateControl/tt:FrameRateLimit", str(config.frame_rate_limit))
    _set(element, "tt:RateControl/tt:EncodingInterval", str(config.encoding_interval))
    _set(element, "tt:RateControl/tt:BitrateLimit", str(config.bitrate_limit))
    h264 = find(element, "tt:H264")
    if config.encoding != "H264":
        if h264 is not None:
            element.remove(h264)
    else:
        if h264 is None:
            rate = find(element, "tt:RateControl")
            h264 = etree.Element(q("tt", "H264"))
            element.insert(element.index(rate) + 1 if rate is not None else 4, h264)
            sub(h264, "tt", "GovLength")
            sub(h264, "tt", "H264Profile")
        _set(h264, "tt:GovLength", str(config.gov_length or 1))
        _set(h264, "tt:H264Profile", config.h264_profile or "Main")
    parent.append(element)
    return element


def profile_v1(
    parent: Element, tag: str, template: Element, encoders: Mapping[str, EncoderConfig],
    encoder_templates: Mapping[str, Element],
) -> Element:  # fmt: skip
    """A captured Media1 profile with its encoder configuration taken from the state."""
    element = copy.deepcopy(template)
    element.tag = tag
    captured = find(element, "tt:VideoEncoderConfiguration")
    if captured is not None:
        token = str(captured.get("token", ""))
        if token in encoders:
            holder = etree.Element("holder")
            template_encoder = encoder_templates.get(token, captured)
            fresh = encoder_v1(holder, captured.tag, encoders[token], template_encoder)
            element.replace(captured, fresh)
    parent.append(element)
    return element


def imaging_settings(parent: Element, tag: str, values: Mapping[str, float | str]) -> Element:
    """ImagingSettings20 from the flat state (schema order; absent fields left out)."""
    element = etree.SubElement(parent, tag)
    groups: dict[str, Element] = {}
    for path in IMAGING_PATHS:
        if path not in values:
            continue
        group, _, leaf = path.rpartition("/")
        holder = element
        if group:
            holder = groups.get(group)
            if holder is None:
                holder = groups[group] = sub(element, "tt", group)
        sub(holder, "tt", leaf, values[path])
    return element


def _range(parent: Element, prefix: str, name: str, bounds: tuple[float, float]) -> None:
    holder = sub(parent, prefix, name)
    sub(holder, "tt", "Min", bounds[0])
    sub(holder, "tt", "Max", bounds[1])


_OPTION_NAMES = {"IrCutFilter": "IrCutFilterModes", "CrGain": "YrGain", "CbGain": "YbGain"}


def imaging_options(parent: Element, tag: str, options: Mapping[str, ImagingOption]) -> Element:
    """ImagingOptions20 from the vendor's option table (schema order)."""
    element = etree.SubElement(parent, tag)
    groups: dict[str, Element] = {}
    for path in IMAGING_PATHS:
        option = options.get(path)
        if option is None:
            continue
        group, _, leaf = path.rpartition("/")
        holder = element
        if group:
            holder = groups.get(group)
            if holder is None:
                holder = groups[group] = sub(element, "tt", group)
        name = _OPTION_NAMES.get(leaf, leaf)
        if isinstance(option[0], str):
            for value in option:
                sub(holder, "tt", name, value)
        else:
            _range(holder, "tt", name, (float(option[0]), float(option[1])))
    return element


def _v1_codec(parent: Element, name: str, options: EncoderOptions, h264: bool) -> Element:
    codec = sub(parent, "tt", name)
    for width, height in options.resolutions:
        resolution = sub(codec, "tt", "ResolutionsAvailable")
        sub(resolution, "tt", "Width", width)
        sub(resolution, "tt", "Height", height)
    if h264:
        _range(codec, "tt", "GovLengthRange", options.gov_length)
    _range(codec, "tt", "FrameRateRange", options.frame_rate)
    _range(codec, "tt", "EncodingIntervalRange", options.encoding_interval)
    if h264:
        for profile in options.h264_profiles:
            sub(codec, "tt", "H264ProfilesSupported", profile)
    return codec


def encoder_options_v1(parent: Element, tag: str, options: EncoderOptions) -> Element:
    """Media1 VideoEncoderConfigurationOptions, with Extension bitrate ranges."""
    element = etree.SubElement(parent, tag)
    _range(element, "tt", "QualityRange", (int(options.quality[0]), int(options.quality[1])))
    if options.jpeg:
        _v1_codec(element, "JPEG", options, h264=False)
    _v1_codec(element, "H264", options, h264=True)
    extension = sub(element, "tt", "Extension")
    if options.jpeg:
        _range(_v1_codec(extension, "JPEG", options, False), "tt", "BitrateRange", options.bitrate)
    _range(_v1_codec(extension, "H264", options, True), "tt", "BitrateRange", options.bitrate)
    return element


def encoder_v2(parent: Element, tag: str, config: EncoderConfig) -> Element:
    """``config`` as a Media2 VideoEncoder2Configuration (GOP and profile as attributes)."""
    attrs = {"token": config.token}
    if config.encoding in ("H264", "H265"):
        attrs["GovLength"] = str(config.gov_length or 1)
        attrs["Profile"] = config.h264_profile or "Main"
    element = etree.SubElement(parent, tag, attrib=attrs)
    sub(element, "tt", "Name", config.name)
    sub(element, "tt", "UseCount", config.use_count)
    sub(element, "tt", "Encoding", config.encoding)
    resolution = sub(element, "tt", "Resolution")
    sub(resolution, "tt", "Width", config.width)
    sub(resolution, "tt", "Height", config.height)
    rate = sub(element, "tt", "RateControl", ConstantBitRate="false")
    sub(rate, "tt", "FrameRateLimit", float(config.frame_rate_limit))
    sub(rate, "tt", "BitrateLimit", config.bitrate_limit)
    sub(element, "tt", "Quality", config.quality)
    return element


def encoder_options_v2(parent: Element, tag: str, options: EncoderOptions) -> list[Element]:
    """Media2 VideoEncoder2ConfigurationOptions, one per encoding."""
    found = []
    rates = " ".join(str(r) for r in _FRAME_RATES if r <= options.frame_rate[1])
    for encoding in options.encodings(media2=True):
        attrs = {"FrameRatesSupported": rates}
        if encoding != "JPEG":
            attrs["GovLengthRange"] = f"{options.gov_length[0]} {options.gov_length[1]}"
            profiles = options.h264_profiles if encoding == "H264" else options.h265_profiles
            attrs["ProfilesSupported"] = " ".join(profiles)
        element = etree.SubElement(parent, tag, attrib=attrs)
        sub(element, "tt", "Encoding", encoding)
        _range(element, "tt", "QualityRange", options.quality)
        for width, height in options.resolutions:
            resolution = sub(element, "tt", "ResolutionsAvailable")
            sub(resolution, "tt", "Width", width)
            sub(resolution, "tt", "Height", height)
        _range(element, "tt", "BitrateRange", options.bitrate)
        found.append(element)
    return found


def profile_v2(
    parent: Element, template: Element, encoders: Mapping[str, EncoderConfig]
) -> Element:
    """A Media1 profile template as a Media2 ``tr2:Profiles`` (VideoSource + VideoEncoder)."""
    attrs = {"token": str(template.get("token", "")), "fixed": template.get("fixed", "false")}
    element = sub(parent, "tr2", "Profiles", **attrs)
    name = find(template, "tt:Name")
    sub(element, "tr2", "Name", "" if name is None else name.text)
    configurations = sub(element, "tr2", "Configurations")
    source = find(template, "tt:VideoSourceConfiguration")
    if source is not None:
        copied = copy.deepcopy(source)
        copied.tag = q("tr2", "VideoSource")
        configurations.append(copied)
    encoder = find(template, "tt:VideoEncoderConfiguration")
    token = "" if encoder is None else str(encoder.get("token", ""))
    if token in encoders:
        encoder_v2(configurations, q("tr2", "VideoEncoder"), encoders[token])
    return element
