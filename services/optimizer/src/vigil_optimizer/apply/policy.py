"""Whether a recommendation is applied now, waits, or is not applied: :func:`decide`.

Pure: the camera's policy (``cameras.apply_policy``, ``maintenance_window``,
``auto_apply_min_confidence``), the recommendation's confidence, whether an operator
approved it, and the time in; a :class:`PolicyDecision` out. The rules, in order:

1. ``off``: never applied, approved or not (:attr:`Reason.POLICY_OFF`, :attr:`Action.SKIP`).
2. Not approved under ``manual``: wait for ``vigil recommendations approve``
   (:attr:`Reason.MANUAL`, :attr:`Action.AWAIT_APPROVAL`).
3. Not approved under ``auto``: no confidence, or one below the camera's threshold (the
   service default when the camera has none) is not applied on its own
   (:attr:`Reason.NO_CONFIDENCE` / :attr:`Reason.BELOW_THRESHOLD`, :attr:`Action.SKIP`; an
   operator may still approve it).
4. Approved, or ``auto`` above the threshold: applied now inside the maintenance window (or
   at any time without one); outside it, wait for the next opening
   (:attr:`Reason.OUTSIDE_WINDOW`, :attr:`Action.WAIT_WINDOW`, ``window_opens_at`` set).
   ``ignore_window`` (an operator's explicit "apply now") skips this rule.

Windows are wall-clock ``[start, end)`` in the window's time zone; one whose end is before its
start crosses midnight, and its ``days`` are the days it opens on (Friday's 22:00-02:00 window
covers Saturday 01:00). Across a DST change the wall clock is what counts; a start that falls
in the spring-forward gap (02:30 in Paris) opens as far past the gap as it was into it (03:30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final

from vigil_schema.camera import MaintenanceWindow
from vigil_schema.enums import ApplyPolicy

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "Action",
    "CameraPolicy",
    "PolicyDecision",
    "Reason",
    "decide",
    "in_window",
    "next_opening",
]

DEFAULT_MIN_CONFIDENCE: Final = 0.8
"""The ``auto`` threshold of a camera without its own ``auto_apply_min_confidence``."""


class Action(StrEnum):
    """What to do with a recommendation now."""

    APPLY = "apply"
    AWAIT_APPROVAL = "await_approval"
    WAIT_WINDOW = "wait_window"
    SKIP = "skip"


class Reason(StrEnum):
    """Why (see the module docstring)."""

    APPROVED = "approved"
    AUTO = "auto"
    MANUAL = "manual"
    POLICY_OFF = "policy_off"
    NO_CONFIDENCE = "no_confidence"
    BELOW_THRESHOLD = "below_threshold"
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True)
class CameraPolicy:
    """A camera's apply settings, as ``CameraConfig`` holds them."""

    policy: ApplyPolicy = ApplyPolicy.MANUAL
    window: MaintenanceWindow | None = None
    min_confidence: float | None = None


@dataclass(frozen=True)
class PolicyDecision:
    """The decision, a reason code, a sentence for logs and the CLI, and for
    :attr:`Action.WAIT_WINDOW` when the window next opens (UTC)."""

    action: Action
    reason: Reason
    detail: str
    window_opens_at: datetime | None = None


def decide(
    camera: CameraPolicy,
    *,
    confidence: float | None,
    now: datetime,
    approved: bool = False,
    ignore_window: bool = False,
    default_min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> PolicyDecision:
    """Decide for one recommendation; ``now`` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if camera.policy is ApplyPolicy.OFF:
        return PolicyDecision(Action.SKIP, Reason.POLICY_OFF, "the camera's apply policy is off")
    if not approved:
        gate = _unapproved_gate(camera, confidence, default_min_confidence)
        if gate is not None:
            return gate
    reason = Reason.APPROVED if approved else Reason.AUTO
    window = camera.window
    if window is None or ignore_window or in_window(window, now):
        where = "" if window is None or ignore_window else " inside the maintenance window"
        return PolicyDecision(Action.APPLY, reason, f"apply now ({reason.value}{where})")
    opens = next_opening(window, now)
    return PolicyDecision(
        Action.WAIT_WINDOW,
        Reason.OUTSIDE_WINDOW,
        f"outside the maintenance window {_describe(window)}; it opens at {opens.isoformat()}",
        window_opens_at=opens,
    )


def _unapproved_gate(
    camera: CameraPolicy, confidence: float | None, default_min_confidence: float
) -> PolicyDecision | None:
    """The decision for a recommendation nobody approved, ``None`` if ``auto`` lets it pass."""
    if camera.policy is ApplyPolicy.MANUAL:
        return PolicyDecision(
            Action.AWAIT_APPROVAL, Reason.MANUAL, "manual policy: waits for an operator's approval"
        )
    threshold = default_min_confidence if camera.min_confidence is None else camera.min_confidence
    if confidence is None:
        return PolicyDecision(
            Action.SKIP, Reason.NO_CONFIDENCE, "auto policy: the recommendation has no confidence"
        )
    if confidence < threshold:
        return PolicyDecision(
            Action.SKIP,
            Reason.BELOW_THRESHOLD,
            f"auto policy: confidence {confidence:.2f} is below the threshold {threshold:.2f}",
        )
    return None


def _describe(window: MaintenanceWindow) -> str:
    days = "" if window.days is None else " on days " + ",".join(map(str, window.days))
    return f"{window.start}-{window.end} {window.tz}{days}"


def _opens_on(window: MaintenanceWindow, day: date) -> bool:
    return window.days is None or day.weekday() in window.days


def in_window(window: MaintenanceWindow, now: datetime) -> bool:
    """Whether ``now`` (aware) lies inside the window."""
    local = now.astimezone(window.zone)
    clock = local.time().replace(tzinfo=None)
    start, end = window.start_time, window.end_time
    today = local.date()
    if not window.crosses_midnight:
        return start <= clock < end and _opens_on(window, today)
    if clock >= start:
        return _opens_on(window, today)
    return clock < end and _opens_on(window, today - timedelta(days=1))


def next_opening(window: MaintenanceWindow, now: datetime) -> datetime:
    """The first opening of the window after ``now``, in UTC."""
    local_day = now.astimezone(window.zone).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if not _opens_on(window, day):
            continue
        opening = datetime.combine(day, window.start_time, tzinfo=window.zone).astimezone(UTC)
        if opening > now:
            return opening
    raise AssertionError("a window opens at least once a week")  # pragma: no cover
