"""The API's routes registered before the service has connected (deferred deps)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from vigil_alerter.api import ApiDeps, api_routes, config_text
from vigil_alerter.clock import ManualClock
from vigil_alerter.config.holder import ConfigHolder
from vigil_alerter.config.models import DEFAULT_CONFIG_YAML
from vigil_alerter.engine.intake import Intake
from vigil_runtime.ops import OpsServer

from .api_harness import CONFIG_YAML, START, TOKEN, call


async def test_deferred_routes_answer_503_until_the_deps_are_bound(
    pg_pool_as: Callable[[str], Any], tmp_path: Path
) -> None:
    current: list[ApiDeps] = []
    server = OpsServer(0, CollectorRegistry(), host="127.0.0.1")
    server.add_routes(api_routes(lambda: current[-1] if current else None))
    await server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        for path in ("/api/v2/status", "/api/vigil/v1/alerts/1"):
            status, body = await call("GET", f"{url}{path}", token=TOKEN)
            assert (status, body) == (503, {"error": "the alerter is starting"})
        assert (await call("GET", f"{url}/healthz"))[0] == 200

        pool = await pg_pool_as("vigil_alerter")
        (tmp_path / "alerter.yml").write_text(CONFIG_YAML)
        clock = ManualClock(START)
        holder = ConfigHolder(tmp_path / "alerter.yml", clock)
        current.append(
            ApiDeps(
                pool=pool,
                holder=holder,
                clock=clock,
                intake=Intake(pool, holder, clock),
                api_token=SecretStr(TOKEN),
                started_at=START,
                config_text=config_text(tmp_path / "alerter.yml"),
            )
        )
        status, body = await call("GET", f"{url}/api/v2/status")
        assert (status, body["config"]["original"]) == (200, CONFIG_YAML)
        status, body = await call("GET", f"{url}/api/vigil/v1/alerts/1", token=TOKEN)
        assert (status, body) == (404, {"error": "no alert 1"})
        assert (await call("GET", f"{url}/api/vigil/v1/alerts/1"))[0] == 401
    finally:
        await server.stop()


def test_config_text_falls_back_to_the_default(tmp_path: Path) -> None:
    assert config_text(None)() == DEFAULT_CONFIG_YAML
    assert config_text(tmp_path / "missing.yml")() == DEFAULT_CONFIG_YAML
    (tmp_path / "a.yml").write_text("route: {}\n")
    assert config_text(tmp_path / "a.yml")() == "route: {}\n"
