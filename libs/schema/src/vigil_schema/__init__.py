"""vigil_schema."""
