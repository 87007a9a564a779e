"""Claude's answer, judged: used only when it is well formed and within the camera's options.

:func:`judge` reads the ``recommend_camera_settings`` tool input of a Messages API answer and
returns an :class:`Accepted` answer, or a :class:`Refused` one saying why:

- ``malformed``: no call of the tool, an answer cut short (``stop_reason`` ``max_tokens``),
  or an input that does not parse, strictly ("42" is not a number), as
  :class:`~vigil_schema.camera_settings.CameraSettings` plus ``confidence`` (a finite
  number), ``explanation`` (non-empty) and ``warnings``, or a stream group for another
  profile than the one the tool named;
- ``out_of_range``: settings that :func:`~vigil_optimizer.clamp.clamp` would change (a
  value outside the camera's options, a resolution or mode it does not list, a field it
  reports no options for, a profile it does not have): the answer was not checked against
  this camera, so none of it is trusted.

An accepted answer's settings are the clamped ones (equal up to the case of enumerated
values), its confidence is clamped to [0, 1], its explanation and warnings are bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from anthropic.types import Message
from pydantic import Field, ValidationError

from vigil_optimizer.clamp import clamp
from vigil_optimizer.claude.tool import MAX_EXPLANATION_CHARS, MAX_WARNINGS, TOOL_NAME
from vigil_runtime.claude.tool import tool_input, validation_error
from vigil_schema.camera_settings import CameraCapabilities, CameraSettings

__all__ = ["Accepted", "Refused", "judge"]

MAX_WARNING_CHARS = 300


class _Answer(CameraSettings):
    """The tool's input: the settings groups plus the answer's own fields."""

    confidence: float = Field(allow_inf_nan=False)
    explanation: str = Field(min_length=1)
    warnings: list[str] = Field(default_factory=list)

    def settings(self) -> CameraSettings:
        return CameraSettings(stream=self.stream, exposure=self.exposure,
                              low_light=self.low_light, image=self.image)  # fmt: skip


@dataclass(frozen=True)
class Accepted:
    """A valid answer within the camera's options."""

    settings: CameraSettings
    confidence: float
    explanation: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Refused:
    """An answer that is not used, and why."""

    outcome: Literal["malformed", "out_of_range"]
    reason: str
    tool_input: Any = None


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _parse(message: Message) -> _Answer | Refused:
    raw = tool_input(message, TOOL_NAME)
    if raw is None:
        return Refused("malformed", f"no {TOOL_NAME} call (stop_reason {message.stop_reason})")
    if message.stop_reason == "max_tokens":
        return Refused("malformed", "the answer was cut short (stop_reason max_tokens)", raw)
    try:
        return _Answer.model_validate(raw, strict=True)
    except ValidationError as exc:
        return Refused("malformed", validation_error(exc), raw)


def judge(
    message: Message, caps: CameraCapabilities, profile_token: str | None
) -> Accepted | Refused:
    """The answer to use, or why not (see the module docstring); ``profile_token`` is the
    profile the tool's stream group named."""
    answer = _parse(message)
    if isinstance(answer, Refused):
        return answer
    if not answer.explanation.strip():
        return Refused("malformed", "explanation: empty", answer.to_json())
    if answer.stream is not None and answer.stream.profile_token != profile_token:
        problem = f"stream.profileToken: {answer.stream.profile_token!r}, not {profile_token!r}"
        return Refused("malformed", problem, answer.to_json())
    settings, adjustments = clamp(answer.settings(), caps)
    if adjustments:
        problems = "; ".join(a.warning() for a in adjustments[:3])
        more = f" (+{len(adjustments) - 3} more)" if len(adjustments) > 3 else ""
        return Refused("out_of_range", problems + more, answer.to_json())
    warnings = [_clip(w, MAX_WARNING_CHARS) for w in answer.warnings if w.strip()]
    return Accepted(
        settings=settings,
        confidence=min(max(answer.confidence, 0.0), 1.0),
        explanation=_clip(answer.explanation, MAX_EXPLANATION_CHARS),
        warnings=warnings[:MAX_WARNINGS],
    )
