"""Vigil's own endpoints (/api/vigil/v1): bearer token, lifecycle transitions, history."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from .api_harness import TOKEN, ServedApi, call, serve_api

V1 = "/api/vigil/v1"


@pytest_asyncio.fixture
async def api(
    role_database_url: Callable[[str], str], pg_pool: Any, tmp_path: Path
) -> AsyncIterator[ServedApi]:
    async with serve_api(role_database_url("vigil_alerter"), pg_pool, tmp_path) as served:
        yield served


async def _alert_id(api: ServedApi, pg_pool: Any, name: str = "Door") -> int:
    status, _ = await call(
        "POST", f"{api.url}/api/v2/alerts", json=[{"labels": {"alertname": name}}]
    )
    assert status == 200
    return int(
        await pg_pool.fetchval("SELECT id FROM alerts WHERE labels->>'alertname' = $1", name)
    )


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", ""])
async def test_a_missing_or_wrong_token_is_401(
    api: ServedApi, pg_pool: Any, token: str | None
) -> None:
    alert_id = await _alert_id(api, pg_pool)
    for method, path in [
        ("GET", f"{V1}/alerts/{alert_id}"),
        ("GET", f"{V1}/alerts/{alert_id}/history"),
        ("POST", f"{V1}/alerts/{alert_id}/acknowledge"),
    ]:
        status, body = await call(method, f"{api.url}{path}", token=token)
        assert status == 401, (method, path)
        assert "token" in body["error"]
    status = await pg_pool.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id)
    assert status == "new"


async def test_no_configured_token_is_503(
    role_database_url: Callable[[str], str], pg_pool: Any, tmp_path: Path
) -> None:
    async with serve_api(role_database_url("vigil_alerter"), pg_pool, tmp_path, token=None) as api:
        for token in (None, TOKEN):
            status, body = await call("GET", f"{api.url}{V1}/alerts/1", token=token)
            assert status == 503
            assert "not configured" in body["error"]


async def test_lifecycle_transitions_are_applied_and_audited(api: ServedApi, pg_pool: Any) -> None:
    alert_id = await _alert_id(api, pg_pool)
    api.clock.advance(90)
    status, alert = await call(
        "POST",
        f"{api.url}{V1}/alerts/{alert_id}/acknowledge",
        json={"actor": "alice", "notes": "looking"},
        token=TOKEN,
    )
    assert status == 200, alert
    assert (alert["id"], alert["status"], alert["acknowledged_by"]) == (
        alert_id,
        "acknowledged",
        "alice",
    )
    assert alert["acknowledged_at"] == "2026-01-06T12:01:30.000Z"
    status, alert = await call("POST", f"{api.url}{V1}/alerts/{alert_id}/investigate", token=TOKEN)
    assert (status, alert["status"]) == (200, "investigating")
    status, alert = await call(
        "POST",
        f"{api.url}{V1}/alerts/{alert_id}/false-positive",
        json={"actor": "bob", "notes": "a cat"},
        token=TOKEN,
    )
    assert (status, alert["status"], alert["resolved_by"]) == (200, "false_positive", "bob")
    assert alert["resolution_notes"] == "a cat"
    status, body = await call("POST", f"{api.url}{V1}/alerts/{alert_id}/dismiss", token=TOKEN)
    assert status == 409
    assert "false_positive" in body["error"]

    status, history = await call("GET", f"{api.url}{V1}/alerts/{alert_id}/history", token=TOKEN)
    assert status == 200
    assert history["alert"]["status"] == "false_positive"
    assert [(r["action"], r["actor"]) for r in history["audit"]][-3:] == [
        ("alert.acknowledged", "alice"),
        ("alert.investigating", "api"),
        ("alert.false_positive", "bob"),
    ]


async def test_history_lists_the_alerts_notifications(api: ServedApi, pg_pool: Any) -> None:
    first = await _alert_id(api, pg_pool, "A")
    await call("POST", f"{api.url}/api/v2/alerts", json=[{"labels": {"alertname": "B"}}])
    second = int(await pg_pool.fetchval("SELECT max(id) FROM alerts"))
    assert second != first
    await pg_pool.execute("SELECT vigil_ensure_partition('notifications', $1)", api.clock())
    await pg_pool.execute(
        "INSERT INTO notifications (alert_id, alert_ids, receiver, channel, kind, status,"
        " created_at) VALUES ($1, $2, 'ops', 'log:0', 'firing', 'sent', $3)",
        first, [first, second], api.clock(),
    )  # fmt: skip
    for alert_id in (first, second):
        status, history = await call("GET", f"{api.url}{V1}/alerts/{alert_id}/history", token=TOKEN)
        assert status == 200
        assert [(n["receiver"], n["alert_ids"]) for n in history["notifications"]] == [
            ("ops", [first, second])
        ]


async def test_unknown_alerts_and_bad_bodies(api: ServedApi, pg_pool: Any) -> None:
    alert_id = await _alert_id(api, pg_pool)
    for path in ("/alerts/999999", "/alerts/abc", f"/alerts/{2**70}", "/alerts/999/history"):
        status, body = await call("GET", f"{api.url}{V1}{path}", token=TOKEN)
        assert status == 404, path
    status, _ = await call("POST", f"{api.url}{V1}/alerts/999999/resolve", token=TOKEN)
    assert status == 404
    for bad in ([1], {"actor": 3}, {"actor": ""}, {"notes": ["x"]}, "text"):
        status, body = await call(
            "POST", f"{api.url}{V1}/alerts/{alert_id}/resolve", json=bad, token=TOKEN
        )
        assert status == 400, bad
        assert body["error"]
    status, alert = await call("GET", f"{api.url}{V1}/alerts/{alert_id}", token=TOKEN)
    assert (status, alert["status"]) == (200, "new")


async def test_the_openapi_document_is_served_without_a_token(api: ServedApi) -> None:
    status, text = await call("GET", f"{api.url}{V1}/openapi.yaml")
    assert status == 200
    assert "openapi: 3.0.3" in text
    assert "/alerts/{alertId}/false-positive" in text
