"""Where the box's CPU went during one phase of the ingest benchmark.

On two cores the publisher, the broker, the database, Redis and the consumer all compete,
so a rate alone does not say which of them was the limit. :class:`CpuMeter` takes CPU
seconds from ``/proc`` at the start and the end of a phase:

* the stack's servers by process name (``postgres``, ``redis-server``, ``mosquitto``):
  every live process of that name, plus the CPU of its exited children for the root of
  each tree (the postmaster reaps its backends, so connections that came and went count);
* the consumer's and the publisher's own figures, which the caller passes: the consumer's
  is read from ``/proc`` just before it is stopped, camsim's from this process's reaped
  children (:func:`reaped_children_cpu_seconds` around waiting for it).

The benchmark assumes nothing else of those names runs on the box while it measures.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

STACK_SERVERS = ("postgres", "redis-server", "mosquitto")


def _processes() -> dict[int, tuple[str, int, float, float]]:
    """pid → (name, parent pid, own CPU s, reaped children's CPU s), from ``/proc``."""
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[str, int, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        own = (int(fields[11]) + int(fields[12])) / ticks
        children = (int(fields[13]) + int(fields[14])) / ticks
        table[int(entry)] = (name, int(fields[1]), own, children)
    return table


def stack_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of each stack server (live processes + reaped children)."""
    table = _processes()
    totals = dict.fromkeys(STACK_SERVERS, 0.0)
    for name, parent, own, children in table.values():
        if name not in totals:
            continue
        totals[name] += own
        parent_name = table.get(parent, ("",))[0]
        if parent_name != name:  # the root of its tree: its reaped children are its workers
            totals[name] += children
    return totals


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
        cores they kept busy on average (``busy_cores``; this box has two)."""
        wall = time.monotonic() - self.wall
        stack = stack_cpu_seconds()
        parts = {name: stack[name] - self.stack.get(name, 0.0) for name in STACK_SERVERS}
        parts["consumer"] = consumer_cpu_s or 0.0
        parts["publisher"] = publisher_cpu_s
        result = {name: round(value, 2) for name, value in parts.items()}
        result["wall_s"] = round(wall, 2)
        result["busy_cores"] = round(sum(parts.values()) / wall, 2) if wall > 0 else 0.0
        return result
