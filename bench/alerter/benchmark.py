"""`make bench-alerter`: alerts per second through routing to a webhook, and the latency
from an alert's hand-over to its delivery (p50 / p99), vigil-alerter side by side with
Debian's real Alertmanager 0.25 on the same alerts, in the same run.

One private local stack (durable), migrated. Three processes under test, each on its own:
``vigil-alerter`` (the service as deployed: its role's login, its default flush interval and
delivery settings, INFO logs to a file), ``prometheus-alertmanager`` (clustering off) and,
for each of them, a ``vigil-webhook-sink`` recording every body it receives. Both get the
same tree: one receiver (a webhook to its sink, ``send_resolved: false``), ``group_by:
['...']`` (every alert its own group, so one alert = one notification), ``group_wait: 0s``.

Scenarios, for each target (``alertmanager`` and ``alerter`` through ``POST /api/v2/alerts``,
``alerter-stream`` through ``AlertCandidate`` entries on ``vigil:alerts``):

* ``burst``: ``--alerts`` alerts handed over in batches of ``--batch`` as fast as accepted;
  the rate is alerts over the time from the first hand-over to the last delivery;
* ``paced``: ``--paced-alerts`` alerts, one at a time at ``--rate`` per second (well below
  saturation): the latency figures that matter for an operator.

CPU seconds of each target process and of PostgreSQL and Redis are taken around each
scenario. ``python -m bench.alerter --alerts 300 --paced-alerts 50`` for a quick try.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.alerter import report
from bench.alerter.load import Key, SinkProcess, deliveries, post_alerts, publish_candidates
from bench.harness.cpu import cpu_seconds, stack_cpu_seconds
from bench.harness.processes import console_script
from bench.harness.results import relative
from bench.harness.stack import private_stack, server_pids, service_env
from vigil_runtime.stack import StackInfo
from vigil_runtime.stack.procs import free_port
from vigil_tools.prom_processes import PromProcess, start_alertmanager

TARGETS = ("alertmanager", "alerter", "alerter-stream")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark (also offered by ``python -m bench.run``)."""
    group = parser.add_argument_group("alerter")
    group.add_argument("--alerts", type=int, default=2000, help="alerts of the burst scenario")
    group.add_argument("--batch", type=int, default=100, help="alerts per POST / XADD batch")
    group.add_argument("--paced-alerts", type=int, default=300,
                       help="alerts of the paced (latency) scenario")  # fmt: skip
    group.add_argument("--rate", type=float, default=20.0, help="paced alerts per second")
    group.add_argument("--targets", default=",".join(TARGETS),
                       help=f"comma-separated, of {list(TARGETS)}")  # fmt: skip


def _options(args: argparse.Namespace) -> argparse.Namespace:
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    return argparse.Namespace(**(vars(defaults.parse_args([])) | vars(args)))


def bench_config(sink_url: str) -> str:
    """The tree both targets run (Alertmanager's format, valid for the alerter)."""
    return f"""\
route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: {sink_url}
        send_resolved: false
"""


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every scenario on a private stack (``bench.run`` API)."""
    options = _options(args)
    targets = [name.strip() for name in options.targets.split(",") if name.strip()]
    if not targets or set(targets) - set(TARGETS):
        raise SystemExit(f"--targets: a comma-separated list of {list(TARGETS)}")
    if min(options.alerts, options.batch, options.paced_alerts) < 1 or options.rate <= 0:
        raise SystemExit("--alerts, --batch, --paced-alerts and --rate: at least 1")
    async with private_stack("alerter") as (info, workdir):
        results = await _run_on(info, workdir, options, targets)
    parameters = {
        "alerts": options.alerts, "batch": options.batch, "paced_alerts": options.paced_alerts,
        "rate": options.rate, "group_wait_s": 0, "grouping": "one group per alert",
        "alerter_settings": "service defaults", "flush_interval_s": _flush_interval(),
        "alertmanager": "Debian prometheus-alertmanager 0.25, clustering off",
        "targets": targets, "durable_stack": True, "cpus": len(os.sched_getaffinity(0)),
    }  # fmt: skip
    return {"parameters": parameters, "results": results,
            "summary": report.summarize(results)}  # fmt: skip


def _flush_interval() -> float:
    from vigil_alerter.settings import AlerterSettings

    return float(AlerterSettings.model_fields["alerter_flush_interval_s"].default)


def render(result: dict[str, Any], path: Path) -> str:
    """The docs' alerter block for the results file ``path``."""
    return report.render(result, relative(path))


class AlerterProcess:
    """``vigil-alerter`` as deployed, with the bench tree, ready on a free port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ) | env | {
            "VIGIL_HTTP_PORT": str(self.port), "VIGIL_HTTP_HOST": "127.0.0.1",
            "VIGIL_ENV_FILE": str(log.with_suffix(".no-env-file")), "VIGIL_LOG_LEVEL": "INFO",
        }  # fmt: skip
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                console_script("vigil-alerter"), env=self.env, stderr=log, stdout=log)  # fmt: skip
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline and self.proc.returncode is None:
                try:
                    async with session.get(self.url + "/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"vigil-alerter not ready: {tail}")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def _run_on(info: StackInfo, workdir: Path, options: argparse.Namespace,
                  targets: list[str]) -> dict[str, Any]:  # fmt: skip
    am_sink = SinkProcess(free_port(), workdir / "am-sink.jsonl", workdir / "am-sink.log")
    vigil_sink = SinkProcess(free_port(), workdir / "vigil-sink.jsonl", workdir / "vigil-sink.log")
    await am_sink.start()
    await vigil_sink.start()
    am: PromProcess | None = None
    config = workdir / "alerter.yml"
    config.write_text(bench_config(vigil_sink.url), encoding="utf-8")
    alerter = AlerterProcess(service_env(info, "alerter") | {"VIGIL_ALERTER_CONFIG": str(config)},
                             workdir / "alerter.log")  # fmt: skip
    try:
        am = start_alertmanager(bench_config(am_sink.url), workdir)
        pids = {"alertmanager": am.process.pid}
        if set(targets) - {"alertmanager"}:
            await alerter.start()
            assert alerter.proc is not None
            pids |= {"alerter": alerter.proc.pid, "alerter-stream": alerter.proc.pid}
        sinks = {"alertmanager": am_sink, "alerter": vigil_sink, "alerter-stream": vigil_sink}
        handover: dict[str, Callable[[str, int, int, float | None], Awaitable[dict[Key, float]]]]
        handover = {
            "alertmanager": lambda run, n, b, r: post_alerts(am.url if am else "", run, n, b, r),
            "alerter": lambda run, n, b, r: post_alerts(alerter.url, run, n, b, r),
            "alerter-stream": lambda run, n, b, r: publish_candidates(info.redis_url, run, n,
                                                                      b, r),
        }  # fmt: skip
        results: dict[str, Any] = {}
        plan = [("burst", options.alerts, options.batch, None),
                ("paced", options.paced_alerts, 1, options.rate)]  # fmt: skip
        for scenario, count, batch, rate in plan:
            for target in targets:
                figures = await _scenario(
                    f"{target}-{scenario}", handover[target], sinks[target], count, batch, rate,
                    pids[target], server_pids(info))  # fmt: skip
                results.setdefault(target, {})[scenario] = figures
                _print(target, scenario, figures)
        return results
    finally:
        await alerter.stop()
        if am is not None:
            am.stop()
        await am_sink.stop()
        await vigil_sink.stop()


async def _scenario(run: str, handover: Callable[..., Awaitable[dict[Key, float]]],
                    sink: SinkProcess, count: int, batch: int, rate: float | None, pid: int,
                    servers: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    cpu_before, stack_before = cpu_seconds(pid) or 0.0, stack_cpu_seconds(servers)
    started = time.time()
    sent = await handover(run, count, batch, rate)
    handed_s = time.time() - started
    got, bodies = await deliveries(sink, sorted(sent), timeout_s=120 + count / 10)
    done = max(got.values(), default=time.time())
    stack_after = stack_cpu_seconds(servers)
    latencies = sorted(got[key] - sent[key] for key in got)
    return {
        "alerts": count, "delivered": len(got), "bodies": bodies,
        "handover_s": round(handed_s, 3), "wall_s": round(done - started, 3),
        "latency_s": report.percentiles(latencies),
        "cpu_s": {"target": round((cpu_seconds(pid) or 0.0) - cpu_before, 2)} | {
            label: round(stack_after[label] - stack_before.get(label, 0.0), 2)
            for label in stack_after},
    }  # fmt: skip


def _print(target: str, scenario: str, figures: dict[str, Any]) -> None:
    latency = figures["latency_s"]
    print(f"alerter bench {target} {scenario}: {figures['delivered']}/{figures['alerts']} "
          f"delivered in {figures['wall_s']} s, latency p50 {latency.get('p50')} s p99 "
          f"{latency.get('p99')} s", file=sys.stderr)  # fmt: skip
