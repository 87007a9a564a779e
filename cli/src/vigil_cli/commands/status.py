"""`vigil status`: is Vigil up, and if not, what is missing?

One screen (or `--json`) with: the local stack's servers (when a stack data folder exists),
whether PostgreSQL and Redis answer, the registered cameras with their live state from
Redis and their event/reject rates over the last minute (`vigil_cli.camera_activity`), a
fleet total, every running service found through its heartbeat key
(`vigil:service:{name}:{instance}`), probed over HTTP on /healthz and /readyz, and every
Vigil stream with its bound and, per consumer group, its lag, pending entries and the
entries trimmed before the group read them (`vigil_runtime.stream_stats`), and retention:
per table the partitions made ahead, the oldest one and the size, the last retention run and
the rollups' lag (`vigil_cli.retention_activity`).

A dependency that is down is shown, not raised: the command exits 0 unless neither
PostgreSQL nor Redis can be reached.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
import click
import redis.asyncio as aioredis

from vigil_cli import alerting_activity, camera_activity, retention_activity
from vigil_cli.db import load_settings
from vigil_cli.output import echo_json, render_table
from vigil_cli.retention_views import render_status_section
from vigil_runtime.settings import ENV_FILE_VARIABLE, VigilSettings, redact_text, redacted_url
from vigil_runtime.stack import LocalStack
from vigil_runtime.stream_stats import read_stream_stats
from vigil_schema.streams import (
    ALL_STREAMS,
    SERVICE_KEY_PREFIX,
    STREAM_POLICIES,
    CameraStateField,
    camera_state_key,
)

DEFAULT_DATA_DIR = Path(".vigil")
TIMEOUT_S = 3.0
PROBE_TIMEOUT_S = 2.0


@dataclass
class Reach:
    """Whether a dependency answered, at which (password-free) address, and why not."""

    url: str
    ok: bool = False
    error: str | None = None


@dataclass
class StatusReport:
    """Everything `vigil status` shows; plain data so it renders as a table or as JSON."""

    postgres: Reach
    redis: Reach
    stack: dict[str, dict[str, Any]] | None = None
    cameras: list[dict[str, Any]] = field(default_factory=list)
    fleet: dict[str, Any] | None = None
    services: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)
    alerting: dict[str, Any] | None = None
    retention: dict[str, Any] | None = None

    @property
    def anything_reachable(self) -> bool:
        return self.postgres.ok or self.redis.ok

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _error_text(exc: BaseException) -> str:
    detail = str(exc).strip()
    return redact_text(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)


# --- collection --------------------------------------------------------------------------


async def collect_status(settings: VigilSettings, data_dir: Path | None) -> StatusReport:
    """Gather the report; every network step has a timeout and none raises."""
    report = StatusReport(
        postgres=Reach(redacted_url(settings.database_url)),
        redis=Reach(redacted_url(settings.redis_url)),
    )
    stack_task = asyncio.create_task(asyncio.to_thread(_stack_status, data_dir))
    client = aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
    )
    try:
        (cameras, rejects_1m, report.alerting), _, report.retention = await asyncio.gather(
            _cameras(settings.database_url, report.postgres),
            _ping(client, report.redis),
            retention_activity.collect_retention(
                settings.database_url, datetime.now(UTC), TIMEOUT_S
            ),
        )
        if report.redis.ok:
            report.cameras = await _with_live_state(client, cameras)
            report.services = await _services(client)
            report.streams = await _streams(client)
        else:
            report.cameras = cameras
    finally:
        await client.aclose()
    if report.postgres.ok and not report.postgres.error:
        report.fleet = camera_activity.fleet_summary(report.cameras, rejects_1m)
    report.stack = await stack_task
    return report


def _stack_status(data_dir: Path | None) -> dict[str, dict[str, Any]] | None:
    """The local stack's servers, when `data_dir` holds one (blocking: run in a thread)."""
    if data_dir is None or not data_dir.is_dir():
        return None
    return dict(LocalStack(data_dir).status())


async def _ping(client: aioredis.Redis, reach: Reach) -> None:
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await client.ping()
        reach.ok = True
    except Exception as exc:
        reach.error = _error_text(exc)


async def _cameras(
    url: str, reach: Reach
) -> tuple[list[dict[str, Any]], int | None, dict[str, Any] | None]:
    """Registered cameras with their last-minute counts, the fleet's rejects, the alerting."""
    try:
        conn = await asyncpg.connect(url, timeout=TIMEOUT_S)
    except Exception as exc:
        reach.error = _error_text(exc)
        return [], None, None
    reach.ok = True
    try:
        cameras = await camera_activity.fetch_cameras(conn, TIMEOUT_S)
        rejects = await camera_activity.fetch_all_rejects(conn, TIMEOUT_S)
        alerting = await alerting_activity.fetch_alerting(conn, TIMEOUT_S)
    except asyncpg.UndefinedTableError:
        reach.error = "missing tables: run `vigil migrate`"
        return [], None, None
    except asyncpg.UndefinedColumnError:
        reach.error = "old schema: run `vigil migrate`"
        return [], None, None
    except Exception as exc:
        reach.error = _error_text(exc)
        return [], None, None
    finally:
        await conn.close(timeout=TIMEOUT_S)
    return cameras, rejects, alerting


async def _with_live_state(
    client: aioredis.Redis, cameras: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add `status`, `last_seen` and its age from each camera's live-state hash."""
    async with client.pipeline(transaction=False) as pipe:
        for camera in cameras:
            pipe.hmget(camera_state_key(camera["id"]), _STATE_FIELDS)
        states = await pipe.execute() if cameras else []
    now = datetime.now(UTC)
    return [
        {
            **camera,
            "status": status,
            "last_seen": last_seen,
            "last_seen_age_s": camera_activity.age_seconds(last_seen, now),
            "analyzer": _analyzer_state(fps, objects, occupancy, analysed_at, now),
        }
        for camera, (status, last_seen, fps, objects, occupancy, analysed_at) in zip(
            cameras, states, strict=True
        )
    ]


_STATE_FIELDS: Final = [
    CameraStateField.STATUS, CameraStateField.LAST_SEEN, CameraStateField.ANALYZER_FPS,
    CameraStateField.ANALYZER_OBJECTS, CameraStateField.ANALYZER_OCCUPANCY,
    CameraStateField.ANALYZER_AT,
]  # fmt: skip
_ANALYZER_FRESH_S: Final = 60.0


def _analyzer_state(
    fps: str | None, objects: str | None, occupancy: str | None, at: str | None, now: datetime
) -> dict[str, Any] | None:
    """The analyzer's figures for a camera, or None if it analysed none in the last minute."""
    age = camera_activity.age_seconds(at, now) if at else None
    if age is None or age > _ANALYZER_FRESH_S:
        return None
    try:
        zones = json.loads(occupancy) if occupancy else {}
    except ValueError:
        zones = {}
    return {"fps": float(fps or 0), "objects": int(objects or 0), "occupancy": zones,
            "age_s": age}  # fmt: skip


async def _services(client: aioredis.Redis) -> list[dict[str, Any]]:
    """Every heartbeating service instance, probed on /healthz and /readyz."""
    beats: list[dict[str, str]] = []
    async for key in client.scan_iter(match=f"{SERVICE_KEY_PREFIX}*", count=200):
        beat = await client.hgetall(key)
        if beat:
            beats.append({str(k): str(v) for k, v in beat.items()})
    beats.sort(key=lambda beat: (beat.get("service", ""), beat.get("instance", "")))
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return list(await asyncio.gather(*(_probe(session, beat) for beat in beats)))


async def _streams(client: aioredis.Redis) -> list[dict[str, Any]]:
    """One row per stream and consumer group (a stream without groups: one row)."""
    rows: list[dict[str, Any]] = []
    for stream in ALL_STREAMS:
        try:
            stats = await read_stream_stats(client, stream)
        except Exception as exc:
            rows.append({"stream": stream, "error": _error_text(exc)})
            continue
        policy = STREAM_POLICIES[stream]
        age = policy.max_age
        base = {
            "stream": stream,
            "length": stats.length,
            "bound": f"{_duration(age) if age else 'no age'}, ~{policy.maxlen:,}",
            "start": policy.start if isinstance(policy.start, str) else _duration(policy.start),
        }
        if not stats.groups:
            rows.append({**base, "group": None})
        for group in stats.groups:
            rows.append({**base, "group": group.group, "consumers": group.consumers,
                         "pending": group.pending, "lag": group.lag,
                         "trimmed_unread": group.trimmed_unread})  # fmt: skip
    return rows


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _probe_host(beat: dict[str, str]) -> str:
    host = beat.get("host", "")
    return "127.0.0.1" if not host or host == socket.gethostname() else host


async def _probe(session: aiohttp.ClientSession, beat: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "service": beat.get("service"),
        "instance": beat.get("instance"),
        "state": beat.get("status"),
        "http_port": beat.get("http_port"),
        "version": beat.get("version"),
        "last_seen": beat.get("last_seen"),
        "live": False,
        "ready": False,
        "detail": None,
    }
    base = f"http://{_probe_host(beat)}:{beat.get('http_port')}"
    try:
        async with session.get(f"{base}/healthz") as resp:
            row["live"] = resp.status == 200
        async with session.get(f"{base}/readyz") as resp:
            row["ready"] = resp.status == 200
            if not row["ready"]:
                row["detail"] = _readyz_detail(await resp.json(content_type=None))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        row["detail"] = _error_text(exc)
    return row


def _readyz_detail(body: Any) -> str:
    if not isinstance(body, dict):
        return "unexpected /readyz answer"
    checks = body.get("checks") or {}
    failing = [f"{name}: {checks.get(name)}" for name in body.get("failing", [])]
    return "; ".join(failing) or str(body.get("status", "not ready"))


# --- rendering ---------------------------------------------------------------------------


def render_status(report: StatusReport) -> str:
    """The report as aligned plain-text sections."""
    sections: list[str] = []
    if report.stack is not None:
        rows = [
            (name, s.get("backend"), s.get("port"), s.get("pid"), s.get("alive"))
            for name, s in report.stack.items()
        ]
        sections.append(
            "Local stack\n" + render_table(["server", "backend", "port", "pid", "alive"], rows)
        )
    deps = [
        (name, reach.url, "ok" if reach.ok and not reach.error else reach.error or "unreachable")
        for name, reach in (("postgresql", report.postgres), ("redis", report.redis))
    ]
    sections.append("Dependencies\n" + render_table(["dependency", "url", "state"], deps))
    sections.append(_render_cameras(report))
    services = [
        (
            s["service"],
            s["instance"],
            s["http_port"],
            s["state"],
            s["live"],
            s["ready"],
            s["detail"],
        )
        for s in report.services
    ]
    headers = ["service", "instance", "port", "state", "live", "ready", "detail"]
    sections.append(f"Services ({len(services)})\n" + render_table(headers, services))
    if report.streams:
        sections.append(_render_streams(report.streams))
    if report.alerting is not None:
        sections.append(_render_alerting(report.alerting))
    if report.retention is not None:
        sections.append(render_status_section(report.retention))
    return "\n\n".join(sections)


def _render_alerting(alerting: dict[str, Any]) -> str:
    """Open alerts by severity, then deliveries per receiver over the last 24 hours."""
    opened = ", ".join(f"{sev} {n}" for sev, n in alerting["open_alerts"].items()) or "none"
    keys = ["receiver", "sent", "pending", "failed", "suppressed", "last_sent_at"]
    rows = [tuple(r[k] for k in keys) for r in alerting["receivers"]]
    return (
        f"Alerts (open: {opened})\n"
        + f"Notifications per receiver, last {alerting_activity.WINDOW_H} h\n"
        + render_table(keys, rows)
    )


def _render_streams(streams: list[dict[str, Any]]) -> str:
    """Streams: bound, new-group start, length; per group lag, pending, trimmed unread."""
    keys = ["stream", "bound", "start", "length", "group", "consumers", "lag", "pending",
            "trimmed_unread"]  # fmt: skip
    rows = [tuple(row.get("error") if key == "bound" and "error" in row else row.get(key)
                  for key in keys) for row in streams]  # fmt: skip
    headers = [*keys[:-1], "trimmed unread"]
    return "Streams\n" + render_table(headers, rows)


def _render_cameras(report: StatusReport) -> str:
    """The camera table (rates over the last minute) and the fleet total line under it."""
    rows = [
        (
            c["id"],
            c["name"],
            c["desired_state"],
            c.get("status"),
            camera_activity.format_age(c.get("last_seen_age_s")),
            c.get("events_1m"),
            c.get("events_per_s"),
            c.get("rejects_1m"),
            *_analyzer_columns(c.get("analyzer")),
        )
        for c in report.cameras
    ]
    headers = ["id", "name", "desired_state", "status", "last_seen", "events/min", "events/s",
               "rejects/min", "analyzed/s", "objects", "occupancy"]  # fmt: skip
    text = f"Cameras ({len(rows)})\n" + render_table(headers, rows)
    if report.fleet is not None:
        text += "\n" + camera_activity.render_fleet_line(report.fleet)
    return text


def _analyzer_columns(state: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    """analyzed/s, objects, occupancy (``zone=n``…) or blanks when the analyzer is idle."""
    if not state:
        return None, None, None
    zones = " ".join(f"{zone}={count}" for zone, count in state["occupancy"].items())
    return f"{state['fps']:.1f}", state["objects"], zones or None


def load_status_settings(data_dir: Path) -> VigilSettings:
    """Settings as the services see them; the stack env file of `data_dir` by default."""
    os.environ.setdefault(ENV_FILE_VARIABLE, str(data_dir / "stack.env"))
    return load_settings()


@click.command(name="status")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    envvar="VIGIL_DATA_DIR",
    show_default=True,
    help="Local stack data folder (its stack.env is read unless VIGIL_ENV_FILE is set).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(data_dir: Path, as_json: bool) -> None:
    """Show the stack, the cameras and the running services."""
    settings = load_status_settings(data_dir)
    report = asyncio.run(collect_status(settings, data_dir))
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(render_status(report))
    if not report.anything_reachable:
        raise SystemExit(1)
