"""Test support for Vigil: the pytest plugin (``vigil_runtime.testing.plugin``) and helpers."""
