"""Timeouts, bounded retries, error kinds and metrics of ONVIF calls; quirk selection.

Transport failures (a port nobody listens on, a camera that never answers) are retried up
to the policy's attempts; SOAP faults are the camera's answer and are never retried.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
import zeep.exceptions
from prometheus_client import REGISTRY

from vigil_optimizer.camera_link import CameraError
from vigil_optimizer.onvif import OnvifCameraLink
from vigil_optimizer.onvif.calls import CallPolicy, fault_kind
from vigil_optimizer.onvif.quirks import GENERIC, quirks_for

from .onvif_double import FIXTURES, CameraDouble


def calls_total(operation: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "vigil_optimizer_onvif_calls_total", {"operation": operation, "outcome": outcome}
    )
    return value or 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def axis() -> AsyncIterator[CameraDouble]:
    camera = CameraDouble(FIXTURES / "axis", stall={"GetProfiles"})
    await camera.start()
    yield camera
    await camera.stop()


async def test_unreachable_camera_is_retried_then_reported() -> None:
    before = calls_total("GetSystemDateAndTime", "unreachable")
    with pytest.raises(CameraError) as raised:
        await OnvifCameraLink.open("127.0.0.1", free_port(), "admin", "pw", attempts=3)
    assert (raised.value.operation, raised.value.kind) == ("GetSystemDateAndTime", "unreachable")
    assert calls_total("GetSystemDateAndTime", "unreachable") - before == 3


async def test_silent_camera_times_out_per_call_with_retries(axis: CameraDouble) -> None:
    before = calls_total("GetProfiles", "timeout")
    async with OnvifCameraLink.connect(
        "127.0.0.1", axis.port, axis.user, axis.password, timeout_s=0.3, attempts=2
    ) as link:
        with pytest.raises(CameraError) as raised:
            await link.inspect()
    assert (raised.value.operation, raised.value.kind) == ("GetProfiles", "timeout")
    assert axis.operations().count("GetProfiles") == 2
    assert calls_total("GetProfiles", "timeout") - before == 2


async def test_soap_faults_are_not_retried(axis: CameraDouble) -> None:
    before = calls_total("GetServices", "unsupported")
    capabilities_before = calls_total("GetCapabilities", "ok")
    async with OnvifCameraLink.connect(
        "127.0.0.1", axis.port, axis.user, axis.password, attempts=3
    ):
        pass
    assert axis.operations().count("GetServices") == 1  # Axis capture: no GetServices
    assert calls_total("GetServices", "unsupported") - before == 1
    assert calls_total("GetCapabilities", "ok") - capabilities_before == 1


@pytest.mark.parametrize(
    ("code", "subcodes", "message", "kind"),
    [
        ("env:Sender", ["{http://www.onvif.org/ver10/error}NotAuthorized"], "x", "auth"),
        ("s:Sender", ["ter:ActionNotSupported"], "", "unsupported"),
        ("SOAP-ENV:Receiver", ["ter:ActionNotSupported"], "", "unsupported"),
        ("env:Sender", ["ter:InvalidArgVal", "ter:ConfigModify"], "bad value", "refused"),
        ("env:Receiver", [], "Method not implemented", "unsupported"),
        ("env:Sender", [], "Sender not Authorized", "auth"),
    ],
)
def test_fault_kinds(code: str, subcodes: list[str], message: str, kind: str) -> None:
    fault = zeep.exceptions.Fault(message, code=code, subcodes=subcodes)  # type: ignore[no-untyped-call]
    assert fault_kind(fault) == kind


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CallPolicy(timeout_s=0)
    with pytest.raises(ValueError):
        CallPolicy(attempts=0)


@pytest.mark.parametrize(
    ("manufacturer", "vendor"),
    [
        ("AXIS", "axis"),
        (" Axis Communications AB ", "axis"),
        ("HIKVISION", "hikvision"),
        ("Hikvision Digital Technology", "hikvision"),
        ("Dahua", "generic"),
        (None, "generic"),
    ],
)
def test_quirks_by_manufacturer(manufacturer: str | None, vendor: str) -> None:
    assert quirks_for(manufacturer).vendor == vendor


def test_axis_quirk_only_on_axis() -> None:
    rate = {"FrameRateLimit": 30, "EncodingInterval": 0}
    GENERIC.prepare_rate_control(rate)
    assert rate["EncodingInterval"] == 0
    quirks_for("AXIS").prepare_rate_control(rate)
    assert rate["EncodingInterval"] == 1
