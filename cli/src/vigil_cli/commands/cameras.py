"""`vigil cameras` (placeholder until implemented)."""

import click


@click.group(name="cameras")
def group() -> None:
    """Not implemented yet."""
