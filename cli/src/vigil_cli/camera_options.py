"""Command-line options of `vigil cameras add` / `set`, and turning them into store inputs.

Secrets never come from plain arguments (they would show in ``ps`` and shell history):
passwords are read from stdin (``--password-stdin``; a hidden prompt on a terminal) or from a
named environment variable (``--password-env VAR``); a connection string that embeds a
password is read from ``--rtsp-url-env VAR``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar, cast
from urllib.parse import urlsplit

import click
from pydantic import SecretStr, ValidationError

from vigil_cli.zones_file import ZonesFileError, load_zones_file
from vigil_schema.camera import CameraCredentials, ZoneConfig
from vigil_schema.enums import ApplyPolicy, DesiredState

F = TypeVar("F", bound=Callable[..., Any])

# (option, model field, click type, help)
_ATTRIBUTES: Final[tuple[tuple[str, str, Any, str], ...]] = (
    ("--site", "site", str, "Site or building the camera belongs to."),
    ("--vendor", "vendor", str, "Manufacturer, e.g. axis, hikvision."),
    ("--model", "model", str, "Camera model."),
    ("--firmware", "firmware", str, "Firmware version."),
    ("--ip", "ip", str, "IPv4 or IPv6 address."),
    ("--onvif-port", "onvif_port", int, "ONVIF service port (1-65535)."),
    ("--vms-system", "vms_system", str, "Video management system that also records it."),
    ("--vms-camera-id", "vms_camera_id", str, "The camera's id in that VMS."),
    ("--location", "location", str, "Where the camera is, in words."),
    ("--scene-type", "scene_type", str, "Kind of scene, e.g. parking, entrance."),
    ("--purpose", "purpose", str, "What the camera is for, e.g. occupancy, security."),
)
OPTION_NAMES: Final[dict[str, str]] = {
    **{field: option for option, field, _, _ in _ATTRIBUTES},
    "id": "CAMERA_ID",
    "name": "--name",
    "zone_config": "--zones",
    "desired_state": "--desired-state",
    "health_interval_s": "--health-interval",
    "apply_policy": "--apply-policy",
    "maintenance_window": "--maintenance-window",
    "auto_apply_min_confidence": "--auto-apply-min-confidence",
    "tags": "--tag",
    "untag": "--untag",
    "credentials": "--username/--password-*",
    "connection_string": "--rtsp-url/--rtsp-url-env",
}
_VALUE_ERROR_PREFIX = "Value error, "


def _apply(func: F, decorators: Sequence[Callable[[Any], Any]]) -> F:
    """Apply click option decorators in the order they are listed (top to bottom)."""
    result: Any = func
    for decorator in reversed(decorators):
        result = decorator(result)
    return cast(F, result)


def attribute_options(func: F) -> F:
    """The descriptive options shared by ``add`` and ``set``."""
    return _apply(
        func,
        [
            click.option(option, field, type=kind, default=None, help=help_text)
            for option, field, kind, help_text in _ATTRIBUTES
        ]
        + [
            click.option(
                "--desired-state",
                type=click.Choice([state.value for state in DesiredState]),
                help="active (default), disabled (its messages are rejected) or maintenance.",
            ),
            click.option(
                "--health-interval",
                "health_interval_s",
                type=int,
                help="Expected seconds between health samples (default 60).",
            ),
            click.option(
                "--zones",
                "zones_file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help='JSON or YAML file: {"zones": [{"name", "polygon": [[x, y], ...]}]}, '
                "coordinates normalised to 0..1.",
            ),
            click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Set a tag."),
            *_apply_policy_options(),
        ],
    )


def _apply_policy_options() -> list[Callable[[Any], Any]]:
    """The optimizer's apply policy of the camera (``set``: '' clears a window/threshold)."""
    return [
        click.option(
            "--apply-policy",
            type=click.Choice([policy.value for policy in ApplyPolicy]),
            help="Optimizer recommendations: manual (default: wait for approval), auto "
            "(applied above the confidence threshold, inside the maintenance window) or off.",
        ),
        click.option(
            "--maintenance-window",
            metavar="JSON",
            help='When auto applies may happen: {"start": "01:00", "end": "05:00", '
            '"tz": "Europe/Paris", "days": [0, 1, 2, 3, 4]} (Monday = 0; days optional; an end '
            "before the start crosses midnight).",
        ),
        click.option(
            "--auto-apply-min-confidence",
            metavar="0..1",
            help="Lowest recommendation confidence applied under auto (default: the optimizer's).",
        ),
    ]


def secret_options(func: F) -> F:
    """Options that supply credentials and the connection string (never in clear argv)."""
    return _apply(
        func,
        [
            click.option("--username", help="Camera login (ONVIF/RTSP) user name."),
            click.option(
                "--password-stdin",
                is_flag=True,
                help="Read the password from stdin (first line; hidden prompt on a terminal).",
            ),
            click.option(
                "--password-env", metavar="VAR", help="Read the password from environment VAR."
            ),
            click.option(
                "--rtsp-url-env",
                metavar="VAR",
                help="Read the stream URL (may embed user:password) from environment VAR.",
            ),
            click.option("--rtsp-url", help="Stream URL without a password."),
        ],
    )


def attributes_from(options: Mapping[str, Any], *, clear_empty: bool) -> dict[str, Any]:
    """Model field values for the attribute options that were given.

    With ``clear_empty`` (``set``), an empty string means "clear this field" (``None``).
    """
    values: dict[str, Any] = {}
    for _, field, _, _ in _ATTRIBUTES:
        value = options.get(field)
        if value is None:
            continue
        if value == "":
            if clear_empty:
                values[field] = None
            continue
        values[field] = value
    for field in ("desired_state", "health_interval_s", "apply_policy"):
        if options.get(field) is not None:
            values[field] = options[field]
    for field in ("maintenance_window", "auto_apply_min_confidence"):
        value = options.get(field)
        if value is None or (value == "" and not clear_empty):
            continue
        values[field] = None if value == "" else value
    if isinstance(values.get("maintenance_window"), str):
        values["maintenance_window"] = read_maintenance_window(values["maintenance_window"])
    if options.get("zones_file") is not None:
        values["zone_config"] = read_zones(options["zones_file"])
    if options.get("tags"):
        values["tags"] = parse_tags(options["tags"])
    return values


def read_maintenance_window(text: str) -> Any:
    """The JSON object of ``--maintenance-window`` (the model validates its fields)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON ({exc.msg} at column {exc.colno}); expected e.g. "
            '\'{"start": "01:00", "end": "05:00", "tz": "UTC"}\'',
            param_hint="--maintenance-window",
        ) from None
    if not isinstance(value, dict):
        raise click.BadParameter("expected a JSON object", param_hint="--maintenance-window")
    return value


def read_zones(path: Path) -> ZoneConfig:
    """Load and validate a zones file; errors name the zone and the problem."""
    try:
        return load_zones_file(path)
    except ZonesFileError as exc:
        raise click.BadParameter(str(exc), param_hint="--zones") from None


def parse_tags(pairs: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--tag")
        tags[key.strip()] = value.strip()
    return tags


def read_credentials(
    username: str | None, password_stdin: bool, password_env: str | None
) -> CameraCredentials | None:
    """Credentials from ``--username`` and a password from stdin or an environment variable."""
    if password_stdin and password_env:
        raise click.UsageError("use either --password-stdin or --password-env, not both")
    wants_password = password_stdin or password_env is not None
    if username is None:
        if wants_password:
            raise click.UsageError("a password needs --username")
        return None
    if not wants_password:
        raise click.UsageError(
            "--username needs a password: pipe it with --password-stdin or name an environment "
            "variable with --password-env VAR (passwords are never command-line arguments: "
            "they would show in `ps` and shell history)"
        )
    password = _password_from_stdin() if password_stdin else _env_secret(password_env, "password")
    try:
        return CameraCredentials(username=username, password=SecretStr(password))
    except ValidationError as exc:
        raise click.UsageError(f"invalid credentials: {format_validation_error(exc)}") from None


def _password_from_stdin() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Camera password", hide_input=True, err=True))
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("--password-stdin: no password on stdin")
    return password


def _env_secret(variable: str | None, what: str) -> str:
    value = os.environ.get(variable or "")
    if not value:
        raise click.UsageError(f"environment variable {variable} (the {what}) is not set")
    return value


def read_connection_string(rtsp_url: str | None, rtsp_url_env: str | None) -> SecretStr | None:
    """The stream URL from ``--rtsp-url`` (no password allowed) or ``--rtsp-url-env``."""
    if rtsp_url is not None and rtsp_url_env is not None:
        raise click.UsageError("use either --rtsp-url or --rtsp-url-env, not both")
    if rtsp_url_env is not None:
        return SecretStr(_env_secret(rtsp_url_env, "stream URL"))
    if rtsp_url is None:
        return None
    try:
        has_password = urlsplit(rtsp_url).password is not None
    except ValueError:
        has_password = False  # the model rejects the URL with a clear message
    if has_password:
        raise click.UsageError(
            "--rtsp-url contains a password: put the URL in an environment variable and pass "
            "--rtsp-url-env VAR instead, so it does not show in `ps` and shell history"
        )
    return SecretStr(rtsp_url)


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, named by the command-line option that supplied the value."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        where = OPTION_NAMES.get(field, field)
        if field == "maintenance_window" and len(error["loc"]) > 1:
            where += " " + ".".join(str(part) for part in error["loc"][1:])
        message = error["msg"].removeprefix(_VALUE_ERROR_PREFIX)
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
