"""CPU seconds by process, from ``/proc``: where a box's CPU went during one phase.

On a small box the publisher, the broker, the database, Redis and the service under test all
compete, so a rate alone does not say which of them was the limit. :class:`CpuMeter` takes
CPU seconds at the start and the end of a phase:

* the stack's servers by process name (:data:`STACK_SERVERS`): every live process of that
  name, plus the CPU of its exited children for the root of each tree (the postmaster reaps
  its backends, so connections that came and went count);
* the figures of the processes the caller launched, which it passes: a service's is read
  from ``/proc`` just before it is stopped (:func:`cpu_seconds`), a child run to its end from
  this process's reaped children (:func:`reaped_children_cpu_seconds` around waiting for it).

A benchmark assumes nothing else of those names runs on the box while it measures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

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


def stack_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of each stack server (live processes + reaped children)."""
    return cpu_by_name(processes(), STACK_SERVERS)


def reaped_children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    times = os.times()
    return times.children_user + times.children_system


@dataclass
class CpuMeter:
    """CPU seconds by part of the box between :meth:`start` and :meth:`stop`."""

    stack: dict[str, float]
    wall: float

    @classmethod
    def start(cls) -> CpuMeter:
        """Take the starting figures."""
        return cls(stack_cpu_seconds(), time.monotonic())

    def stop(self, consumer_cpu_s: float | None, publisher_cpu_s: float = 0.0) -> dict[str, float]:
        """CPU seconds of each part since :meth:`start`, the phase's wall time, and how many
        cores they kept busy on average (``busy_cores``)."""
        wall = time.monotonic() - self.wall
        stack = stack_cpu_seconds()
        parts = {name: stack[name] - self.stack.get(name, 0.0) for name in STACK_SERVERS}
        parts["consumer"] = consumer_cpu_s or 0.0
        parts["publisher"] = publisher_cpu_s
        result = {name: round(value, 2) for name, value in parts.items()}
        result["wall_s"] = round(wall, 2)
        result["busy_cores"] = round(sum(parts.values()) / wall, 2) if wall > 0 else 0.0
        return result
