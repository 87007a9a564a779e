"""`vigil status` (placeholder until implemented)."""

import click


@click.command(name="status")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
