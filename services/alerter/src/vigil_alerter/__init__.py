"""vigil_alerter."""
