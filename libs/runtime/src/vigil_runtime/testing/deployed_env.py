"""`settings_from_deployed_env`: load a service's settings from only what a deployment
manifest (compose, Kubernetes) sets, as a test of that manifest.

Every ``VIGIL_*`` variable the manifest sets must be a field of the settings class (a typo
or a setting the service no longer reads fails the test); the settings are then built from
those values alone (the caller's ``VIGIL_*`` environment and env file are removed).
Values that are compose interpolations (``${...}``) or unset (``valueFrom``) are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import TypeVar

import pytest

from vigil_runtime.settings import VigilSettings

__all__ = ["settings_from_deployed_env"]

S = TypeVar("S", bound=VigilSettings)


def settings_from_deployed_env(
    settings_cls: type[S],
    env: Mapping[str, object],
    monkeypatch: pytest.MonkeyPatch,
    *,
    prefixes: tuple[str, ...] = ("VIGIL_",),
    also_read: Collection[str] = (),
) -> S:
    """``settings_cls`` built from the manifest's ``env`` (see the module docstring).

    ``prefixes``: the variables that must each be read; ``also_read``: names among them the
    class reads besides its ``VIGIL_<field>`` ones (aliases such as ``ANTHROPIC_API_KEY``).
    """
    known = {f"VIGIL_{name.upper()}" for name in settings_cls.model_fields} | set(also_read)
    unknown = {name for name in env if name.startswith(prefixes)} - known
    assert not unknown, f"settings {settings_cls.__name__} does not read: {sorted(unknown)}"
    for name in list(os.environ):
        if name.startswith(prefixes):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIGIL_ENV_FILE", "/dev/null")
    for name, value in env.items():
        if value is not None and "${" not in str(value):
            monkeypatch.setenv(name, str(value))
    return settings_cls()
