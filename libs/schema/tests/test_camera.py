"""Zones (polygon validation), zone configs, credentials and the camera registry view."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from vigil_schema.camera import (
    CameraConfig,
    CameraCredentials,
    MaintenanceWindow,
    Zone,
    ZoneConfig,
    first_self_intersection,
    polygon_area,
)
from vigil_schema.enums import ApplyPolicy, DesiredState

SQUARE = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]


def test_zone_accepts_a_simple_polygon_and_drops_the_closing_point() -> None:
    zone = Zone(name="lot A", polygon=[*SQUARE, SQUARE[0]], classes=["car"], capacity=12)
    assert zone.polygon == SQUARE
    assert zone.contains(0.5, 0.5)
    assert not zone.contains(0.95, 0.5)
    assert zone.counts("car")
    assert not zone.counts("person")
    assert Zone(name="all", polygon=SQUARE).counts("anything")


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (1, 1)], "at least 3 items"),
        ([(0, 0), (1, 0), (float("nan"), 1)], "finite number"),
        ([(0, 0), (1, 0), (float("inf"), 1)], "finite number"),
        ([(0, 0), (1.5, 0), (1, 1)], "less than or equal to 1"),
        ([(0, 0), (-0.1, 0), (1, 1)], "greater than or equal to 0"),
        ([(0, 0), (0.5, 0.5), (1, 1)], "no area"),
        ([(0, 0), (1, 0), (1, 1), (1, 0)], "repeats a point"),
        ([(0, 0), (1, 1), (1, 0), (0, 1)], "intersects itself"),  # bow tie
        ([(0, 0), (1, 0), (1, 1), (0.5, 0), (0, 1)], "intersects itself"),  # touches an edge
        ([(i / 300, (i % 2) / 2) for i in range(257)], "at most 256 points"),
        ([(i / 300, (i % 2) / 2) for i in range(300)], "at most 257 items"),
    ],
)
def test_zone_rejects_bad_polygons(polygon: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Zone(name="z", polygon=polygon)


@pytest.mark.parametrize("name", ["", " lead", "trail ", "a\x00b", "new\nline", "x" * 65])
def test_zone_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        Zone(name=name, polygon=SQUARE)


def test_zone_config_rejects_duplicate_names_ignoring_case() -> None:
    with pytest.raises(ValidationError, match="used twice"):
        ZoneConfig(zones=[Zone(name="Lot", polygon=SQUARE), Zone(name="lot", polygon=SQUARE)])


def test_zone_config_lookup_and_point_queries() -> None:
    left = Zone(name="left", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)], classes=["car"])
    everything = Zone(name="all", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
    config = ZoneConfig(zones=[left, everything])
    assert config.zone("LEFT") is left
    assert config.zone("none") is None
    assert config.zones_containing(0.25, 0.5) == [left, everything]
    assert config.zones_containing(0.25, 0.5, "person") == [everything]
    assert config.zones_containing(0.75, 0.5) == [everything]


def test_zone_config_json_round_trip() -> None:
    config = ZoneConfig(zones=[Zone(name="a", polygon=SQUARE)])
    assert ZoneConfig.model_validate_json(config.model_dump_json()) == config
    assert ZoneConfig.model_validate({}) == ZoneConfig()
    with pytest.raises(ValidationError, match="Extra inputs"):
        ZoneConfig.model_validate({"zones": [], "other": 1})


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=8))
def test_accepted_zones_are_simple_polygons(points: list[tuple[float, float]]) -> None:
    try:
        zone = Zone(name="z", polygon=points)
    except ValidationError:
        return
    assert first_self_intersection(zone.polygon) is None
    assert polygon_area(zone.polygon) > 0
    assert len(set(zone.polygon)) == len(zone.polygon)


# --------------------------------------------------------------------------- credentials

SECRET = "s3cr3t-Pa55"


def test_credentials_never_show_the_password() -> None:
    creds = CameraCredentials(username="admin", password=SECRET)
    for text in (
        repr(creds),
        str(creds),
        creds.model_dump_json(),
        json.dumps(creds.model_dump(mode="json")),
        f"{creds}",
    ):
        assert SECRET not in text
        assert "admin" in text


def test_credentials_json_bytes_round_trip() -> None:
    creds = CameraCredentials(username="admin", password=SECRET)
    clear = creds.to_json_bytes()
    assert json.loads(clear) == {"username": "admin", "password": SECRET}
    restored = CameraCredentials.from_json_bytes(clear)
    assert restored.password.get_secret_value() == SECRET
    assert restored == creds


def test_credentials_validation_errors_do_not_echo_the_password() -> None:
    with pytest.raises(ValidationError) as info:
        CameraCredentials.model_validate({"username": "", "password": SECRET})
    assert SECRET not in str(info.value)


# --------------------------------------------------------------------------- camera config


def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "cam-1",
        "name": "North lot",
        "site": None,
        "vendor": "axis",
        "model": None,
        "firmware": None,
        "ip": IPv4Interface("10.0.0.5/32"),
        "onvif_port": 80,
        "vms_system": None,
        "vms_camera_id": None,
        "location": None,
        "scene_type": "parking",
        "purpose": None,
        "zone_config": json.dumps({"zones": [{"name": "a", "polygon": SQUARE}]}),
        "desired_state": "maintenance",
        "credentials_encrypted": b"gAAAAA-token",
        "connection_string_encrypted": None,
        "capabilities": {"max_fps": 30},
        "tags": "{}",
        "health_interval_s": 30,
        "created_at": None,
        "updated_at": None,
        "apply_policy": "auto",
        "maintenance_window": '{"start": "22:00", "end": "02:00", "tz": "Europe/Paris"}',
        "auto_apply_min_confidence": 0.75,
    }
    row.update(overrides)
    return row


def test_camera_config_from_row_drops_secrets() -> None:
    config = CameraConfig.from_row(_row())
    assert config.has_credentials
    assert config.ip == IPv4Address("10.0.0.5")
    assert config.desired_state is DesiredState.MAINTENANCE
    assert config.zone_config.zones[0].name == "a"
    assert config.capabilities == {"max_fps": 30}
    assert "gAAAAA" not in config.model_dump_json()
    assert not CameraConfig.from_row(_row(credentials_encrypted=None)).has_credentials
    assert config.apply_policy is ApplyPolicy.AUTO
    assert config.maintenance_window == MaintenanceWindow(
        start="22:00", end="02:00", tz="Europe/Paris"
    )
    assert config.auto_apply_min_confidence == 0.75
    assert CameraConfig.from_row(_row(maintenance_window=None)).maintenance_window is None


def test_camera_config_from_row_validates() -> None:
    with pytest.raises(ValidationError, match="invalid camera id"):
        CameraConfig.from_row(_row(id="North Lot"))
    with pytest.raises(ValidationError, match="health_interval_s"):
        CameraConfig.from_row(_row(health_interval_s=0))
    bow_tie = {"zones": [{"name": "a", "polygon": [(0, 0), (1, 1), (1, 0), (0, 1)]}]}
    with pytest.raises(ValidationError, match="intersects itself"):
        CameraConfig.from_row(_row(zone_config=bow_tie))
    with pytest.raises(ValidationError, match="apply_policy"):
        CameraConfig.from_row(_row(apply_policy="sometimes"))
    with pytest.raises(ValidationError, match="auto_apply_min_confidence"):
        CameraConfig.from_row(_row(auto_apply_min_confidence=1.5))


def test_camera_config_defaults() -> None:
    config = CameraConfig(id="cam-2", name="Gate")
    assert config.desired_state is DesiredState.ACTIVE
    assert config.zone_config == ZoneConfig()
    assert config.health_interval_s == 60
    assert config.apply_policy is ApplyPolicy.MANUAL
    assert config.maintenance_window is None
    assert CameraConfig.model_validate_json(config.model_dump_json()) == config


# --------------------------------------------------------------------------- maintenance window


def test_maintenance_window_json_and_times() -> None:
    window = MaintenanceWindow(days=[4, 0], start="22:00", end="02:00", tz="Europe/Paris")
    assert window.to_json() == {
        "days": [0, 4],
        "start": "22:00",
        "end": "02:00",
        "tz": "Europe/Paris",
    }
    assert window.crosses_midnight
    assert window.start_time.hour == 22
    assert window.end_time.hour == 2
    every_day = MaintenanceWindow(start="01:00", end="05:00")
    assert every_day.to_json() == {"start": "01:00", "end": "05:00", "tz": "UTC"}
    assert not every_day.crosses_midnight
    assert MaintenanceWindow.model_validate(window.to_json()) == window


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "24:00", "end": "01:00"}, "should match pattern"),
        ({"start": "1:00", "end": "02:00"}, "should match pattern"),
        ({"start": "01:00", "end": "01:00"}, "start and end are equal"),
        ({"start": "01:00", "end": "02:00", "tz": "Mars/Olympus"}, "unknown time zone"),
        ({"start": "01:00", "end": "02:00", "tz": "../../etc/passwd"}, "unknown time zone"),
        ({"start": "01:00", "end": "02:00", "days": [7]}, "less than or equal to 6"),
        ({"start": "01:00", "end": "02:00", "days": [1, 1]}, "repeat a day"),
        ({"start": "01:00", "end": "02:00", "days": []}, "at least 1 item"),
        ({"start": "01:00", "end": "02:00", "days": ["mon"]}, "valid integer"),
        ({"start": "01:00"}, "end"),
        ({"start": "01:00", "end": "02:00", "every": "day"}, "Extra inputs"),
    ],
)
def test_maintenance_window_rejects(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MaintenanceWindow.model_validate(data)
