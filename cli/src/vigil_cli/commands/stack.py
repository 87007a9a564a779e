"""`vigil stack` (placeholder until implemented)."""

import click


@click.group(name="stack")
def group() -> None:
    """Not implemented yet."""
