"""vigil_migrations."""
