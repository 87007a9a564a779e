"""Settings and PostgreSQL connections for CLI commands.

The CLI reads the same settings as the services (``VIGIL_*`` variables and the stack env
file, see :mod:`vigil_runtime.settings`) and talks to PostgreSQL with synchronous psycopg:
one short transaction per command. Errors become :class:`click.ClickException` with the
server address but never the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg
from psycopg.rows import DictRow, dict_row
from pydantic import ValidationError

from vigil_runtime.crypto import CredentialCipher, SecretKeyError
from vigil_runtime.settings import VigilSettings, redact_text, redacted_url

CONNECT_TIMEOUT_S = 10

Connection = psycopg.Connection[DictRow]


def load_settings() -> VigilSettings:
    """Read the settings, turning a bad value into a clear CLI error."""
    try:
        return VigilSettings(service_name="vigil-cli")
    except ValidationError as exc:
        problems = "; ".join(
            f"VIGIL_{'_'.join(str(part) for part in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise click.ClickException(f"invalid settings: {redact_text(problems)}") from None


def load_cipher(settings: VigilSettings) -> CredentialCipher:
    """The credential cipher from ``VIGIL_SECRET_KEY``; a clear error when missing or bad."""
    try:
        return CredentialCipher.from_secret(settings.secret_key)
    except SecretKeyError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def connect(settings: VigilSettings) -> Iterator[Connection]:
    """A psycopg connection whose rows are dicts; commits on success, rolls back on error.

    Database errors raised inside the block become clear CLI errors.
    """
    try:
        conn = psycopg.connect(
            settings.database_url, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.OperationalError as exc:
        raise click.ClickException(
            f"cannot connect to PostgreSQL at {redacted_url(settings.database_url)}: "
            f"{redact_text(str(exc).strip())} (is the stack running? try `vigil stack status`)"
        ) from None
    try:
        with conn:
            yield conn
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction) as exc:
        raise click.ClickException(
            f"{_diagnostic(exc)}: the database is not migrated; run `vigil migrate`"
        ) from None
    except psycopg.Error as exc:
        raise click.ClickException(f"database error: {_diagnostic(exc)}") from None


def _diagnostic(exc: psycopg.Error) -> str:
    """The server's primary message (or the client's), passwords in URLs masked."""
    message = exc.diag.message_primary or str(exc)
    return redact_text(message.strip())
