"""`vigil stack up|down|status`: PostgreSQL, Redis and MQTT as local processes.

The servers run detached in a data folder (default ``.vigil``, or ``$VIGIL_DATA_DIR``) and
keep running after ``up`` returns; ``down`` and ``status`` find them through the state files
there. ``up`` writes ``<data dir>/stack.env`` with the ``VIGIL_*`` URLs that the services
and the other ``vigil`` commands read.
"""

from __future__ import annotations

from pathlib import Path

import click

from vigil_runtime.stack import SERVER_NAMES, LocalStack, StackError

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VIGIL_DATA_DIR",
    default=Path(".vigil"),
    show_default=True,
    help="Folder holding the servers' data, logs and state (env VIGIL_DATA_DIR).",
)


def parse_embedded(value: str | None) -> set[str]:
    """``all`` or a comma list of server names → the set of servers to run embedded."""
    if not value:
        return set()
    names = {part.strip() for part in value.split(",") if part.strip()}
    if names == {"all"}:
        return set(SERVER_NAMES)
    unknown = names - set(SERVER_NAMES)
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(sorted(unknown))}; use 'all' or {','.join(SERVER_NAMES)}"
        )
    return names


@click.group(name="stack")
def group() -> None:
    """Run PostgreSQL, Redis and an MQTT broker locally for development and demos."""


@group.command()
@data_dir_option
@click.option(
    "--embedded",
    metavar="all|postgres,redis,mqtt",
    help="Use the pip-installed embedded servers for these even if local binaries exist.",
)
def up(data_dir: Path, embedded: str | None) -> None:
    """Start the stack (reusing servers already running) and write the env file."""
    forced = parse_embedded(embedded)
    try:
        info = LocalStack(data_dir, force_embedded=forced).up()
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    env_file = data_dir.absolute() / "stack.env"
    urls = {"postgres": info.database_url, "redis": info.redis_url, "mqtt": info.mqtt_url}
    for name in SERVER_NAMES:
        click.echo(f"{name:<9} {info.backends[name]:<9} {urls[name]}")
    for warning in info.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(f"env file: {env_file}  (load with: set -a; . {env_file}; set +a)")


@group.command()
@data_dir_option
@click.option("--purge", is_flag=True, help="Also delete the servers' data (databases, queues).")
def down(data_dir: Path, purge: bool) -> None:
    """Stop every server of the stack."""
    try:
        LocalStack(data_dir).down(purge=purge)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stack stopped" + (" and its data deleted" if purge else ""))


@group.command()
@data_dir_option
def status(data_dir: Path) -> None:
    """Show each server's backend, pid, port and health. Exit code 1 if one is down."""
    report = LocalStack(data_dir).status()
    click.echo(f"{'SERVER':<9} {'BACKEND':<9} {'PID':>8} {'PORT':>6}  {'STATE':<8} URL")
    for name, entry in report.items():
        state = "running" if entry["alive"] else ("dead" if entry["pid"] else "stopped")
        click.echo(
            f"{name:<9} {entry['backend'] or '-':<9} {entry['pid'] or '-':>8} "
            f"{entry['port'] or '-':>6}  {state:<8} {entry['url'] or '-'}"
        )
    if not all(entry["alive"] for entry in report.values()):
        raise SystemExit(1)
