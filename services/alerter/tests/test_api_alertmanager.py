"""Alertmanager API v2 of the alerter: alerts, groups, status, receivers (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from prometheus_client import REGISTRY

from vigil_schema.messages import label_fingerprint

from .api_harness import CONFIG_YAML, ServedApi, call, serve_api


@pytest_asyncio.fixture
async def api(
    role_database_url: Callable[[str], str], pg_pool: Any, tmp_path: Path
) -> AsyncIterator[ServedApi]:
    async with serve_api(role_database_url("vigil_alerter"), pg_pool, tmp_path) as served:
        yield served


def _alert(name: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, **labels}, "annotations": {"summary": f"{name}!"}}


async def _post(api: ServedApi, *alerts: dict[str, Any]) -> tuple[int, Any]:
    return await call("POST", f"{api.url}/api/v2/alerts", json=list(alerts))


async def _alerts(api: ServedApi, **params: Any) -> list[dict[str, Any]]:
    status, body = await call("GET", f"{api.url}/api/v2/alerts", params=params or None)
    assert status == 200, body
    assert isinstance(body, list)
    return body


async def test_posted_alerts_are_listed_with_receivers_and_state(api: ServedApi) -> None:
    assert (await _post(api, _alert("Disk", team="db"), _alert("Cpu")))[0] == 200
    listed = {a["labels"]["alertname"]: a for a in await _alerts(api)}
    assert set(listed) == {"Disk", "Cpu"}
    disk = listed["Disk"]
    assert disk["fingerprint"] == label_fingerprint({"alertname": "Disk", "team": "db"})
    assert disk["receivers"] == [{"name": "db"}]
    assert listed["Cpu"]["receivers"] == [{"name": "ops"}]
    assert disk["annotations"] == {"summary": "Disk!"}
    assert disk["status"] == {
        "state": "active",
        "silencedBy": [],
        "inhibitedBy": [],
        "mutedBy": [],
    }
    assert disk["startsAt"] == "2026-01-06T12:00:00.000Z"
    assert disk["endsAt"] == "2026-01-06T12:05:00.000Z"  # resolve_timeout 5m


async def test_time_intervals_muting_a_route_are_listed(api: ServedApi) -> None:
    await _post(api, _alert("Backup", team="night"))
    (backup,) = await _alerts(api)
    assert backup["status"]["mutedBy"] == ["weekdays"]  # 2026-01-06 is a Tuesday
    assert backup["status"]["state"] == "active"


async def test_filters_and_receiver_regex(api: ServedApi) -> None:
    await _post(api, _alert("Disk", team="db"), _alert("Cpu"), _alert("Mem", team="web"))
    names = [a["labels"]["alertname"] for a in await _alerts(api, filter='team=~"db|web"')]
    assert sorted(names) == ["Disk", "Mem"]
    both = await _alerts(api, filter=['team=~"db|web"', 'alertname!="Mem"'])
    assert [a["labels"]["alertname"] for a in both] == ["Disk"]
    assert [a["labels"]["alertname"] for a in await _alerts(api, receiver="d")] == []
    assert [a["labels"]["alertname"] for a in await _alerts(api, receiver="d.")] == ["Disk"]


async def test_bad_queries_answer_400_with_the_reason(api: ServedApi) -> None:
    for params, reason in [
        ({"filter": 'team~"x"'}, "filter"),
        ({"filter": 'team=~"("'}, "filter"),
        ({"filter": 'a="unterminated'}, "filter"),
        ({"receiver": "("}, "receiver"),
        ({"active": "perhaps"}, "active"),
    ]:
        status, body = await call("GET", f"{api.url}/api/v2/alerts", params=params)
        assert status == 400, params
        assert isinstance(body, str)
        assert reason in body


async def test_invalid_alerts_are_refused_and_valid_ones_taken(api: ServedApi) -> None:
    before = REGISTRY.get_sample_value("vigil_alerter_candidates_total", {"source": "api"})
    status, body = await _post(
        api, _alert("Good"), {"labels": {}}, {"labels": {"bad-name": "x"}}, {"labels": 3}
    )
    assert status == 400
    for index in (1, 2, 3):
        assert f"alerts[{index}]" in body
    assert "alerts[0]" not in body
    assert [a["labels"]["alertname"] for a in await _alerts(api)] == ["Good"]
    after = REGISTRY.get_sample_value("vigil_alerter_candidates_total", {"source": "api"})
    assert (after or 0) - (before or 0) == 1
    for bad in ("not json", '{"labels": {}}'):
        status, _ = await call("POST", f"{api.url}/api/v2/alerts", json=bad)
        assert status == 400


async def test_ends_at_in_the_past_resolves_and_hides_the_alert(api: ServedApi) -> None:
    await _post(api, _alert("Gone"))
    assert len(await _alerts(api)) == 1
    resolved = {**_alert("Gone"), "startsAt": "2026-01-06T11:00:00Z"}
    resolved["endsAt"] = "2026-01-06T11:30:00Z"
    assert (await _post(api, resolved))[0] == 200
    assert await _alerts(api) == []


async def test_silenced_and_inhibited_alerts_are_suppressed(api: ServedApi) -> None:
    await _post(
        api,
        _alert("Load", severity="critical"),
        _alert("Load", severity="warning", host="a"),
        _alert("Quiet", team="db"),
    )
    silence = {
        "matchers": [{"name": "alertname", "value": "Quiet", "isRegex": False}],
        "startsAt": "2026-01-06T11:00:00Z",
        "endsAt": "2026-01-06T13:00:00Z",
        "createdBy": "tester",
        "comment": "maintenance",
    }
    status, created = await call("POST", f"{api.url}/api/v2/silences", json=silence)
    assert status == 200, created
    by_name = {
        (a["labels"]["alertname"], a["labels"].get("severity")): a for a in await _alerts(api)
    }
    quiet = by_name[("Quiet", None)]["status"]
    assert quiet["state"] == "suppressed"
    assert quiet["silencedBy"] == [created["silenceID"]]
    warning = by_name[("Load", "warning")]["status"]
    critical_fp = by_name[("Load", "critical")]["fingerprint"]
    assert (warning["state"], warning["inhibitedBy"]) == ("suppressed", [critical_fp])
    assert by_name[("Load", "critical")]["status"]["state"] == "active"

    def names(alerts: list[dict[str, Any]]) -> list[str]:
        return sorted(f"{a['labels']['alertname']}/{a['labels'].get('severity')}" for a in alerts)

    assert names(await _alerts(api, silenced="false")) == ["Load/critical", "Load/warning"]
    assert names(await _alerts(api, inhibited="false")) == ["Load/critical", "Quiet/None"]
    assert names(await _alerts(api, active="false")) == ["Load/warning", "Quiet/None"]


async def test_groups_list_the_alerts_of_each_aggregation_group(api: ServedApi) -> None:
    await _post(api, _alert("Disk", team="db", host="a"), _alert("Disk", team="db", host="b"))
    await _post(api, _alert("Cpu"))
    status, groups = await call("GET", f"{api.url}/api/v2/alerts/groups")
    assert status == 200
    summary = sorted((g["receiver"]["name"], g["labels"], len(g["alerts"])) for g in groups)
    assert summary == [("db", {"alertname": "Disk"}, 2), ("ops", {"alertname": "Cpu"}, 1)]
    status, only = await call(
        "GET", f"{api.url}/api/v2/alerts/groups", params={"filter": 'host="b"'}
    )
    assert [(g["receiver"]["name"], len(g["alerts"])) for g in only] == [("db", 1)]
    silence = {
        "matchers": [{"name": "alertname", "value": "Cpu", "isRegex": False}],
        "startsAt": "2026-01-06T12:00:00Z",
        "endsAt": "2026-01-06T13:00:00Z",
        "createdBy": "tester",
        "comment": "",
    }
    assert (await call("POST", f"{api.url}/api/v2/silences", json=silence))[0] == 200
    status, unmuted = await call(
        "GET", f"{api.url}/api/v2/alerts/groups", params={"muted": "false"}
    )
    assert [g["receiver"]["name"] for g in unmuted] == ["db"]


async def test_status_reports_the_configuration_text(api: ServedApi) -> None:
    status, body = await call("GET", f"{api.url}/api/v2/status")
    assert status == 200
    assert body["config"] == {"original": CONFIG_YAML}
    assert body["cluster"] == {"status": "disabled", "peers": []}
    assert body["uptime"] == "2026-01-06T12:00:00.000Z"
    assert set(body["versionInfo"]) >= {"version", "revision", "branch", "goVersion"}


async def test_receivers_lists_the_configured_ones(api: ServedApi) -> None:
    status, body = await call("GET", f"{api.url}/api/v2/receivers")
    assert (status, body) == (200, [{"name": "ops"}, {"name": "db"}])
