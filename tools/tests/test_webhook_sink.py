"""vigil-webhook-sink: records each body with its headers (memory and JSONL file), checks the
Vigil HMAC (a bad one answers 401), and holds answers until released."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from vigil_runtime.stack.procs import free_port
from vigil_tools.webhook_sink import WebhookSink, sign, sink_in_thread

SECRET = b"s3cret"


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_records_and_verifies_signatures(tmp_path: Path) -> None:
    out = tmp_path / "sink.jsonl"
    with sink_in_thread(free_port(), WebhookSink(out=out, secret=SECRET)) as sink:
        body = json.dumps({"receiver": "r", "alerts": []}).encode()
        good = {
            "Content-Type": "application/json",
            "X-Vigil-Timestamp": "1700000000",
            "X-Vigil-Signature": sign(SECRET, "1700000000", body),
            "Idempotency-Key": "k1",
        }
        assert post(sink.url, body, good) == 200
        bad = good | {"X-Vigil-Timestamp": "1700000001"}
        assert post(sink.url, body, bad) == 401
        assert post(sink.url, body, {"Content-Type": "application/json"}) == 401
        got = sink.sink.snapshot()
    assert [r.signature_ok for r in got] == [True, False, False]
    assert got[0].body == {"receiver": "r", "alerts": []}
    assert got[0].headers["Idempotency-Key"] == "k1"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["signature_ok"] for line in lines] == [True, False, False]
    assert lines[0]["path"] == "/hook"


def test_hold_records_then_answers_on_release() -> None:
    with sink_in_thread(free_port()) as sink:
        sink.hold()
        answers: list[int] = []
        sender = threading.Thread(target=lambda: answers.append(post(sink.url, b"{}", {})))
        sender.start()
        deadline = time.monotonic() + 10
        while not sink.sink.snapshot():
            assert time.monotonic() < deadline, "the held request was not recorded"
            time.sleep(0.05)
        assert answers == []
        sink.release()
        sender.join(timeout=10)
    assert answers == [200]


def test_cli_refuses_a_missing_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil_tools.webhook_sink import main

    monkeypatch.delenv("NO_SUCH_SECRET_VAR", raising=False)
    with pytest.raises(SystemExit, match="NO_SUCH_SECRET_VAR"):
        main(["--secret-env", "NO_SUCH_SECRET_VAR"])
