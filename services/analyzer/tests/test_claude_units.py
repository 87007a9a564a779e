"""Pure parts of the Claude client: the tool schema and its validation, the severity cap,
cost, image preparation, the prompt, batch custom ids, rows, and settings without a key."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from vigil_analyzer.claude.client import ClaudeClient
from vigil_analyzer.claude.models import AnalysisRequest, ClaudeReply, custom_id, request_key
from vigil_analyzer.claude.prompt import PROMPT_TEMPLATE, build_messages, request_text
from vigil_analyzer.claude.rows import COLUMNS, analysis_row, error_row
from vigil_analyzer.claude.schema import SCENE_TOOL, SceneAnalysis, cap_severity
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.claude.cost import estimate_cost
from vigil_runtime.claude.image import image_tokens, jpeg_size, prepare_image
from vigil_schema.enums import AlertSeverity, AnalysisRequestType, RiskLevel
from vigil_tools.fake_anthropic import schema_instance
from vigil_tools.fake_anthropic.testing import jpeg_bytes

AT = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)


def answer(**overrides: Any) -> dict[str, Any]:
    """A valid tool input, with overrides."""
    value: dict[str, Any] = {
        "primary_insight": "A person waits at the door.",
        "scene_description": "One person stands at the loading dock door at night.",
        "confidence": 0.8,
        "objects": ["person", "door"],
        "activities": ["standing"],
        "anomalies": [],
        "risk_assessment": "medium",
        "pattern": "loitering",
        "pattern_confidence": 0.6,
        "should_alert": True,
        "alert_reason": "Person at the door after hours.",
        "alert_severity": "critical",
    }
    value.update(overrides)
    return value


def request(**overrides: Any) -> AnalysisRequest:
    fields: dict[str, Any] = {
        "key": request_key("cam-1", 7, AT),
        "camera_id": "cam-1",
        "jpeg": jpeg_bytes(640, 480),
        "request_type": AnalysisRequestType.ANOMALY_DETECTION,
        "captured_at": AT,
        "frame_number": 7,
        "objects": ["person #12 0.91 in zone door, stationary"],
        "zones": {"door": 1, "yard": 0},
        "scene_memory": ["Empty dock.", "A van left."],
    }
    fields.update(overrides)
    return AnalysisRequest(**fields)


def reply(analysis: SceneAnalysis | None, **overrides: Any) -> ClaudeReply:
    fields: dict[str, Any] = {
        "analysis": analysis,
        "error": None if analysis else "schema violation: x",
        "response": analysis.model_dump(mode="json") if analysis else {"tool_input": 42},
        "model": "claude-sonnet-4-5",
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_tokens": 1000,
        "cache_creation_tokens": 0,
        "duration_ms": 1200,
        "cost_usd": 0.001,
        "batch": False,
    }
    fields.update(overrides)
    return ClaudeReply(**fields)


def test_the_fakes_generated_answer_is_a_valid_analysis() -> None:
    generated = schema_instance.instance(SCENE_TOOL["input_schema"])
    assert schema_instance.violations(SCENE_TOOL["input_schema"], answer()) == []
    assert SceneAnalysis.model_validate(generated).primary_insight


@pytest.mark.parametrize(
    "bad",
    [
        {"confidence": 1.5},
        {"confidence": "0.5"},
        {"should_alert": "yes"},
        {"risk_assessment": "extreme"},
        {"alert_severity": "emergency"},
        {"objects": ["x"] * 26},
        {"primary_insight": ""},
        {"primary_insight": "x" * 301},
        {"extra": 1},
    ],
)
def test_invalid_answers_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SceneAnalysis.model_validate(answer(**bad))


def test_severity_defaults_and_never_exceeds_the_cap() -> None:
    critical = SceneAnalysis.model_validate(answer())
    assert critical.severity(AlertSeverity.WARNING) is AlertSeverity.WARNING
    assert critical.severity(AlertSeverity.CRITICAL) is AlertSeverity.CRITICAL
    unrated = SceneAnalysis.model_validate(answer(alert_severity=None))
    assert unrated.severity(AlertSeverity.CRITICAL) is AlertSeverity.WARNING
    assert unrated.severity(AlertSeverity.INFO) is AlertSeverity.INFO
    assert cap_severity(AlertSeverity.INFO, AlertSeverity.WARNING) is AlertSeverity.INFO


def test_cost_prices_cache_and_batches() -> None:
    prices = {"input_price_per_mtok": 3.0, "output_price_per_mtok": 15.0}
    full = estimate_cost(1_000_000, 0, 0, 0, batch=False, **prices)
    assert full == pytest.approx(3.0)
    assert estimate_cost(0, 0, 1_000_000, 0, batch=False, **prices) == pytest.approx(0.3)
    assert estimate_cost(0, 0, 0, 1_000_000, batch=False, **prices) == pytest.approx(3.75)
    assert estimate_cost(0, 1_000_000, 0, 0, batch=True, **prices) == pytest.approx(7.5)


def test_a_large_frame_is_resized_to_1568_on_its_long_edge() -> None:
    jpeg, width, height = prepare_image(jpeg_bytes(3000, 2000))
    assert (width, height) == (1568, 1045)
    assert jpeg_size(jpeg) == (1568, 1045)
    small = jpeg_bytes(1568, 800)
    assert prepare_image(small) == (small, 1568, 800)
    assert image_tokens(1500, 750) == 1500
    with pytest.raises(ValueError):
        prepare_image(b"not a jpeg")


def test_the_prompt_carries_frame_context_and_bounds_it() -> None:
    many = [f"car #{i} 0.80" for i in range(60)]
    text = request_text(request(objects=many, question="Is the gate open?"))
    assert "cam-1" in text
    assert "anomaly_detection" in text
    assert "door: 1" in text
    assert "Empty dock." in text
    assert "Is the gate open?" in text
    assert "car #39" in text
    assert "car #40" not in text
    assert "20 more" in text
    content = build_messages(request())[0]["content"]
    assert content[0]["source"]["media_type"] == "image/jpeg"
    assert content[1]["type"] == "text"


def test_custom_ids_fit_the_batch_api_and_differ_per_frame() -> None:
    a, b = custom_id(request_key("c" * 64, 1, AT)), custom_id(request_key("c" * 64, 2, AT))
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", a)
    assert a != b
    assert request_key("cam-1", 7, AT) == f"cam-1:7:{int(AT.timestamp() * 1000)}"


def test_an_analysis_row_maps_the_fields_in_column_order() -> None:
    analysis = SceneAnalysis.model_validate(answer())
    row = dict(zip(COLUMNS, analysis_row(request(), reply(analysis), created_at=AT), strict=True))
    assert "id" not in row
    assert len(row) == len(COLUMNS)
    assert row["objects_identified"] == ["person", "door"]
    assert row["risk_level"] == "medium"
    assert row["pattern_type"] == "loitering"
    assert row["request_type"] == "anomaly_detection"
    assert row["prompt_template"] == PROMPT_TEMPLATE
    assert row["input_tokens"] == 1100
    assert row["context_events"] == 2
    assert row["response"]["primary_insight"] == analysis.primary_insight


def test_error_rows_store_the_error_and_do_not_alert() -> None:
    invalid = analysis_row(request(), reply(None), created_at=AT)
    row = dict(zip(COLUMNS, invalid, strict=True))
    assert row["response"] == {"tool_input": 42, "error": "schema violation: x"}
    assert row["should_alert"] is False
    assert row["risk_level"] == RiskLevel.NONE.value
    failed = error_row(request(), "overloaded", model="m", created_at=AT)
    row = dict(zip(COLUMNS, failed, strict=True))
    assert row["response"] == {"error": "overloaded"}
    assert row["objects_identified"] == []


@pytest.mark.parametrize("key", [None, "", "  "])
def test_no_client_without_an_api_key(key: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "VIGIL_ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    if key is not None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    assert ClaudeClient.from_settings(AnalyzerSettings(_env_file=None)) is None
