"""Camera secrets at rest: credentials and connection strings as Fernet tokens.

Credentials are stored as the token of :meth:`CameraCredentials.to_json_bytes`, connection
strings as the token of the UTF-8 URL. Nothing here logs or returns a secret except the
explicit ``decrypt_*`` functions. Rotation re-encrypts every token with the primary key of
``VIGIL_SECRET_KEY`` so an old key can then be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from pydantic import SecretStr

from vigil_cli.audit import ENTITY_CAMERA, write_audit
from vigil_cli.camera_models import CameraRecord
from vigil_runtime.crypto import CredentialCipher, DecryptionError
from vigil_runtime.settings import redacted_url
from vigil_schema.camera import CameraCredentials

SECRET_COLUMNS: Final = ("credentials_encrypted", "connection_string_encrypted")


class SecretRotationError(RuntimeError):
    """A stored token could not be decrypted with any configured key; nothing was changed."""


def require_cipher(cipher: CredentialCipher | None) -> CredentialCipher:
    """``cipher``, or the same clear error as an unset ``VIGIL_SECRET_KEY``."""
    if cipher is None:
        return CredentialCipher.from_secret(None)  # raises SecretKeyError with the message
    return cipher


def encrypt_credentials(
    credentials: CameraCredentials | None, cipher: CredentialCipher | None
) -> bytes | None:
    """Token for ``credentials`` (``None`` stays ``None``; a cipher is needed otherwise)."""
    if credentials is None:
        return None
    return require_cipher(cipher).encrypt(credentials.to_json_bytes())


def encrypt_connection_string(
    connection_string: SecretStr | None, cipher: CredentialCipher | None
) -> bytes | None:
    """Token for the connection string URL (``None`` stays ``None``)."""
    if connection_string is None:
        return None
    return require_cipher(cipher).encrypt(connection_string.get_secret_value().encode())


def decrypt_credentials(record: CameraRecord, cipher: CredentialCipher) -> CameraCredentials | None:
    """The camera's credentials in clear (password still a ``SecretStr``), if stored."""
    if record.credentials_encrypted is None:
        return None
    return CameraCredentials.from_json_bytes(cipher.decrypt(record.credentials_encrypted))


def decrypt_connection_string(record: CameraRecord, cipher: CredentialCipher) -> SecretStr | None:
    """The camera's connection string URL in clear (as a ``SecretStr``), if stored."""
    if record.connection_string_encrypted is None:
        return None
    return SecretStr(cipher.decrypt(record.connection_string_encrypted).decode())


def masked_connection_string(record: CameraRecord, cipher: CredentialCipher) -> str | None:
    """The connection string with its password replaced by ``***``: safe to print."""
    url = decrypt_connection_string(record, cipher)
    return None if url is None else redacted_url(url.get_secret_value())


@dataclass(frozen=True)
class RotationSummary:
    """What ``rotate_secrets`` did."""

    cameras_checked: int
    cameras_rotated: int
    tokens_rotated: int


def rotate_secrets(
    conn: psycopg.Connection[Any], cipher: CredentialCipher, *, actor: str
) -> RotationSummary:
    """Re-encrypt every stored token not yet made with the primary key (one transaction).

    Rows are locked while rotating. If any token does not decrypt with the configured keys,
    :class:`SecretRotationError` names the camera and the caller's transaction must be rolled
    back (``vigil_cli.db.connect`` does so), leaving every row as it was.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, credentials_encrypted, connection_string_encrypted FROM cameras "
            "WHERE credentials_encrypted IS NOT NULL OR connection_string_encrypted IS NOT NULL "
            "ORDER BY id FOR UPDATE"
        ).fetchall()
    rotated_cameras = rotated_tokens = 0
    for row in rows:
        camera_id: str = row["id"]
        new_tokens = _rotated_tokens(camera_id, row, cipher)
        if not new_tokens:
            continue
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder())
            for column in new_tokens
        )
        conn.execute(
            sql.SQL("UPDATE cameras SET {} WHERE id = %s").format(assignments),
            (*new_tokens.values(), camera_id),
        )
        write_audit(
            conn,
            actor=actor,
            action="camera.rotate_credentials",
            entity_type=ENTITY_CAMERA,
            entity_id=camera_id,
            details={"reencrypted": sorted(new_tokens), "keys_configured": cipher.key_count},
        )
        rotated_cameras += 1
        rotated_tokens += len(new_tokens)
    return RotationSummary(len(rows), rotated_cameras, rotated_tokens)


def _rotated_tokens(
    camera_id: str, row: dict[str, Any], cipher: CredentialCipher
) -> dict[str, bytes]:
    """New tokens for the secret columns of ``row`` that are not yet on the primary key."""
    new_tokens: dict[str, bytes] = {}
    for column in SECRET_COLUMNS:
        token = row[column]
        if token is None or cipher.is_primary(bytes(token)):
            continue
        try:
            new_tokens[column] = cipher.rotate(bytes(token))
        except DecryptionError as exc:
            raise SecretRotationError(f"camera {camera_id!r} ({column}): {exc}") from None
    return new_tokens
