"""CPU seconds by process, from ``/proc``: where a box's CPU went during one phase.

On a small box the publisher, the broker, the database, Redis and the service under test all
compete, so a rate alone does not say which of them was the limit. :class:`CpuMeter` takes
CPU seconds at the start and the end of a phase:

* the stack's servers, each as the process tree under the pid its launcher recorded
  (:func:`tree_cpu_seconds`: every live process of the tree plus the CPU of the children
  they reaped; the postmaster reaps its backends, so connections that came and went count).
  Other stacks on the same box (other runs, other test suites) are left out. Without pids,
  by process name (:data:`STACK_SERVERS`: every live process of that name, plus the reaped
  children of each tree's root), which assumes nothing else of those names runs meanwhile;
* the figures of the processes the caller launched, which it passes: a service's is read
  from ``/proc`` just before it is stopped (:func:`cpu_seconds`), a child run to its end from
  this process's reaped children (:func:`reaped_children_cpu_seconds` around waiting for it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

STACK_SERVERS = ("postgres", "redis-server", "mosquitto")


@dataclass(frozen=True)
class ProcStat:
    """What a benchmark reads of ``/proc/<pid>/stat``."""

    name: str
    parent: int
    cpu_s: float
    """User + system CPU seconds of the process itself."""
    children_cpu_s: float
    """User + system CPU seconds of its children it has waited for."""


def parse_stat(text: str, ticks_per_s: int) -> ProcStat:
    """Parse one ``/proc/<pid>/stat`` line (proc(5)); ``ticks_per_s`` is ``SC_CLK_TCK``.

    The command name is between the first ``(`` and the *last* ``)``: it may itself hold
    spaces and parentheses. After it come ``state`` (field 3), ``ppid`` (4), ..., ``utime``,
    ``stime``, ``cutime``, ``cstime`` (14-17), in clock ticks.
    """
    close = text.rindex(")")
    fields = text[close + 2 :].split()
    return ProcStat(
        name=text[text.index("(") + 1 : close],
        parent=int(fields[1]),
        cpu_s=(int(fields[11]) + int(fields[12])) / ticks_per_s,
        children_cpu_s=(int(fields[13]) + int(fields[14])) / ticks_per_s,
    )


def proc_stat(pid: int | str) -> ProcStat | None:
    """``/proc/<pid>/stat`` of a live process (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return parse_stat(text, os.sysconf("SC_CLK_TCK"))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used (None if unavailable)."""
    stat = proc_stat(pid)
    return None if stat is None else stat.cpu_s


def processes() -> dict[int, ProcStat]:
    """Every live process's :class:`ProcStat`, by pid."""
    table: dict[int, ProcStat] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(entry)) is not None:
            table[int(entry)] = stat
    return table


def cpu_by_name(table: dict[int, ProcStat], names: Iterable[str]) -> dict[str, float]:
    """CPU seconds so far of the processes named ``names`` in ``table``: every live one, plus
    the reaped children of each tree's root (a process whose parent has another name)."""
    totals = dict.fromkeys(names, 0.0)
    for stat in table.values():
        if stat.name not in totals:
            continue
        totals[stat.name] += stat.cpu_s
        parent = table.get(stat.parent)
        if parent is None or parent.name != stat.name:
            totals[stat.name] += stat.children_cpu_s
    return totals


def tree_cpu_seconds(table: dict[int, ProcStat], root: int) -> float:
    """CPU seconds so far of the live process tree under ``root`` (``root`` included) and of
    every child its processes have reaped (0 once ``root`` is gone).

    A reaped child's CPU, its own reaped children's included, moves to its parent's
    ``children_cpu_s``; live processes' own and reaped figures never overlap.
    """
    children: dict[int, list[int]] = {}
    for pid, stat in table.items():
        children.setdefault(stat.parent, []).append(pid)
    total, todo = 0.0, [root] if root in table else []
    while todo:
        pid = todo.pop()
        total += table[pid].cpu_s + table[pid].children_cpu_s
        todo += children.get(pid, [])
    return total


def stack_cpu_seconds(roots: Mapping[str, int] | None = None) -> dict[str, float]:
    """CPU seconds so far of each stack server: of the process tree of each ``roots`` entry
    (label → pid), or without roots of every process named as in :data:`STACK_SERVERS`."""
    table = processes()
    if roots is None:
        return cpu_by_name(table, STACK_SERVERS)
    return {label: tree_cpu_seconds(table, pid) for label, pid in roots.items()}


def reaped_children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    times = os.times()
    return times.children_user + times.children_system


@dataclass
class CpuMeter:
    """CPU seconds by part of the box between :meth:`start` and :meth:`stop`."""

    stack: dict[str, float]
    wall: float
    roots: Mapping[str, int] | None = field(default=None)

    @classmethod
    def start(cls, roots: Mapping[str, int] | None = None) -> CpuMeter:
        """Take the starting figures (of the servers ``roots`` names, label → pid: see
        :func:`stack_cpu_seconds`)."""
        roots = roots or None
        return cls(stack_cpu_seconds(roots), time.monotonic(), roots)

    def stop(self, consumer_cpu_s: float | None, publisher_cpu_s: float = 0.0) -> dict[str, float]:
        """CPU seconds of each part since :meth:`start`, the phase's wall time, and how many
        cores they kept busy on average (``busy_cores``)."""
        wall = time.monotonic() - self.wall
        stack = stack_cpu_seconds(self.roots)
        parts = {name: stack[name] - self.stack.get(name, 0.0) for name in self.stack}
        parts["consumer"] = consumer_cpu_s or 0.0
        parts["publisher"] = publisher_cpu_s
        result = {name: round(value, 2) for name, value in parts.items()}
        result["wall_s"] = round(wall, 2)
        result["busy_cores"] = round(sum(parts.values()) / wall, 2) if wall > 0 else 0.0
        return result
