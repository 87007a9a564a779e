"""Requests from the CLI to the optimizer over ``vigil:optimizer:requests``, and waiting for
their outcome in PostgreSQL.

:func:`send_request` appends an :class:`~vigil_schema.messages.OptimizerRequest` (enveloped
with its idempotency key) through the runtime's
:class:`~vigil_runtime.stream_producer.StreamProducer` (the stream's policy bound, one entry
per key) and returns its request id; the
optimizer replica that reads it does the work. :func:`wait_for_recommendation` and
:func:`wait_for_apply` poll the rows that work produces (the camera's first ``optimizations``
row created after the request; the first finished ``applied_configs`` row of the
optimization newer than the request) until a deadline, answering None when none came in time
(a review that finds nothing to change stores no row).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any, cast

import click
import redis
import redis.asyncio

from vigil_cli.audit import write_audit
from vigil_cli.db import Connection
from vigil_cli.recommendation_views import approve
from vigil_runtime.settings import VigilSettings, redact_text
from vigil_runtime.stream_producer import StreamProducer
from vigil_schema.messages import OptimizerAction, OptimizerRequest
from vigil_schema.streams import OPTIMIZER_REQUESTS, Envelope

POLL_S = 0.5
FINAL_APPLY_STATUSES = ("success", "failed", "partial", "rolled_back")


async def _publish(redis_url: str, envelope: Envelope) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=5)
    try:
        await StreamProducer(client).publish(OPTIMIZER_REQUESTS, envelope)
    finally:
        await client.aclose()


def send_request(settings: VigilSettings, request: OptimizerRequest) -> str:
    """Queue ``request`` for the optimizer; its request id."""
    try:
        asyncio.run(_publish(settings.redis_url, Envelope.wrap(request)))
    except (redis.RedisError, OSError) as exc:
        raise click.ClickException(f"Redis: {redact_text(str(exc))}") from None
    return request.request_id


def _poll(conn: Connection, query: str, args: tuple[Any, ...], wait_s: float) -> Any:
    deadline = time.monotonic() + wait_s
    while True:
        row = conn.execute(query, args).fetchone()
        conn.commit()
        if row is not None or time.monotonic() >= deadline:
            return row
        time.sleep(POLL_S)


def wait_for_recommendation(
    conn: Connection, camera_id: str, since: datetime, wait_s: float
) -> Any:
    """The camera's first ``optimizations`` row created at or after ``since`` (the database's
    clock), or None after ``wait_s``."""
    query = ("SELECT * FROM optimizations WHERE camera_id = %s AND created_at >= %s "
             "ORDER BY id LIMIT 1")  # fmt: skip
    return _poll(conn, query, (camera_id, since), wait_s)


def database_now(conn: Connection) -> datetime:
    """The database's clock (rows are stamped with it)."""
    row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    return cast(datetime, row["now"])


def wait_for_apply(conn: Connection, optimization_id: int, after_id: int, wait_s: float) -> Any:
    """The first finished ``applied_configs`` row of ``optimization_id`` newer than
    ``after_id``, or None after ``wait_s``."""
    query = ("SELECT * FROM applied_configs WHERE optimization_id = %s AND id > %s "
             "AND status = ANY(%s) ORDER BY id LIMIT 1")  # fmt: skip
    return _poll(conn, query, (optimization_id, after_id, list(FINAL_APPLY_STATUSES)), wait_s)


def approve_and_request_apply(
    conn: Connection, settings: VigilSettings, optimization_id: int, actor: str
) -> tuple[Any, str]:
    """Approve the recommendation and audit it, commit, then ask the optimizer to apply it
    (in that order: the optimizer never acts on an approval that was not committed); the
    approved row and the request id."""
    row = approve(conn, optimization_id, actor)
    request = OptimizerRequest(camera_id=row["camera_id"], action=OptimizerAction.APPLY,
                               requested_by=actor, optimization_id=optimization_id)  # fmt: skip
    details = {"request_id": request.request_id}
    write_audit(conn, actor=actor, action="optimizer.apply", entity_type="optimization",
                entity_id=str(optimization_id), details=details)  # fmt: skip
    conn.commit()
    try:
        return row, send_request(settings, request)
    except click.ClickException as exc:
        raise click.ClickException(
            f"recommendation {optimization_id} is approved, but the apply request was not "
            f"sent ({exc.message}); run `vigil optimize apply {optimization_id}` again"
        ) from None
