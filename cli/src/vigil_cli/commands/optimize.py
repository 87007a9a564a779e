"""`vigil optimize inspect|recommend|apply`: the optimizer from the operator's seat.

- ``inspect --host H --port P --user U --password PW`` reads any ONVIF camera, registered or
  not, directly from this machine (the optimizer's own ONVIF client) and prints its
  capabilities and current settings as JSON on stdout; what the camera lacks (Imaging, Media2,
  encoder options) is listed under ``missing``, never a crash. The password may come from
  ``VIGIL_ONVIF_PASSWORD`` instead of the command line.
- ``recommend CAMERA`` asks the optimizer (``vigil:optimizer:requests``) to inspect the camera,
  check its snapshot and recommend settings; ``--wait S`` prints the recommendation.
- ``apply ID`` approves recommendation ID (if it was only proposed) and asks the optimizer to
  apply it now, whatever the camera's policy; ``--wait S`` prints the outcome.

Every request is recorded in ``audit_log``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from vigil_cli.audit import os_actor, write_audit
from vigil_cli.camera_store import CameraNotFoundError, get_camera
from vigil_cli.db import Connection, connect, load_settings
from vigil_cli.optimizer_requests import (
    approve_and_request_apply,
    database_now,
    send_request,
    wait_for_apply,
    wait_for_recommendation,
)
from vigil_cli.output import echo_json
from vigil_cli.recommendation_views import recommendation_json
from vigil_optimizer.camera_link import CameraError
from vigil_optimizer.onvif import OnvifCameraLink, inspection_json
from vigil_runtime.logging import configure_logging
from vigil_schema.messages import OptimizerAction, OptimizerRequest


@click.group("optimize")
def group() -> None:
    """Inspect cameras over ONVIF, recommend and apply settings."""


async def _inspect(host: str, port: int, user: str, password: str, timeout_s: float) -> Any:
    async with OnvifCameraLink.connect(host, port, user, password, timeout_s=timeout_s) as link:
        return inspection_json(await link.inspect())


@group.command("inspect")
@click.option("--host", required=True, help="The camera's address.")
@click.option("--port", type=click.IntRange(1, 65535), default=80, show_default=True)
@click.option("--user", required=True)
@click.option("--password", required=True, envvar="VIGIL_ONVIF_PASSWORD",
              help="Or VIGIL_ONVIF_PASSWORD (keeps it out of the process list).")  # fmt: skip
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.5, 300), default=10.0,
              show_default=True, help="Seconds per ONVIF call.")  # fmt: skip
def inspect_command(host: str, port: int, user: str, password: str, timeout_s: float) -> None:
    """Print an ONVIF camera's capabilities and current settings as JSON."""
    configure_logging("WARNING", service="vigil-cli")  # stdout carries the JSON only
    try:
        echo_json(asyncio.run(_inspect(host, port, user, password, timeout_s)))
    except CameraError as exc:
        raise click.ClickException(f"{host}:{port}: {exc}") from None


def _known_camera(conn: Connection, camera_id: str) -> None:
    try:
        get_camera(conn, camera_id)
    except CameraNotFoundError:
        raise click.ClickException(f"no camera {camera_id!r} is registered") from None


@group.command("recommend")
@click.argument("camera_id")
@click.option("--wait", "wait_s", type=click.FloatRange(0, 3600), default=0.0,
              help="Seconds to wait for the recommendation and print it.")  # fmt: skip
def recommend_command(camera_id: str, wait_s: float) -> None:
    """Ask the optimizer to recommend settings for CAMERA_ID."""
    settings = load_settings()
    actor = os_actor()
    with connect(settings) as conn:
        _known_camera(conn, camera_id)
        since = database_now(conn)
        request = OptimizerRequest(camera_id=camera_id, action=OptimizerAction.RECOMMEND,
                                   requested_by=actor)  # fmt: skip
        request_id = send_request(settings, request)
        write_audit(conn, actor=actor, action="optimizer.recommend", entity_type="camera",
                    entity_id=camera_id, details={"request_id": request_id})  # fmt: skip
        conn.commit()
        if wait_s <= 0:
            click.echo(f"queued: request {request_id} (vigil recommendations list {camera_id})")
            return
        row = wait_for_recommendation(conn, camera_id, since, wait_s)
    if row is None:
        raise click.ClickException(
            f"no new recommendation within {wait_s:g} s (request {request_id}): the camera "
            "may need no change, or be unreachable (the optimizer's log says which)"
        )
    echo_json(recommendation_json(row))


@group.command("apply")
@click.argument("optimization_id", type=int)
@click.option("--wait", "wait_s", type=click.FloatRange(0, 3600), default=0.0,
              help="Seconds to wait for the outcome and print it.")  # fmt: skip
def apply_command(optimization_id: int, wait_s: float) -> None:
    """Approve recommendation OPTIMIZATION_ID and apply it now."""
    settings = load_settings()
    actor = os_actor()
    with connect(settings) as conn:
        last = conn.execute("SELECT coalesce(max(id), 0) AS id FROM applied_configs").fetchone()
        _row, request_id = approve_and_request_apply(conn, settings, optimization_id, actor)
        if wait_s <= 0:
            click.echo(f"queued: apply of recommendation {optimization_id} (request {request_id})")
            return
        applied = wait_for_apply(conn, optimization_id, int(last["id"] if last else 0), wait_s)
    if applied is None:
        raise click.ClickException(f"no outcome within {wait_s:g} s (request {request_id})")
    echo_json(
        {
            key: applied[key]
            for key in (
                "id",
                "camera_id",
                "optimization_id",
                "status",
                "applied_by",
                "error_message",
                "verification",
            )
        }
    )
    if applied["status"] != "success":
        raise SystemExit(1)
