"""Read-back comparison tolerances and the redaction of secrets (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from vigil_optimizer.apply.redact import MASK, MAX_TEXT, Redactor
from vigil_optimizer.apply.verify import compare_section, values_match
from vigil_schema.camera import CameraCredentials
from vigil_schema.camera_settings import CameraSettings


@pytest.mark.parametrize(
    ("field", "expected", "actual", "ok"),
    [
        ("fps", 12.5, 12.0, True),  # cameras keep whole frame rates
        ("fps", 12.5, 13.0, True),
        ("fps", 15.0, 14.0, False),
        ("quality", 4.0, 4.4, True),
        ("quality", 4.0, 5.0, False),
        ("bitrateKbps", 2000, 2016, True),  # within 1 %
        ("bitrateKbps", 2000, 2100, False),
        ("bitrateKbps", 50, 51, True),  # at least 1 kbit/s
        ("gop", 25, 25, True),
        ("gop", 25, 24, False),
        ("maxExposureUs", 4000.0, 4000.0004, True),
        ("maxExposureUs", 4000.0, 4010.0, False),
        ("brightness", 0.0, 0.0005, True),  # absolute tolerance near 0
        ("brightness", 50.0, 50.2, False),
        ("encoding", "H264", "h264", True),
        ("encoding", "H264", "H265", False),
        ("resolution", {"width": 1920, "height": 1080}, {"width": 1920, "height": 1080}, True),
        ("resolution", {"width": 1920, "height": 1080}, {"width": 1280, "height": 720}, False),
        ("wdr", "ON", None, False),  # not reported back: unverified
        ("mode", "AUTO", 1, False),
    ],
)
def test_values_match(field: str, expected: Any, actual: Any, ok: bool) -> None:
    assert values_match(field, expected, actual) is ok


def test_compare_section_checks_only_the_requested_fields() -> None:
    wanted = CameraSettings.model_validate(
        {"stream": {"profileToken": "main", "fps": 10.0, "gop": 20}}
    )
    camera = CameraSettings.model_validate(
        {"stream": {"profileToken": "other", "fps": 10.0, "gop": 30, "bitrateKbps": 9}}
    )
    checks = compare_section(wanted, camera, "stream")
    assert [(c.field, c.ok) for c in checks] == [("fps", True), ("gop", False)]
    assert checks[1].to_json() == {"expected": 20, "actual": 30, "ok": False}
    assert compare_section(wanted, camera, "image") == []


@pytest.mark.parametrize(
    "text",
    [
        "GET http://admin:hunter2@10.0.0.5/onvif failed",
        "rtsp://admin:hunter2@cam/stream",
        "auth for admin:hunter2@10.0.0.5 refused",
        "password=hunter2&user=admin",
        'body {"password": "hunter2"}',
        "<wsse:Password Type='#PasswordDigest'>hunter2</wsse:Password>",
        "<Nonce EncodingType='x'>hunter2</Nonce>",
        "Authorization: Digest username=admin, response=hunter2",
    ],
)
def test_generic_patterns_mask_secrets_they_do_not_know(text: str) -> None:
    redacted = Redactor()(text)
    assert "hunter2" not in redacted
    assert MASK in redacted


def test_known_secrets_are_masked_anywhere() -> None:
    credentials = CameraCredentials(username="admin", password=SecretStr("p4ss word!"))
    redact = Redactor.for_credentials(credentials)
    assert redact("the camera said 'p4ss word!' is wrong") == f"the camera said '{MASK}' is wrong"
    assert Redactor.for_credentials(None)("nothing to hide") == "nothing to hide"


def test_longer_secret_first_and_limits() -> None:
    redact = Redactor(["abc", "abcdef", ""])
    assert redact("abcdef abc") == f"{MASK} {MASK}"
    long = redact("x" * (MAX_TEXT + 50) + "\x00")
    assert len(long) == MAX_TEXT
    assert "\x00" not in redact("a\x00b")
