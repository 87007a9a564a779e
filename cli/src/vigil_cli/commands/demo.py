"""`vigil demo` (placeholder until implemented)."""

import click


@click.command(name="demo")
def command() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
