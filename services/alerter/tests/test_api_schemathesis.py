"""Property-based conformance of the served API to both specifications (schemathesis).

The API runs as in the service (ops server, ``vigil_alerter`` role, real PostgreSQL, the real
intake and stores) in a thread; schemathesis generates requests from Alertmanager's Swagger
document and from Vigil's OpenAPI document and checks every answer: no 5xx, status codes,
content types, headers and bodies as documented. Vigil's endpoints are called with the token
and, for the auth check, without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from vigil_runtime.stack import StackInfo
from vigil_runtime.stack.logins import Logins
from vigil_runtime.testing import databases

from .api_harness import TOKEN, ThreadedApi, threaded_api

SPECS = Path(__file__).parents[1] / "src/vigil_alerter/api/openapi"
ALERTMANAGER = schemathesis.openapi.from_path(SPECS / "alertmanager-api-v2.yaml")
VIGIL = schemathesis.openapi.from_path(SPECS / "vigil.yaml")
SHARED_COPY = Path("/work/shared/specs/alertmanager-api-v2.yaml")
SHA256 = "da782cf7fa5e139e089922911fa213879d99d36ab9879bbb828707a3205d1146"
"""sha256 of Alertmanager 0.34.0's api/v2/openapi.yaml (the file we copied, unmodified)."""
SEMANTIC_400 = [positive_data_acceptance]
"""Left out: a schema-valid request may still be refused with 400 where the specification
cannot say why (a ``filter`` string that is not a matcher, a silence ending in the past),
as Alertmanager refuses it; every other check (no 5xx, documented status codes, bodies,
content types, headers, negative data rejected, auth) applies."""
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def served(
    vigil_stack: StackInfo,
    migrated_template: str,
    database_logins: Logins,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ThreadedApi]:
    name = databases.unique_name("api")
    url = databases.create_database(vigil_stack.database_url, name, template=migrated_template)
    try:
        alerter_url = database_logins.url("vigil_alerter", url)
        with threaded_api(alerter_url, url, tmp_path_factory.mktemp("api")) as api:
            _seed(api)
            yield api
    finally:
        databases.drop_database(vigil_stack.database_url, name)


def _seed(api: ThreadedApi) -> None:
    """A few alerts and a silence, so that generated ids and filters find something."""
    alerts = [{"labels": {"alertname": f"Seed{i}", "severity": "warning"}} for i in range(3)]
    assert requests.post(_url(api, "/api/v2/alerts"), json=alerts, timeout=30).ok
    silence: dict[str, Any] = {
        "matchers": [{"name": "alertname", "value": "Seed0", "isRegex": False}],
        "startsAt": "2026-01-06T12:00:00Z",
        "endsAt": "2026-01-06T13:00:00Z",
        "createdBy": "seed",
        "comment": "",
    }
    assert requests.post(_url(api, "/api/v2/silences"), json=silence, timeout=30).ok


def _url(api: ThreadedApi, prefix: str) -> str:
    assert api.api is not None
    return f"{api.api.url}{prefix}"


@ALERTMANAGER.parametrize()
@EXAMPLES
def test_alertmanager_api_conforms(case: Any, served: ThreadedApi) -> None:
    case.call_and_validate(base_url=_url(served, "/api/v2"), excluded_checks=SEMANTIC_400)


@VIGIL.parametrize()
@EXAMPLES
def test_vigil_api_conforms(case: Any, served: ThreadedApi) -> None:
    case.call_and_validate(
        base_url=_url(served, "/api/vigil/v1"),
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=SEMANTIC_400,
    )


def test_the_shipped_alertmanager_spec_is_the_shared_copy() -> None:
    shipped = (SPECS / "alertmanager-api-v2.yaml").read_bytes()
    if SHARED_COPY.exists():  # the specification folder beside the checkout, where there is one
        assert shipped == SHARED_COPY.read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == SHA256
