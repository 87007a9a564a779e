"""The benchmark harness's pure parts: results files, /proc parsing, CPU by process name,
rates, /metrics samples, the docs' generated blocks (bench/harness/, docs/benchmarks.md).

No benchmark runs here (they live in bench/ and are never part of the suite).
"""

from __future__ import annotations

import importlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.harness import docs, results
from bench.harness.counting import Series, metric_value
from bench.harness.cpu import (
    ProcStat,
    cpu_by_name,
    cpu_seconds,
    parse_stat,
    proc_stat,
    tree_cpu_seconds,
)
from bench.run import BENCHMARKS

AT = datetime(2026, 12, 1, 6, 30, 5, 123456, tzinfo=UTC)


def _stat_line(pid: int, name: str, ppid: int, ticks: tuple[int, int, int, int]) -> str:
    utime, stime, cutime, cstime = ticks
    # fields 3..13: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    middle = f"S {ppid} {pid} {pid} 0 -1 4194560 1200 300 4 1"
    return f"{pid} ({name}) {middle} {utime} {stime} {cutime} {cstime} 20 0 1 0 12345 0 0\n"


def test_parse_stat_reads_name_parent_and_cpu_ticks() -> None:
    line = _stat_line(4242, "postgres: vigil (idle) x", 17, (250, 50, 100, 20))
    stat = parse_stat(line, ticks_per_s=100)
    assert stat == ProcStat("postgres: vigil (idle) x", 17, 3.0, 1.2)


def test_proc_stat_of_this_process_tracks_its_cpu() -> None:
    stat = proc_stat(os.getpid())
    assert stat is not None
    assert stat.parent == os.getppid()
    before = cpu_seconds(os.getpid())
    assert before is not None
    started = time.process_time()
    while time.process_time() - started < 0.3:  # burn CPU, not wall time
        sum(range(1000))
    after = cpu_seconds(os.getpid())
    assert after is not None
    assert after - before >= 0.2


def test_proc_stat_of_a_gone_process_is_none() -> None:
    assert proc_stat(2**22 + 1) is None  # above the kernel's pid_max


def test_cpu_by_name_counts_live_processes_and_each_roots_reaped_children() -> None:
    table = {
        1: ProcStat("systemd", 0, 5.0, 99.0),
        10: ProcStat("postgres", 1, 1.0, 4.0),  # postmaster: its reaped backends count
        11: ProcStat("postgres", 10, 2.0, 7.0),  # a backend: its children are in 10's already
        20: ProcStat("redis-server", 1, 0.5, 0.0),
        30: ProcStat("mosquitto", 99, 0.25, 1.0),  # parent unknown: a root too
        40: ProcStat("python", 1, 9.0, 0.0),
    }
    totals = cpu_by_name(table, ("postgres", "redis-server", "mosquitto"))
    assert totals == {"postgres": 7.0, "redis-server": 0.5, "mosquitto": 1.25}


def test_tree_cpu_seconds_counts_one_servers_tree_and_not_another_stacks() -> None:
    table = {
        1: ProcStat("init", 0, 5.0, 99.0),
        10: ProcStat("postgres", 1, 1.0, 4.0),  # ours: its reaped backends count (4.0)
        11: ProcStat("postgres", 10, 2.0, 0.0),
        12: ProcStat("postgres", 10, 0.5, 0.0),
        13: ProcStat("sh", 12, 0.25, 0.125),  # a descendant of any name counts
        20: ProcStat("postgres", 1, 30.0, 60.0),  # another stack's postmaster
        21: ProcStat("postgres", 20, 9.0, 0.0),
    }
    assert tree_cpu_seconds(table, 10) == 1.0 + 4.0 + 2.0 + 0.5 + 0.25 + 0.125
    assert tree_cpu_seconds(table, 99) == 0.0  # gone


def test_write_result_stamps_and_never_overwrites(tmp_path: Path) -> None:
    first = results.write_result("demo", {"summary": {"n": 1}}, tmp_path, at=AT)
    second = results.write_result("demo", {"summary": {"n": 2}}, tmp_path, at=AT)

    assert first == tmp_path / "demo" / "2026-12-01T06-30-05Z.json"
    assert second == tmp_path / "demo" / "2026-12-01T06-30-05Z-1.json"
    assert json.loads(first.read_text())["summary"] == {"n": 1}
    content = results.load(second)
    assert content["summary"] == {"n": 2}
    assert content["benchmark"] == "demo"
    assert content["at"] == AT.isoformat()
    assert len(content["code"]["commit"]) == 40  # this checkout's HEAD
    assert isinstance(content["code"]["dirty"], bool)
    assert content["machine"]["cpus"] == os.cpu_count()
    assert content["machine"]["usable_cpus"] >= 1
    assert "cpu_model" in content["machine"]
    assert results.latest("demo", tmp_path) == second
    assert results.history("demo", tmp_path) == [first, second]


def test_latest_without_a_pointer_is_the_newest_file(tmp_path: Path) -> None:
    old = results.write_result("demo", {}, tmp_path, at=AT)
    new = results.write_result("demo", {}, tmp_path, at=AT.replace(hour=7))
    (tmp_path / "demo" / results.LATEST).unlink()
    assert results.latest("demo", tmp_path) == new != old
    assert results.latest("other", tmp_path) is None


def test_only_the_repository_results_folder_updates_the_docs(tmp_path: Path) -> None:
    assert results.in_repository(results.RESULTS)
    assert not results.in_repository(tmp_path)


def test_series_rate_is_measured_between_5_and_95_percent() -> None:
    series = Series()
    for second in range(11):  # 100 events per second, after a slow start
        series.add(float(second), 0 if second == 0 else 50 + 100 * (second - 1))
    series.add(5.0, 10)  # a sample going back is ignored
    assert series.total == 950
    assert series.rate() == pytest.approx(100.0, rel=0.01)


def test_metric_value_reads_the_unlabelled_sample() -> None:
    page = (
        "# HELP vigil_x_total x\n# TYPE vigil_x_total counter\n"
        'vigil_x_total{kind="a"} 7.0\nvigil_x_total 1234.0\nvigil_x_total_created 1.7e9\n'
    )
    assert metric_value(page, "vigil_x_total") == 1234.0
    with pytest.raises(ValueError, match="vigil_y_total"):
        metric_value(page, "vigil_y_total")


def test_replace_block_appends_then_replaces_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nprose\n")
    docs.replace_block("demo", "| a |\n", doc)
    docs.replace_block("demo", "| b |", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nprose\n\n## demo\n\n")
    assert f"{docs.begin_marker('demo')}\n\n| b |\n\n{docs.end_marker('demo')}\n" in text
    assert "| a |" not in text


@pytest.mark.parametrize("name", BENCHMARKS)
def test_docs_blocks_are_rendered_from_the_latest_results_file(name: str) -> None:
    """The figures in docs/benchmarks.md are those of the results files, not hand-copied
    (``python -m bench.run --docs-only`` renders them again)."""
    module = importlib.import_module(BENCHMARKS[name])
    path = results.latest(name)
    assert path is not None
    text = docs.BENCHMARKS_DOC.read_text(encoding="utf-8")
    block = text.split(docs.begin_marker(name))[1].split(docs.end_marker(name))[0]
    assert block.strip() == module.render(results.load(path), path).strip()
