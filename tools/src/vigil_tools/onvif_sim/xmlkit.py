"""The XML vocabulary of the simulator: ONVIF namespaces, lxml helpers and SOAP faults.

``NS`` maps the conventional ONVIF prefixes to namespaces; :func:`q` makes a Clark name
(``q("tt", "Width")``); :func:`sub` appends a child with optional text. Children are always
created with ``SubElement`` under an envelope whose root declares the vendor's prefixes, so a
synthesized answer uses the same prefixes as the captured ones (``tt:``, ``trt:``...).
:class:`SoapFault` is raised by operation handlers and rendered by :mod:`soap` as a SOAP 1.2
fault with ONVIF ``ter:`` subcodes. lxml ships no type stubs; this module is the one place
that imports it.
"""

from __future__ import annotations

from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

__all__ = ["NS", "SoapFault", "etree", "find", "findtext", "q", "sub"]

NS: Final[dict[str, str]] = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tr2": "http://www.onvif.org/ver20/media/wsdl",
    "timg": "http://www.onvif.org/ver20/imaging/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
}

Element = Any  # lxml.etree._Element (untyped)


def q(prefix: str, local: str) -> str:
    """The Clark name ``{namespace}local`` of ``prefix:local``."""
    return f"{{{NS[prefix]}}}{local}"


def sub(parent: Element, prefix: str, local: str, text: object = None, **attrs: str) -> Element:
    """Append ``prefix:local`` to ``parent`` (with ``text`` when not None) and return it."""
    child = etree.SubElement(parent, q(prefix, local), attrib=attrs or None)
    if text is not None:
        child.text = text if isinstance(text, str) else format_number(text)
    return child


def format_number(value: object) -> str:
    """``5`` for 5 and 5.0, ``2.5`` for 2.5, ``true``/``false`` for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def find(element: Element, path: str) -> Element | None:
    """``element.find`` with the ``NS`` prefixes (``"tt:Resolution/tt:Width"``)."""
    return element.find(path, NS)


def findtext(element: Element, path: str) -> str | None:
    """The stripped text at ``path`` below ``element``, or None when absent."""
    found = element.find(path, NS)
    if found is None or found.text is None:
        return None
    return str(found.text).strip()


class SoapFault(Exception):
    """An ONVIF fault: ``code`` Sender or Receiver, ``subcodes`` like ``("ter:InvalidArgVal",
    "ter:ConfigModify")``, ``reason`` for humans, ``http_status`` 400 (Sender) or 500."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason

    @property
    def http_status(self) -> int:
        """400 for a Sender fault, 500 for a Receiver fault (ONVIF Core, SOAP over HTTP)."""
        return 400 if self.code == "Sender" else 500

    @classmethod
    def invalid_arg(cls, detail: str, reason: str) -> SoapFault:
        """``env:Sender / ter:InvalidArgVal / ter:<detail>``: a value the camera refuses."""
        return cls("Sender", ("ter:InvalidArgVal", f"ter:{detail}"), reason)

    @classmethod
    def not_authorized(cls, reason: str) -> SoapFault:
        """``env:Sender / ter:NotAuthorized``: missing or wrong credentials, or clock skew."""
        return cls("Sender", ("ter:NotAuthorized",), reason)

    @classmethod
    def not_supported(cls, action: str) -> SoapFault:
        """``env:Receiver / ter:ActionNotSupported``: the camera does not offer ``action``."""
        return cls(
            "Receiver", ("ter:ActionNotSupported",), f"{action}: optional action not supported"
        )
