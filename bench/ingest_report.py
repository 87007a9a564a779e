"""The ingest benchmark's summary (ratios, targets) and its table in docs/benchmarks.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-ingest:begin (written by `make bench-ingest`) -->"
END = "<!-- bench-ingest:end -->"

SINGLE_VS_BARE_TARGET = 0.8
BATCH_RATE_TARGET = 50_000


def _ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Per mode: the rates, the ratios of the ingest to each baseline, loss, the targets.

    Live ratios compare the ingest with the bare subscriber under the same publisher; the
    COPY and INSERT ratios use the backlog rate (the ingest's own capacity), since the
    baselines load the very rows of that run without any publisher.
    """
    summary: dict[str, Any] = {}
    for mode, result in results.items():
        live, backlog = result["live"], result["backlog"]
        ingest = backlog["ingest"]["events_per_s"]
        checks = (live["ingest"]["verification"], backlog["ingest"]["verification"])
        summary[mode] = {
            "live_bare_events_per_s": live["bare"]["events_per_s"],
            "live_ingest_events_per_s": live["ingest"]["events_per_s"],
            "live_ingest_vs_bare": _ratio(
                live["ingest"]["events_per_s"], live["bare"]["events_per_s"]
            ),
            "live_publisher_events_per_s": {
                "with_bare": live["bare"]["publisher"]["events_rate"],
                "with_ingest": live["ingest"]["publisher"]["events_rate"],
            },
            "backlog_bare_events_per_s": backlog["bare"]["events_per_s"],
            "backlog_ingest_events_per_s": ingest,
            "backlog_ingest_vs_bare": _ratio(ingest, backlog["bare"]["events_per_s"]),
            "psql_copy_events_per_s": result["psql_copy"]["events_per_s"],
            "naive_insert_events_per_s": result["naive_insert"]["events_per_s"],
            "backlog_ingest_vs_psql_copy": _ratio(ingest, result["psql_copy"]["events_per_s"]),
            "backlog_ingest_vs_naive_insert": _ratio(
                ingest, result["naive_insert"]["events_per_s"], 1
            ),
            "lost": sum(check["lost"] or 0 for check in checks),
            "drained": all(check["drained"] for check in checks),
            "duplicated": sum(check["duplicated"] for check in checks),
            "verified": all(check["ok"] for check in checks),
        }
    summary["targets"] = _targets(summary)
    return summary


def _targets(summary: dict[str, Any]) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    single, batch = summary.get("single"), summary.get("batch50")
    if single is not None:
        ratio = single["live_ingest_vs_bare"] or 0.0
        targets["single_live_ingest_vs_bare_ge_0.8"] = ratio >= SINGLE_VS_BARE_TARGET
    if batch is not None:
        rate = batch["backlog_ingest_events_per_s"]
        targets["batch50_backlog_ingest_ge_50000_per_s"] = rate >= BATCH_RATE_TARGET
    modes = [s for s in (single, batch) if s is not None]
    targets["zero_lost_zero_duplicated"] = all(
        s["verified"] and s["lost"] == 0 and s["duplicated"] == 0 for s in modes
    )
    return targets


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _modes(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(mode, row) for mode, row in summary.items() if mode != "targets"]


def render_section(result: dict[str, Any]) -> str:
    """The markdown of the ingest results (between the markers)."""
    params = result["parameters"]
    summary = result["summary"]
    when = datetime.fromisoformat(result["at"]) if "at" in result else datetime.now(UTC)
    pace = ", ".join(f"{mode} {label}" for mode, label in params["live_publisher"].items())
    lines = [
        BEGIN,
        "",
        f"Last run: {when:%Y-%m-%d %H:%M} UTC, {params['cameras']} cameras, "
        f"live camsim runs of {params['duration_s']:g} s ({pace}), backlogs of "
        f"{params['backlog_events']:,} events, QoS 1, durable stack (fsync on). "
        "Events per second.",
        "",
        "**Live** (camsim publishing while the consumer runs; the publisher shares the CPU):",
        "",
        "| mode | publisher (with bare) | bare subscriber | publisher (with ingest) "
        "| Vigil ingest | ingest / bare |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for mode, row in _modes(summary):
        publisher = row["live_publisher_events_per_s"]
        lines.append(
            f"| {mode} | {_n(publisher['with_bare'])} | {_n(row['live_bare_events_per_s'])} | "
            f"{_n(publisher['with_ingest'])} | {_n(row['live_ingest_events_per_s'])} | "
            f"{row['live_ingest_vs_bare']} |"
        )
    lines += [
        "",
        "**Backlog** (the broker holds the events for the offline consumer, which then "
        "drains them alone), and the same rows through psql and naive INSERTs:",
        "",
        "| mode | bare subscriber | Vigil ingest | ingest / bare | psql `\\copy` | "
        "naive INSERT | ingest / psql COPY | ingest / naive |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for mode, row in _modes(summary):
        lines.append(
            f"| {mode} | {_n(row['backlog_bare_events_per_s'])} | "
            f"{_n(row['backlog_ingest_events_per_s'])} | {row['backlog_ingest_vs_bare']} | "
            f"{_n(row['psql_copy_events_per_s'])} | {_n(row['naive_insert_events_per_s'])} | "
            f"{row['backlog_ingest_vs_psql_copy']} | {row['backlog_ingest_vs_naive_insert']} |"
        )
    lines += ["", "Rows counted after every ingest run (live and backlog):", ""]
    for mode, row in _modes(summary):
        verdict = "verified" if row["verified"] else "**verification failed**"
        if not row["drained"]:
            verdict += ", the ingest had not caught up when the drain timeout stopped it"
        lines.append(f"- {mode}: {row['lost']} lost, {row['duplicated']} duplicated ({verdict})")
    lines += ["", "Targets (issue 3):", ""]
    for name, met in summary["targets"].items():
        lines.append(f"- `{name}`: {'met' if met else '**not met**'}")
    lines += ["", END]
    return "\n".join(lines)


def update_docs(result: dict[str, Any], path: Path = DOCS) -> None:
    """Replace the generated block of the ingest section (or append the section)."""
    block = render_section(result)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Ingest (`make bench-ingest`)\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
