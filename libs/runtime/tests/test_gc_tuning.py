"""tune_gc: the collector settings every service process applies at start."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_freezes_start_up_objects_and_raises_the_gen0_threshold() -> None:
    out = _run(
        "import gc\nfrom vigil_runtime.gc_tuning import tune_gc\n"
        "tune_gc(50000)\nprint(gc.get_threshold()[0], gc.get_freeze_count() > 1000)"
    )
    assert out == "50000 True"


def test_zero_keeps_the_defaults() -> None:
    out = _run(
        "import gc\nfrom vigil_runtime.gc_tuning import tune_gc\n"
        "before = gc.get_threshold()\ntune_gc(0)\n"
        "print(gc.get_threshold() == before, gc.get_freeze_count())"
    )
    assert out == "True 0"
