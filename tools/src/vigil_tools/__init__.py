"""vigil_tools."""
