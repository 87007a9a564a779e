"""`vigil optimize inspect` against vigil-onvif-sim (a real process) in both vendor profiles:
the JSON on stdout carries the values of the real captures, read here straight from the
capture files with lxml (not through the simulator's or the client's parsing); a camera
without Imaging, Media2 and encoder options is inspected and reports what it lacks; a wrong
password is a clear error that does not show the password."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from lxml import etree  # type: ignore[import-untyped]

from vigil_cli.main import cli
from vigil_tools import onvif_sim

CAPTURES = Path(onvif_sim.__file__).parent / "profiles"
TT = "{http://www.onvif.org/ver10/schema}"
PASSWORD = "inspect-test-pass"


def _free_base(count: int) -> int:
    for base in range(21000, 60000, count + 7):
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[int]:
    """Three cameras: Hikvision (0), Axis (1), a bare Hikvision (2) without Imaging, Media2
    and GetVideoEncoderConfigurationOptions, on ``base``, ``base + 1`` and ``base + 2``."""
    base = _free_base(3)
    started = []
    for vendor, port, extra in (("hikvision", base, []), ("axis", base + 1, []),
                                ("hikvision", base + 2, ["--no-imaging", "--no-media2",
                                                         "--no-encoder-options"])):  # fmt: skip
        command = [sys.executable, "-m", "vigil_tools.onvif_sim", "--cameras", "1",
                   "--base-port", str(port), "--vendor", vendor, "--user", "admin",
                   "--password", PASSWORD, *extra]  # fmt: skip
        log = open(tmp_path / f"sim-{port}.log", "wb")  # noqa: SIM115 - closed below
        started.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log))
    try:
        deadline = time.monotonic() + 20
        for port in range(base, base + 3):
            while not _listening(port):
                assert time.monotonic() < deadline, "vigil-onvif-sim did not start"
                time.sleep(0.1)
        yield base
    finally:
        for process, log in started:
            process.terminate()
            process.wait(10)
            log.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def inspect(port: int, password: str = PASSWORD) -> Result:
    args = ["optimize", "inspect", "--host", "127.0.0.1", "--port", str(port), "--user", "admin"]
    return CliRunner().invoke(cli, [*args, "--password", password])


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    return None if found is None or found.text is None else found.text.strip()


def captured(vendor: str) -> dict[str, Any]:
    """Device information and, per profile token, its encoder values, from the captures."""
    device = etree.parse(str(CAPTURES / vendor / "GetDeviceInformation.Response.xml"))
    info = {name: _text(device, f".//{{*}}{name}")
            for name in ("Manufacturer", "Model", "FirmwareVersion")}  # fmt: skip
    profiles = {}
    for profile in etree.parse(str(CAPTURES / vendor / "GetProfiles.Response.xml")).iterfind(
        ".//{*}Profiles"
    ):
        encoder = profile.find(f"{TT}VideoEncoderConfiguration")
        if encoder is None:
            continue
        gop = _text(encoder, f"{TT}H264/{TT}GovLength")
        profiles[profile.get("token")] = {
            "name": _text(profile, f"{TT}Name"),
            "encoding": _text(encoder, f"{TT}Encoding"),
            "resolution": (int(_text(encoder, f"{TT}Resolution/{TT}Width") or 0),
                           int(_text(encoder, f"{TT}Resolution/{TT}Height") or 0)),
            "fps": float(_text(encoder, f"{TT}RateControl/{TT}FrameRateLimit") or 0),
            "bitrate": int(_text(encoder, f"{TT}RateControl/{TT}BitrateLimit") or 0),
            "gop": int(gop) if gop is not None else None,
            "quality": float(_text(encoder, f"{TT}Quality") or 0),
        }  # fmt: skip
    return {"device": info, "profiles": profiles}


def _checked(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(("vendor", "offset"), [("hikvision", 0), ("axis", 1)])
def test_inspect_prints_the_captured_device_and_profiles(
    sim: int, vendor: str, offset: int
) -> None:
    data = _checked(inspect(sim + offset))
    expected = captured(vendor)
    device = data["device"]
    assert device["manufacturer"] == expected["device"]["Manufacturer"]
    assert device["model"] == expected["device"]["Model"]
    assert device["firmwareVersion"] == expected["device"]["FirmwareVersion"]
    got = {p["token"]: p for p in data["profiles"]}
    assert set(got) == set(expected["profiles"])
    for token, want in expected["profiles"].items():
        profile = got[token]
        assert profile["name"] == want["name"], token
        assert profile["encoding"] == want["encoding"], token
        assert (profile["resolution"]["width"], profile["resolution"]["height"]) == want[
            "resolution"
        ], token
        assert profile["fps"] == want["fps"], token
        assert (profile.get("bitrateKbps") or 0) == want["bitrate"], token
        assert profile.get("gop") == want["gop"], token
        assert profile["quality"] == want["quality"], token
    assert data["missing"] == [] if vendor == "hikvision" else "media2" in data["missing"]


def test_a_bare_camera_is_inspected_and_reports_what_it_lacks(sim: int) -> None:
    data = _checked(inspect(sim + 2))
    assert data["device"]["manufacturer"] == captured("hikvision")["device"]["Manufacturer"]
    assert {"imaging", "media2", "GetVideoEncoderConfigurationOptions"} <= set(data["missing"])
    assert data["profiles"]


def test_a_wrong_password_is_a_clear_error_without_the_password(sim: int) -> None:
    result = inspect(sim, password="not-the-password")
    assert result.exit_code == 1
    assert "auth" in result.output
    assert "not-the-password" not in result.output
