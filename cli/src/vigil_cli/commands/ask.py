"""`vigil ask CAMERA QUESTION`: ask Claude about what a camera sees now.

The question is queued in Redis (:data:`vigil_schema.streams.CLAUDE_QUESTIONS_KEY`, one per
camera: a newer question replaces one not yet answered); the analyzer replica that owns the
camera sends its next analysed frame with the question, as an urgent ``real_time_query``
within the same limits and budget as every other call, and stores the answer in
``claude_analyses``. The request is recorded in ``audit_log``. The camera must be registered.
"""

from __future__ import annotations

import click
import redis

from vigil_cli.audit import os_actor, write_audit
from vigil_cli.camera_store import CameraNotFoundError, get_camera
from vigil_cli.db import connect, load_settings
from vigil_runtime.settings import redact_text
from vigil_schema.streams import CLAUDE_QUESTIONS_KEY

MAX_QUESTION = 1000  # what the prompt keeps of a question


@click.command("ask")
@click.argument("camera_id")
@click.argument("question")
def command(camera_id: str, question: str) -> None:
    """Ask Claude QUESTION about CAMERA_ID's next analysed frame."""
    question = question.strip()
    if not question or len(question) > MAX_QUESTION or "\x00" in question:
        raise click.BadParameter(f"1 to {MAX_QUESTION} characters, no NUL", param_hint="QUESTION")
    settings = load_settings()
    with connect(settings) as conn:
        try:
            get_camera(conn, camera_id)
        except CameraNotFoundError:
            raise click.ClickException(f"no camera {camera_id!r} is registered") from None
        try:
            client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
            client.hset(CLAUDE_QUESTIONS_KEY, camera_id, question)
        except redis.RedisError as exc:
            raise click.ClickException(f"Redis: {redact_text(str(exc))}") from None
        write_audit(conn, actor=os_actor(), action="claude.ask", entity_type="camera",
                    entity_id=camera_id, details={"question": question})  # fmt: skip
    click.echo(f"queued: Claude answers on {camera_id}'s next analysed frame "
               "(claude_analyses, request_type real_time_query)")  # fmt: skip
