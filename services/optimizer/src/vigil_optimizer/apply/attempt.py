"""The camera side of one apply: read, write section by section, read back, roll back.

:func:`run_attempt` talks only to a :class:`~vigil_optimizer.camera_link.CameraLink` and
returns an :class:`Attempt`; the database rows, audit and alerts are the applier's. Steps:

1. read the current settings of the target profile (``previous``); if that fails nothing
   is written;
2. (the caller marks the row ``in_progress`` with ``previous``: :attr:`Hooks.on_previous`)
3. write each requested section in :data:`SETTINGS_SECTIONS` order, stopping at the first
   error;
4. read back and compare every requested field (:mod:`vigil_optimizer.apply.verify`);
5. on an error or a mismatch, roll back: every section that was written, and the section
   whose write failed if the camera reads back changed there (a refused write may still have
   changed some fields), is written again with the ``previous`` values of the requested
   fields, in reverse order; then read back once more and compared with ``previous``.

Any exception from the link counts as a camera error (links raise ``CameraError``, but a
transport may leak another): it is recorded, redacted, never raised, except cancellation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil_optimizer.apply.redact import Redactor
from vigil_optimizer.apply.verify import FieldCheck, compare_section, section_fields
from vigil_optimizer.camera_link import CameraError, CameraLink
from vigil_schema.camera_settings import SETTINGS_SECTIONS, CameraSettings, SettingsSection

__all__ = ["Attempt", "Hooks", "RollbackResult", "requested_sections", "run_attempt"]


def requested_sections(settings: CameraSettings) -> list[SettingsSection]:
    """The sections with at least one field set, in apply order."""
    return [s for s in SETTINGS_SECTIONS if _compared(section_fields(settings, s))]


def _compared(fields: dict[str, Any]) -> bool:
    return any(name != "profileToken" for name in fields)


@dataclass
class RollbackResult:
    """What the rollback wrote and whether the camera reads back its previous values."""

    sections: list[SettingsSection]
    checks: list[tuple[SettingsSection, FieldCheck]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unrestorable: list[str] = field(default_factory=list)

    @property
    def restored(self) -> bool:
        """Every rolled-back field reads back its previous value, and nothing failed."""
        return not self.errors and not self.unrestorable and all(c.ok for _, c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The ``rollback`` member of ``applied_configs.verification``."""
        return {
            "sections": list(self.sections),
            "restored": self.restored,
            "fields": {f"{s}.{c.field}": c.to_json() for s, c in self.checks},
            "errors": self.errors,
            "unrestorable": self.unrestorable,
        }


@dataclass
class Attempt:
    """The outcome of :func:`run_attempt` (the applier turns it into a status)."""

    sections: list[SettingsSection]
    previous: CameraSettings | None = None
    written: list[SettingsSection] = field(default_factory=list)
    failed_section: SettingsSection | None = None
    checks: list[tuple[SettingsSection, FieldCheck]] = field(default_factory=list)
    error: str | None = None
    first_write_at: datetime | None = None
    verified_at: datetime | None = None
    rollback: RollbackResult | None = None

    @property
    def mismatches(self) -> list[str]:
        """``section.field`` of every requested field that did not read back as asked."""
        return [f"{s}.{c.field}" for s, c in self.checks if not c.ok]

    def to_json(self) -> dict[str, Any]:
        """``applied_configs.verification``: expected vs read back per field, and the rollback."""
        return {
            "sections": list(self.sections),
            "written": list(self.written),
            "failed_section": self.failed_section,
            "fields": {f"{s}.{c.field}": c.to_json() for s, c in self.checks},
            "mismatches": self.mismatches,
            "rollback": None if self.rollback is None else self.rollback.to_json(),
        }


@dataclass(frozen=True)
class Hooks:
    """What the attempt needs from its caller: the clock, redaction, and a call once the
    previous settings are known (the row goes ``in_progress``)."""

    now: Callable[[], datetime]
    redact: Redactor
    on_previous: Callable[[CameraSettings], Awaitable[None]]


def _describe(exc: BaseException, redact: Redactor) -> str:
    """A camera error's own message; any other exception prefixed with its type."""
    text = str(exc) or type(exc).__name__
    return redact(text if isinstance(exc, CameraError) else f"{type(exc).__name__}: {text}")


def _profile(settings: CameraSettings) -> str | None:
    return settings.stream.profile_token if settings.stream is not None else None


async def run_attempt(link: CameraLink, settings: CameraSettings, hooks: Hooks) -> Attempt:
    """Apply ``settings`` through ``link`` (see the module docstring)."""
    attempt = Attempt(sections=requested_sections(settings))
    try:
        attempt.previous = await link.read_settings(_profile(settings))
    except Exception as exc:
        attempt.error = f"reading the current settings: {_describe(exc, hooks.redact)}"
        return attempt
    await hooks.on_previous(attempt.previous)
    await _write_sections(link, settings, attempt, hooks)
    if attempt.error is None:
        await _read_back(link, settings, attempt, hooks)
    if attempt.error is not None:
        attempt.rollback = await _roll_back(link, settings, attempt, hooks)
    return attempt


async def _write_sections(
    link: CameraLink, settings: CameraSettings, attempt: Attempt, hooks: Hooks
) -> None:
    for section in attempt.sections:
        try:
            await link.write_settings(section, settings)
        except Exception as exc:
            attempt.failed_section = section
            attempt.error = f"writing {section}: {_describe(exc, hooks.redact)}"
            return
        attempt.written.append(section)
        if attempt.first_write_at is None:
            attempt.first_write_at = hooks.now()


async def _read_back(
    link: CameraLink, settings: CameraSettings, attempt: Attempt, hooks: Hooks
) -> None:
    try:
        actual = await link.read_settings(_profile(settings))
    except Exception as exc:
        attempt.error = f"reading back: {_describe(exc, hooks.redact)}"
        return
    attempt.verified_at = hooks.now()
    attempt.checks = [
        (s, c) for s in attempt.sections for c in compare_section(settings, actual, s)
    ]
    if attempt.mismatches:
        details = ", ".join(
            f"{s}.{c.field} asked {c.expected!r}, read {c.actual!r}"
            for s, c in attempt.checks
            if not c.ok
        )
        attempt.error = hooks.redact(f"read back differs: {details}")


def _restore_settings(
    previous: CameraSettings, settings: CameraSettings, section: SettingsSection
) -> tuple[CameraSettings, list[str]]:
    """``previous``'s values of the fields ``settings`` set in ``section``, and the fields
    that have no previous value (the camera did not report them: they cannot be restored)."""
    before = section_fields(previous, section)
    wanted = section_fields(settings, section)
    values = {name: before[name] for name in wanted if before.get(name) is not None}
    if "profileToken" in wanted:
        values["profileToken"] = wanted["profileToken"]
    missing = [f"{section}.{name}" for name in wanted if before.get(name) is None]
    return CameraSettings.model_validate({section: values}), missing


def _changed(
    previous: CameraSettings, settings: CameraSettings, current: CameraSettings | None,
    section: SettingsSection,
) -> bool:  # fmt: skip
    """Whether ``section`` reads differently from ``previous`` (unknown: assume it does)."""
    if current is None:
        return True
    restore, _ = _restore_settings(previous, settings, section)
    return not all(c.ok for c in compare_section(restore, current, section))


async def _roll_back(
    link: CameraLink, settings: CameraSettings, attempt: Attempt, hooks: Hooks
) -> RollbackResult | None:
    assert attempt.previous is not None
    previous = attempt.previous
    targets = [*attempt.written]
    if attempt.failed_section is not None:
        current = await _read_or_none(link, settings)
        if _changed(previous, settings, current, attempt.failed_section):
            targets.append(attempt.failed_section)
    if not targets:
        return None
    result = RollbackResult(sections=targets)
    for section in reversed(targets):
        restore, missing = _restore_settings(previous, settings, section)
        result.unrestorable += missing
        try:
            await link.write_settings(section, restore)
        except Exception as exc:
            result.errors.append(f"writing {section}: {_describe(exc, hooks.redact)}")
    try:
        after = await link.read_settings(_profile(settings))
    except Exception as exc:
        result.errors.append(f"reading back: {_describe(exc, hooks.redact)}")
        return result
    attempt.verified_at = hooks.now()
    for section in targets:
        restore, _ = _restore_settings(previous, settings, section)
        result.checks += [(section, c) for c in compare_section(restore, after, section)]
    return result


async def _read_or_none(link: CameraLink, settings: CameraSettings) -> CameraSettings | None:
    try:
        return await link.read_settings(_profile(settings))
    except Exception:
        return None
