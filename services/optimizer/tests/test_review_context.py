"""The review's context from a registry row: the operator's hints in ``cameras.tags`` count as
numbers whether stored as JSON numbers or as the text ``vigil cameras set --tag k=v`` stores."""

from __future__ import annotations

from typing import Any

import pytest

from vigil_optimizer.camera_link import Inspection
from vigil_optimizer.camera_targets import CameraTarget
from vigil_optimizer.review import Reviewer
from vigil_schema.camera import CameraConfig, CameraCredentials
from vigil_schema.camera_settings import CameraCapabilities, CameraSettings


def target(tags: dict[str, Any]) -> CameraTarget:
    config = CameraConfig.model_validate({"id": "cam-1", "name": "Gate", "site": "hq",
                                          "purpose": "plates", "tags": tags})  # fmt: skip
    login = CameraCredentials.model_validate({"username": "u", "password": "p"})
    return CameraTarget(config, "127.0.0.1", 80, login)


@pytest.mark.parametrize(
    ("tags", "speed", "mains", "width"),
    [
        ({"speed_kmh": 90, "mains_hz": 60, "scene_width_m": 6.5}, 90.0, 60, 6.5),
        ({"speed_kmh": "90", "mains_hz": "60", "scene_width_m": "6.5"}, 90.0, 60, 6.5),
        ({"speed_kmh": "fast", "mains_hz": "sixty", "scene_width_m": "nan"}, None, 50, None),
        ({"speed_kmh": True, "lighting": 3}, None, 50, None),
        ({}, None, 50, None),
    ],
)
def test_hints_from_tags(
    tags: dict[str, Any], speed: float | None, mains: int, width: float | None
) -> None:
    inspection = Inspection(CameraCapabilities(), CameraSettings())
    context = Reviewer._context(target(tags), inspection, None, "manual", 4000)
    assert context.speed_kmh == speed
    assert context.mains_hz == mains
    assert context.extra.get("scene_width_m") == width
    assert context.lighting is None or isinstance(context.lighting, str)
    assert (context.site, context.purpose, context.bandwidth_kbps) == ("hq", "plates", 4000)
