"""What Claude is told about one analysed frame: :func:`build_request`.

The request carries the frame's JPEG (resized by the client when its long edge passes
1568 px), the detector's view of it in short lines (class, track, confidence, zones,
stationary), the objects each zone counts, the camera's last summaries (scene memory) and,
for a manual request, the operator's question. Detections are context, never instructions:
the system prompt says so (:mod:`.prompt`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from vigil_analyzer.claude.models import AnalysisRequest, request_key
from vigil_analyzer.claude.policy import Selection
from vigil_analyzer.pipeline import AnalysedFrame
from vigil_analyzer.tracking import TrackedObject

MAX_OBJECT_LINES: Final = 40
"""A crowded frame is summarised: the most confident objects first, then a count."""


def object_line(obj: TrackedObject, zones: Sequence[str]) -> str:
    """One object as Claude reads it, e.g. ``person #12 0.91 in door, stationary``."""
    track = f" #{obj.track_id}" if obj.track_id is not None else ""
    where = f" in {', '.join(zones)}" if zones else ""
    still = ", stationary" if obj.stationary else ""
    return f"{obj.class_name}{track} {obj.detection.confidence:.2f}{where}{still}"


def object_lines(frame: AnalysedFrame) -> list[str]:
    """The frame's objects as lines, at most :data:`MAX_OBJECT_LINES` (then a count)."""
    pairs = sorted(zip(frame.objects, frame.zones.zone_ids, strict=True),
                   key=lambda pair: -pair[0].detection.confidence)  # fmt: skip
    lines = [object_line(obj, zones) for obj, zones in pairs[:MAX_OBJECT_LINES]]
    if len(pairs) > MAX_OBJECT_LINES:
        lines.append(f"... and {len(pairs) - MAX_OBJECT_LINES} more objects")
    return lines


def build_request(
    frame: AnalysedFrame,
    selection: Selection,
    *,
    scene_memory: Sequence[str] = (),
    question: str | None = None,
) -> AnalysisRequest:
    """The request about ``frame`` for this selection."""
    incoming = frame.frame
    return AnalysisRequest(
        key=request_key(incoming.camera_id, incoming.frame_number, incoming.ts),
        camera_id=incoming.camera_id,
        jpeg=incoming.jpeg,
        request_type=selection.request_type,
        captured_at=incoming.ts,
        frame_number=incoming.frame_number,
        objects=object_lines(frame),
        zones=dict(frame.zone_counts),
        scene_memory=tuple(scene_memory),
        question=question,
    )
