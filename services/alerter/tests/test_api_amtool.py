"""Alertmanager's own client, amtool (Debian's 0.25), against the alerter's API.

amtool computes silence times and filters expired silences with the wall clock, so the API
runs on the wall clock here, as in production. Skipped where amtool is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .api_harness import ThreadedApi, threaded_api

AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")


@pytest.fixture
def served(
    role_database_url: Callable[[str], str], database_url: str, tmp_path: Path
) -> Iterator[ThreadedApi]:
    with threaded_api(role_database_url("vigil_alerter"), database_url, tmp_path, None) as api:
        yield api


def _amtool(api: ThreadedApi, *args: str) -> str:
    assert AMTOOL is not None
    assert api.api is not None
    done = subprocess.run(
        [AMTOOL, f"--alertmanager.url={api.api.url}/", "--timeout=20s", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _json(api: ThreadedApi, *args: str) -> Any:
    return json.loads(_amtool(api, "-o", "json", *args))


def test_amtool_adds_queries_and_expires_silences(served: ThreadedApi) -> None:
    silence_id = _amtool(
        served, "silence", "add", "alertname=Door", "camera_id=~lot-.*",
        "--comment=gate repair", "--author=alice", "--duration=2h",
    ).strip()  # fmt: skip
    assert len(silence_id) == 36
    listed = _json(served, "silence", "query")
    assert [s["id"] for s in listed] == [silence_id]
    assert listed[0]["status"]["state"] == "active"
    assert (listed[0]["createdBy"], listed[0]["comment"]) == ("alice", "gate repair")
    assert sorted((m["name"], m["value"], m["isRegex"]) for m in listed[0]["matchers"]) == [
        ("alertname", "Door", False),
        ("camera_id", "lot-.*", True),
    ]
    assert _amtool(served, "silence", "query", "-q", "alertname=Door").split() == [silence_id]
    assert _amtool(served, "silence", "query", "-q", "alertname=Window").split() == []

    _amtool(served, "silence", "expire", silence_id)
    assert _amtool(served, "silence", "query", "-q").split() == []
    expired = _json(served, "silence", "query", "--expired")
    assert [(s["id"], s["status"]["state"]) for s in expired] == [(silence_id, "expired")]


def test_amtool_adds_and_queries_alerts(served: ThreadedApi) -> None:
    _amtool(
        served, "alert", "add", "alertname=Door", "camera_id=lot-1", "--annotation=summary=open"
    )
    _amtool(served, "alert", "add", "alertname=Smoke", "severity=critical")
    alerts = _json(served, "alert", "query")
    assert sorted(a["labels"]["alertname"] for a in alerts) == ["Door", "Smoke"]
    door = next(a for a in alerts if a["labels"]["alertname"] == "Door")
    assert door["annotations"] == {"summary": "open"}
    assert door["receivers"] == [{"name": "ops"}]
    assert [
        a["labels"]["alertname"] for a in _json(served, "alert", "query", "severity=critical")
    ] == ["Smoke"]
    silence_id = _amtool(served, "silence", "add", "alertname=Door", "--comment=x").strip()
    assert [a["labels"]["alertname"] for a in _json(served, "alert", "query")] == ["Smoke"]
    silenced = _json(served, "alert", "query", "--silenced")
    door = next(a for a in silenced if a["labels"]["alertname"] == "Door")
    assert door["status"]["silencedBy"] == [silence_id]
    assert "Door" in _amtool(served, "alert", "query", "-s")
