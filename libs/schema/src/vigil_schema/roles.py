"""PostgreSQL role names: one per service, the CLI's, Grafana's and the schema owner's.

The migrations create these as NOLOGIN roles with their grants (revision 0004); a deployment
creates one LOGIN role per process, a member of the process's role (docs/operations.md).
Everything that connects on a service's behalf looks its role up here, so a service's
name and its role cannot drift apart.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

OWNER: Final = "vigil_owner"
"""Owns every object of the schema; migrations run as a member of it."""
CLI: Final = "vigil_cli"
"""The operator's `vigil` command."""
READONLY: Final = "vigil_readonly"
"""Dashboards (Grafana's PostgreSQL datasource)."""

SERVICES: Final = ("ingest", "analyzer", "optimizer", "alerter", "retention")
SERVICE_ROLES: Final = MappingProxyType({name: f"vigil_{name}" for name in SERVICES})
"""Service name (``vigil-<name>``) → its role."""

ALL_ROLES: Final = (OWNER, *SERVICE_ROLES.values(), CLI, READONLY)
"""Every role the migrations create."""


def service_role(service: str) -> str:
    """The role of ``service`` (``"ingest"`` → ``"vigil_ingest"``); ValueError if unknown."""
    try:
        return SERVICE_ROLES[service]
    except KeyError:
        raise ValueError(f"no database role for service {service!r}") from None
