"""CPU cost of the ingest's decode step per event, without MQTT, PostgreSQL or Redis.

``python -m bench.decode_micro [--events 20000] [--repeat 7] [--results-dir DIR]``

Payloads come from camsim's :class:`~vigil_tools.camsim.feed.CameraFeed` (the same builder the
load tests publish with: tracked objects, motion regions, scene changes), for single-event
messages and batches of 50. For each shape it times, in CPU seconds of this process:

* ``parse``: :func:`vigil_schema.mqtt.parse_events_payload` alone (JSON → validated models);
* ``decode``: the whole :func:`vigil_ingest.decode.decode` call (topic, registry, parse,
  timestamp window, ``camera_events`` rows, the ``vigil:events`` entry, live state);
* ``jsonb``: encoding the rows' jsonb columns with the pool's codec
  (:func:`vigil_runtime.db._encode_jsonb`), as the binary COPY does.

Each measurement is repeated; the report gives the minimum and the median in µs per event
(the minimum is the least disturbed by other work on a shared machine). Each run writes
bench/results/decode_micro/<UTC time>.json (``--results-dir`` elsewhere).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness.results import add_results_argument, write_result
from vigil_ingest.decode import Decoded, decode
from vigil_ingest.registry import CameraInfo
from vigil_runtime import db
from vigil_schema.enums import DesiredState
from vigil_schema.mqtt import parse_events_payload
from vigil_schema.tables import CAMERA_EVENTS
from vigil_tools.camsim.feed import CameraFeed
from vigil_tools.camsim.stats import FleetStats

CAMERAS = 20
FPS = 10.0
WARMUP_EVENTS = 3000
"""Events each simulated camera produces before the sample, so that tracks are under way."""
JSONB_COLUMNS = tuple(
    CAMERA_EVENTS.column_names.index(name) for name in ("motion_regions", "objects", "extra")
)


@dataclass(frozen=True, slots=True)
class Message:
    """What :func:`decode` reads of an inbound MQTT message."""

    topic: str
    payload: bytes
    received_at: float
    user_properties: tuple[tuple[str, str], ...] = ()
    retain: bool = False


class Registry:
    """Every simulated camera is registered and active; default retention."""

    def __init__(self, camera_ids: Sequence[str]) -> None:
        self._cameras = {cid: CameraInfo(cid, DesiredState.ACTIVE, 60) for cid in camera_ids}

    def get(self, camera_id: str) -> CameraInfo | None:
        return self._cameras.get(camera_id)

    def max_age(self, table: str, default: timedelta) -> timedelta:
        return default


def build_messages(batch: int, total_events: int, seed: int = 7) -> list[Message]:
    """``total_events`` events from :data:`CAMERAS` cameras, ``batch`` per message."""
    rng = random.Random(seed)
    stats = FleetStats()
    feeds = [
        CameraFeed(
            f"cam-{index:03d}", rng, stats, fps=FPS, batch=batch, bad_ratio=0.0,
            resolution=(1280, 720),
        )
        for index in range(CAMERAS)
    ]  # fmt: skip
    for feed in feeds:
        for _ in range(WARMUP_EVENTS // batch):
            feed.events()
    received_at = time.time()
    count = max(1, total_events // batch)
    outgoing = [feeds[index % CAMERAS].events() for index in range(count)]
    return [Message(out.topic, out.payload, received_at) for out in outgoing]


def _cpu_seconds(work: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        work()
        samples.append(time.process_time() - start)
    return samples


def measure(batch: int, total_events: int, repeat: int) -> dict[str, dict[str, float]]:
    """µs of CPU per event (min and median over ``repeat``) of each stage for one shape."""
    messages = build_messages(batch, total_events)
    events = sum(len(_as_list(json.loads(msg.payload))) for msg in messages)
    registry = Registry([f"cam-{index:03d}" for index in range(CAMERAS)])
    now = datetime.now(UTC)
    decoded = [decode(msg, registry, now) for msg in messages]
    rejected = [result for result in decoded if not isinstance(result, Decoded)]
    if rejected:
        raise RuntimeError(f"{len(rejected)} realistic messages were rejected: {rejected[0]}")
    jsonb_values = [
        row[column]
        for result in decoded
        if isinstance(result, Decoded)
        for row in result.rows.get(CAMERA_EVENTS.name, ())
        for column in JSONB_COLUMNS
        if row[column] is not None
    ]
    pairs = [(msg.payload, msg.topic.split("/")[2]) for msg in messages]

    def parse() -> None:
        for payload, camera_id in pairs:
            parse_events_payload(payload, camera_id)

    def decode_all() -> None:
        for msg in messages:
            decode(msg, registry, now)

    def encode_jsonb() -> None:
        encode = db._encode_jsonb
        for value in jsonb_values:
            encode(value)

    stages = {"parse": parse, "decode": decode_all, "jsonb": encode_jsonb}
    report: dict[str, dict[str, float]] = {}
    for name, work in stages.items():
        samples = [seconds * 1e6 / events for seconds in _cpu_seconds(work, repeat)]
        report[name] = {
            "min_us": round(min(samples), 2),
            "median_us": round(statistics.median(samples), 2),
        }
    return report


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per measurement")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per measurement")
    add_results_argument(parser)
    args = parser.parse_args(argv)
    results = {f"batch{batch}": measure(batch, args.events, args.repeat) for batch in (1, 50)}
    print(f"{'shape':<8} {'stage':<7} {'min µs/ev':>10} {'median µs/ev':>13}")
    for shape, stages in results.items():
        for stage, numbers in stages.items():
            print(f"{shape:<8} {stage:<7} {numbers['min_us']:>10.2f} {numbers['median_us']:>13.2f}")
    parameters = {"events": args.events, "repeat": args.repeat, "cameras": CAMERAS}
    result = {"parameters": parameters, "results": results, "summary": results}
    print(f"wrote {write_result('decode_micro', result, args.results_dir)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
