"""vigil_retention."""
