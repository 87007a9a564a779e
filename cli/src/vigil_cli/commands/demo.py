"""`vigil demo`: the whole platform on this machine with one command.

Starts the local stack (PostgreSQL, Redis, MQTT) in the data folder, writes its env file,
migrates the database as the owner's login and creates a login per role
(`vigil_runtime.stack.logins`), registers the demo cameras as the CLI's role (skipping those
already there), starts the simulated ONVIF cameras (`vigil_cli.demo_onvif`: a quarter of them
dark and noisy) and points the demo cameras at them, starts the webhook sink every alert is
routed to (`vigil_cli.demo_alerts`: the alerter runs with a demo configuration, whose rule
raises an alert for whatever the analyzer detects, sending HMAC-signed Alertmanager webhooks to
it), starts the five services as child processes, each connected to PostgreSQL as its own
role's login (logs in `<data dir>/logs/`), waits until every one answers /readyz, then starts
the camera fleet simulator `vigil-camsim` publishing for the demo cameras
(`vigil_cli.demo_fleet`, log in `<data dir>/logs/camsim.log`), waits until every demo camera's
events are in PostgreSQL, the analyzer's analyses, and the optimizer's recommendations (camsim
reports the dark cameras' health as degraded; an `auto` camera gets its recommendation applied
to the simulator), a notification at the webhook sink, and a finished vigil-retention run
(`vigil_cli.demo_retention`), and prints `vigil status` with each camera's rate and last-seen.
It then reprints the status every `--interval` seconds until Ctrl-C or SIGTERM, stops camsim
(which publishes its cameras' retained `offline` status), drains the services (SIGTERM, then
SIGKILL after a timeout) and stops the stack unless `--keep-stack`. `--once` shuts down right
after the first status, and fails when some camera's events did not arrive: the smoke test of
CI.

With the embedded MQTT broker (amqtt, MQTT 3.1.1 only) the stack env file carries
`VIGIL_MQTT_PROTOCOL=v311`: the ingest then subscribes without shared subscriptions and
camsim publishes over 3.1.1 without frames.

Exit status 0 when every service became ready, (with `--once`) every camera's events
arrived, and everything stopped cleanly; 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

import vigil_migrations
from vigil_cli import camera_store
from vigil_cli.audit import os_actor
from vigil_cli.commands.stack import data_dir_option, parse_embedded
from vigil_cli.commands.status import collect_status, render_status
from vigil_cli.db import connect
from vigil_cli.demo_alerts import (
    WebhookSinkProcess,
    alerter_env,
    start_webhook_sink,
    wait_for_notification,
)
from vigil_cli.demo_anthropic import analyzer_env, optimizer_claude_env, start_fake_anthropic
from vigil_cli.demo_fleet import (
    Camsim,
    demo_camera_ids,
    demo_cameras,
    start_camsim,
    wait_for_analysis,
    wait_for_events,
)
from vigil_cli.demo_onvif import (
    OnvifSim,
    camera_updates,
    degraded_count,
    demo_onvif_password,
    demo_secret_key,
    start_onvif_sim,
    wait_for_optimizer,
)
from vigil_cli.demo_retention import retention_env, wait_for_retention_run
from vigil_runtime.crypto import CredentialCipher
from vigil_runtime.settings import VigilSettings
from vigil_runtime.stack import LocalStack, StackError, StackInfo
from vigil_runtime.stack.logins import Logins, connected_users, login_name, prepare_database
from vigil_runtime.stack.procs import log_tail
from vigil_schema.roles import CLI, SERVICES, service_role

DEFAULT_BASE_PORT = 9101  # the services' own defaults: ingest 9101 … retention 9105
MAX_CAMERAS = 999  # camsim's ids have three digits
FIRST_STATUS_AFTER_S = 6.0  # camsim publishes at least this long before the first status
EVENTS_TIMEOUT_S = 45.0  # time for every demo camera's first events to be stored
ANALYSIS_TIMEOUT_S = 45.0  # time for the analyzer to analyse a frame of every demo camera
ALERT_TIMEOUT_S = 60.0  # group_wait (5 s) after the first detection, plus the delivery
OPTIMIZER_TIMEOUT_S = 60.0  # time for a recommendation and an automatic apply
SERVICE_GRACE_S = 10.0
KILL_AFTER_S = SERVICE_GRACE_S + 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_ports(base_port: int) -> dict[str, int]:
    """Ports of the services: consecutive from `base_port`, or free ones when it is 0."""
    if base_port == 0:
        return {name: _free_port() for name in SERVICES}
    return {name: base_port + offset for offset, name in enumerate(SERVICES)}


# --- database ----------------------------------------------------------------------------


def register_demo_cameras(settings: VigilSettings, count: int) -> list[str]:
    """Register the `count` demo cameras that are not there yet; their ids."""
    added: list[str] = []
    actor = os_actor()
    with connect(settings) as conn:
        for camera in demo_cameras(count):
            try:
                camera_store.add_camera(conn, camera, cipher=None, actor=actor)
            except camera_store.CameraExistsError:
                continue
            added.append(camera.id)
    return added


def point_cameras_at_onvif_sim(
    settings: VigilSettings, count: int, sim: OnvifSim, password: str
) -> None:
    """Give every demo camera its simulated ONVIF address, login and apply policy."""
    actor = os_actor()
    cipher = CredentialCipher.from_secret(settings.secret_key)
    with connect(settings) as conn:
        for camera_id, update in camera_updates(count, sim.base_port, password).items():
            camera_store.update_camera(conn, camera_id, update, cipher=cipher, actor=actor)


# --- services ----------------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """One service child process and where it logs."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def readyz(self) -> int | None:
        """HTTP status of /readyz, None when nothing answers."""
        url = f"http://127.0.0.1:{self.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2.0) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except (OSError, urllib.error.URLError):
            return None

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)


def start_services(
    info: StackInfo, logins: Logins, env_file: Path, ports: dict[str, int],
    extra_env: dict[str, dict[str, str]] | None = None,
) -> list[ServiceProcess]:  # fmt: skip
    """Start every service with the stack's env file, its own port and its own role's login
    (and `extra_env[name]`, e.g. the analyzer's Claude endpoint)."""
    log_dir = info.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    base_env = {
        **os.environ,
        **info.env(),
        "VIGIL_ENV_FILE": str(env_file),
        "VIGIL_HTTP_HOST": "127.0.0.1",
        "VIGIL_SHUTDOWN_GRACE_S": str(SERVICE_GRACE_S),
    }
    started: list[ServiceProcess] = []
    for name in SERVICES:
        log_path = log_dir / f"{name}.log"
        env = {
            **base_env,
            "VIGIL_HTTP_PORT": str(ports[name]),
            "VIGIL_DATABASE_URL": logins.service_url(name, info.database_url),
            **(extra_env or {}).get(name, {}),
        }
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", f"vigil_{name}.main"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we drain them in order
            )
        started.append(ServiceProcess(name, ports[name], log_path, process))
    return started


def wait_ready(services: list[ServiceProcess], timeout_s: float) -> list[str]:
    """Poll /readyz until all answer 200; the problems left when the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        problems = [_readiness_problem(service) for service in services]
        left = [problem for problem in problems if problem]
        exited = any(service.process.poll() is not None for service in services)
        if not left or exited or time.monotonic() >= deadline:
            return left
        time.sleep(0.25)


def _readiness_problem(service: ServiceProcess) -> str | None:
    code = service.process.poll()
    if code is not None:
        return f"{service.name} exited with status {code}:\n{service.log_tail()}"
    status = service.readyz()
    if status == 200:
        return None
    return f"{service.name} not ready on port {service.port} (/readyz: {status or 'no answer'})"


def stop_services(services: list[ServiceProcess]) -> dict[str, int]:
    """SIGTERM all, wait for them to drain, SIGKILL the stragglers; exit codes by name."""
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + KILL_AFTER_S
    codes: dict[str, int] = {}
    for service in services:
        try:
            codes[service.name] = service.process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            service.process.kill()
            codes[service.name] = service.process.wait()
    return codes


# --- signals -----------------------------------------------------------------------------


@contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT/SIGTERM while the block runs (handlers restored after)."""
    event = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# --- command -----------------------------------------------------------------------------


def _echo_stack(info: StackInfo, env_file: Path) -> None:
    backends = ", ".join(f"{name}={backend}" for name, backend in info.backends.items())
    click.echo(f"stack up in {info.data_dir} ({backends}); env file {env_file}")
    for warning in info.warnings:
        click.echo(f"warning: {warning}", err=True)


def _print_status(settings: VigilSettings, data_dir: Path) -> None:
    report = asyncio.run(collect_status(settings, data_dir))
    click.echo(f"\n=== vigil status ({time.strftime('%H:%M:%S')}) ===")
    click.echo(render_status(report))


@dataclass(frozen=True)
class DemoOptions:
    """How the demo runs (the command's options)."""

    camera_count: int
    once: bool
    interval: float
    ready_timeout: float


def _start_fleet(info: StackInfo, count: int) -> Camsim:
    camsim = start_camsim(info, count, degraded_count(count))
    protocol = info.env().get("VIGIL_MQTT_PROTOCOL", "v5")
    frames = "with frames" if protocol == "v5" else "no frames (MQTT 3.1.1)"
    click.echo(f"camsim publishing for {count} cameras, {frames}; log {camsim.log_path}")
    return camsim


def _events_arrived(
    settings: VigilSettings, camsim: Camsim, count: int, stop: threading.Event
) -> bool:
    """Wait for every demo camera's first events in PostgreSQL (and camsim to have published
    a few seconds, so the first status shows rates); False, and why, if some are missing."""
    ids = demo_camera_ids(count)
    rows = wait_for_events(
        settings.database_url, ids, camsim, stop,
        min_s=FIRST_STATUS_AFTER_S, timeout_s=EVENTS_TIMEOUT_S,
    )  # fmt: skip
    missing = [camera_id for camera_id, n in rows.items() if n == 0]
    click.echo(f"camera_events rows: {sum(rows.values())} from {count - len(missing)} cameras")
    if missing and not stop.is_set():  # after Ctrl-C, missing rows are no news
        click.echo(f"error: no events stored for {', '.join(missing)}", err=True)
        if not camsim.running:
            click.echo(f"camsim exited:\n{camsim.log_tail()}", err=True)
    return not missing


def _frames_analysed(
    info: StackInfo, settings: VigilSettings, count: int, stop: threading.Event
) -> bool:
    """With frames (MQTT v5): wait for the analyzer to analyse a frame of every camera and
    say what it stored; False, and why, if some camera's frames were not analysed."""
    if info.env().get("VIGIL_MQTT_PROTOCOL", "v5") != "v5":
        return True  # MQTT 3.1.1 carries no frames: nothing to analyse
    waiting, (detections, cameras, occupancy, analyses) = wait_for_analysis(
        settings.redis_url, settings.database_url, demo_camera_ids(count), stop,
        timeout_s=ANALYSIS_TIMEOUT_S,
    )  # fmt: skip
    click.echo(f"analyzer: detections rows {detections} from {cameras} cameras, "
               f"occupancy_events rows {occupancy}, claude_analyses rows {analyses}")  # fmt: skip
    if waiting and not stop.is_set():
        click.echo(f"error: no frame analysed for {', '.join(waiting)}", err=True)
    return not waiting


def _alerts_notified(info: StackInfo, sink: WebhookSinkProcess, stop: threading.Event) -> bool:
    """With frames (MQTT v5): wait for the alerter to notify the demo webhook of an alert
    (its demo rule over the analyzer's detections); False, and why, if none came."""
    if info.env().get("VIGIL_MQTT_PROTOCOL", "v5") != "v5":
        return True  # no frames, no detections: nothing raises an alert this early
    if wait_for_notification(sink, stop, ALERT_TIMEOUT_S):
        click.echo(f"alerter: {sink.received()} notification(s) at the webhook sink {sink.url}")
        return True
    if not stop.is_set():
        click.echo(f"error: no notification reached {sink.url} within {ALERT_TIMEOUT_S:.0f} s",
                   err=True)  # fmt: skip
    return False


def _optimizer_worked(settings: VigilSettings, count: int, stop: threading.Event) -> bool:
    """Wait for the optimizer to recommend for the degraded cameras and apply on an ``auto``
    one; say what it stored; False, and why, when nothing came."""
    recommended, waiting, applied, snapshots = wait_for_optimizer(
        settings.database_url, demo_camera_ids(count), stop, timeout_s=OPTIMIZER_TIMEOUT_S
    )
    click.echo(f"optimizer: snapshots {snapshots}, recommendations {recommended} "
               f"({waiting} waiting for `vigil recommendations approve`), applied {applied}; "
               "see `vigil recommendations list`")  # fmt: skip
    if (not recommended or not applied) and not stop.is_set():
        click.echo("error: the optimizer did not recommend and apply in time", err=True)
    return recommended > 0 and applied > 0


def _retention_ran(settings: VigilSettings, stop: threading.Event) -> bool:
    """Wait for vigil-retention's first run; say how it went; False, and why, unless it
    succeeded."""
    run = wait_for_retention_run(settings.database_url, stop)
    if run is None:
        if not stop.is_set():
            click.echo("error: vigil-retention finished no run in time", err=True)
        return False
    click.echo(f"retention: last run {run['status']}, {run['actions']} actions; see "
               "`vigil status` and `vigil retention show`")  # fmt: skip
    if run["status"] != "succeeded":
        click.echo(f"error: the retention run failed: {run['error']}", err=True)
    return bool(run["status"] == "succeeded")


def _stop_fleet(camsim: Camsim | None) -> bool:
    if camsim is None:
        return True
    click.echo("stopping camsim…")
    code = camsim.stop()
    if code != 0:
        click.echo(f"error: camsim exited with status {code}:\n{camsim.log_tail()}", err=True)
    return code == 0


def _services_use_their_roles(settings: VigilSettings) -> bool:
    """Print who is connected to PostgreSQL; False (and why) unless every service's login
    is there and nobody else is."""
    users = connected_users(settings.database_url)
    expected = {login_name(service_role(name)) for name in SERVICES}
    click.echo(f"connected to PostgreSQL as: {', '.join(sorted(users))}")
    if users != expected:
        click.echo(f"error: expected exactly {', '.join(sorted(expected))}", err=True)
    return users == expected


def _cli_settings(info: StackInfo, logins: Logins) -> VigilSettings:
    """The demo's own queries (cameras, status) run as the CLI's role, like `vigil` would,
    with the demo's secret key (the cameras' ONVIF logins)."""
    return VigilSettings(database_url=logins.url(CLI, info.database_url),
                         redis_url=info.redis_url, mqtt_url=info.mqtt_url,
                         secret_key=demo_secret_key(info.data_dir))  # fmt: skip


def _optimizer_env(info: StackInfo, claude: dict[str, str]) -> dict[str, str]:
    """The optimizer decrypts the demo cameras' logins, keeps snapshots in the data folder and
    asks the demo's Claude. camsim's ``fps_actual`` is its event rate, not a video stream's:
    the frame-rate health check is off."""
    return {"VIGIL_SECRET_KEY": demo_secret_key(info.data_dir),
            "VIGIL_SNAPSHOT_DIR": str(info.data_dir / "snapshots"),
            "VIGIL_HEALTH_MIN_FPS_RATIO": "off", **claude}  # fmt: skip


def _run_services(
    info: StackInfo, logins: Logins, env_file: Path, ports: dict[str, int], options: DemoOptions
) -> bool:
    """Start the services and camsim, show status until stopped, stop them; True when all
    went well."""
    settings = _cli_settings(info, logins)
    claude = start_fake_anthropic(info.data_dir)
    click.echo(f"Claude: vigil-fake-anthropic on {claude.base_url} (no request leaves the box)")
    password = demo_onvif_password(info.data_dir)
    try:
        sim = start_onvif_sim(info.data_dir, options.camera_count, password)
    except RuntimeError as exc:
        claude.stop()
        raise click.ClickException(str(exc)) from None
    point_cameras_at_onvif_sim(settings, options.camera_count, sim, password)
    click.echo(f"ONVIF: vigil-onvif-sim, {options.camera_count} cameras from port "
               f"{sim.base_port}; log {sim.log_path}")  # fmt: skip
    try:
        sink = start_webhook_sink(info.data_dir)
    except RuntimeError as exc:
        claude.stop()
        sim.stop()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Alerts: every alert to the webhook sink {sink.url}, recorded in {sink.records}")
    extra = {"analyzer": analyzer_env(claude),
             "optimizer": _optimizer_env(info, optimizer_claude_env(claude)),
             "alerter": alerter_env(info.data_dir, sink, ports["alerter"]),
             "retention": retention_env(info.data_dir)}  # fmt: skip
    services = start_services(info, logins, env_file, ports, extra)
    click.echo(f"started {', '.join(SERVICES)}; logs in {info.data_dir / 'logs'}")
    camsim: Camsim | None = None
    ok = True
    try:
        with stop_requested() as stop:
            problems = wait_ready(services, options.ready_timeout)
            for problem in problems:
                click.echo(f"error: {problem}", err=True)
            ok = not problems and _services_use_their_roles(settings)
            if ok:
                camsim = _start_fleet(info, options.camera_count)
                arrived = _events_arrived(settings, camsim, options.camera_count, stop)
                arrived = _frames_analysed(info, settings, options.camera_count, stop) and arrived
                arrived = _optimizer_worked(settings, options.camera_count, stop) and arrived
                arrived = _alerts_notified(info, sink, stop) and arrived
                arrived = _retention_ran(settings, stop) and arrived
                ok = arrived or not options.once  # interactive: keep running, let them look
            _print_status(settings, info.data_dir)
            while ok and not options.once and not stop.wait(options.interval):
                _print_status(settings, info.data_dir)
    finally:
        fleet_ok = _stop_fleet(camsim)
        click.echo("stopping the services…")
        codes = stop_services(services)
        claude.stop()
        sim.stop()
        sink.stop()
    failed = {name: code for name, code in codes.items() if code != 0}
    for name, code in failed.items():
        click.echo(f"error: {name} exited with status {code}", err=True)
    return ok and fleet_ok and not failed


@click.command(name="demo")
@data_dir_option
@click.option(
    "--cameras",
    "camera_count",
    type=click.IntRange(1, MAX_CAMERAS),
    default=8,
    show_default=True,
    help="How many simulated cameras to register and feed.",
)
@click.option(
    "--base-port",
    type=click.IntRange(0, 65535 - len(SERVICES)),
    default=DEFAULT_BASE_PORT,
    show_default=True,
    help="HTTP port of the first service, the others follow; 0 picks free ports.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=10.0,
    show_default=True,
    help="Seconds between status reprints.",
)
@click.option(
    "--ready-timeout",
    type=click.FloatRange(min=1),
    default=90.0,
    show_default=True,
    help="Seconds to wait for every service to become ready.",
)
@click.option(
    "--embedded",
    metavar="all|postgres,redis,mqtt",
    help="Use the pip-installed embedded servers for these even if local binaries exist.",
)
@click.option("--once", is_flag=True, help="Bring up, check events arrive, print status, stop.")
@click.option("--keep-stack", is_flag=True, help="Leave PostgreSQL/Redis/MQTT running after.")
def command(
    data_dir: Path, camera_count: int, base_port: int, interval: float, ready_timeout: float,
    embedded: str | None, once: bool, keep_stack: bool,
) -> None:  # fmt: skip
    """Run the whole platform locally on a simulated camera fleet."""
    stack = LocalStack(data_dir, force_embedded=parse_embedded(embedded))
    try:
        info = stack.up()
    except StackError as exc:
        raise click.ClickException(f"could not start the stack: {exc}") from exc
    try:
        env_file = info.write_env()
        _echo_stack(info, env_file)
        logins = prepare_database(info.database_url, vigil_migrations.upgrade)
        click.echo("migrated as vigil_owner_login; every service connects as its own role")
        added = register_demo_cameras(_cli_settings(info, logins), camera_count)
        click.echo(f"demo cameras: {len(added)} registered, {camera_count - len(added)} existed")
        options = DemoOptions(camera_count, once, interval, ready_timeout)
        ok = _run_services(info, logins, env_file, service_ports(base_port), options)
    finally:
        if not keep_stack:
            click.echo("stopping the stack…")
            stack.down()
    if not ok:
        raise SystemExit(1)
