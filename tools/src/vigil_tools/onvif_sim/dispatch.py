"""One SOAP call, end to end: latency, parsing, authentication, the handler, the answer.

:func:`answer` returns ``(http_status, body)`` for a request body: 200 with the operation's
answer, 400 (Sender) or 500 (Receiver) with a SOAP fault. Operations are found by the
namespace and name of the Body's element, whatever the URL path (Axis serves every service
on ``/onvif/services``; onvif-zeep-async always calls ``/onvif/device_service`` for the
device service). Every operation but GetSystemDateAndTime needs a valid UsernameToken.
Services the camera does not offer, and unknown operations, answer ActionNotSupported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from vigil_tools.onvif_sim import ops_device, ops_imaging, ops_media
from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.captures import rewrite_urls
from vigil_tools.onvif_sim.soap import (
    Request,
    envelope,
    fault_bytes,
    parse_request,
    pretty,
    to_bytes,
)
from vigil_tools.onvif_sim.wsse import check_token
from vigil_tools.onvif_sim.xmlkit import NS, Element, SoapFault, etree

__all__ = ["answer"]

log = logging.getLogger(__name__)

Handler = Callable[[SimCamera, Element, Element], None]
HANDLERS: dict[tuple[str, str], Handler] = (
    ops_device.HANDLERS | ops_media.HANDLERS | ops_imaging.HANDLERS
)
_UNAUTHENTICATED = frozenset({(NS["tds"], "GetSystemDateAndTime")})


def _handler(cam: SimCamera, request: Request) -> Handler:
    namespace = request.namespace
    offered = not (
        (namespace == NS["timg"] and not cam.spec.imaging)
        or (namespace == NS["tr2"] and not cam.spec.offers_media2)
        or (request.name == "GetServiceCapabilities" and not cam.vendor.get_services)
    )
    handler = HANDLERS.get((namespace, request.name))
    if handler is None or not offered:
        raise SoapFault.not_supported(request.name)
    return handler


def _render(cam: SimCamera, request: Request) -> bytes:
    handler = _handler(cam, request)
    key = b""
    if request.name.startswith("Get") and request.name != "GetSystemDateAndTime":
        key = bytes(etree.tostring(request.operation, method="c14n"))
        if (hit := cam.cached(key)) is not None:
            return hit
    root, body = envelope(cam.captures)
    handler(cam, request.operation, body)
    etree.cleanup_namespaces(root, top_nsmap=root.nsmap, keep_ns_prefixes=list(root.nsmap))
    if cam.spec.pretty_xml:
        pretty(root)
    text = rewrite_urls(to_bytes(root).decode(), cam.captures.host, cam.host, cam.port)
    rendered = text.encode()
    if key:
        cam.store(key, rendered)
    return rendered


async def answer(cam: SimCamera, data: bytes) -> tuple[int, bytes]:
    """The HTTP status and SOAP envelope answering ``data`` (see the module docstring)."""
    delay = cam.faults.latency_ms / 1000.0 + cam.faults.delay_s
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        request = parse_request(data)
        if (request.namespace, request.name) not in _UNAUTHENTICATED:
            spec = cam.spec
            check_token(
                request.header, spec.username, spec.password, cam.now(), spec.max_clock_drift_s
            )
        return 200, _render(cam, request)
    except SoapFault as fault:
        log.debug("%s: fault %s: %s", cam.name, fault.subcodes, fault.reason)
        return fault.http_status, fault_bytes(cam.captures, fault)
    except Exception:  # a simulator bug must still answer like a camera, and be visible
        log.exception("%s: unexpected error answering a SOAP request", cam.name)
        internal = SoapFault("Receiver", ("ter:Action",), "internal error")
        return internal.http_status, fault_bytes(cam.captures, internal)
