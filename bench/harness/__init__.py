"""The benchmark harness every service's benchmark reuses.

* :mod:`bench.harness.stack`: a private, durable, migrated local stack for one run, and psql
  commands against its database;
* :mod:`bench.harness.processes`: console scripts run to their end, service replicas started,
  waited for, sampled and stopped;
* :mod:`bench.harness.cpu`: CPU seconds by process from ``/proc`` (:class:`CpuMeter`);
* :mod:`bench.harness.counting`: counters over time and their sustained rate, ``/metrics``
  samples, rows and distinct keys;
* :mod:`bench.harness.results`: every run's results file under ``bench/results/<name>/``,
  stamped with the commit and the machine, never overwritten;
* :mod:`bench.harness.docs`: the docs' generated blocks, rendered from a results file.

A benchmark is a module with ``async def run(args) -> dict`` (and optionally
``add_arguments(parser)`` and ``render(result, source) -> str``) listed in
:data:`bench.run.BENCHMARKS`; ``python -m bench.run NAME`` runs it and writes its results
file and docs block. See docs/benchmarks.md.
"""
