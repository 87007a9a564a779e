"""`vigil migrate` (placeholder until implemented)."""

import click


@click.command(name="migrate")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
