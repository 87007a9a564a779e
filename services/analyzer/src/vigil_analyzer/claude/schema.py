"""The scene-analysis tool Claude is forced to call, and its validated answer.

:data:`SCENE_TOOL` is the tool definition sent with every request (``tool_choice`` forces
it); its ``input_schema`` holds seed 001's Claude fields with length and item limits.
:class:`SceneAnalysis` validates a tool input with the same limits (unknown keys, wrong types
and out-of-range numbers are rejected; no coercion of strings to numbers or booleans).
Claude's alert severity is only advice: :meth:`SceneAnalysis.severity` and
:func:`cap_severity` never return more than the configured cap (an image can carry a prompt
injection).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vigil_schema.enums import AlertSeverity, RiskLevel

__all__ = ["SCENE_TOOL", "TOOL_NAME", "SceneAnalysis", "cap_severity"]

TOOL_NAME: Final = "record_scene_analysis"
INSIGHT_MAX: Final = 300
DESCRIPTION_MAX: Final = 2000
REASON_MAX: Final = 500
PATTERN_MAX: Final = 64
ITEM_MAX: Final = 120
ITEMS_MAX: Final = 25

_SEVERITY_ORDER: Final = (AlertSeverity.INFO, AlertSeverity.WARNING, AlertSeverity.CRITICAL)


def _text(max_length: int, description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}


def _list(description: str) -> dict[str, Any]:
    item = {"type": "string", "minLength": 1, "maxLength": ITEM_MAX}
    return {"type": "array", "items": item, "maxItems": ITEMS_MAX, "description": description}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


_PROPERTIES: Final[dict[str, Any]] = {
    "primary_insight": _text(INSIGHT_MAX, "The main takeaway, one sentence."),
    "scene_description": _text(DESCRIPTION_MAX, "What the frame shows, plainly."),
    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "objects": _list("Objects identified, short noun phrases."),
    "activities": _list("Activities or behaviours seen."),
    "anomalies": _list("Anything unusual or concerning (empty when nothing is)."),
    "risk_assessment": {"type": "string", "enum": [level.value for level in RiskLevel]},
    "pattern": _nullable(_text(PATTERN_MAX, "A pattern such as loitering, or null.")),
    "pattern_confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "should_alert": {"type": "boolean"},
    "alert_reason": _nullable(_text(REASON_MAX, "Why an operator should look, or null.")),
    "alert_severity": {
        "type": ["string", "null"],
        "enum": [*(s.value for s in _SEVERITY_ORDER), None],
    },
}

SCENE_TOOL: Final[dict[str, Any]] = {
    "name": TOOL_NAME,
    "description": "Record the analysis of one surveillance camera frame.",
    "input_schema": {
        "type": "object",
        "properties": _PROPERTIES,
        "required": list(_PROPERTIES),
        "additionalProperties": False,
    },
}

Item = Annotated[str, StringConstraints(min_length=1, max_length=ITEM_MAX)]
Items = Annotated[list[Item], Field(max_length=ITEMS_MAX)]
Unit = Annotated[float, Field(ge=0, le=1)]


class SceneAnalysis(BaseModel):
    """A valid `record_scene_analysis` input (strict types, the tool schema's limits)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    primary_insight: Annotated[str, StringConstraints(min_length=1, max_length=INSIGHT_MAX)]
    scene_description: Annotated[str, StringConstraints(min_length=1, max_length=DESCRIPTION_MAX)]
    confidence: Unit
    objects: Items
    activities: Items
    anomalies: Items
    risk_assessment: Annotated[RiskLevel, Field(strict=False)]
    pattern: Annotated[str, StringConstraints(min_length=1, max_length=PATTERN_MAX)] | None
    pattern_confidence: Unit | None
    should_alert: bool
    alert_reason: Annotated[str, StringConstraints(min_length=1, max_length=REASON_MAX)] | None
    alert_severity: Annotated[AlertSeverity, Field(strict=False)] | None

    def severity(self, cap: AlertSeverity) -> AlertSeverity:
        """The answer's severity (WARNING when it alerts without one, else INFO), capped."""
        default = AlertSeverity.WARNING if self.should_alert else AlertSeverity.INFO
        return cap_severity(self.alert_severity or default, cap)


def cap_severity(severity: AlertSeverity, cap: AlertSeverity) -> AlertSeverity:
    """`severity`, or `cap` when `severity` is above it."""
    return min(severity, cap, key=_SEVERITY_ORDER.index)
