"""`vigil cameras`: register, inspect, change and remove cameras.

The commands only parse options and print; the registry logic is in
:mod:`vigil_cli.camera_store`. Every change is written to ``audit_log`` with the OS user as
actor. Credentials and stream URLs are stored encrypted with ``VIGIL_SECRET_KEY``.
"""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError

from vigil_cli import camera_store
from vigil_cli.audit import os_actor
from vigil_cli.camera_models import CameraUpdate, NewCamera
from vigil_cli.camera_options import (
    attribute_options,
    attributes_from,
    format_validation_error,
    read_connection_string,
    read_credentials,
    secret_options,
)
from vigil_cli.camera_secrets import SecretRotationError, rotate_secrets
from vigil_cli.camera_views import list_json, list_table, show_json, show_text
from vigil_cli.db import connect, load_cipher, load_settings
from vigil_cli.output import echo_json
from vigil_runtime.crypto import CredentialCipher, SecretKeyError, generate_key
from vigil_runtime.settings import VigilSettings
from vigil_schema.enums import DesiredState
from vigil_schema.ids import validate_camera_id


@click.group(name="cameras")
def group() -> None:
    """Register and manage cameras."""


def _camera_id(value: str) -> str:
    """Validate a CAMERA_ID argument, quoting the allowed pattern when it is wrong."""
    try:
        return validate_camera_id(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CAMERA_ID") from None


def _cipher_if(needed: bool, settings: VigilSettings) -> CredentialCipher | None:
    """The cipher when secrets are being written (a clear error if the key is missing)."""
    return load_cipher(settings) if needed else None


def _optional_cipher(settings: VigilSettings) -> CredentialCipher | None:
    """The cipher if a valid key is configured, for display only."""
    try:
        return CredentialCipher.from_secret(settings.secret_key)
    except SecretKeyError:
        return None


def _store_error(exc: camera_store.CameraStoreError) -> click.ClickException:
    """A CLI error for an expected registry failure, with the command that helps."""
    message = str(exc)
    if isinstance(exc, camera_store.CameraExistsError):
        message += f"; use `vigil cameras set {exc.camera_id}` to change it"
    elif isinstance(exc, camera_store.CameraNotFoundError):
        message += "; see `vigil cameras list`"
    elif isinstance(exc, camera_store.CameraInUseError):
        message += (
            ". Deleting it would delete its optimization and apply history and detach its "
            f"alerts. Run `vigil cameras remove {exc.camera_id} --disable` to stop it and keep "
            "its history, or add --force to delete it anyway"
        )
    return click.ClickException(message)


@group.command(name="add")
@click.argument("camera_id")
@click.option("--name", required=True, help="Display name.")
@attribute_options
@secret_options
def add(camera_id: str, **options: Any) -> None:
    """Register camera CAMERA_ID (lower-case letters, digits, '_' and '-')."""
    _camera_id(camera_id)
    credentials = read_credentials(
        options["username"], options["password_stdin"], options["password_env"]
    )
    connection_string = read_connection_string(options["rtsp_url"], options["rtsp_url_env"])
    values = attributes_from(options, clear_empty=False)
    try:
        camera = NewCamera(
            id=camera_id,
            name=options["name"],
            credentials=credentials,
            connection_string=connection_string,
            **values,
        )
    except ValidationError as exc:
        raise click.UsageError(format_validation_error(exc)) from None
    settings = load_settings()
    cipher = _cipher_if(credentials is not None or connection_string is not None, settings)
    with connect(settings) as conn:
        try:
            record = camera_store.add_camera(conn, camera, cipher=cipher, actor=os_actor())
        except camera_store.CameraStoreError as exc:
            raise _store_error(exc) from None
    click.echo(f"added camera {record.id!r} ({record.name})")


@group.command(name="list")
@click.option("--site", help="Only cameras of this site.")
@click.option(
    "--state",
    type=click.Choice([state.value for state in DesiredState]),
    help="Only cameras in this desired state.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(site: str | None, state: str | None, as_json: bool) -> None:
    """List registered cameras."""
    desired = DesiredState(state) if state else None
    with connect(load_settings()) as conn:
        records = camera_store.list_cameras(conn, site=site, desired_state=desired)
    if as_json:
        echo_json([list_json(record) for record in records])
    elif records:
        click.echo(list_table(records))
    else:
        click.echo("no cameras registered (add one with `vigil cameras add`)")


@group.command(name="show")
@click.argument("camera_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(camera_id: str, as_json: bool) -> None:
    """Show every field of a camera (passwords are never shown)."""
    _camera_id(camera_id)
    settings = load_settings()
    with connect(settings) as conn:
        try:
            record = camera_store.get_camera(conn, camera_id)
        except camera_store.CameraStoreError as exc:
            raise _store_error(exc) from None
    cipher = _optional_cipher(settings)
    if as_json:
        echo_json(show_json(record, cipher))
    else:
        click.echo(show_text(record, cipher))


@group.command(name="set")
@click.argument("camera_id")
@click.option("--name", help="Display name.")
@attribute_options
@click.option("--clear-zones", is_flag=True, help="Remove every zone.")
@click.option("--untag", multiple=True, metavar="KEY", help="Remove a tag.")
@secret_options
@click.option("--clear-credentials", is_flag=True, help="Forget the stored credentials.")
@click.option("--clear-rtsp-url", is_flag=True, help="Forget the stored stream URL.")
def set_command(camera_id: str, **options: Any) -> None:
    """Change fields of camera CAMERA_ID; an empty string clears a text field (--site '')."""
    _camera_id(camera_id)
    changes = _update_values(options)
    try:
        update = CameraUpdate(**changes)
    except ValidationError as exc:
        raise click.UsageError(format_validation_error(exc)) from None
    if update.is_empty():
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    settings = load_settings()
    writes_secret = update.credentials is not None or update.connection_string is not None
    cipher = _cipher_if(writes_secret, settings)
    with connect(settings) as conn:
        try:
            camera_store.update_camera(conn, camera_id, update, cipher=cipher, actor=os_actor())
        except camera_store.CameraStoreError as exc:
            raise _store_error(exc) from None
    changed = sorted(update.model_fields_set)
    click.echo(f"updated camera {camera_id!r}: {', '.join(changed)}")


def _update_values(options: dict[str, Any]) -> dict[str, Any]:
    """Model values of `set`'s options, including the --clear-* flags."""
    values = attributes_from(options, clear_empty=True)
    if options["name"] is not None:
        values["name"] = options["name"]
    if options["untag"]:
        values["untag"] = list(options["untag"])
    for flag, field, conflicting in (
        ("clear_zones", "zone_config", "zones_file"),
        ("clear_credentials", "credentials", "username"),
        ("clear_rtsp_url", "connection_string", "rtsp_url"),
    ):
        if options[flag] and options[conflicting] is not None:
            raise click.UsageError(f"--{flag.replace('_', '-')} contradicts another option")
        if options[flag]:
            values[field] = {"zones": []} if field == "zone_config" else None
    credentials = read_credentials(
        options["username"], options["password_stdin"], options["password_env"]
    )
    if credentials is not None:
        values["credentials"] = credentials
    connection_string = read_connection_string(options["rtsp_url"], options["rtsp_url_env"])
    if connection_string is not None:
        values["connection_string"] = connection_string
    return values


@group.command(name="remove")
@click.argument("camera_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--disable",
    is_flag=True,
    help="Set desired_state=disabled instead of deleting: keeps all its history.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Delete even if optimizations, applied configs or alerts reference the camera "
    "(its optimization/apply history is deleted, alerts lose the link).",
)
def remove(camera_id: str, yes: bool, disable: bool, force: bool) -> None:
    """Remove camera CAMERA_ID from the registry.

    Its events, frames and health samples are kept until retention drops them. While
    optimizations, applied configs or alerts reference it, removal is refused: use
    --disable to keep the history (ingest then rejects its messages), or --force.
    """
    _camera_id(camera_id)
    if disable and force:
        raise click.UsageError("--disable and --force cannot be combined")
    settings = load_settings()
    if disable:
        update = CameraUpdate(desired_state=DesiredState.DISABLED)
        with connect(settings) as conn:
            try:
                camera_store.update_camera(conn, camera_id, update, cipher=None, actor=os_actor())
            except camera_store.CameraStoreError as exc:
                raise _store_error(exc) from None
        click.echo(f"disabled camera {camera_id!r} (history kept)")
        return
    if not yes:
        click.confirm(f"Remove camera {camera_id!r}?", abort=True)
    with connect(settings) as conn:
        try:
            camera_store.remove_camera(conn, camera_id, actor=os_actor(), force=force)
        except camera_store.CameraStoreError as exc:
            raise _store_error(exc) from None
    click.echo(f"removed camera {camera_id!r}")


@group.command(name="rotate-credentials")
def rotate_credentials() -> None:
    """Re-encrypt stored credentials with the first key of VIGIL_SECRET_KEY.

    To rotate: prepend a new key (VIGIL_SECRET_KEY=new,old), run this, then drop the old key.
    """
    settings = load_settings()
    cipher = load_cipher(settings)
    with connect(settings) as conn:
        try:
            summary = rotate_secrets(conn, cipher, actor=os_actor())
        except SecretRotationError as exc:
            raise click.ClickException(f"{exc}; nothing was changed") from None
    click.echo(
        f"re-encrypted {summary.tokens_rotated} secret(s) of {summary.cameras_rotated} "
        f"camera(s); {summary.cameras_checked} camera(s) hold secrets, all now on the first key"
    )


@group.command(name="generate-key")
def generate_key_command() -> None:
    """Print a new Fernet key for VIGIL_SECRET_KEY."""
    click.echo(generate_key())
