"""A protocol double of a camera: an in-memory :class:`CameraLink` for the apply tests.

It is not a mock of an ONVIF library: it implements the optimizer's own ``CameraLink``
protocol over a settings state (a :class:`CameraSettings`), the way a camera behaves as seen
through that protocol, with the faults real cameras show, each switched on explicitly:

- ``refuse``: sections whose writes raise ``CameraError(kind="refused")`` (the error message
  carries ``leak`` when given, to check the applier never stores it);
- ``refuse_after_fields``: a refused write still changes this many of the section's fields
  first (a camera that applies half a configuration, then faults);
- ``ignore``: ``section.field`` names a write silently leaves unchanged (no error);
- ``round_fps``: frame rates are stored rounded to whole frames;
- ``fail_reads_from``: the n-th ``read_settings`` call (1-based) and later ones fail;
- ``refuse_writes_from``: the n-th write call and later ones are refused (e.g. the rollback).

Every write is logged in :attr:`writes`; :attr:`gate` (when set) is awaited by each write,
so a test can hold an apply midway; :attr:`was_read` is set by the first read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from vigil_optimizer.apply.verify import section_fields
from vigil_optimizer.camera_link import CameraError, Inspection
from vigil_schema.camera_settings import (
    SETTINGS_SECTIONS,
    CameraCapabilities,
    CameraSettings,
    SettingsSection,
)

_OPERATION = {
    "stream": "SetVideoEncoderConfiguration",
    "exposure": "SetImagingSettings",
    "lowLight": "SetImagingSettings",
    "image": "SetImagingSettings",
}


class CameraDouble:
    """See the module docstring."""

    def __init__(
        self,
        settings: CameraSettings,
        *,
        refuse: Collection[SettingsSection] = (),
        refuse_after_fields: int = 0,
        ignore: Collection[str] = (),
        round_fps: bool = False,
        fail_reads_from: int | None = None,
        refuse_writes_from: int | None = None,
        leak: str = "",
    ) -> None:
        self._state: dict[str, dict[str, Any]] = {
            section: fields
            for section in SETTINGS_SECTIONS
            if (fields := section_fields(settings, section))
        }
        self.refuse = set(refuse)
        self.refuse_after_fields = refuse_after_fields
        self.ignore = set(ignore)
        self.round_fps = round_fps
        self.fail_reads_from = fail_reads_from
        self.refuse_writes_from = refuse_writes_from
        self.leak = leak
        self.reads = 0
        self.writes: list[tuple[SettingsSection, dict[str, Any]]] = []
        self.gate: asyncio.Event | None = None
        self.was_read = asyncio.Event()
        self.closed = False

    @property
    def settings(self) -> CameraSettings:
        """The camera's current settings."""
        return CameraSettings.model_validate(self._state)

    async def inspect(self) -> Inspection:
        """No capabilities beyond the current settings (the applier does not inspect)."""
        return Inspection(capabilities=CameraCapabilities(), current=self.settings)

    async def read_settings(self, profile_token: str | None = None) -> CameraSettings:
        """The current settings, or a timeout from the ``fail_reads_from``-th read on."""
        self.reads += 1
        self.was_read.set()
        if self.fail_reads_from is not None and self.reads >= self.fail_reads_from:
            raise CameraError("GetImagingSettings", "timeout", f"no answer ({self.leak})")
        return self.settings

    async def write_settings(self, section: SettingsSection, settings: CameraSettings) -> None:
        """Store the fields set in ``section``, with the configured faults."""
        if self.gate is not None:
            await self.gate.wait()
        fields = section_fields(settings, section)
        self.writes.append((section, fields))
        operation = _OPERATION[section]
        numbered_refusal = (
            self.refuse_writes_from is not None and len(self.writes) >= self.refuse_writes_from
        )
        if section in self.refuse or numbered_refusal:
            self._store(section, dict(list(fields.items())[: self.refuse_after_fields]))
            raise CameraError(
                operation, "refused", f"ter:InvalidArgVal for user admin:{self.leak}@camera"
            )
        self._store(section, fields)

    def _store(self, section: str, fields: dict[str, Any]) -> None:
        group = self._state.setdefault(section, {})
        for name, value in fields.items():
            if f"{section}.{name}" in self.ignore:
                continue
            if name == "fps" and self.round_fps:
                value = float(round(value))
            group[name] = value

    async def close(self) -> None:
        """Mark the link closed."""
        self.closed = True
