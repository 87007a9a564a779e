"""Results files: every benchmark run writes one, and the docs quote them.

``write_result(name, result)`` stamps ``result`` with the benchmark's name, the time, the
code (git commit, and whether the worktree had uncommitted changes) and the machine (CPU
count and model, memory, Python, system), and writes it to
``bench/results/<name>/<UTC time>.json``; an earlier run's file is never overwritten. The
file ``bench/results/<name>/latest`` then names the newest one (:func:`latest`), so a
document can quote "the last run" as a file, and every earlier run stays next to it
(:func:`history`) to compare with.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
LATEST = "latest"
STAMP = "%Y-%m-%dT%H-%M-%SZ"


def machine() -> dict[str, Any]:
    """What the figures depend on: CPUs (count, usable, model), memory, Python, system."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": _cpuinfo("model name"),
        "memory_gib": _memory_gib(),
        "system": platform.platform(),
    }


def code_version(repo: Path = REPO) -> dict[str, Any]:
    """The git commit the benchmark ran, and whether tracked files had changes (None: no git)."""
    commit = _git(repo, "rev-parse", "HEAD")
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def write_result(
    name: str, result: dict[str, Any], directory: Path = RESULTS, *, at: datetime | None = None
) -> Path:
    """Write ``result`` (stamped) as a new file of ``directory/name``; point ``latest`` at it.

    Returns the file's path. Two runs in the same second get ``-1``, ``-2``... suffixes.
    """
    at = at or datetime.now(UTC)
    stamped = result | {
        "benchmark": name,
        "at": at.isoformat(),
        "code": code_version(),
        "machine": machine(),
    }
    folder = directory / name
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(stamped, indent=2) + "\n"
    stem = at.astimezone(UTC).strftime(STAMP)
    for attempt in range(1000):
        path = folder / (f"{stem}.json" if attempt == 0 else f"{stem}-{attempt}.json")
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        (folder / LATEST).write_text(path.name + "\n", encoding="utf-8")
        return path
    raise FileExistsError(f"no free results file name for {stem} in {folder}")


def history(name: str, directory: Path = RESULTS) -> list[Path]:
    """Every results file of ``name``, oldest first."""
    return sorted((directory / name).glob("*.json"), key=_run_order)


def earlier(path: Path) -> list[Path]:
    """The results files of the same benchmark written before ``path``, oldest first."""
    return [
        other
        for other in history(path.parent.name, path.parent.parent)
        if _run_order(other) < _run_order(path)
    ]


def _run_order(path: Path) -> tuple[str, int]:
    """``(time, n)`` of ``<time>Z.json`` (n = 0) and ``<time>Z-<n>.json``."""
    base, _, rest = path.stem.rpartition("Z")
    if rest == "":
        return base, 0
    return (base, int(rest[1:])) if rest.startswith("-") and rest[1:].isdigit() else (path.stem, 0)


def latest(name: str, directory: Path = RESULTS) -> Path | None:
    """The newest results file of ``name`` (the ``latest`` pointer, else the last by name)."""
    pointer = directory / name / LATEST
    if pointer.exists():
        path = pointer.parent / pointer.read_text(encoding="utf-8").strip()
        if path.exists():
            return path
    files = history(name, directory)
    return files[-1] if files else None


def load(path: Path) -> dict[str, Any]:
    """A results file's content."""
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def relative(path: Path) -> str:
    """``path`` relative to the repository when it is inside (as the docs cite it)."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _cpuinfo(key: str) -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return platform.processor() or None
    for line in lines:
        field, _, value = line.partition(":")
        if field.strip() == key:
            return value.strip()
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            first = handle.readline()  # MemTotal:  16314544 kB
    except OSError:
        return None
    return round(int(first.split()[1]) / 2**20, 1)


def add_results_argument(parser: argparse.ArgumentParser) -> None:
    """``--results-dir``: where the run's file goes (default bench/results; a smoke run
    passes a scratch folder, and then no document is updated)."""
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS,
        help="write results files under DIR/<name>/ (default: bench/results)",
    )


def in_repository(directory: Path) -> bool:
    """Whether ``directory`` is the repository's bench/results (the docs may quote it)."""
    return directory.resolve() == RESULTS.resolve()
