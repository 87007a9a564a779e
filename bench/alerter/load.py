"""The alerter benchmark's load and its measurement: alerts in, webhooks out.

Each alert carries the labels ``run`` (the scenario) and ``n`` (its number), so the webhook
sink's record of it (:mod:`vigil_tools.webhook_sink`, its own process, one JSON line per
body) says which alert arrived when. An alert's latency is the sink's receipt time minus the
moment it was handed over (the start of the POST of its batch, or of the XADD of its
candidates): same clock, same machine.

* :func:`post_alerts`: Alertmanager's ``POST /api/v2/alerts`` (the same alerts to
  Alertmanager and to vigil-alerter), in batches, as fast as answered (``rate`` None) or
  paced at ``rate`` alerts per second;
* :func:`publish_candidates`: ``AlertCandidate`` entries on ``vigil:alerts`` (the alerter's
  own intake; Alertmanager has none);
* :class:`SinkProcess`: the sink's process and the tail of its file;
* :func:`deliveries`: wait until every alert of a scenario was received.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from vigil_runtime.stream_producer import StreamProducer
from vigil_schema.messages import AlertCandidate
from vigil_schema.streams import ALERTS, Envelope

Key = tuple[str, str]
"""(run, n) of an alert."""


def labels(run: str, n: int) -> dict[str, str]:
    return {"alertname": "BenchAlert", "run": run, "n": str(n), "severity": "warning"}


def _paced_batches(count: int, batch: int) -> list[range]:
    return [range(start, min(start + batch, count)) for start in range(0, count, batch)]


async def _pace(started: float, done: int, rate: float | None) -> None:
    if rate is not None:
        delay = started + done / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def post_alerts(base_url: str, run: str, count: int, batch: int,
                      rate: float | None) -> dict[Key, float]:  # fmt: skip
    """POST ``count`` alerts of ``run``; when each was handed over (unix time)."""
    sent: dict[Key, float] = {}
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for chunk in _paced_batches(count, batch):
            await _pace(started, chunk.start, rate)
            body = [{"labels": labels(run, n), "annotations": {"summary": "bench"}}
                    for n in chunk]  # fmt: skip
            at = time.time()
            async with session.post(f"{base_url}/api/v2/alerts", json=body) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{base_url}: {resp.status} {await resp.text()}")
            sent.update({(run, str(n)): at for n in chunk})
    return sent


async def publish_candidates(redis_url: str, run: str, count: int, batch: int,
                             rate: float | None) -> dict[Key, float]:  # fmt: skip
    """XADD ``count`` candidates of ``run`` to ``vigil:alerts``; when each was handed over."""
    sent: dict[Key, float] = {}
    client = aioredis.Redis.from_url(redis_url)
    producer = StreamProducer(client)
    started = time.monotonic()
    try:
        for chunk in _paced_batches(count, batch):
            await _pace(started, chunk.start, rate)
            entries = [
                (ALERTS, Envelope.wrap(AlertCandidate(
                    source="bench", alertname="BenchAlert", severity="warning",
                    labels={"run": run, "n": str(n)}, annotations={"summary": "bench"})))
                for n in chunk
            ]  # fmt: skip
            at = time.time()
            await producer.publish_many(entries)
            sent.update({(run, str(n)): at for n in chunk})
    finally:
        await client.aclose()
    return sent


class SinkProcess:
    """``vigil-webhook-sink`` in its own process, recording to ``out``."""

    def __init__(self, port: int, out: Path, log: Path) -> None:
        self.port, self.out, self.log = port, out, log
        self.url = f"http://127.0.0.1:{port}/hook"
        self._offset = 0
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.out.touch()
        with self.log.open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "vigil_tools.webhook_sink", "--port", str(self.port),
                "--out", str(self.out), stdout=log, stderr=log)  # fmt: skip
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/-/healthy") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline or self._proc.returncode is not None:
                    raise RuntimeError(f"webhook sink did not start: {self.log.read_text()}")
                await asyncio.sleep(0.1)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def read_new(self) -> list[dict[str, Any]]:
        """The records appended since the last call (whole lines only)."""
        with self.out.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()


async def deliveries(sink: SinkProcess, expected: Sequence[Key], timeout_s: float) -> tuple[
    dict[Key, float], int
]:  # fmt: skip
    """Wait until every alert of ``expected`` was received firing: its first receipt time,
    and how many bodies came (all scenarios' records are consumed)."""
    wanted = set(expected)
    got: dict[Key, float] = {}
    bodies = 0
    deadline = time.monotonic() + timeout_s
    while wanted - got.keys():
        for record in sink.read_new():
            bodies += 1
            for alert in record["body"].get("alerts", []):
                key = (alert["labels"].get("run", ""), alert["labels"].get("n", ""))
                if key in wanted and alert["status"] == "firing":
                    got.setdefault(key, float(record["at"]))
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return got, bodies
