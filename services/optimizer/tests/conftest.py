"""Fixtures shared by the optimizer's tests.

``service_logs``: the service's logging as in production (``configure_logging``: JSON lines
on stderr), set up inside the test so that pytest's capture receives them, and structlog's
defaults restored afterwards. Tests that read what was logged use it rather than relying on
whatever logging state earlier tests left (an in-process CLI test configures logging too).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from vigil_runtime.logging import configure_logging


@pytest.fixture
def service_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", "optimizer")
    try:
        yield capsys
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)
