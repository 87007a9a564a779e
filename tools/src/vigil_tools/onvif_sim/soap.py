"""SOAP 1.2 envelopes in a vendor's own dialect, request parsing and fault rendering.

:func:`envelope` starts an answer with the captured envelope's tag and namespace
declarations (Axis ``SOAP-ENV:`` with its ~40 prefixes, Hikvision ``env:``), adding the few
prefixes synthesized answers need (``tr2``, ``timg``...) when the capture lacks them.
:func:`parse_request` returns the Header and the Body's operation element of a request, or
raises :class:`SoapFault` (``ter:WellFormed``) for anything that is not a SOAP 1.2 envelope.
:func:`fault_bytes` renders a :class:`SoapFault` the way ONVIF cameras do.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil_tools.onvif_sim.captures import Captures
from vigil_tools.onvif_sim.xmlkit import NS, Element, SoapFault, etree, q

__all__ = ["Request", "envelope", "fault_bytes", "parse_request", "pretty", "to_bytes"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_MAX_REQUEST = 256 * 1024


@dataclass(frozen=True)
class Request:
    """A parsed SOAP request: ``operation`` is the Body's first child."""

    header: Element | None
    operation: Element

    @property
    def name(self) -> str:
        """The operation's local name (``GetProfiles``)."""
        return str(etree.QName(self.operation).localname)

    @property
    def namespace(self) -> str:
        """The operation's namespace (which service it belongs to)."""
        return str(etree.QName(self.operation).namespace or "")


def _nsmap(captures: Captures) -> dict[str | None, str]:
    nsmap = dict(captures.nsmap)
    present = set(nsmap.values())
    for prefix, uri in NS.items():
        if uri not in present and prefix not in nsmap:
            nsmap[prefix] = uri
    return nsmap


def envelope(captures: Captures) -> tuple[Element, Element]:
    """A new answer envelope and its Body, in the vendor's dialect."""
    root = etree.Element(captures.envelope_tag, nsmap=_nsmap(captures))
    body = etree.SubElement(root, q("env", "Body"))
    return root, body


def to_bytes(root: Element) -> bytes:
    """The serialized answer (UTF-8, with an XML declaration, no pretty-printing)."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def pretty(root: Element) -> None:
    """Indent ``root`` and surround leaf values with newlines (pretty-printed firmware)."""
    for element in root.iter():
        if len(element) == 0 and element.text:
            element.text = f"\n    {element.text}\n  "
    etree.indent(root, space="  ")


def parse_request(data: bytes) -> Request:
    """The Header and operation of a SOAP 1.2 request (SoapFault when malformed)."""
    if len(data) > _MAX_REQUEST:
        raise SoapFault("Sender", ("ter:WellFormed",), "request too large")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFault("Sender", ("ter:WellFormed",), f"not well-formed XML: {exc}") from exc
    if root.tag != q("env", "Envelope"):
        raise SoapFault("Sender", ("ter:WellFormed",), "not a SOAP 1.2 Envelope")
    body = root.find(q("env", "Body"))
    if body is None or len(body) == 0:
        raise SoapFault("Sender", ("ter:WellFormed",), "SOAP Body without an operation")
    return Request(root.find(q("env", "Header")), body[0])


def _prefix(root: Element, uri: str) -> str:
    return str(next(p for p, u in root.nsmap.items() if u == uri and p))


def fault_bytes(captures: Captures, fault: SoapFault) -> bytes:
    """``fault`` as a SOAP 1.2 Fault envelope (Code/Subcode chain, Reason)."""
    root, body = envelope(captures)
    env = _prefix(root, NS["env"])
    element = etree.SubElement(body, q("env", "Fault"))
    code = etree.SubElement(element, q("env", "Code"))
    etree.SubElement(code, q("env", "Value")).text = f"{env}:{fault.code}"
    parent = code
    for subcode in fault.subcodes:
        parent = etree.SubElement(parent, q("env", "Subcode"))
        etree.SubElement(parent, q("env", "Value")).text = subcode
    reason = etree.SubElement(element, q("env", "Reason"))
    text = etree.SubElement(reason, q("env", "Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = fault.reason
    return to_bytes(root)
