"""The per-site bandwidth allocation, alone and with the engine fitting each camera's share.

Property: for any budget and any cameras the shares sum to at most the budget, each is at
least the floor (or the equal split when the budget cannot give every floor) and at most
what its stream needs (or the floor). Examples: scarcity favours plates over overview and a
4 MP stream over a 720p one; bad input is a clear error. End to end: the shares of a site go
into the engine's contexts and the recommended bit rates fit the budget.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil_optimizer.heuristic import CameraDemand, HeuristicEngine, allocate_bandwidth
from vigil_optimizer.heuristic.allocation import FLOOR_KBPS
from vigil_optimizer.recommendation import RecommendationContext
from vigil_schema.camera_settings import (
    CameraCapabilities,
    CameraSettings,
    EncoderOptions,
    ProfileInfo,
    Range,
    Resolution,
)

R4MP, R1080, R720 = (Resolution(width=w, height=h) for w, h in
                     ((2688, 1512), (1920, 1080), (1280, 720)))  # fmt: skip

demands = st.builds(
    CameraDemand,
    camera_id=st.just(""),
    purpose=st.sampled_from(["plates", "facial", "overview", "detection", "other", None]),
    resolution=st.one_of(st.none(), st.sampled_from([R4MP, R1080, R720])),
    fps=st.one_of(st.none(), st.floats(min_value=-5, max_value=60), st.just(math.nan)),
    encoding=st.sampled_from(["H264", "H265", "JPEG", None]),
)


@settings(max_examples=300, deadline=None)
@given(
    budget=st.one_of(st.integers(0, 200_000), st.floats(0, 200_000, allow_nan=False)),
    cameras=st.lists(demands, max_size=40),
)
def test_shares_never_exceed_the_budget(budget: float, cameras: list[CameraDemand]) -> None:
    """Sum ≤ budget; every share ≥ the floor (or equal split) and ≤ max(need, floor)."""
    cameras = [
        CameraDemand(f"cam-{i}", c.purpose, c.resolution, c.fps, c.encoding)
        for i, c in enumerate(cameras)
    ]
    shares = allocate_bandwidth(budget, cameras)
    assert set(shares) == {c.camera_id for c in cameras}
    assert sum(shares.values()) <= budget
    if cameras:
        floor = math.floor(min(FLOOR_KBPS, budget / len(cameras)))
        for camera in cameras:
            assert floor <= shares[camera.camera_id] <= max(camera.need_kbps(), FLOOR_KBPS)


def test_scarcity_favours_plates_and_larger_streams() -> None:
    """With too little for all, plates beat overview and 4 MP beats 720p."""
    shares = allocate_bandwidth(6000, [
        CameraDemand("plates", "plates", R1080, 30),
        CameraDemand("overview", "overview", R1080, 30),
        CameraDemand("big", "detection", R4MP, 15),
        CameraDemand("small", "detection", R720, 15),
    ])  # fmt: skip
    assert shares["plates"] > shares["overview"] >= FLOOR_KBPS
    assert shares["big"] > shares["small"] >= FLOOR_KBPS
    assert sum(shares.values()) <= 6000


def test_plenty_gives_every_camera_its_need() -> None:
    """A budget above the sum of needs gives each camera what the table says it needs."""
    shares = allocate_bandwidth(100_000, [
        CameraDemand("a", "plates", R1080, 30), CameraDemand("b", "overview", R720, 10),
        CameraDemand("c", "facial", R1080, 15, "H265"),
    ])  # fmt: skip
    assert shares == {"a": 4000, "b": 1000, "c": 1500}


def test_a_tiny_budget_is_split_equally() -> None:
    """Below the floors, every camera gets the same share."""
    assert allocate_bandwidth(1000, [CameraDemand(f"c{i}") for i in range(10)]) == {
        f"c{i}": 100 for i in range(10)
    }
    assert allocate_bandwidth(5000, []) == {}


@pytest.mark.parametrize("budget", [-1, math.nan, math.inf])
def test_a_bad_budget_is_a_clear_error(budget: float) -> None:
    """A negative or non-finite budget is refused with a message naming it."""
    with pytest.raises(ValueError, match="site_budget_kbps"):
        allocate_bandwidth(budget, [CameraDemand("a")])


def test_a_camera_listed_twice_is_a_clear_error() -> None:
    """The same camera twice in one site is refused."""
    with pytest.raises(ValueError, match="only once"):
        allocate_bandwidth(5000, [CameraDemand("a"), CameraDemand("a")])


def _camera(resolution: Resolution, fps: float) -> CameraCapabilities:
    options = EncoderOptions(
        encodings=["H264"], resolutions=[R4MP, R1080, R720], fps=Range(min=1, max=30),
        bitrate_kbps=Range(min=64, max=20000), gop=Range(min=1, max=300),
    )  # fmt: skip
    return CameraCapabilities(profiles=[ProfileInfo(
        token="main", encoding="H264", resolution=resolution, fps=fps, bitrate_kbps=8000,
        gop=60, options=options,
    )])  # fmt: skip


async def test_the_engine_fits_each_share_and_the_site_fits_its_budget() -> None:
    """Shares from allocate_bandwidth, recommendations from the engine: the site fits."""
    site = {
        "gate": ("plates", _camera(R1080, 30), 90.0),
        "lobby": ("facial", _camera(R1080, 25), None),
        "yard": ("overview", _camera(R4MP, 30), None),
        "hall": ("overview", _camera(R720, 30), None),
    }
    budget = 7000
    shares = allocate_bandwidth(budget, [
        CameraDemand(cid, purpose, caps.profiles[0].resolution, caps.profiles[0].fps, "H264")
        for cid, (purpose, caps, _) in site.items()
    ])  # fmt: skip
    engine, total = HeuristicEngine(), 0
    for cid, (purpose, caps, speed) in site.items():
        rec = await engine.recommend(RecommendationContext(
            camera_id=cid, capabilities=caps, current=CameraSettings(), purpose=purpose,
            speed_kmh=speed, bandwidth_kbps=shares[cid], lighting="daylight",
        ))  # fmt: skip
        assert rec.settings.stream is not None
        bitrate = rec.settings.stream.bitrate_kbps or caps.profiles[0].bitrate_kbps
        assert bitrate is not None
        assert bitrate <= shares[cid], (cid, rec.explanation)
        total += bitrate
    assert total <= budget
