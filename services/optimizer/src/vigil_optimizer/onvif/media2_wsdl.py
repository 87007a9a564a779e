"""The ONVIF Media 2 WSDL, loaded against the ver10 schema onvif-zeep-async ships.

onvif-zeep-async 4.3.0 has no Media 2 (``ver20/media``) WSDL. Vigil carries ONVIF's official
one, unmodified, at ``wsdl/ver20/media/wsdl/media.wsdl`` (see ``wsdl/NOTICE.md``). That file
imports the ver10 schema by the relative location ``../../../ver10/schema/onvif.xsd``, which
would be ``wsdl/ver10/schema/onvif.xsd`` here: no such file is shipped. Instead
:class:`SchemaMappingTransport` (a zeep transport, the loader zeep reads every WSDL/XSD
through) maps that folder onto onvif-zeep-async's own ``onvif/wsdl`` folder:

- ``.../ver10/schema/onvif.xsd`` is served as a two-line schema that includes the library's
  ``onvif.xsd`` and ``vigil-tt-media2.xsd`` (the few Media 2 types the library's 2.4.2 schema
  lacks; Vigil's own file);
- any other ``.../ver10/schema/<name>`` (the library schema's own imports, ``xmlmime`` and so
  on) is read from the library's folder.

:func:`media2_wsdl_path` returns the WSDL path and :func:`prepare_media2_document` loads the
zeep ``Document`` once per process (off the event loop) and hands it to onvif-zeep-async's
document cache, keyed by that path, so that the library's generic service factory
(``ONVIFCamera.create_onvif_service`` → ``ONVIFService.setup``) builds the Media 2 service
exactly like its own services. Nothing is written to disk and the WSDL is never edited.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import onvif  # type: ignore[import-untyped]
import onvif.client  # type: ignore[import-untyped]
from onvif.settings import DEFAULT_SETTINGS  # type: ignore[import-untyped]
from onvif.transport import AsyncSafeTransport  # type: ignore[import-untyped]
from zeep.wsdl import Document

__all__ = [
    "LIBRARY_WSDL_DIR",
    "MEDIA2_BINDING",
    "MEDIA2_NAMESPACE",
    "SchemaMappingTransport",
    "media2_wsdl_path",
    "prepare_media2_document",
]

MEDIA2_NAMESPACE = "http://www.onvif.org/ver20/media/wsdl"
MEDIA2_BINDING = f"{{{MEDIA2_NAMESPACE}}}Media2Binding"

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
"""Vigil's WSDL folder (package data)."""
LIBRARY_WSDL_DIR = Path(onvif.__file__).resolve().parent / "wsdl"
"""onvif-zeep-async's WSDL folder."""
_VIRTUAL_SCHEMA_DIR = WSDL_DIR / "ver10" / "schema"
_SUPPLEMENT = WSDL_DIR / "vigil-tt-media2.xsd"

_lock: asyncio.Lock | None = None
_loaded = False


def media2_wsdl_path() -> str:
    """The Media 2 WSDL's absolute path (the key of the library's document cache)."""
    return str(WSDL_DIR / "ver20" / "media" / "wsdl" / "media.wsdl")


def _wrapper_schema() -> bytes:
    """The schema served for the WSDL's ver10 import: the library's plus Vigil's supplement."""
    library = LIBRARY_WSDL_DIR / "onvif.xsd"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="http://www.onvif.org/ver10/schema" elementFormDefault="qualified">'
        f'<xs:include schemaLocation="{library.as_posix()}"/>'
        f'<xs:include schemaLocation="{_SUPPLEMENT.as_posix()}"/>'
        "</xs:schema>"
    ).encode()


class SchemaMappingTransport(AsyncSafeTransport):  # type: ignore[misc]
    """onvif-zeep-async's local-files-only transport with the ver10 schema folder mapped."""

    def load(self, url: str) -> bytes:
        """Load ``url``, mapping Vigil's absent ``ver10/schema`` folder onto the library's."""
        path = Path(url)
        if path.parent == _VIRTUAL_SCHEMA_DIR:
            if path.name == "onvif.xsd":
                return _wrapper_schema()
            url = str(LIBRARY_WSDL_DIR / path.name)
        data: bytes = super().load(url)
        return data


def _load_document() -> Document:
    """Parse the Media 2 WSDL (blocking: file reads and schema resolution)."""
    return Document(media2_wsdl_path(), SchemaMappingTransport(), settings=DEFAULT_SETTINGS)


async def prepare_media2_document() -> None:
    """Load the Media 2 WSDL once and register it in onvif-zeep-async's document cache."""
    global _lock, _loaded  # one parsed WSDL per process
    if _loaded:
        return
    if _lock is None:
        _lock = asyncio.Lock()
    async with _lock:
        if _loaded:
            return
        document = await asyncio.to_thread(_load_document)
        onvif.client._DOCUMENT_CACHE[media2_wsdl_path()] = document
        _loaded = True
