"""PostgreSQL LOGIN roles of the local stack: one per Vigil role, so each process runs as its own.

The migrations create the NOLOGIN roles of :mod:`vigil_schema.roles` and their grants; a
deployment creates the logins (docs/operations.md). The local stack does the same here, as
the superuser, for the demo and the test suite:

* before migrating, :func:`ensure_owner_login` creates ``vigil_owner_login`` (LOGIN,
  CREATEROLE: the first migration creates the NOLOGIN roles) and makes it the owner of the
  database, so the migrations run as it; revision 0004 makes it a member of ``vigil_owner``;
* after migrating, :func:`ensure_role_logins` creates ``<role>_login`` (LOGIN, member of
  ``<role>``) for every service role, the CLI and Grafana.

Every call sets a fresh random password and returns it in the :class:`Login`. The local
cluster trusts loopback connections (``postgres_server``), so the password is not checked
there; it is set so that the same URLs work against a server that does check.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from vigil_schema.roles import CLI, OWNER, READONLY, SERVICE_ROLES, service_role

__all__ = [
    "Login",
    "Logins",
    "connected_users",
    "ensure_owner_login",
    "ensure_role_logins",
    "login_name",
    "prepare_database",
    "url_as",
]

LOGIN_SUFFIX = "_login"
ROLE_LOGINS: tuple[str, ...] = (*SERVICE_ROLES.values(), CLI, READONLY)
CONNECT_TIMEOUT_S = 10


def login_name(role: str) -> str:
    """The local stack's login for ``role`` (``vigil_ingest`` → ``vigil_ingest_login``)."""
    return role + LOGIN_SUFFIX


def url_as(url: str, user: str, password: str) -> str:
    """``url`` with another user and password (same host, port, database and options)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Login:
    """A LOGIN role standing for the NOLOGIN ``role``."""

    role: str
    user: str
    password: str

    def url(self, database_url: str) -> str:
        """``database_url`` (any user) connecting as this login."""
        return url_as(database_url, self.user, self.password)


@dataclass(frozen=True)
class Logins:
    """The owner's login and one login per role; URLs for any database of the cluster."""

    owner: Login
    roles: Mapping[str, Login]

    def url(self, role: str, database_url: str) -> str:
        """``database_url`` connecting as the login of ``role`` (the owner's included)."""
        login = self.owner if role == OWNER else self.roles[role]
        return login.url(database_url)

    def service_url(self, service: str, database_url: str) -> str:
        """``database_url`` as service ``service``'s login (``"ingest"`` → vigil_ingest)."""
        return self.url(service_role(service), database_url)


def _connect(admin_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(admin_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


def _upsert_login(conn: psycopg.Connection[tuple[object, ...]], user: str, options: str) -> str:
    """Create or alter LOGIN role ``user`` with ``options`` and a new password; the password."""
    password = secrets.token_urlsafe(18)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL("{} ROLE {} WITH LOGIN {} PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(user), sql.SQL(options), sql.Literal(password)
        )
    )
    return password


def ensure_owner_login(admin_url: str) -> Login:
    """The login that runs migrations, owner of ``admin_url``'s database (superuser needed)."""
    user = login_name(OWNER)
    database = urlsplit(admin_url).path.lstrip("/")
    with _connect(admin_url) as conn:
        password = _upsert_login(conn, user, "CREATEROLE NOSUPERUSER")
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(user)
            )
        )
    return Login(OWNER, user, password)


def ensure_role_logins(admin_url: str, roles: tuple[str, ...] = ROLE_LOGINS) -> dict[str, Login]:
    """``<role>_login`` for each of ``roles`` (which the migrations created), by role."""
    logins: dict[str, Login] = {}
    with _connect(admin_url) as conn:
        for role in roles:
            user = login_name(role)
            password = _upsert_login(conn, user, "NOCREATEROLE NOSUPERUSER INHERIT")
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(user))
            )
            logins[role] = Login(role, user, password)
    return logins


def prepare_database(admin_url: str, migrate: Callable[[str], None]) -> Logins:
    """Migrate ``admin_url``'s database as the owner's login, then create the role logins.

    ``migrate`` is ``vigil_migrations.upgrade`` (passed in: the runtime does not depend on
    the migrations package).
    """
    owner = ensure_owner_login(admin_url)
    legacy = _owned_by_others(admin_url, (owner.user, OWNER))
    migrate(admin_url if legacy else owner.url(admin_url))
    return Logins(owner, ensure_role_logins(admin_url))


def _owned_by_others(admin_url: str, owners: tuple[str, ...]) -> bool:
    """Whether schema public holds tables of another owner: a database migrated by the
    superuser before revision 0004, which only the superuser can hand to ``vigil_owner``."""
    with _connect(admin_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            " AND pg_get_userbyid(c.relowner) <> ALL(%s)",
            (list(owners),),
        ).fetchone()
    return row is not None and row[0] != 0


def connected_users(url: str) -> set[str]:
    """Users of the other sessions connected to ``url``'s database now (who each process runs
    as: the demo's check and the tests' use it). Any login may ask: ``pg_stat_activity``
    shows every session's user, only the query text of others' is hidden."""
    with _connect(url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {str(row[0]) for row in rows}
