"""Snapshot health on real photographs: clean ones are ok, degraded ones get the right anomaly.

The photographs are the analyzer's test pictures (``dog.jpg``, ``bus.jpg``, fetched by
``make models``) and scikit-image's scene photographs (``vigil_tools.camsim.photos``); the
degraded versions come from :func:`vigil_tools.photo_degrade.degrade` (the same degrader the
ONVIF simulator serves), or an exposure gain for over-exposure, all encoded as JPEG quality 90
the way a camera would send them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from vigil_analyzer.model_files import default_models_dir
from vigil_optimizer.health import HealthThresholds, measure_jpeg
from vigil_optimizer.health.assess import worst
from vigil_tools.camsim.photos import background_photos
from vigil_tools.photo_degrade import degrade_jpeg


def _testdata(name: str) -> Path:
    path = Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir()) / "testdata" / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make models`")
    return path


def _photos() -> dict[str, Image.Image]:
    paths = [_testdata("dog.jpg"), _testdata("bus.jpg"), *background_photos()]
    return {path.name: Image.open(path).convert("RGB") for path in paths}


PHOTOS = _photos()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _gain(image: Image.Image, gain: float) -> bytes:
    pixels = np.asarray(image, dtype=np.float32) * gain
    return _jpeg(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB"))


DEGRADATIONS: list[tuple[str, float, float, float, set[str]]] = [
    # label, darkness, noise σ, blur radius: the anomalies expected, no more, no fewer
    ("clean", 0.0, 0.0, 0.0, set()),
    ("dark", 0.85, 0.0, 0.0, {"too_dark"}),
    ("noisy", 0.0, 25.0, 0.0, {"high_noise"}),
    ("blurred", 0.0, 0.0, 6.0, {"blurred"}),
]


@pytest.mark.parametrize("photo", sorted(PHOTOS))
@pytest.mark.parametrize(("label", "darkness", "noise", "blur", "expected"), DEGRADATIONS)
def test_degraded_photographs_get_exactly_the_right_anomalies(
    photo: str, label: str, darkness: float, noise: float, blur: float, expected: set[str]
) -> None:
    jpeg = degrade_jpeg(PHOTOS[photo], darkness=darkness, noise=noise, blur=blur)
    health = measure_jpeg(jpeg).health
    assert health.anomaly_types() == expected, (label, health.metrics, health.anomalies)
    assert health.level == ("ok" if not expected else "critical"), health.metrics
    for anomaly in health.anomalies:
        assert anomaly["severity"] == "high"
        assert anomaly["message"]


def test_the_verdict_has_seed_000s_groups_and_the_measurements() -> None:
    assessment = measure_jpeg(degrade_jpeg(PHOTOS["bus.jpg"], darkness=0.85))
    metrics = assessment.health.metrics
    assert set(metrics) == {"exposure", "clipping", "noise", "motionBlur", "contrast"}
    assert metrics["exposure"] == {
        "status": "critical",
        "meanBrightness": round(assessment.measurements.mean_brightness, 1),
    }
    assert metrics["exposure"]["meanBrightness"] < 25
    assert set(metrics["clipping"]) == {"status", "darkShare", "brightShare"}
    assert metrics["noise"]["noiseLevel"] == round(assessment.measurements.noise_sigma, 2)
    assert metrics["motionBlur"]["blurScore"] == round(assessment.measurements.blur_score, 3)
    # the dark picture's contrast is low, but the exposure explains it: no second anomaly
    assert metrics["contrast"]["status"] != "ok"
    assert assessment.health.anomaly_types() == {"too_dark"}
    assert (assessment.measurements.width, assessment.measurements.height) == (810, 1080)
    assert assessment.health.snapshot_id is None


def test_over_exposure_is_too_bright_and_clipped_highlights_are_flagged_on_their_own() -> None:
    blown = measure_jpeg(_gain(PHOTOS["dog.jpg"], 2.5)).health
    assert blown.anomaly_types() == {"too_bright"}
    highlights = measure_jpeg(_gain(PHOTOS["bus.jpg"], 1.8)).health
    assert highlights.metrics["exposure"]["status"] == "ok"
    assert highlights.anomaly_types() == {"overexposed_highlights"}
    assert highlights.metrics["clipping"]["brightShare"] > 0.15


def test_crushed_shadows_and_mild_degradations_are_warnings() -> None:
    pixels = np.asarray(PHOTOS["bus.jpg"]).copy()
    pixels[: pixels.shape[0] * 3 // 10] = 0  # a black band over 30 % of the picture
    shadows = measure_jpeg(_jpeg(Image.fromarray(pixels, "RGB"))).health
    assert shadows.anomaly_types() == {"crushed_shadows"}
    assert shadows.anomalies[0]["severity"] == "medium"
    assert shadows.level == "warning"
    half_dark = measure_jpeg(degrade_jpeg(PHOTOS["rocket.jpg"], darkness=0.5)).health
    assert half_dark.anomaly_types() == {"too_dark"}
    assert half_dark.level == "warning"


def test_a_flat_grey_picture_is_blurred_and_without_contrast() -> None:
    grey = measure_jpeg(_jpeg(Image.new("RGB", (320, 240), (128, 128, 128)))).health
    assert grey.anomaly_types() == {"blurred", "low_contrast"}
    assert grey.level == "critical"


def test_thresholds_are_settings_the_service_can_override() -> None:
    jpeg = degrade_jpeg(PHOTOS["dog.jpg"], noise=10.0)
    assert measure_jpeg(jpeg).health.anomaly_types() == {"high_noise"}
    lenient = HealthThresholds.model_validate({"noise_warning": 12, "noise_critical": 20})
    assert measure_jpeg(jpeg, lenient).health.anomaly_types() == set()
    strict = HealthThresholds(noise_warning=1.0, noise_critical=2.0)
    clean = measure_jpeg(_jpeg(PHOTOS["dog.jpg"]), strict).health
    assert clean.anomaly_types() == {"high_noise"}
    assert "threshold 2" in clean.anomalies[0]["message"]


@pytest.mark.parametrize(
    "wrong",
    [
        {"noise_warning": 20, "noise_critical": 10},
        {"dark_warning": 20, "dark_critical": 30},
        {"blur_warning": 1, "blur_critical": 2},
        {"dark_warning": 210, "dark_critical": 200},
        {"shadow_clip_warning": 2},
        {"unknown_threshold": 1},
    ],
)
def test_inconsistent_thresholds_are_refused(wrong: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        HealthThresholds.model_validate(wrong)


def test_worst_orders_statuses() -> None:
    assert worst([]) == "ok"
    assert worst(["ok", "critical", "warning"]) == "critical"
    assert worst(["ok", "warning"]) == "warning"
