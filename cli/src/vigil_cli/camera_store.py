"""The camera registry in PostgreSQL: add, read, list, update and remove cameras.

Functions take a psycopg connection and typed inputs and run in the caller's transaction;
each change writes its ``audit_log`` row in that same transaction. Credentials and connection
strings are stored only as Fernet tokens (:mod:`vigil_cli.camera_secrets`). The ``vigil
cameras`` commands and ``vigil demo`` both go through here.

Removing a camera: time-series tables (events, frames, health, ...) carry ``camera_id``
without a foreign key and keep their rows until retention drops them. Relational tables do
reference ``cameras``: deleting cascades to the camera's ``optimizations`` and
``applied_configs`` (its settings history) and detaches its ``alerts``. So
:func:`remove_camera` refuses while such rows exist unless ``force`` is given; disabling
(``desired_state = disabled``) is the history-preserving alternative.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vigil_cli.audit import ENTITY_CAMERA, write_audit
from vigil_cli.camera_models import CameraRecord, CameraUpdate, NewCamera
from vigil_cli.camera_secrets import encrypt_connection_string, encrypt_credentials
from vigil_runtime.crypto import CredentialCipher
from vigil_schema.camera import MaintenanceWindow, ZoneConfig
from vigil_schema.enums import ApplyPolicy, DesiredState
from vigil_schema.tables import CAMERAS

_COLUMNS = sql.SQL(", ").join(sql.Identifier(name) for name in CameraRecord.column_names())
_TABLE = sql.Identifier(CAMERAS.name)


class CameraStoreError(Exception):
    """Base class of the registry's expected failures (their messages are user-facing)."""


class CameraExistsError(CameraStoreError):
    """A camera with this id is already registered."""

    def __init__(self, camera_id: str) -> None:
        super().__init__(f"camera {camera_id!r} already exists")
        self.camera_id = camera_id


class CameraNotFoundError(CameraStoreError):
    """No camera has this id."""

    def __init__(self, camera_id: str) -> None:
        super().__init__(f"camera {camera_id!r} does not exist")
        self.camera_id = camera_id


class CameraInUseError(CameraStoreError):
    """Rows in other tables reference the camera; deleting would delete or detach them."""

    def __init__(self, camera_id: str, dependents: dict[str, int]) -> None:
        listed = ", ".join(f"{count} in {table}" for table, count in dependents.items())
        super().__init__(f"camera {camera_id!r} is referenced by {listed}")
        self.camera_id = camera_id
        self.dependents = dependents


def _db_value(value: Any) -> Any:
    """Adapt a model value to what psycopg stores in the matching column."""
    if isinstance(value, ZoneConfig):
        return Jsonb(value.model_dump(mode="json"))
    if isinstance(value, MaintenanceWindow):
        return Jsonb(value.to_json())
    if isinstance(value, DesiredState | ApplyPolicy):
        return value.value
    return value


def _audit_value(value: Any) -> Any:
    """A JSON-friendly, secret-free summary of a column value for the audit trail."""
    if isinstance(value, ZoneConfig):
        return [zone.name for zone in value.zones]
    if isinstance(value, MaintenanceWindow):
        return value.to_json()
    if isinstance(value, DesiredState | ApplyPolicy):
        return value.value
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


def add_camera(
    conn: psycopg.Connection[Any],
    camera: NewCamera,
    *,
    cipher: CredentialCipher | None,
    actor: str,
) -> CameraRecord:
    """Register ``camera``; :class:`CameraExistsError` if the id is taken.

    ``cipher`` may be ``None`` only when the camera has no credentials or connection string
    (otherwise the same error as an unset ``VIGIL_SECRET_KEY`` is raised).
    """
    plain = camera.model_dump(exclude={"credentials", "connection_string"})
    values: dict[str, Any] = {name: _db_value(getattr(camera, name)) for name in plain}
    values["tags"] = Jsonb(camera.tags)
    values["credentials_encrypted"] = encrypt_credentials(camera.credentials, cipher)
    values["connection_string_encrypted"] = encrypt_connection_string(
        camera.connection_string, cipher
    )
    query = sql.SQL(
        "INSERT INTO {table} ({columns}) VALUES ({values}) "
        "ON CONFLICT (id) DO NOTHING RETURNING {returning}"
    ).format(
        table=_TABLE,
        columns=sql.SQL(", ").join(sql.Identifier(name) for name in values),
        values=sql.SQL(", ").join(sql.Placeholder() for _ in values),
        returning=_COLUMNS,
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, tuple(values.values())).fetchone()
    if row is None:
        raise CameraExistsError(camera.id)
    details = {name: _audit_value(getattr(camera, name)) for name in plain if name != "id"}
    details["credentials"] = camera.credentials is not None
    details["connection_string"] = camera.connection_string is not None
    write_audit(
        conn,
        actor=actor,
        action="camera.add",
        entity_type=ENTITY_CAMERA,
        entity_id=camera.id,
        details=details,
    )
    return CameraRecord.from_row(row)


def get_camera(
    conn: psycopg.Connection[Any], camera_id: str, *, for_update: bool = False
) -> CameraRecord:
    """The camera ``camera_id``; :class:`CameraNotFoundError` if there is none."""
    query = sql.SQL("SELECT {columns} FROM {table} WHERE id = %s{lock}").format(
        columns=_COLUMNS,
        table=_TABLE,
        lock=sql.SQL(" FOR UPDATE" if for_update else ""),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, (camera_id,)).fetchone()
    if row is None:
        raise CameraNotFoundError(camera_id)
    return CameraRecord.from_row(row)


def list_cameras(
    conn: psycopg.Connection[Any],
    *,
    site: str | None = None,
    desired_state: DesiredState | None = None,
) -> list[CameraRecord]:
    """Cameras ordered by id, optionally only those of one site and/or desired state."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if site is not None:
        conditions.append(sql.SQL("site = %s"))
        params.append(site)
    if desired_state is not None:
        conditions.append(sql.SQL("desired_state = %s"))
        params.append(desired_state.value)
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    query = sql.SQL("SELECT {columns} FROM {table}{where} ORDER BY id").format(
        columns=_COLUMNS, table=_TABLE, where=where
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    return [CameraRecord.from_row(row) for row in rows]


def update_camera(
    conn: psycopg.Connection[Any],
    camera_id: str,
    update: CameraUpdate,
    *,
    cipher: CredentialCipher | None,
    actor: str,
) -> CameraRecord:
    """Apply ``update`` (only its explicitly set fields) and audit the old and new values.

    An empty update changes nothing and writes no audit row. ``updated_at`` is set by the
    table's trigger.
    """
    before = get_camera(conn, camera_id, for_update=True)
    if update.is_empty():
        return before
    assignments, params, details = _update_parts(before, update, cipher)
    query = sql.SQL("UPDATE {table} SET {assignments} WHERE id = %s RETURNING {columns}").format(
        table=_TABLE, assignments=sql.SQL(", ").join(assignments), columns=_COLUMNS
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, (*params, camera_id)).fetchone()
    if row is None:  # pragma: no cover - the row is locked above
        raise CameraNotFoundError(camera_id)
    write_audit(
        conn,
        actor=actor,
        action="camera.set",
        entity_type=ENTITY_CAMERA,
        entity_id=camera_id,
        details=details,
    )
    return CameraRecord.from_row(row)


def _update_parts(
    before: CameraRecord, update: CameraUpdate, cipher: CredentialCipher | None
) -> tuple[list[sql.Composable], list[Any], dict[str, Any]]:
    """SET clauses, their parameters and the audit details of ``update``."""
    assignments: list[sql.Composable] = []
    params: list[Any] = []
    changes: dict[str, Any] = {}
    for name, value in update.column_changes().items():
        assignments.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        params.append(_db_value(value))
        changes[name] = {
            "old": _audit_value(getattr(before, name)),
            "new": _audit_value(value),
        }
    if update.tags or update.untag:
        assignments.append(sql.SQL("tags = (tags || %s) - %s::text[]"))
        params.extend([Jsonb(update.tags), list(update.untag)])
        changes["tags"] = {"set": update.tags, "removed": list(update.untag)}
    fields_set = update.model_fields_set
    secret_tokens: dict[str, tuple[bytes | None, bool]] = {}
    if "credentials" in fields_set:
        token = encrypt_credentials(update.credentials, cipher)
        secret_tokens["credentials"] = (token, before.has_credentials)
    if "connection_string" in fields_set:
        token = encrypt_connection_string(update.connection_string, cipher)
        secret_tokens["connection_string"] = (token, before.has_connection_string)
    for name, (token, had_one) in secret_tokens.items():
        assignments.append(sql.SQL("{} = %s").format(sql.Identifier(f"{name}_encrypted")))
        params.append(token)
        changes[name] = "cleared" if token is None else ("replaced" if had_one else "set")
    return assignments, params, {"changes": changes}


def camera_dependents(conn: psycopg.Connection[Any], camera_id: str) -> dict[str, int]:
    """Rows of other tables whose foreign keys reference the camera, counted per table.

    The referencing tables are read from the catalog, so a new migration adding one is
    covered without a change here.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        references = cur.execute(
            "SELECT n.nspname AS schema, t.relname AS table_name, a.attname AS column_name "
            "FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.confrelid = %s::regclass "
            "AND c.conparentid = 0 AND cardinality(c.conkey) = 1 "
            "ORDER BY t.relname",
            (CAMERAS.name,),
        ).fetchall()
        counts: dict[str, int] = {}
        for ref in references:
            query = sql.SQL("SELECT count(*) AS n FROM {} WHERE {} = %s").format(
                sql.Identifier(ref["schema"], ref["table_name"]),
                sql.Identifier(ref["column_name"]),
            )
            row = cur.execute(query, (camera_id,)).fetchone()
            if row is not None and row["n"]:
                counts[ref["table_name"]] = int(row["n"])
    return counts


def remove_camera(
    conn: psycopg.Connection[Any], camera_id: str, *, actor: str, force: bool = False
) -> CameraRecord:
    """Delete the camera and return its last state.

    Refuses with :class:`CameraInUseError` while other tables reference it, unless ``force``
    (then the database's ON DELETE rules apply: see the module docstring).
    """
    before = get_camera(conn, camera_id, for_update=True)
    dependents = camera_dependents(conn, camera_id)
    if dependents and not force:
        raise CameraInUseError(camera_id, dependents)
    conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(_TABLE), (camera_id,))
    write_audit(
        conn,
        actor=actor,
        action="camera.remove",
        entity_type=ENTITY_CAMERA,
        entity_id=camera_id,
        details={"name": before.name, "forced": force, "dependents": dependents},
    )
    return before
