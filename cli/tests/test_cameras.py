"""`vigil cameras add|list|show|set|remove` against a real, migrated PostgreSQL database."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from vigil_cli.main import cli
from vigil_runtime.crypto import generate_key
from vigil_schema.ids import CAMERA_ID_PATTERN
from vigil_schema.roles import CLI

SQUARE = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]


@pytest.fixture
def env(role_database_url: Callable[[str], str], tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": role_database_url(CLI),  # the CLI's own role, not the superuser
        "VIGIL_SECRET_KEY": generate_key(),
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }


@pytest.fixture
def vigil(env: dict[str, str]):
    """Run `vigil ...` with the test database and key; extra env may unset (None) variables."""

    def invoke(*args: str, stdin: str | None = None, **extra: str | None) -> Result:
        return CliRunner().invoke(cli, list(args), env={**env, **extra}, input=stdin)

    return invoke


@pytest.fixture
def zones_file(tmp_path: Path):
    def write(content: object, name: str = "zones.json") -> str:
        path = tmp_path / name
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(text)
        return str(path)

    return write


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def fetch(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_add_list_show_set_remove(vigil, zones_file, database_url: str) -> None:
    zones = zones_file({"zones": [{"name": "door", "polygon": SQUARE, "classes": ["person"]}]})
    ok(
        vigil(
            "cameras", "add", "lobby-1", "--name", "Lobby", "--site", "hq", "--vendor", "axis",
            "--ip", "10.0.0.5", "--onvif-port", "8080", "--scene-type", "entrance",
            "--purpose", "security", "--zones", zones, "--health-interval", "30",
            "--tag", "floor=1",
        )
    )  # fmt: skip
    ok(vigil("cameras", "add", "yard", "--name", "Yard", "--desired-state", "maintenance"))

    listed = ok(vigil("cameras", "list")).output
    assert listed.splitlines()[0].split()[:3] == ["ID", "NAME", "SITE"]
    assert "lobby-1" in listed
    assert "maintenance" in listed
    as_json = json.loads(ok(vigil("cameras", "list", "--json")).output)
    assert [camera["id"] for camera in as_json] == ["lobby-1", "yard"]
    assert as_json[0]["ip"] == "10.0.0.5"
    assert as_json[0]["zones"] == 1
    only_hq = json.loads(ok(vigil("cameras", "list", "--json", "--site", "hq")).output)
    assert [camera["id"] for camera in only_hq] == ["lobby-1"]

    shown = ok(vigil("cameras", "show", "lobby-1")).output
    assert "Lobby" in shown
    assert "8080" in shown
    assert "door (4 points, classes person)" in shown
    assert "floor=1" in shown
    assert "credentials:" in shown
    assert "not set" in shown
    detail = json.loads(ok(vigil("cameras", "show", "lobby-1", "--json")).output)
    assert detail["health_interval_s"] == 30
    assert detail["zone_config"]["zones"][0]["name"] == "door"
    assert detail["credentials"] == {"set": False}
    created_at = detail["updated_at"]

    new_zones = zones_file({"zones": [{"name": "a", "polygon": SQUARE}, {
        "name": "b", "polygon": [[0.6, 0.6], [0.9, 0.6], [0.9, 0.9]]}]}, "new.yaml")  # fmt: skip
    ok(
        vigil(
            "cameras", "set", "lobby-1", "--name", "Main lobby", "--desired-state", "disabled",
            "--zones", new_zones, "--site", "", "--untag", "floor",
        )
    )  # fmt: skip
    detail = json.loads(ok(vigil("cameras", "show", "lobby-1", "--json")).output)
    assert detail["name"] == "Main lobby"
    assert detail["desired_state"] == "disabled"
    assert detail["site"] is None
    assert detail["tags"] == {}
    assert [zone["name"] for zone in detail["zone_config"]["zones"]] == ["a", "b"]
    assert detail["updated_at"] > created_at

    ok(vigil("cameras", "remove", "yard", "--yes"))
    assert "yard" not in ok(vigil("cameras", "list")).output

    audit = fetch(
        database_url,
        "SELECT action, entity_id, actor, details FROM audit_log ORDER BY id",
    )
    assert [(row[0], row[1]) for row in audit] == [
        ("camera.add", "lobby-1"),
        ("camera.add", "yard"),
        ("camera.set", "lobby-1"),
        ("camera.remove", "yard"),
    ]
    assert {row[2] for row in audit} == {getpass.getuser()}
    changes = audit[2][3]["changes"]  # type: ignore[index]
    assert changes["name"] == {"old": "Lobby", "new": "Main lobby"}
    assert changes["zone_config"] == {"old": ["door"], "new": ["a", "b"]}


def test_list_on_empty_registry(vigil) -> None:
    assert "no cameras registered" in ok(vigil("cameras", "list")).output
    assert json.loads(ok(vigil("cameras", "list", "--json")).output) == []


@pytest.mark.parametrize("bad_id", ["Lobby", "_front", "has space", "x" * 65, "caméra"])
def test_bad_id_is_rejected_quoting_the_pattern(vigil, database_url: str, bad_id: str) -> None:
    result = vigil("cameras", "add", bad_id, "--name", "x")
    assert result.exit_code == 2
    assert "invalid camera id" in result.output
    assert CAMERA_ID_PATTERN in result.output
    assert fetch(database_url, "SELECT count(*) FROM cameras") == [(0,)]


def test_bad_id_in_show_is_rejected_before_the_database(vigil) -> None:
    result = vigil("cameras", "show", "Bad!")
    assert result.exit_code == 2
    assert CAMERA_ID_PATTERN in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"zones": [{"name": "gate", "polygon": [[0, 0], [1, 1]]}]},
         ["zone 'gate'", "at least 3 points, got 2"]),
        ({"zones": [{"name": "gate", "polygon": [[0, 0], ["left", 0], [1, 1]]}]},
         ["zone 'gate'", "point 2, x", "must be a number", "'left'"]),
        ([{"name": "lot", "polygon": [[0, 0], [1.5, 0], [1, 1]]}],
         ["zone 'lot'", "point 2, x", "between 0 and 1", "1.5"]),
        ({"zones": [{"name": "lot", "polygon": [[0, 0], [0.5, -0.2], [1, 1]]}]},
         ["zone 'lot'", "point 2, y", "between 0 and 1", "-0.2"]),
        ({"zones": [{"name": "lot", "polygon": SQUARE}, {"name": "LOT", "polygon": SQUARE}]},
         ["'LOT' is used twice"]),
        ({"zones": [{"name": "bow", "polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]}]},
         ["zone 'bow'", "intersects itself"]),
        ({"zones": [{"name": "gate", "polygon": [[0, 0], [1, 0, 7], [1, 1]]}]},
         ["zone 'gate'", "point 2", "[x, y]"]),
        ({"zones": [{"polygon": SQUARE}]}, ["zone #1", "name"]),
        ('{"zones": [', ["not valid JSON", "line 1"]),
        ({"cameras": []}, ["zones", "unknown field"]),
    ],
)  # fmt: skip
def test_malformed_zones_are_rejected_clearly(
    vigil, zones_file, database_url: str, content: object, expected: list[str]
) -> None:
    result = vigil("cameras", "add", "cam1", "--name", "x", "--zones", zones_file(content))
    assert result.exit_code == 2, result.output
    for fragment in expected:
        assert fragment in result.output
    assert "Traceback" not in result.output
    assert fetch(database_url, "SELECT count(*) FROM cameras") == [(0,)]


def test_malformed_yaml_zones_are_rejected(vigil, zones_file) -> None:
    path = zones_file("zones:\n  - name: q\n    polygon: [[0, 0], [1, 0]\n", "zones.yaml")
    result = vigil("cameras", "add", "cam1", "--name", "x", "--zones", path)
    assert result.exit_code == 2
    assert "not valid YAML" in result.output


def test_duplicate_id_is_refused(vigil, database_url: str) -> None:
    ok(vigil("cameras", "add", "cam1", "--name", "First"))
    result = vigil("cameras", "add", "cam1", "--name", "Second")
    assert result.exit_code == 1
    assert "camera 'cam1' already exists; use `vigil cameras set cam1`" in result.output
    assert fetch(database_url, "SELECT name FROM cameras") == [("First",)]


def test_invalid_values_are_named_by_option(vigil) -> None:
    result = vigil("cameras", "add", "cam1", "--name", "x", "--ip", "999.1.1.1")
    assert result.exit_code == 2
    assert "--ip" in result.output
    result = vigil("cameras", "add", "cam1", "--name", "x", "--onvif-port", "70000")
    assert result.exit_code == 2
    assert "--onvif-port" in result.output
    result = vigil("cameras", "add", "cam1", "--name", "x", "--tag", "novalue")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output


def test_unknown_camera_is_a_clear_error(vigil) -> None:
    for args in (("show", "ghost"), ("set", "ghost", "--name", "x"), ("remove", "ghost", "-y")):
        result = vigil("cameras", *args)
        assert result.exit_code == 1
        assert "camera 'ghost' does not exist" in result.output


def test_set_without_changes_is_refused(vigil) -> None:
    ok(vigil("cameras", "add", "cam1", "--name", "x"))
    result = vigil("cameras", "set", "cam1")
    assert result.exit_code == 2
    assert "nothing to change" in result.output


def test_remove_asks_for_confirmation(vigil) -> None:
    ok(vigil("cameras", "add", "cam1", "--name", "x"))
    declined = vigil("cameras", "remove", "cam1", stdin="n\n")
    assert declined.exit_code == 1
    assert "cam1" in ok(vigil("cameras", "list")).output
    ok(vigil("cameras", "remove", "cam1", stdin="y\n"))
    assert "no cameras" in ok(vigil("cameras", "list")).output


def test_remove_referenced_camera_refuses_then_disable_or_force(vigil, database_url) -> None:
    ok(vigil("cameras", "add", "cam1", "--name", "x"))
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO optimizations (camera_id, request_data, recommended_settings, "
            "ai_provider) VALUES ('cam1', '{}', '{}', 'heuristic')"
        )
    refused = vigil("cameras", "remove", "cam1", "--yes")
    assert refused.exit_code == 1
    assert "1 in optimizations" in refused.output
    assert "--disable" in refused.output

    ok(vigil("cameras", "remove", "cam1", "--disable"))
    assert fetch(database_url, "SELECT desired_state FROM cameras") == [("disabled",)]
    assert fetch(database_url, "SELECT count(*) FROM optimizations") == [(1,)]

    ok(vigil("cameras", "remove", "cam1", "--yes", "--force"))
    assert fetch(database_url, "SELECT count(*) FROM cameras") == [(0,)]
    actions = fetch(database_url, "SELECT action, details->>'forced' FROM audit_log ORDER BY id")
    assert actions[-1] == ("camera.remove", "true")


def test_commands_on_unmigrated_database_say_so(vigil, empty_database_url: str) -> None:
    result = vigil("cameras", "list", VIGIL_DATABASE_URL=empty_database_url)
    assert result.exit_code == 1
    assert "vigil migrate" in result.output


def test_apply_policy_options(vigil, database_url: str) -> None:
    ok(vigil("cameras", "add", "gate", "--name", "Gate"))
    assert fetch(
        database_url,
        "SELECT apply_policy, maintenance_window, auto_apply_min_confidence FROM cameras",
    ) == [("manual", None, None)]

    window = '{"start": "22:00", "end": "02:00", "tz": "Europe/Paris", "days": [4, 0]}'
    ok(
        vigil(
            "cameras", "set", "gate", "--apply-policy", "auto", "--maintenance-window", window,
            "--auto-apply-min-confidence", "0.75",
        )
    )  # fmt: skip
    [(policy, stored, threshold)] = fetch(
        database_url,
        "SELECT apply_policy, maintenance_window, auto_apply_min_confidence FROM cameras",
    )
    assert policy == "auto"
    assert stored == {"start": "22:00", "end": "02:00", "tz": "Europe/Paris", "days": [0, 4]}
    assert threshold == pytest.approx(0.75)
    detail = json.loads(ok(vigil("cameras", "show", "gate", "--json")).output)
    assert detail["apply_policy"] == "auto"
    assert detail["maintenance_window"]["tz"] == "Europe/Paris"
    shown = ok(vigil("cameras", "show", "gate")).output
    assert "22:00-02:00 Europe/Paris days 0,4" in shown
    [(changes,)] = fetch(
        database_url, "SELECT details->'changes' FROM audit_log WHERE action = 'camera.set'"
    )
    assert changes["apply_policy"] == {"old": "manual", "new": "auto"}  # type: ignore[index]

    # '' clears the window and the threshold; the policy itself cannot be cleared
    ok(
        vigil(
            "cameras", "set", "gate", "--maintenance-window", "", "--auto-apply-min-confidence", ""
        )
    )
    assert fetch(
        database_url, "SELECT maintenance_window, auto_apply_min_confidence FROM cameras"
    ) == [(None, None)]

    ok(
        vigil(
            "cameras", "add", "door", "--name", "Door", "--apply-policy", "off",
            "--maintenance-window", '{"start": "01:00", "end": "05:00"}',
        )
    )  # fmt: skip
    assert fetch(
        database_url, "SELECT apply_policy, maintenance_window FROM cameras WHERE id = 'door'"
    ) == [("off", {"start": "01:00", "end": "05:00", "tz": "UTC"})]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--apply-policy", "sometimes"], "'sometimes' is not one of"),
        (["--maintenance-window", "{start: 1}"], "not valid JSON"),
        (["--maintenance-window", "[1, 2]"], "expected a JSON object"),
        (["--maintenance-window", '{"start": "01:00", "end": "05:00", "tz": "Mars/Base"}'],
         "--maintenance-window tz: unknown time zone 'Mars/Base'"),
        (["--maintenance-window", '{"start": "01:00", "end": "01:00"}'],
         "--maintenance-window: start and end are equal"),
        (["--maintenance-window", '{"start": "1am", "end": "05:00"}'],
         "--maintenance-window start: String should match pattern"),
        (["--auto-apply-min-confidence", "1.5"], "--auto-apply-min-confidence: Input should be"),
        (["--auto-apply-min-confidence", "high"], "--auto-apply-min-confidence: Input should be"),
    ],
)  # fmt: skip
def test_apply_policy_options_reject_bad_values(
    vigil, database_url: str, args: list[str], message: str
) -> None:
    result = vigil("cameras", "add", "gate", "--name", "Gate", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert fetch(database_url, "SELECT count(*) FROM cameras") == [(0,)]
