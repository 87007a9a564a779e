"""Entry point of the `vigil` command: one click group per subcommand module."""

from __future__ import annotations

import click

from vigil_cli.commands import (
    alerts,
    ask,
    cameras,
    demo,
    migrate,
    optimize,
    recommendations,
    rejects,
    retention,
    silences,
    stack,
    status,
)


@click.group()
@click.version_option(package_name="vigil-cli")
def cli() -> None:
    """Vigil: event-driven camera analytics. Operator command."""


cli.add_command(stack.group)
cli.add_command(migrate.command)
cli.add_command(cameras.group)
cli.add_command(status.command)
cli.add_command(rejects.group)
cli.add_command(demo.command)
cli.add_command(ask.command)
cli.add_command(optimize.group)
cli.add_command(recommendations.group)
cli.add_command(alerts.group)
cli.add_command(silences.group)
cli.add_command(retention.group)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
