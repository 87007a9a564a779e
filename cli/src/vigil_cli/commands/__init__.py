"""Subcommands of `vigil`, one module each."""
