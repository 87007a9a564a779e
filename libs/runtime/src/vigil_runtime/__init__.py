"""vigil_runtime."""
