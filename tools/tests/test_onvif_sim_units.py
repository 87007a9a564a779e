"""onvif_sim without a client: every captured value lies inside the options the simulator
adds, answers keep the firmware's dialect (prefixes) without the pretty-printing, the clock
skew shows in GetSystemDateAndTime, bad specs are refused clearly, and a fleet of many
cameras starts on consecutive ports and answers."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt

import aiohttp
import pytest
from lxml import etree  # type: ignore[import-untyped]

from vigil_tools.onvif_sim import CameraSpec, Fleet, SimCamera, cli, fleet_specs
from vigil_tools.onvif_sim.dispatch import answer
from vigil_tools.onvif_sim.picture import effective
from vigil_tools.onvif_sim.validate import check_encoder, check_imaging
from vigil_tools.onvif_sim.wsse import password_digest

ENV = "http://www.w3.org/2003/05/soap-envelope"
TT = "{http://www.onvif.org/ver10/schema}"


def signed(cam: SimCamera, operation: str, created: dt.datetime | None = None) -> bytes:
    stamp = (created or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = b"0123456789abcdef"
    return (
        f'<s:Envelope xmlns:s="{ENV}"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/'
        '2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken>'
        f'<Username>{cam.spec.username}</Username><Password Type="x#PasswordDigest">'
        f"{password_digest(nonce, stamp, cam.spec.password)}</Password>"
        f'<Nonce>{base64.b64encode(nonce).decode()}</Nonce><Created xmlns="http://docs.oasis-'
        'open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
        f"{stamp}</Created></UsernameToken></Security></s:Header><s:Body>{operation}</s:Body>"
        "</s:Envelope>"
    ).encode()


@pytest.mark.parametrize("vendor", ["axis", "hikvision"])
def test_captured_values_lie_within_the_added_options(vendor: str) -> None:
    cam = SimCamera(CameraSpec("c", vendor=vendor))
    for token, config in cam.state.encoders.items():
        check_encoder(config, cam.encoder_options(token), media2=False)
    check_imaging(cam.state.imaging, cam.state.imaging, cam.vendor.imaging_options)
    assert cam.state.imaging["Exposure/Mode"] == "AUTO"


async def test_answers_keep_the_dialect_without_pretty_printing() -> None:
    axis = SimCamera(CameraSpec("a", vendor="axis", port=8123))
    status, body = await answer(
        axis, signed(axis, '<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>')
    )
    assert status == 200
    assert body.startswith(b"<?xml")
    assert b"<SOAP-ENV:Envelope" in body
    assert b"<trt:GetProfilesResponse>" in body
    root = etree.fromstring(body)
    assert not any(e.tail for e in root.iter())  # nothing between tags
    assert all(e.text is None or e.text == e.text.strip() for e in root.iter())
    assert b"192.168.0.19" not in body
    width = root.find(f".//{TT}VideoEncoderConfiguration/{TT}Resolution/{TT}Width")
    assert width is not None
    assert width.text == "1280"


async def test_clock_skew_shows_in_get_system_date_and_time() -> None:
    cam = SimCamera(CameraSpec("s", skew_s=7200))
    request = f'<s:Envelope xmlns:s="{ENV}"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    status, body = await answer(cam, request.encode())
    assert status == 200
    utc = etree.fromstring(body).find(f".//{TT}UTCDateTime")
    paths = ("Date/tt:Year", "Date/tt:Month", "Date/tt:Day", "Time/tt:Hour", "Time/tt:Minute")
    parts = [int(utc.findtext("tt:" + p, namespaces={"tt": TT[1:-1]})) for p in paths]
    year, month, day, hour, minute = parts
    reported = dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert abs((reported - expected).total_seconds()) < 120
    local = etree.fromstring(body).find(f".//{TT}LocalDateTime/{TT}Time/{TT}Hour")
    assert (int(parts[3]) - int(local.text)) % 24 == 7  # the captured UTC-7 offset
    late = dt.datetime.now(dt.UTC)  # host time is 2 h behind the camera's clock
    status, _ = await answer(
        cam,
        signed(cam, '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>', late),
    )
    assert status == 400
    status, _ = await answer(
        cam,
        signed(
            cam,
            '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>',
            late + dt.timedelta(hours=2),
        ),
    )
    assert status == 200


async def test_malformed_requests_get_a_fault_not_a_crash() -> None:
    cam = SimCamera(CameraSpec("m"))
    for junk in (
        b"",
        b"<not-soap/>",
        b"\x00\xff",
        b"<s:Envelope xmlns:s='" + ENV.encode() + b"'/>",
    ):
        status, body = await answer(cam, junk)
        assert status == 400
        assert b"ter:WellFormed" in body


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vendor": "sony"}, "unknown vendor"),
        ({"vendor": "axis", "media2": True}, "no Media2"),
        ({"darkness": 1.5}, "darkness"),
        ({"password": ""}, "password"),
        ({"name": "a/b"}, "name"),
    ],
)
def test_invalid_specs_are_refused(changes: dict[str, object], message: str) -> None:
    spec = CameraSpec("x")
    for key, value in changes.items():
        setattr(spec, key, value)
    with pytest.raises(ValueError, match=message):
        SimCamera(spec)


def test_scene_and_imaging_move_the_effective_degradation() -> None:
    cam = SimCamera(CameraSpec("p", vendor="axis", darkness=0.9, blur=2.0))
    with_gain = effective(cam)  # auto exposure: 1/30 s, then up to 24 dB of gain
    cam.state.imaging["Exposure/MaxExposureTime"] = 100_000.0
    assert effective(cam).noise < with_gain.noise  # a longer shutter needs less gain
    cam.state.imaging |= {"Exposure/MaxExposureTime": 33333.0, "Exposure/MaxGain": 0.0}
    base = effective(cam)
    assert base.darkness > with_gain.darkness
    assert base.noise == 0
    cam.state.imaging["Exposure/MaxExposureTime"] = 66666.0
    assert effective(cam).darkness < base.darkness
    cam.state.imaging["Sharpness"] = 100.0
    assert effective(cam).blur < base.blur
    cam.state.imaging |= {"Exposure/Mode": "MANUAL", "Exposure/ExposureTime": 1000.0}
    assert effective(cam).darkness > base.darkness


async def test_a_fleet_starts_on_consecutive_ports_and_every_camera_answers() -> None:
    template = CameraSpec("t")
    specs = fleet_specs(60, 0, "mixed", template)
    assert [s.vendor for s in specs[:3]] == ["hikvision", "axis", "hikvision"]
    fleet = Fleet(specs)
    await fleet.start()
    try:
        cams = list(fleet.cameras.values())
        request = '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
        async with aiohttp.ClientSession() as session:

            async def model(cam: SimCamera) -> str:
                url = f"http://{cam.host}:{cam.port}/onvif/device_service"
                async with session.post(url, data=signed(cam, request)) as response:
                    assert response.status == 200
                    found = etree.fromstring(await response.read())
                    return str(found.findtext(".//{http://www.onvif.org/ver10/device/wsdl}Model"))

            models = await asyncio.gather(*(model(c) for c in cams))
            assert models[:2] == ["DS-2DF7276-AEL", "AXIS Q6045-E"]
            assert len({c.port for c in cams}) == 60
            async with session.get(f"http://{cams[0].host}:{cams[0].port}/sim/cameras") as listing:
                assert len(await listing.json()) == 60
    finally:
        await fleet.stop()
    with pytest.raises(ValueError, match="vendor"):
        fleet_specs(2, 0, "sony", template)
    assert [s.port for s in fleet_specs(3, 19000, "axis", template)] == [19000, 19001, 19002]


async def test_pretty_xml_serves_whitespace_around_values() -> None:
    cam = SimCamera(CameraSpec("w", pretty_xml=True))
    request = '<GetServices xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    status, body = await answer(cam, signed(cam, request))
    assert status == 200
    root = etree.fromstring(body)
    namespaces = [e.text for e in root.iter("{http://www.onvif.org/ver10/device/wsdl}Namespace")]
    assert "\n" in namespaces[0]
    assert namespaces[0].strip() == "http://www.onvif.org/ver10/device/wsdl"


def test_cli_refuses_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--cameras", "0"], ["--darkness", "3"], ["--vendor", "sony"]):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2
    assert "darkness" in capsys.readouterr().err


async def test_non_numeric_set_values_are_refused_not_crashed() -> None:
    cam = SimCamera(CameraSpec("n"))
    request = (
        '<SetImagingSettings xmlns="http://www.onvif.org/ver20/imaging/wsdl">'
        "<VideoSourceToken>VideoSource_1</VideoSourceToken><ImagingSettings>"
        '<Brightness xmlns="http://www.onvif.org/ver10/schema">bright</Brightness>'
        "</ImagingSettings></SetImagingSettings>"
    )
    status, body = await answer(cam, signed(cam, request))
    assert status == 400
    assert b"ter:InvalidArgVal" in body
    assert cam.state.imaging["Brightness"] == 50
