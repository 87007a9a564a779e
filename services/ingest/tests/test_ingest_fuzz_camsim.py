"""Fuzz with camsim's own malformed messages: ``bad_ratio`` traffic at a running vigil-ingest.

camsim replaces a share of its events, health samples and frames with messages broken one
of its :class:`~vigil_tools.camsim.BadKind` ways and names the reject reason each must get
(``EXPECTED_REASON``). This test holds the ingest and camsim to that contract, alongside the
Hypothesis fuzz of ``test_ingest_fuzz.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest

from vigil_tools.camsim import EXPECTED_REASON, BadKind

if TYPE_CHECKING:
    from services.ingest.tests.conftest import IngestHarness


@pytest.mark.slow
def test_camsim_bad_ratio_traffic_is_rejected_with_the_reasons_camsim_expects(
    ingest_harness: IngestHarness,
) -> None:
    """camsim's own malformed messages (``--bad-ratio``) among its events, health samples and
    frames: each is rejected with the reason camsim's ``EXPECTED_REASON`` names, and every
    good event and frame is stored."""
    harness = ingest_harness
    config = harness.fleet(
        "cs", 4, batch=5, fps=150.0, count=240, bad_ratio=0.3, health_interval_s=0.1,
        frame_fps=5.0, resolution=(160, 120), frame_pool=2, seed=11,
    )  # fmt: skip
    cameras = config.camera_ids()
    harness.register(cameras)
    with harness.ingest() as service:
        summary = harness.run_fleets(config)[0].result()
        assert summary["failed"] == summary["unacked"] == 0, summary
        expected = Counter[str]()
        for kind, count in summary["bad"].items():
            expected[EXPECTED_REASON[BadKind(kind)].value] += count
        assert len(expected) >= 5, f"too little variety: {summary['bad']}"
        assert min(summary["published"][kind] for kind in ("events", "health", "frames")) > 0
        mine = "SELECT count(*) FROM ingest_rejects WHERE camera_id = ANY(%s)"
        harness.wait_count(summary["published"]["bad"], mine, cameras)
        harness.wait_rows(cameras, summary["events"])
        by_reason = harness.rows(
            "SELECT reason, count(*) FROM ingest_rejects WHERE camera_id = ANY(%s) GROUP BY reason",
            cameras,
        )
        assert Counter(dict(by_reason)) == expected
        frames = "SELECT count(*) FROM frame_metadata WHERE camera_id = ANY(%s)"
        harness.wait_count(summary["published"]["frames"], frames, cameras)
        samples = (
            "SELECT count(DISTINCT (camera_id, ts)) FROM health_metrics WHERE camera_id = ANY(%s)"
        )
        harness.wait_count(summary["published"]["health"], samples, cameras)
        assert service.readyz()[0] == 200
