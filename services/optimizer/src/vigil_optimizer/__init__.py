"""vigil_optimizer."""
