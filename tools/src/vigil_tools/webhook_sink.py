"""`vigil-webhook-sink`: an HTTP server that records every webhook it receives.

Each POST (any path) is recorded as one JSON line ``{"at", "path", "headers", "body",
"signature_ok"}`` (``body`` parsed JSON, or the text when it is not JSON) appended to the
``--out`` file and kept in memory (:attr:`WebhookSink.received`). With a secret (``--secret``
or ``--secret-env``) the Vigil HMAC is verified: ``X-Vigil-Signature: sha256=<hex
HMAC-SHA256(secret, f"{X-Vigil-Timestamp}.{body}")>``; ``signature_ok`` is then true or false
(and a wrong one answers 401 unless ``--accept-bad-signatures``), else null.

Used by ``make demo`` (the demo receiver), the alerter's end-to-end tests and its benchmark:

* :meth:`WebhookSink.hold`: while held, a request is recorded, then its answer waits until
  :meth:`release` (a receiver stalling after it got the body: the sender may die before
  recording the delivery);
* :func:`sink_in_thread`: the sink on its own event loop in a thread, for synchronous tests.

``python -m vigil_tools.webhook_sink --port 9999 --out sink.jsonl``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["Received", "WebhookSink", "main", "sign", "sink_in_thread"]

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Vigil-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class Received:
    """One recorded request."""

    at: float
    path: str
    headers: dict[str, str]
    body: Any
    signature_ok: bool | None

    def to_json(self) -> str:
        return json.dumps(
            {"at": self.at, "path": self.path, "headers": self.headers, "body": self.body,
             "signature_ok": self.signature_ok}, separators=(",", ":"))  # fmt: skip


@dataclass
class WebhookSink:
    """The recording server's state and handler (see the module docstring)."""

    out: Path | None = None
    secret: bytes | None = None
    accept_bad_signatures: bool = False
    status: int = 200
    """The status every request is answered with (a failing receiver: 500)."""
    received: list[Received] = field(default_factory=list)
    _released: asyncio.Event | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._handle)
        app.router.add_get("/-/healthy", self._healthy)
        return app

    def hold(self) -> None:
        """From now on, answer nothing until :meth:`release` (requests are still recorded).
        Call from the sink's own loop (``sink_in_thread`` wraps it)."""
        self._released = asyncio.Event()

    def release(self) -> None:
        """Answer every held request and stop holding."""
        if self._released is not None:
            self._released.set()
            self._released = None

    def snapshot(self) -> list[Received]:
        """A copy of what was received so far (safe from another thread)."""
        with self._lock:
            return list(self.received)

    async def _healthy(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        ok = self._verify(request, raw)
        record = Received(time.time(), request.path, dict(request.headers), _parse(raw), ok)
        with self._lock:
            self.received.append(record)
            if self.out is not None:
                with self.out.open("a", encoding="utf-8") as handle:
                    handle.write(record.to_json() + "\n")
        released = self._released
        if released is not None:
            await released.wait()
        if ok is False and not self.accept_bad_signatures:
            return web.Response(status=401, text="bad signature")
        return web.Response(status=self.status, text="ok")

    def _verify(self, request: web.Request, raw: bytes) -> bool | None:
        if self.secret is None:
            return None
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        given = request.headers.get(SIGNATURE_HEADER, "")
        return bool(timestamp) and hmac.compare_digest(given, sign(self.secret, timestamp, raw))


def _parse(raw: bytes) -> Any:
    text = raw.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class SinkThread:
    """A :class:`WebhookSink` served on 127.0.0.1:``port`` by a thread's own event loop."""

    def __init__(self, sink: WebhookSink, port: int) -> None:
        self.sink = sink
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.url = f"{self.base_url}/hook"
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=10)

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.sink.app(), shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def hold(self) -> None:
        self.loop.call_soon_threadsafe(self.sink.hold)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.sink.release)

    def stop(self) -> None:
        self.release()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextlib.contextmanager
def sink_in_thread(port: int, sink: WebhookSink | None = None) -> Iterator[SinkThread]:
    """Serve ``sink`` (a fresh one by default) on ``port`` until the block ends."""
    thread = SinkThread(sink or WebhookSink(), port)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil-webhook-sink", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--out", type=Path, help="append one JSON line per request here")
    parser.add_argument("--secret", help="HMAC key to verify X-Vigil-Signature with")
    parser.add_argument("--secret-env", help="environment variable holding the HMAC key")
    parser.add_argument("--accept-bad-signatures", action="store_true",
                        help="record a bad signature but answer 200 anyway")  # fmt: skip
    parser.add_argument("--status", type=int, default=200, help="status of every answer")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Console script ``vigil-webhook-sink``."""
    args = _parser().parse_args(argv)
    secret = args.secret or (os.environ.get(args.secret_env) if args.secret_env else None)
    if args.secret_env and secret is None:
        raise SystemExit(f"--secret-env: {args.secret_env} is not set")
    sink = WebhookSink(
        out=args.out,
        secret=secret.encode() if secret else None,
        accept_bad_signatures=args.accept_bad_signatures,
        status=args.status,
    )
    web.run_app(sink.app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
