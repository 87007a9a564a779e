"""Routing: Alertmanager's routing tree, inhibition rules and silences, as pure functions of
label sets and the time (no I/O)."""
