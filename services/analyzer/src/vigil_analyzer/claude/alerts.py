"""The alert candidate of an analysis that says ``should_alert``: :func:`claude_candidate`.

Claude's answer fills validated fields only, and its severity is capped
(``claude_severity_cap``): an image can carry a prompt injection, so nothing Claude writes
can page anyone harder than the operator allowed. The candidate's labels are ours (camera,
site, request type), never Claude's text, so its fingerprint cannot be steered by the image;
Claude's words go to the annotations, truncated.
"""

from __future__ import annotations

from typing import Final

from vigil_analyzer.claude.models import AnalysisRequest
from vigil_analyzer.claude.schema import SceneAnalysis
from vigil_schema.enums import AlertSeverity
from vigil_schema.messages import AlertCandidate

SOURCE: Final = "analyzer"
ALERTNAME: Final = "claude_alert"
_MAX_TEXT: Final = 1000


def _clip(text: str | None) -> str:
    return (text or "").replace("\x00", "")[:_MAX_TEXT]


def claude_candidate(
    request: AnalysisRequest,
    analysis: SceneAnalysis,
    *,
    cap: AlertSeverity,
    site: str | None = None,
) -> AlertCandidate:
    """The candidate for an analysis whose ``should_alert`` is true."""
    labels = {"request_type": request.request_type.value}
    if site:
        labels["site"] = site
    return AlertCandidate(
        source=SOURCE, alertname=ALERTNAME, severity=analysis.severity(cap),
        camera_id=request.camera_id, labels=labels,
        annotations={
            "summary": _clip(analysis.alert_reason or analysis.primary_insight),
            "description": _clip(analysis.scene_description),
            "risk": analysis.risk_assessment.value,
            "frame_number": str(request.frame_number),
            "analysis_key": request.key,
        },
        starts_at=request.captured_at,
    )  # fmt: skip
