"""Alertmanager's silence endpoints of the alerter (real PostgreSQL, audited)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from .api_harness import ServedApi, call, serve_api


@pytest_asyncio.fixture
async def api(
    role_database_url: Callable[[str], str], pg_pool: Any, tmp_path: Path
) -> AsyncIterator[ServedApi]:
    async with serve_api(role_database_url("vigil_alerter"), pg_pool, tmp_path) as served:
        yield served


def _silence(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchers": [{"name": "alertname", "value": "Disk.*", "isRegex": True, "isEqual": True}],
        "startsAt": "2026-01-06T11:00:00Z",
        "endsAt": "2026-01-06T14:00:00Z",
        "createdBy": "ops@example.com",
        "comment": "disk swap",
    }
    body.update(changes)
    return body


async def _create(api: ServedApi, **changes: Any) -> str:
    status, body = await call("POST", f"{api.url}/api/v2/silences", json=_silence(**changes))
    assert status == 200, body
    return str(body["silenceID"])


async def test_create_get_list_expire(api: ServedApi, pg_pool: Any) -> None:
    silence_id = await _create(api)
    status, got = await call("GET", f"{api.url}/api/v2/silence/{silence_id}")
    assert status == 200
    assert got["id"] == silence_id
    assert got["status"] == {"state": "active"}
    assert got["startsAt"] == "2026-01-06T12:00:00.000Z"  # a start in the past is now
    assert got["endsAt"] == "2026-01-06T14:00:00.000Z"
    assert (got["createdBy"], got["comment"], got["annotations"]) == (
        "ops@example.com",
        "disk swap",
        {},
    )
    assert got["matchers"] == _silence()["matchers"]
    status, listed = await call("GET", f"{api.url}/api/v2/silences")
    assert [s["id"] for s in listed] == [silence_id]

    assert (await call("DELETE", f"{api.url}/api/v2/silence/{silence_id}"))[0] == 200
    status, got = await call("GET", f"{api.url}/api/v2/silence/{silence_id}")
    assert got["status"] == {"state": "expired"}
    assert (await call("DELETE", f"{api.url}/api/v2/silence/{silence_id}"))[0] == 200
    actions = await pg_pool.fetch(
        "SELECT action, actor FROM audit_log WHERE entity_type = 'silence' AND entity_id = $1"
        " ORDER BY id",
        silence_id,
    )
    assert [(r["action"], r["actor"]) for r in actions] == [
        ("silence.created", "ops@example.com"),
        ("silence.expired", "api"),
    ]


async def test_update_in_place_and_unknown_id(api: ServedApi) -> None:
    silence_id = await _create(api, startsAt="2026-01-06T12:00:00Z")
    same = await _create(api, id=silence_id, startsAt="2026-01-06T12:00:00Z", comment="longer")
    assert same == silence_id
    status, got = await call("GET", f"{api.url}/api/v2/silence/{silence_id}")
    assert got["comment"] == "longer"
    unknown = str(uuid.uuid4())
    status, body = await call("POST", f"{api.url}/api/v2/silences", json=_silence(id=unknown))
    assert status == 404
    assert unknown in body


async def test_filters_and_state_flags(api: ServedApi) -> None:
    disk = await _create(api)
    pending = await _create(
        api,
        matchers=[{"name": "team", "value": "db", "isRegex": False}],
        startsAt="2026-01-06T13:00:00Z",
    )

    async def ids(**params: str) -> list[str]:
        status, body = await call("GET", f"{api.url}/api/v2/silences", params=params)
        assert status == 200, body
        return [s["id"] for s in body]

    assert await ids() == [disk, pending]  # active first, then pending
    assert await ids(filter='team="db"') == [pending]
    assert await ids(pending="false") == [disk]
    assert await ids(active="false", pending="false") == []
    status, body = await call("GET", f"{api.url}/api/v2/silences", params={"filter": '=~"x"'})
    assert status == 400
    assert "filter" in body


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"matchers": []}, "at least one matcher"),
        ({"matchers": [{"name": "a", "value": ".*", "isRegex": True}]}, "empty string"),
        ({"matchers": [{"name": "a", "value": "(", "isRegex": True}]}, "regular expression"),
        ({"matchers": [{"name": "a-b", "value": "x", "isRegex": False}]}, "label name"),
        ({"matchers": ["alertname=x"]}, "matcher"),
        ({"endsAt": "2026-01-06T10:00:00Z"}, "start time must be before end time"),
        (
            {"startsAt": "2026-01-06T09:00:00Z", "endsAt": "2026-01-06T10:00:00Z"},
            "in the past",
        ),
        ({"startsAt": "yesterday"}, "startsAt"),
        ({"createdBy": None}, "createdBy"),
    ],
)
async def test_bad_silences_answer_400_with_the_reason(
    api: ServedApi, changes: dict[str, Any], reason: str
) -> None:
    status, body = await call("POST", f"{api.url}/api/v2/silences", json=_silence(**changes))
    assert status == 400
    assert reason in body


async def test_unknown_or_malformed_ids_are_404(api: ServedApi) -> None:
    for silence_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert (await call("GET", f"{api.url}/api/v2/silence/{silence_id}"))[0] == 404
        assert (await call("DELETE", f"{api.url}/api/v2/silence/{silence_id}"))[0] == 404
