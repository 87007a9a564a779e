"""The Media 2 WSDL: shipped unmodified, resolved against the library's schema by mapping.

The import ``../../../ver10/schema/onvif.xsd`` has no file behind it in the package; the
mapping transport serves the library's ``onvif.xsd`` (plus Vigil's supplement) there, and the
service is built by onvif-zeep-async's own factory with the Media 2 binding.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from vigil_optimizer.onvif.calls import CallPolicy
from vigil_optimizer.onvif.media2_wsdl import (
    LIBRARY_WSDL_DIR,
    MEDIA2_BINDING,
    SchemaMappingTransport,
    media2_wsdl_path,
)
from vigil_optimizer.onvif.session import OnvifSession

from .onvif_answers import full_camera_answers
from .onvif_double import FIXTURES, CameraDouble

SPEC = Path(os.environ.get("VIGIL_ONVIF_SPECS", "/work/shared/specs/onvif"))
OFFICIAL_SHA256 = "61af80d4056a9bd0d98b024a8f5601e8c4d4cfa8a3fe2a9abb182c1e026cc305"
"""sha256 of ONVIF's ver20/media/wsdl/media.wsdl as published (the file we copied)."""


def test_shipped_wsdl_is_the_official_file_unmodified() -> None:
    shipped = Path(media2_wsdl_path()).read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == OFFICIAL_SHA256
    official = SPEC / "ver20/media/wsdl/media.wsdl"
    if official.exists():  # the specification folder beside the checkout, where there is one
        assert shipped == official.read_bytes()
    assert b'schemaLocation="../../../ver10/schema/onvif.xsd"' in shipped
    notice = (Path(media2_wsdl_path()).parents[3] / "NOTICE.md").read_text()
    assert "Copyright (c) 2008-2026 by ONVIF" in notice


def test_import_location_maps_onto_the_library_schema() -> None:
    wsdl = Path(media2_wsdl_path())
    imported = (wsdl.parent / "../../../ver10/schema/onvif.xsd").resolve()
    assert not imported.exists()
    transport = SchemaMappingTransport()
    wrapper = transport.load(str(imported)).decode()
    assert str(LIBRARY_WSDL_DIR / "onvif.xsd") in wrapper
    assert "vigil-tt-media2.xsd" in wrapper
    # the library schema's own relative imports are read from the library's folder
    assert (
        transport.load(str(imported.parent / "xmlmime"))
        == (LIBRARY_WSDL_DIR / "xmlmime").read_bytes()
    )


async def test_media2_service_from_the_library_factory() -> None:
    folder = FIXTURES / "hikvision"
    camera = CameraDouble(folder, answers=full_camera_answers(folder))
    await camera.start()
    session = OnvifSession(
        "127.0.0.1", camera.port, camera.user, camera.password, policy=CallPolicy()
    )
    try:
        await session.open()
        service = await session.service("media2")
        assert service.binding_name == MEDIA2_BINDING
        assert service.url == media2_wsdl_path()
        assert service.xaddr == f"http://127.0.0.1:{camera.port}/onvif/Media2"
        assert session.camera.services[("media2", None)] is service
        profiles = await service.GetProfiles({"Type": ["VideoEncoder"]})
        assert [p.token for p in profiles] == ["Profile_1", "Profile_2"]
    finally:
        await session.close()
        await camera.stop()
