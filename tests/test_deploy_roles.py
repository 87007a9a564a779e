"""Every deployment connects each process as its own database role's login.

docker-compose.yml, the Kubernetes base and Grafana's datasource are parsed: each service
references its own role's secret (and no other's), the migrate Job the owner's, Grafana the
readonly role's. deploy/postgres/create-logins.sh, which makes those logins, is run against
a real PostgreSQL and the migrations then run as the login it made for the owner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

import vigil_migrations
from vigil_runtime.stack.logins import login_name, url_as
from vigil_runtime.stack.postgres_server import local_bin_dir
from vigil_schema.roles import ALL_ROLES, OWNER, READONLY, SERVICE_ROLES, SERVICES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
K8S_BASE = ROOT / "deploy/k8s/base"
DATASOURCES = ROOT / "deploy/grafana/provisioning/datasources/vigil.yml"
CREATE_LOGINS = ROOT / "deploy/postgres/create-logins.sh"


def _password_var(role: str) -> str:
    """``vigil_ingest`` → ``VIGIL_DB_INGEST_PASSWORD``."""
    return f"VIGIL_DB_{role.removeprefix('vigil_').upper()}_PASSWORD"


def _compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _compose_db_login(service: dict[str, Any]) -> tuple[str | None, str | None]:
    url = service["environment"]["VIGIL_DATABASE_URL"]
    parts = urlsplit(url)
    return parts.username, parts.password


@pytest.mark.parametrize("service", SERVICES)
def test_compose_service_connects_as_its_own_login(service: str) -> None:
    role = SERVICE_ROLES[service]
    user, password = _compose_db_login(_compose()[service])
    assert (user, password) == (login_name(role), f"${{{_password_var(role)}}}")


def test_compose_migrates_as_the_owner_and_shares_no_database_url() -> None:
    services = _compose()
    assert _compose_db_login(services["migrate"]) == (
        login_name(OWNER),
        f"${{{_password_var(OWNER)}}}",
    )
    anchor = yaml.safe_load(COMPOSE.read_text())["x-vigil-env"]
    assert "VIGIL_DATABASE_URL" not in anchor
    init = services["postgres"]["environment"]
    assert {_password_var(role) for role in ALL_ROLES} <= set(init)
    mounts = services["postgres"]["volumes"]
    assert any(str(m).startswith("./deploy/postgres/create-logins.sh:") for m in mounts)


def test_grafana_reads_as_the_readonly_login() -> None:
    grafana = _compose()["grafana"]["environment"]
    assert grafana["VIGIL_GRAFANA_DB_PASSWORD"] == f"${{{_password_var(READONLY)}}}"
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    postgres = [s for s in sources if "postgres" in s["type"]]
    assert [s["user"] for s in postgres] == [login_name(READONLY)]
    assert postgres[0]["secureJsonData"]["password"] == "$VIGIL_GRAFANA_DB_PASSWORD"


def _k8s_secret_refs(name: str) -> list[str]:
    for doc in yaml.safe_load_all((K8S_BASE / name).read_text()):
        if doc and doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            containers = doc["spec"]["template"]["spec"]["containers"]
            return [
                ref["secretRef"]["name"]
                for ref in containers[0].get("envFrom", [])
                if "secretRef" in ref
            ]
    raise AssertionError(f"{name}: no workload")


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_references_its_own_role_secret_last(service: str) -> None:
    refs = _k8s_secret_refs(f"{service}.yaml")
    db_refs = [ref for ref in refs if ref.endswith("-db")]
    assert db_refs == [f"vigil-{service}-db"]
    assert refs[-1] == f"vigil-{service}-db"  # last in envFrom: its VIGIL_DATABASE_URL wins


def test_k8s_migrate_job_runs_as_the_owner() -> None:
    assert _k8s_secret_refs("migrate-job.yaml") == ["vigil-owner-db"]


def test_create_logins_covers_every_role() -> None:
    script = CREATE_LOGINS.read_text()
    for role in ALL_ROLES:
        assert f"GRANT {role} " in script, role
        assert login_name(role) in script, role
        assert _password_var(role) in script, role


@pytest.fixture
def psql() -> str:
    bin_dir = local_bin_dir()
    found = shutil.which("psql") or (str(bin_dir / "psql") if bin_dir else None)
    if found is None or not Path(found).exists():
        pytest.skip("no psql client")
    return found


def test_create_logins_then_migrate_as_the_owner(psql: str, empty_database_url: str) -> None:
    parts = urlsplit(empty_database_url)
    passwords = {_password_var(role): f"pw-{role}" for role in ALL_ROLES}
    env = {**os.environ, **passwords, "PGHOST": parts.hostname or "", "PGPORT": str(parts.port),
           "PGUSER": parts.username or "", "PGDATABASE": parts.path.lstrip("/"),
           "PATH": f"{Path(psql).parent}:{os.environ['PATH']}"}  # fmt: skip
    for _ in range(2):  # idempotent
        subprocess.run(["sh", str(CREATE_LOGINS)], env=env, check=True, timeout=60)
    owner_url = url_as(empty_database_url, login_name(OWNER), passwords[_password_var(OWNER)])
    vigil_migrations.upgrade(owner_url)
    for role in ALL_ROLES:
        login = login_name(role)
        url = url_as(empty_database_url, login, passwords[_password_var(role)])
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT current_user, pg_has_role(%s, 'MEMBER')", (role,))
            assert row.fetchone() == (login, True)
    with psycopg.connect(empty_database_url) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'camera_events'"
        ).fetchone()
    assert owner == (OWNER,)
