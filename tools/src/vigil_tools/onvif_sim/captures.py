"""Real ONVIF answers (``<Operation>.Response.xml``) loaded once per vendor folder.

:func:`load_captures` parses every capture in a folder with lxml, drops the whitespace the
pretty-printing added (blank text between tags, and around leaf values: see
``profiles/NOTICE.md``) and keeps everything a real firmware chose: the envelope prefix
(``SOAP-ENV`` for Axis, ``env`` for Hikvision), every namespace declaration, attribute order,
number formats (``4.000000``) and empty elements. The result is cached per folder, so a
fleet of 500 cameras parses each file once. Callers treat the trees as read-only templates
(they ``deepcopy`` before changing anything).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vigil_tools.onvif_sim.xmlkit import Element, etree, find, findtext

__all__ = ["CaptureError", "Captures", "load_captures"]

_SUFFIX = ".Response.xml"


class CaptureError(ValueError):
    """A capture folder is missing, empty or holds something that is not a SOAP answer."""


@dataclass(frozen=True)
class Captures:
    """One camera's captured answers: ``bodies[op]`` is the response element (the Body's
    child) of operation ``op``; ``envelope_tag``/``nsmap`` come from the captured envelope."""

    folder: Path
    bodies: dict[str, Element]
    envelope_tag: str
    nsmap: dict[str | None, str]
    host: str

    def body(self, operation: str) -> Element:
        """The captured response element of ``operation`` (KeyError when not captured)."""
        return self.bodies[operation]


def _strip(tree: Element) -> None:
    """Trim whitespace around leaf values (pretty-printing residue)."""
    for element in tree.iter():
        if len(element) == 0 and element.text is not None:
            element.text = element.text.strip()


def _parse(path: Path) -> Element:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise CaptureError(f"{path}: not well-formed XML: {exc}") from exc
    _strip(root)
    return root


def _captured_host(bodies: dict[str, Element]) -> str:
    """The camera's own address, from its device XAddr (GetCapabilities)."""
    caps = bodies.get("GetCapabilities")
    xaddr = findtext(caps, ".//tt:Device/tt:XAddr") if caps is not None else None
    if not xaddr:
        raise CaptureError("GetCapabilities with a Device XAddr is required")
    host = urlsplit(xaddr).hostname
    if not host:
        raise CaptureError(f"device XAddr without a host: {xaddr!r}")
    return host


@functools.cache
def load_captures(folder: Path) -> Captures:
    """Parse every ``*.Response.xml`` in ``folder`` (cached per folder)."""
    files = sorted(folder.glob(f"*{_SUFFIX}")) if folder.is_dir() else []
    if not files:
        raise CaptureError(f"no *{_SUFFIX} captures in {folder}")
    bodies: dict[str, Element] = {}
    root: Element = None
    for path in files:
        root = _parse(path)
        body = next((child for child in root if etree.QName(child).localname == "Body"), None)
        if body is None or len(body) == 0:
            raise CaptureError(f"{path}: no SOAP Body with an answer")
        bodies[path.name.removesuffix(_SUFFIX)] = body[0]
    return Captures(folder, bodies, root.tag, dict(root.nsmap), _captured_host(bodies))


def rewrite_urls(text: str, captured_host: str, host: str, port: int) -> str:
    """Point every http URL of ``captured_host`` at ``host:port``; rtsp URLs keep their port."""
    http = re.compile(rf"http://{re.escape(captured_host)}(:\d+)?(?=[/\"<?])")
    text = http.sub(f"http://{host}:{port}", text)
    return re.sub(rf"rtsp://{re.escape(captured_host)}(?=[:/])", f"rtsp://{host}", text)


def first(element: Element, path: str) -> Element:
    """``find`` that raises CaptureError when the capture lacks ``path``."""
    found = find(element, path)
    if found is None:
        raise CaptureError(f"capture lacks {path}")
    return found
