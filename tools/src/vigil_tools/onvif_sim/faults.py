"""Injected misbehaviour of one camera, set at start or at run time (``POST /sim/<cam>/faults``).

* ``refuse_sets``: the next N Set operations answer a fault (``ter:OperationProhibited``)
  and change nothing;
* ``fail_imaging_after_encoder``: armed, the first SetImagingSettings after a successful
  SetVideoEncoderConfiguration faults (a partial apply across two calls); then disarms;
* ``drop_fields``: the next Set silently leaves these fields unchanged and still answers
  success (a partial apply the client sees only on read-back); imaging paths like
  ``"Brightness"`` or ``"Exposure/MaxExposureTime"``, encoder fields like ``"bitrate_limit"``;
* ``delay_s``: every SOAP answer waits this long first (a hanging camera, for timeouts);
* ``latency_ms``: realistic per-call latency added to every SOAP answer (0 for tests,
  50 to 200 for benchmarks).

:meth:`Faults.update` validates a JSON object and raises ValueError with a clear message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Faults"]


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number, got {value!r}")
    return float(value)


@dataclass
class Faults:
    """The current faults of one camera (see the module docstring)."""

    refuse_sets: int = 0
    fail_imaging_after_encoder: bool = False
    drop_fields: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    latency_ms: float = 0.0
    encoder_applied: bool = False  # internal: a SetVideoEncoderConfiguration succeeded

    def update(self, data: Mapping[str, Any]) -> None:
        """Apply a JSON object of fault settings; ``{"reset": true}`` clears all first."""
        known = {"reset", "refuse_sets", "fail_imaging_after_encoder", "drop_fields"}
        unknown = set(data) - known - {"delay_s", "latency_ms"}
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}")
        if data.get("reset"):
            latency = self.latency_ms
            self.__init__()  # type: ignore[misc]
            self.latency_ms = latency
        if "refuse_sets" in data:
            self.refuse_sets = int(_number(data, "refuse_sets"))
        if "fail_imaging_after_encoder" in data:
            if not isinstance(data["fail_imaging_after_encoder"], bool):
                raise ValueError("fail_imaging_after_encoder must be true or false")
            self.fail_imaging_after_encoder = data["fail_imaging_after_encoder"]
            self.encoder_applied = False
        if "drop_fields" in data:
            fields = data["drop_fields"]
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise ValueError("drop_fields must be a list of field names")
            self.drop_fields = list(fields)
        for key in ("delay_s", "latency_ms"):
            if key in data:
                setattr(self, key, _number(data, key))

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready view (without the internal ``encoder_applied`` flag)."""
        view = asdict(self)
        view.pop("encoder_applied")
        return view
