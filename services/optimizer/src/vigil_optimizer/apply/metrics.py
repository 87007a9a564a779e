"""The apply engine's Prometheus metrics.

- ``vigil_optimizer_applies_total{status}``: finished applies by final ``applied_configs``
  status (``success``, ``partial``, ``failed``);
- ``vigil_optimizer_rollbacks_total{outcome}``: rollbacks after a failed or mismatching
  write: ``restored`` (the camera reads back its previous settings) or ``failed`` (it does
  not, or a rollback write or read failed: the camera is left in a mixed state).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

__all__ = ["APPLIES", "ROLLBACKS"]

APPLIES: Final = Counter(
    "vigil_optimizer_applies_total", "Camera setting applies finished, by final status", ["status"]
)
ROLLBACKS: Final = Counter(
    "vigil_optimizer_rollbacks_total",
    "Rollbacks of a failed apply, by outcome (restored or failed)",
    ["outcome"],
)
