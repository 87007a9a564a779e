"""Safe apply of recommended settings to a camera.

- :mod:`~vigil_optimizer.apply.policy`: whether a recommendation is applied now, waits for an
  approval or the maintenance window, or is not applied (pure);
- :mod:`~vigil_optimizer.apply.applier`: :class:`Applier` records and runs one apply (the
  ``applied_configs`` lifecycle, read back, rollback, audit, alert, metrics) over a
  :class:`~vigil_optimizer.camera_link.CameraLink`;
- :mod:`~vigil_optimizer.apply.lock`: one apply per camera at a time across replicas;
- :mod:`~vigil_optimizer.apply.redact`: no credential in anything stored.
"""

from vigil_optimizer.apply.applier import Applier, ApplyRequest, ApplyResult, NothingToApplyError
from vigil_optimizer.apply.lock import CameraBusyError
from vigil_optimizer.apply.policy import Action, CameraPolicy, PolicyDecision, Reason, decide
from vigil_optimizer.apply.records import UnknownCameraError
from vigil_optimizer.apply.redact import Redactor

__all__ = [
    "Action",
    "Applier",
    "ApplyRequest",
    "ApplyResult",
    "CameraBusyError",
    "CameraPolicy",
    "NothingToApplyError",
    "PolicyDecision",
    "Reason",
    "Redactor",
    "UnknownCameraError",
    "decide",
]
