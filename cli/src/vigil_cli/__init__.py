"""The `vigil` operator command."""
