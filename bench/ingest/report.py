"""The ingest benchmark's summary (ratios, targets) and its block in docs/benchmarks.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bench.ingest.history import history_table

SINGLE_VS_BARE_TARGET = 0.8
BATCH_RATE_TARGET = 50_000


def _ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Per mode: the rates, the ratios of the ingest (per replica count) to each baseline,
    loss, where the CPU went; then the targets.

    Live ratios compare the ingest with the bare subscriber under the same publisher; the
    COPY and INSERT ratios use the backlog rate (the ingest's own capacity), since the
    baselines load the very rows of that run without any publisher.
    """
    summary: dict[str, Any] = {}
    for mode, result in results.items():
        live, backlog = result["live"], result["backlog"]
        bare_live, bare_backlog = live["bare"]["events_per_s"], backlog["bare"]["events_per_s"]
        copy_rate = result["psql_copy"]["events_per_s"]
        naive_rate = result["naive_insert"]["events_per_s"]
        ingest: dict[str, Any] = {}
        checks = []
        for replicas, live_run in live["ingest"].items():
            backlog_run = backlog["ingest"][replicas]
            checks += [live_run["verification"], backlog_run["verification"]]
            rate = backlog_run["events_per_s"]
            ingest[replicas] = {
                "live_events_per_s": live_run["events_per_s"],
                "live_publisher_events_per_s": live_run["publisher"]["events_rate"],
                "live_vs_bare": _ratio(live_run["events_per_s"], bare_live),
                "backlog_events_per_s": rate,
                "backlog_vs_bare": _ratio(rate, bare_backlog),
                "backlog_vs_psql_copy": _ratio(rate, copy_rate),
                "backlog_vs_naive_insert": _ratio(rate, naive_rate, 1),
                "cpu_us_per_event": {
                    "live": _cpu_per_event(live_run),
                    "backlog": _cpu_per_event(backlog_run),
                },
            }
        summary[mode] = {
            "live_bare_events_per_s": bare_live,
            "live_publisher_with_bare_events_per_s": live["bare"]["publisher"]["events_rate"],
            "backlog_bare_events_per_s": bare_backlog,
            "bare_cpu_us_per_event": {
                "live": _cpu_per_event(live["bare"]),
                "backlog": _cpu_per_event(backlog["bare"]),
            },
            "psql_copy_events_per_s": copy_rate,
            "naive_insert_events_per_s": naive_rate,
            "ingest": ingest,
            "lost": sum(check["lost"] or 0 for check in checks),
            "drained": all(check["drained"] for check in checks),
            "duplicated": sum(check["duplicated"] for check in checks),
            "verified": all(check["ok"] for check in checks),
        }
    summary["targets"] = _targets(summary)
    return summary


def _cpu_per_event(run: dict[str, Any]) -> dict[str, float] | None:
    """µs of CPU per event of each part of the box during ``run`` (None if not measured)."""
    cpu, events = run.get("cpu"), run.get("events")
    if not cpu or not events:
        return None
    parts = {key: value for key, value in cpu.items() if key not in ("wall_s", "busy_cores")}
    return {key: round(value / events * 1e6, 1) for key, value in parts.items()} | {
        "busy_cores": cpu["busy_cores"]
    }


def _best(rows: dict[str, Any], key: str) -> tuple[str | None, float]:
    """The replica count with the highest ``key`` and that value."""
    best: tuple[str | None, float] = (None, 0.0)
    for replicas, row in rows.items():
        value = row[key] or 0.0
        if value > best[1]:
            best = (replicas, value)
    return best


def _targets(summary: dict[str, Any]) -> dict[str, Any]:
    """Each target of issue 3: met or not, with the replica count that came closest."""
    targets: dict[str, Any] = {}
    single, batch = summary.get("single"), summary.get("batch50")
    if single is not None:
        replicas, ratio = _best(single["ingest"], "live_vs_bare")
        targets["single_live_ingest_vs_bare_ge_0.8"] = {
            "met": ratio >= SINGLE_VS_BARE_TARGET, "best": ratio, "replicas": replicas
        }  # fmt: skip
    if batch is not None:
        for phase in ("live", "backlog"):
            replicas, rate = _best(batch["ingest"], f"{phase}_events_per_s")
            targets[f"batch50_{phase}_ingest_ge_50000_per_s"] = {
                "met": rate >= BATCH_RATE_TARGET, "best": rate, "replicas": replicas
            }  # fmt: skip
    modes = [s for s in (single, batch) if s is not None]
    met = all(s["verified"] and s["lost"] == 0 and s["duplicated"] == 0 for s in modes)
    targets["zero_lost_zero_duplicated"] = {"met": met}
    return targets


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _modes(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(mode, row) for mode, row in summary.items() if mode != "targets"]


def render(result: dict[str, Any], source: str, earlier: list[tuple[str, dict[str, Any]]]) -> str:
    """The markdown of the docs' ingest block: the run of ``result`` (read from the results
    file ``source``, a repository path) in full, then every run (``earlier`` and this one)
    side by side."""
    params = result["parameters"]
    summary = result["summary"]
    when = datetime.fromisoformat(result["at"])
    pace = ", ".join(f"{mode} {label}" for mode, label in params["live_publisher"].items())
    lines = [
        f"Last run: [`{source}`](../{source}), {when:%Y-%m-%d %H:%M} UTC{_commit(result)}, "
        f"{params['cameras']} cameras, live camsim runs of {params['duration_s']:g} s ({pace}), "
        f"backlogs of {params['backlog_events']:,} events, QoS 1, durable stack (fsync on). "
        "Events per second; *xN*: N ingest replicas on one shared subscription.",
        "",
        *_live_table(summary),
        "",
        *_backlog_table(summary),
        "",
        *_cpu_table(summary),
        "",
        "Rows counted after every ingest run (live and backlog):",
        "",
    ]
    for mode, row in _modes(summary):
        verdict = "verified" if row["verified"] else "**verification failed**"
        if not row["drained"]:
            verdict += ", the ingest had not caught up when the drain timeout stopped it"
        lines.append(f"- {mode}: {row['lost']} lost, {row['duplicated']} duplicated ({verdict})")
    lines += ["", "Targets (issue 3):", ""]
    for name, target in summary["targets"].items():
        verdict = "met" if target["met"] else "**not met**"
        if "best" in target:
            verdict += f" (best {target['best']:,} with x{target['replicas']})"
        lines.append(f"- `{name}`: {verdict}")
    lines += ["", *history_table([*earlier, (source, result)])]
    return "\n".join(lines)


def _commit(result: dict[str, Any]) -> str:
    commit = (result.get("code") or {}).get("commit")
    if not commit:
        return ""
    dirty = " with uncommitted changes" if result["code"].get("dirty") else ""
    return f", commit {commit[:7]}{dirty}"


def _live_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "**Live** (camsim publishing while the consumer runs; the publisher shares the CPU):",
        "",
        "| mode | consumer | publisher | consumer rate | / bare |",
        "|---|---|--:|--:|--:|",
    ]
    for mode, row in _modes(summary):
        lines.append(
            f"| {mode} | bare subscriber | {_n(row['live_publisher_with_bare_events_per_s'])} "
            f"| {_n(row['live_bare_events_per_s'])} | 1 |"
        )
        for replicas, ingest in row["ingest"].items():
            lines.append(
                f"| {mode} | Vigil ingest x{replicas} | "
                f"{_n(ingest['live_publisher_events_per_s'])} | "
                f"{_n(ingest['live_events_per_s'])} | {ingest['live_vs_bare']} |"
            )
    return lines


def _backlog_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "**Backlog** (the broker holds the events for the offline consumer, which then "
        "drains them alone), and the same rows through psql and naive INSERTs:",
        "",
        "| mode | consumer | rate | / bare | / psql `\\copy` | / naive INSERT |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for mode, row in _modes(summary):
        lines += [
            f"| {mode} | bare subscriber | {_n(row['backlog_bare_events_per_s'])} | 1 | | |",
            f"| {mode} | psql `\\copy` | {_n(row['psql_copy_events_per_s'])} | | 1 | |",
            f"| {mode} | naive INSERT | {_n(row['naive_insert_events_per_s'])} | | | 1 |",
        ]
        for replicas, ingest in row["ingest"].items():
            lines.append(
                f"| {mode} | Vigil ingest x{replicas} | {_n(ingest['backlog_events_per_s'])} | "
                f"{ingest['backlog_vs_bare']} | {ingest['backlog_vs_psql_copy']} | "
                f"{ingest['backlog_vs_naive_insert']} |"
            )
    return lines


_CPU_PARTS = ("consumer", "publisher", "postgres", "redis-server", "mosquitto")


def _cpu_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "**Where the CPU went** (µs of CPU per event stored or received, by process; "
        "busy cores of the two):",
        "",
        "| mode | phase | run | " + " | ".join(_CPU_PARTS) + " | busy cores |",
        "|---|---|---|" + "--:|" * (len(_CPU_PARTS) + 1),
    ]

    def row_of(mode: str, phase: str, consumer: str, cpu: dict[str, float] | None) -> str:
        cells = [_n(cpu.get(part)) if cpu else "–" for part in _CPU_PARTS]
        busy = f"{cpu['busy_cores']:.2f}" if cpu else "–"
        return f"| {mode} | {phase} | {consumer} | " + " | ".join(cells) + f" | {busy} |"

    for mode, row in _modes(summary):
        for phase in ("live", "backlog"):
            lines.append(row_of(mode, phase, "bare", row["bare_cpu_us_per_event"][phase]))
            for replicas, ingest in row["ingest"].items():
                cpu = ingest["cpu_us_per_event"][phase]
                lines.append(row_of(mode, phase, f"ingest x{replicas}", cpu))
    return lines
