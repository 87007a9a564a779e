"""CPU cost of the ingest per message, measured inside one process on a queued backlog.

``python -m bench.pipeline_micro [--messages N] [--batch B] [--reps R] [--profile FILE]``

The real ingest pieces (``MqttLink``, ``Pipeline`` with its COPY writers and Redis fan-out,
``CameraRegistry``, the service's decoder) run in this process on a private local stack,
connected to PostgreSQL as the ingest's role (``vigil_ingest``), as in production.
Each repetition:

1. makes sure the ingest's persistent session exists (connect, subscribe, leave);
2. has ``vigil-camsim`` queue ``N`` messages of ``B`` events for it (a separate process);
3. starts link and pipeline and measures this process's CPU time (``time.process_time``)
   until every message is acknowledged, and the share of it spent in ``decode``.

It prints µs of CPU per message and per event (median over the repetitions), total and
without decode. Unlike ``bench.ingest`` (wall-clock rates of the whole box, the service as
a child process), this isolates the ingest's own CPU, which is what a shared two-core box
can measure reproducibly. ``--profile`` records the drains with py-spy (speedscope format).
Each run writes bench/results/pipeline_micro/<UTC time>.json (``--results-dir`` elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from bench.harness.results import add_results_argument, write_result
from bench.harness.stack import private_stack, service_env
from bench.ingest.bare import purge_session
from bench.ingest.consumers import Workload, run_camsim
from bench.ingest.rows import register_cameras, reset_tables
from vigil_ingest.decode import Decoded, Rejected
from vigil_ingest.main import link_config, make_decoder
from vigil_ingest.mqtt_link import Inbound, MqttLink
from vigil_ingest.pipeline import Pipeline
from vigil_ingest.registry import CameraRegistry
from vigil_ingest.settings import IngestSettings
from vigil_runtime.db import create_pool
from vigil_runtime.gc_tuning import tune_gc
from vigil_runtime.logging import configure_logging
from vigil_runtime.redis_client import open_redis
from vigil_runtime.stack import StackInfo

CLIENT_ID = "bench-pipeline-micro"
POLL_S = 0.05
DRAIN_TIMEOUT_S = 600.0


class _TimedDecoder:
    """Wraps the service's decoder and sums the CPU time spent in it."""

    def __init__(self, inner: Callable[[Inbound, datetime], Decoded | Rejected]) -> None:
        self._inner = inner
        self.cpu_s = 0.0

    def __call__(self, msg: Inbound, now: datetime) -> Decoded | Rejected:
        started = time.process_time()
        try:
            return self._inner(msg, now)
        finally:
            self.cpu_s += time.process_time() - started


class _Ingest:
    """Registry, pipeline and MQTT link wired as ``vigil_ingest.main`` does (no liveness)."""

    def __init__(self, pool: Any, redis: aioredis.Redis, settings: IngestSettings) -> None:
        self.registry = CameraRegistry(pool, refresh_s=settings.registry_refresh_s)
        self.link = MqttLink(link_config(settings), lambda batch: self.pipeline.submit(batch))
        self.decoder = _TimedDecoder(make_decoder(self.registry, settings))
        self.pipeline: Pipeline[Inbound] = Pipeline(
            pool, redis, self.registry, settings, self.link.ack,
            self.link.pause_reading, self.link.resume_reading, decoder=self.decoder,
        )  # fmt: skip

    async def run_until(self, done: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
        """Run until ``await done()`` (polled), then drain the pipeline and disconnect."""
        await self.registry.start()
        stop = asyncio.Event()
        self.pipeline.start()
        link_task = asyncio.create_task(self.link.run(stop))
        try:
            deadline = time.monotonic() + timeout_s
            while not await done():
                if time.monotonic() > deadline:
                    raise TimeoutError("the backlog was not drained in time")
                await asyncio.sleep(POLL_S)
        finally:
            await self.pipeline.drain(5.0)
            stop.set()
            await link_task
            await self.registry.close()


def _acks() -> float:
    return REGISTRY.get_sample_value("vigil_ingest_acks_total") or 0.0


async def _acked(target: float) -> bool:
    return _acks() >= target


def _subscribed(ingest: _Ingest) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            await ingest.link.ready_check()
        except Exception:
            return False
        return True

    return check


async def _one_rep(
    info: StackInfo, workdir: Path, pool: Any, ingest_pool: Any, redis: aioredis.Redis,
    args: argparse.Namespace, rep: int,
) -> dict[str, float]:  # fmt: skip
    """One drain; ``pool`` (the superuser) resets the tables, the ingest's pieces use
    ``ingest_pool`` (its role's login, as in production)."""
    settings = IngestSettings(mqtt_client_id=CLIENT_ID)
    await reset_tables(pool)
    await redis.flushdb()
    await asyncio.to_thread(purge_session, info.mqtt_url, CLIENT_ID)
    setup = _Ingest(ingest_pool, redis, settings)  # creates the persistent session
    await setup.run_until(_subscribed(setup), 30.0)
    workload = Workload(url=info.mqtt_url, cameras=args.cameras, batch=args.batch,
                        duration_s=600.0, fps=0.0, camera_prefix="bench-", window=1000,
                        count=args.messages)  # fmt: skip
    summary = await run_camsim(workload, workdir, f"micro-{rep}")
    queued = int(summary["acked"]["events"])
    ingest = _Ingest(ingest_pool, redis, settings)
    target = _acks() + queued
    spy = _start_py_spy(args.profile, rep)
    cpu0, wall0 = time.process_time(), time.monotonic()
    await ingest.run_until(lambda: _acked(target), DRAIN_TIMEOUT_S)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    _stop_py_spy(spy)
    events = queued * args.batch
    return {
        "messages": queued,
        "cpu_us_per_message": cpu / queued * 1e6,
        "cpu_us_per_event": cpu / events * 1e6,
        "decode_us_per_message": ingest.decoder.cpu_s / queued * 1e6,
        "other_us_per_message": (cpu - ingest.decoder.cpu_s) / queued * 1e6,
        "wall_s": wall,
    }


def _start_py_spy(profile: str | None, rep: int) -> subprocess.Popen[bytes] | None:
    if not profile:
        return None
    out = f"{profile}.{rep}.json" if rep else profile
    spy = subprocess.Popen(
        [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(os.getpid()),
         "--format", "speedscope", "--rate", "250", "--output", out, "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)  # py-spy attaches
    return spy


def _stop_py_spy(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(2)
        spy.wait(30)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("WARNING", "bench")
    keep = Path(args.stack_dir) if args.stack_dir else None
    async with private_stack("micro", keep=keep) as (info, workdir):
        os.environ.update(info.env())
        pool = await create_pool(info.database_url, min_size=1, max_size=4)
        ingest_url = service_env(info, "ingest")["VIGIL_DATABASE_URL"]
        ingest_pool = await create_pool(ingest_url, min_size=1, max_size=4)
        redis = open_redis(info.redis_url)
        try:
            ids = [f"bench-{index:03d}" for index in range(1, args.cameras + 1)]
            await register_cameras(pool, ids)
            reps = [
                await _one_rep(info, workdir, pool, ingest_pool, redis, args, rep)
                for rep in range(args.reps)
            ]
        finally:
            await ingest_pool.close()
            await pool.close()
            await redis.aclose()
    for rep in reps:
        print({key: round(value, 2) for key, value in rep.items()})
    keys = ("cpu_us_per_message", "cpu_us_per_event", "decode_us_per_message",
            "other_us_per_message")  # fmt: skip
    median = {key: round(statistics.median(r[key] for r in reps), 2) for key in keys}
    print("median", median)
    parameters = {"messages": args.messages, "batch": args.batch, "cameras": args.cameras}
    return {"parameters": parameters, "reps": reps, "summary": median}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages queued per rep")
    parser.add_argument("--batch", type=int, default=1, help="events per message")
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--profile", help="py-spy speedscope output file")
    parser.add_argument("--stack-dir", help="keep the stack here between runs (reused)")
    add_results_argument(parser)
    args = parser.parse_args(argv)
    tune_gc(IngestSettings().gc_gen0_threshold)  # as service_main does for vigil-ingest
    result = asyncio.run(_main(args))
    print(f"wrote {write_result('pipeline_micro', result, args.results_dir)}", file=sys.stderr)


if __name__ == "__main__":
    main()
