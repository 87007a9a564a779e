"""End-to-end: the real ``vigil-alerter`` killed with SIGKILL at the two dangerous moments of
a delivery, then restarted on the same database: every notification goes out at least once,
and a notification recorded as sent is never sent again.

* ``between send and record``: the webhook sink holds its answer, so the alerter has sent
  the body (the sink recorded it) but has not recorded the delivery when it is killed. After
  the restart (short lease) the row is sent again, with the same ``Idempotency-Key``, and
  marked ``sent``.
* ``after the outbox rows are recorded, before sending``: the receiver is down (nothing
  listens on its port) when the group flushes; the alerter is killed with the rows
  ``pending``; the receiver comes up, the alerter restarts and sends each exactly once.

Each ends with a marker alert of another group, notified after everything else was settled,
and a third process life (another kill and restart): whatever is recorded ``sent`` was
received exactly as many times as the scenario allows, and nothing more. The bodies are
signed (``hmac_secret_env``) and the sink verifies every signature.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from vigil_runtime.stack.procs import free_port
from vigil_tools.webhook_sink import SinkThread, WebhookSink, sink_in_thread

if TYPE_CHECKING:
    from pathlib import Path

    from services.alerter.tests.e2e.conftest import AlertingHarness

SECRET = "e2e-hmac-secret"
FAST = {
    "VIGIL_DELIVERY_LEASE": "2s",
    "VIGIL_DELIVERY_BACKOFF_BASE": "200ms",
    "VIGIL_DELIVERY_BACKOFF_CAP": "1s",
    "VIGIL_E2E_HMAC": SECRET,
}
"""A crashed replica's lease expires after 2 s; retries come quickly."""
ALERT = {"alertname": "CameraOffline", "team": "cams", "site": "north", "camera": "c1",
         "severity": "warning"}  # fmt: skip
MARKER = {"alertname": "Marker", "host": "m1"}
MARKER_GROUP = {"alertname": "Marker"}


def signed_config(alerting: AlertingHarness, base_url: str) -> Path:
    """The shared tree, every webhook signed with the secret of ``VIGIL_E2E_HMAC``."""
    text = alerting.routing_config(base_url).replace(
        "        send_resolved: true",
        "        send_resolved: true\n        hmac_secret_env: VIGIL_E2E_HMAC",
    )
    return alerting.write_config(text)


def outbox(alerting: AlertingHarness) -> list[tuple[Any, ...]]:
    return alerting.rows(
        "SELECT idempotency_key, status, attempts, receiver FROM notifications ORDER BY id"
    )


def keys_received(sink: SinkThread) -> Counter[str]:
    return Counter(str(r.headers.get("Idempotency-Key")) for r in sink.sink.snapshot())


def settle_with_marker(alerting: AlertingHarness, sink: SinkThread, config: Path) -> None:
    """Kill and restart once more, post a marker alert, wait until it is delivered and every
    row is sent: afterwards a resend of an old row would already have been received."""
    alerter = alerting.start_alerter(config, FAST)
    alerting.api(alerter).post_alerts([alerting.postable(MARKER)])
    alerting.wait_for(
        lambda: [r for r in sink.sink.snapshot() if r.body["groupLabels"] == MARKER_GROUP],
        bool,
        "the marker notification",
        lambda: alerter.describe("log"),
    )
    alerting.wait_for(
        lambda: outbox(alerting),
        lambda rows: all(row[1] == "sent" for row in rows),
        "every outbox row sent",
        lambda: alerter.describe("log"),
    )
    alerter.kill()


def assert_exactly_once_after_sent(sink: SinkThread, rows: list[tuple[Any, ...]],
                                   allowed: dict[str, int]) -> None:  # fmt: skip
    """Every row is sent; each key received ``allowed[key]`` times (default once)."""
    received = keys_received(sink)
    assert {row[1] for row in rows} == {"sent"}, rows
    for key, *_ in rows:
        assert received[key] == allowed.get(key, 1), (key, received, rows)
    assert set(received) == {row[0] for row in rows}, (received, rows)
    assert all(r.signature_ok for r in sink.sink.snapshot())


def test_killed_between_send_and_record(alerting: AlertingHarness) -> None:
    sink = alerting.sink(WebhookSink(secret=SECRET.encode()))
    config = signed_config(alerting, sink.base_url)
    alerter = alerting.start_alerter(config, FAST)
    sink.hold()
    alerting.api(alerter).post_alerts([alerting.postable(ALERT)])
    held = alerting.wait_for(lambda: sink.sink.snapshot(), lambda got: len(got) >= 2,
                             "both groups' bodies received, answers held",
                             lambda: alerter.describe("log"))  # fmt: skip
    in_flight = {str(r.headers["Idempotency-Key"]) for r in held}
    assert all(row[1] == "pending" for row in outbox(alerting)), outbox(alerting)
    alerter.kill()  # SIGKILL with the answers unread: nothing recorded as sent
    sink.release()
    restarted = alerting.start_alerter(config, FAST)
    alerting.wait_for(lambda: outbox(alerting), lambda rows: bool(rows) and all(
        row[1] == "sent" for row in rows), "resent after the lease expired",
        lambda: restarted.describe("log"))  # fmt: skip
    restarted.kill()
    resent = keys_received(sink)
    assert all(resent[key] >= 2 for key in in_flight), resent  # at least once, same key
    settle_with_marker(alerting, sink, config)
    rows = outbox(alerting)
    assert_exactly_once_after_sent(sink, rows, dict(resent))


def test_killed_after_recording_before_sending(alerting: AlertingHarness) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = signed_config(alerting, base_url)
    alerter = alerting.start_alerter(config, FAST)
    alerting.api(alerter).post_alerts([alerting.postable(ALERT)])
    recorded = alerting.wait_for(lambda: outbox(alerting), lambda rows: len(rows) >= 2,
                                 "the outbox rows of both groups",
                                 lambda: alerter.describe("log"))  # fmt: skip
    assert {row[1] for row in recorded} == {"pending"}, recorded
    alerter.kill()  # SIGKILL
    with sink_in_thread(port, WebhookSink(secret=SECRET.encode())) as sink:
        restarted = alerting.start_alerter(config, FAST)
        alerting.wait_for(lambda: outbox(alerting), lambda rows: all(
            row[1] == "sent" for row in rows), "sent after the restart",
            lambda: restarted.describe("log"))  # fmt: skip
        restarted.kill()
        settle_with_marker(alerting, sink, config)
        assert_exactly_once_after_sent(sink, outbox(alerting), {})
        assert {r.body["status"] for r in sink.sink.snapshot()} == {"firing"}
