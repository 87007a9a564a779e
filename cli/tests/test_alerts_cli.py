"""`vigil alerts list|ack|investigate|resolve|history` and `vigil silences add|list|expire` as
the CLI's own role: the lifecycle's rules and audit rows come from the alerter's store, closed
alerts stay closed, the history shows the operators and the notifications, and silences
follow Alertmanager's validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from vigil_cli.main import cli
from vigil_schema.roles import CLI

Invoke = Callable[..., Result]


@pytest.fixture
def vigil(role_database_url: Callable[[str], str], tmp_path: Path) -> Invoke:
    env = {"VIGIL_DATABASE_URL": role_database_url(CLI),
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env")}  # fmt: skip

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def add_alert(database_url: str, title: str, *, severity: str = "warning",
              camera: str | None = None, active: bool = True) -> int:  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        if camera:
            conn.execute("INSERT INTO cameras (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (camera, camera))  # fmt: skip
        labels = {"alertname": title.replace(" ", ""), "camera_id": camera or ""}
        row = conn.execute(
            "INSERT INTO alerts (fingerprint, rule, severity, title, camera_id, labels, active,"
            " source, first_seen_at) VALUES (md5(random()::text), 'r', %s, %s, %s, %s, %s,"
            " 'ingest', now() - interval '10 minutes') RETURNING id",
            (severity, title, camera, json.dumps(labels), active),
        ).fetchone()
    assert row is not None
    return int(row[0])


def audit(database_url: str, entity_type: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT action, entity_id, service FROM audit_log WHERE entity_type = %s"
            " ORDER BY ts, id",
            (entity_type,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_list_ack_investigate_resolve(database_url: str, vigil: Invoke) -> None:
    person = add_alert(database_url, "Person at gate", severity="critical", camera="gate")
    offline = add_alert(database_url, "Camera offline", camera="lot")
    old = add_alert(database_url, "Old one", active=False)

    listed = vigil("alerts", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0].split()[:4] == ["id", "status", "source_state",
                                                         "severity"]  # fmt: skip
    assert "PersonatGate" not in listed.output  # alertname from labels
    assert "Personatgate" in listed.output
    firing = json.loads(vigil("alerts", "list", "--firing", "--json").stdout)
    assert sorted(a["id"] for a in firing) == [person, offline]
    gate = json.loads(vigil("alerts", "list", "--camera", "gate", "--json").stdout)
    assert [(a["id"], a["severity"]) for a in gate] == [(person, "critical")]

    acked = vigil("alerts", "ack", str(person), "--note", "on it")
    assert (acked.exit_code, acked.output.strip()) == (0, f"acknowledged {person}")
    assert vigil("alerts", "investigate", str(person)).exit_code == 0
    assert vigil("alerts", "resolve", str(person), "--note", "a visitor").exit_code == 0
    fp = vigil("alerts", "resolve", str(offline), "--as", "false_positive")
    assert fp.exit_code == 0, fp.output
    open_ = json.loads(vigil("alerts", "list", "--status", "open", "--json").stdout)
    assert [a["id"] for a in open_] == [old]

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, acknowledged_by, resolved_by, resolution_notes FROM alerts"
            " WHERE id = %s", (person,)).fetchone()  # fmt: skip
    assert row is not None
    assert row[0] == "resolved"
    assert row[1] == row[2] != ""
    assert row[3] == "a visitor"
    assert audit(database_url, "alert") == [
        ("alert.acknowledged", str(person), "vigil-cli"),
        ("alert.investigating", str(person), "vigil-cli"),
        ("alert.resolved", str(person), "vigil-cli"),
        ("alert.false_positive", str(offline), "vigil-cli"),
    ]


def test_closed_alerts_and_unknown_ids_are_clear_errors(database_url: str, vigil: Invoke) -> None:
    alert = add_alert(database_url, "Dismiss me")
    assert vigil("alerts", "resolve", str(alert), "--as", "dismissed").exit_code == 0
    again = vigil("alerts", "ack", str(alert))
    assert again.exit_code == 1
    assert f"alert {alert} is dismissed, a closed state" in again.output
    missing = vigil("alerts", "ack", "999999")
    assert (missing.exit_code, "no alert 999999" in missing.output) == (1, True)
    assert vigil("alerts", "history", "999999").exit_code == 1
    bad = vigil("alerts", "resolve", str(alert), "--as", "new")
    assert bad.exit_code == 2


def test_history_shows_operators_and_notifications(database_url: str, vigil: Invoke) -> None:
    alert = add_alert(database_url, "Person at gate", camera="gate")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT vigil_ensure_partition('notifications', now())")
        conn.execute(
            "INSERT INTO notifications (alert_id, alert_ids, receiver, channel, status, kind,"
            " attempts, sent_at) VALUES (%s, %s, 'ops', 'webhook:0', 'sent', 'firing', 1,"
            " now())",
            (alert, [alert]),
        )
    assert vigil("alerts", "ack", str(alert), "--note", "checking the feed").exit_code == 0
    shown = vigil("alerts", "history", str(alert))
    assert shown.exit_code == 0, shown.output
    assert "alertname=Personatgate, camera_id=gate" in shown.output
    events = [line.split()[2] for line in shown.output.splitlines() if line.startswith("20")]
    assert events == ["alert.fired", "notification.firing", "alert.acknowledged"]
    assert "checking the feed" in shown.output
    assert "ops webhook:0" in shown.output
    data: dict[str, Any] = json.loads(vigil("alerts", "history", str(alert), "--json").stdout)
    assert data["alert"]["status"] == "acknowledged"
    assert [e["event"] for e in data["history"]][-1] == "alert.acknowledged"


def test_silences_add_list_expire(database_url: str, vigil: Invoke) -> None:
    added = vigil("silences", "add", "camera_id=lot-1", 'alertname=~"Person.*"',
                  "--duration", "2h", "--comment", "lot works", "--author", "ann")  # fmt: skip
    assert added.exit_code == 0, added.output
    sid = added.output.strip()
    pending = vigil("silences", "add", '{camera_id="lot-2"}', "--start",
                    "2999-01-01T00:00:00Z", "--comment", "later")  # fmt: skip
    assert pending.exit_code == 0, pending.output
    listed = json.loads(vigil("silences", "list", "--json").stdout)
    assert [(s["id"], s["state"]) for s in listed] == [
        (pending.output.strip(), "pending"), (sid, "active")]  # fmt: skip
    assert listed[1]["matchers"] == 'camera_id="lot-1" alertname=~"Person.*"'
    assert listed[1]["created_by"] == "ann"
    table = vigil("silences", "list")
    assert "lot works" in table.output

    expired = vigil("silences", "expire", sid)
    assert expired.exit_code == 0, expired.output
    assert len(json.loads(vigil("silences", "list", "--json").stdout)) == 1
    everything = json.loads(vigil("silences", "list", "--expired", "--json").stdout)
    assert {s["state"] for s in everything} == {"pending", "expired"}
    again = vigil("silences", "expire", sid)
    assert (again.exit_code, "already expired" in again.output) == (1, True)
    unknown = vigil("silences", "expire", "00000000-0000-0000-0000-000000000000")
    assert (unknown.exit_code, "no silence" in unknown.output) == (1, True)
    assert [a for a, _, s in audit(database_url, "silence") if s == "vigil-cli"] == [
        "silence.created", "silence.created", "silence.expired"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (['alertname=~"("'], "invalid regular expression"),
        (['camera_id=""'], "must not match the empty string"),
        (["camera_id"], "MATCHERS"),
        (["camera_id=a", "--duration", "soon"], "not a duration"),
        (["camera_id=a", "--until", "2000-01-01T00:00:00Z"], "start time must be before end"),
        (
            ["camera_id=a", "--start", "1999-12-31T00:00:00", "--until", "2000-01-01T00:00:00Z"],
            "end time can't be in the past",
        ),
    ],
)
def test_silences_add_refuses_bad_input(vigil: Invoke, args: list[str], error: str) -> None:
    result = vigil("silences", "add", *args, "--comment", "x")
    assert result.exit_code != 0
    assert error in result.output
