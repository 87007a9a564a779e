"""One admitted Claude request and what is needed to finish it, possibly in another replica.

An :class:`Admitted` holds the request, the token reservation to settle and the camera's
site. Routine requests wait in a Message Batches API batch; their :meth:`Admitted.to_json`
form (the request without its JPEG) is kept in Redis with the batch id, so whichever replica
collects the batch's results can store, remember and alert exactly as the submitter would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil_analyzer.claude.models import AnalysisRequest
from vigil_runtime.token_budget import Reservation
from vigil_schema.enums import AnalysisRequestType


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request that passed the gates (see :mod:`.gates`)."""

    request: AnalysisRequest
    reservation: Reservation
    site: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form kept with a submitted batch (no JPEG, no scene memory)."""
        r = self.request
        return {
            "key": r.key, "camera_id": r.camera_id, "request_type": r.request_type.value,
            "captured_at": r.captured_at.isoformat(), "frame_number": r.frame_number,
            "question": r.question, "site": self.site,
            "reservation": [self.reservation.key, self.reservation.tokens],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Admitted:
        """The inverse of :meth:`to_json` (the request's JPEG and context are not kept)."""
        request = AnalysisRequest(
            key=str(data["key"]), camera_id=str(data["camera_id"]), jpeg=b"",
            request_type=AnalysisRequestType(data["request_type"]),
            captured_at=datetime.fromisoformat(str(data["captured_at"])),
            frame_number=int(data["frame_number"]), question=data.get("question"),
        )  # fmt: skip
        key, tokens = data["reservation"]
        return cls(request, Reservation(str(key), int(tokens)), data.get("site"))
