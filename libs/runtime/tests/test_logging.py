"""configure_logging: JSON lines on stderr, secrets redacted; RateLimitedLogger."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from vigil_runtime.logging import (
    RateLimitedLogger,
    configure_logging,
    get_logger,
    is_sensitive_key,
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_lines_with_timestamp_level_service_and_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "ingest")
    get_logger("test", camera_id="cam-1").info("batch committed", rows=12)
    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "batch committed"
    assert line["level"] == "info"
    assert line["service"] == "ingest"
    assert line["camera_id"] == "cam-1"
    assert line["rows"] == 12
    assert line["timestamp"].endswith("Z")


def test_a_logger_made_at_import_follows_a_later_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    module_level = get_logger("vigil_optimizer.onvif", host="cam")  # made before configuring
    configure_logging("WARNING", "vigil-cli")
    module_level.info("hidden")
    module_level.warning("shown")
    out, err = capsys.readouterr()
    assert out == ""  # stdout stays for a command's own output (vigil optimize inspect)
    (line,) = _lines(err)
    assert (line["event"], line["logger"], line["host"]) == (
        "shown",
        "vigil_optimizer.onvif",
        "cam",
    )
    assert line["service"] == "vigil-cli"


def test_level_filters_lower_levels(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "ingest")
    log = get_logger()
    log.info("hidden")
    log.warning("shown")
    assert [line["event"] for line in _lines(capsys.readouterr().err)] == ["shown"]


def test_secrets_are_redacted_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", "alerter")
    log = get_logger()
    log.info(
        "connecting to postgresql://vigil:hunter2@db/vigil",
        password="pw-1",
        api_key="key-2",
        headers={"Authorization": "Bearer tok-3", "accept": "json"},
        receivers=[{"webhook_token": "tok-4"}],
        url="redis://:pw-5@cache:6379/0",
        input_tokens=512,
    )
    try:
        raise ConnectionError("cannot reach mqtt://cam:pw-6@broker:1883")
    except ConnectionError:
        log.exception("failed")
    err = capsys.readouterr().err
    for secret in ("hunter2", "pw-1", "key-2", "tok-3", "tok-4", "pw-5", "pw-6"):
        assert secret not in err
    first, second = _lines(err)
    assert first["event"] == "connecting to postgresql://vigil:***@db/vigil"
    assert first["headers"] == {"Authorization": "***", "accept": "json"}
    assert first["url"] == "redis://:***@cache:6379/0"
    assert first["input_tokens"] == 512  # token counts are not secrets
    assert "mqtt://cam:***@broker:1883" in second["exception"]


def test_stdlib_logging_is_json_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "analyzer")
    logging.getLogger("asyncpg").warning("lost postgresql://a:pw-7@h/db")
    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "lost postgresql://a:***@h/db"
    assert line["logger"] == "asyncpg"
    assert line["service"] == "analyzer"


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("db_password", True),
        ("accessToken", True),
        ("X-Api-Key", True),
        ("secret_key", True),
        ("credentials", True),
        ("input_tokens", False),
        ("passed", False),
        ("camera_id", False),
    ],
)
def test_sensitive_keys(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limited_logger_once_per_key_per_interval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "ingest")
    clock = _Clock()
    limited = RateLimitedLogger(get_logger(), interval_s=60.0, clock=clock)
    assert limited.warning("reject", key="bad_json", topic="t1") is True
    assert limited.warning("reject", key="bad_json", topic="t2") is False
    assert limited.warning("reject", key="unknown_camera") is True
    clock.now += 30
    assert limited.warning("reject", key="bad_json") is False
    clock.now += 31
    assert limited.warning("reject", key="bad_json", topic="t5") is True
    lines = _lines(capsys.readouterr().err)
    assert [(line["key"], line.get("suppressed")) for line in lines] == [
        ("bad_json", None),
        ("unknown_camera", None),
        ("bad_json", 2),
    ]
    assert lines[2]["topic"] == "t5"


def test_rate_limited_logger_bounds_its_memory() -> None:
    configure_logging("CRITICAL", "ingest")
    clock = _Clock()
    limited = RateLimitedLogger(get_logger(), interval_s=60.0, max_keys=2, clock=clock)
    assert limited.info("x", key="a")
    assert limited.info("x", key="b")
    assert limited.info("x", key="c")  # forgets "a"
    assert limited.info("x", key="a")  # so "a" logs again
    assert not limited.info("x", key="c")
