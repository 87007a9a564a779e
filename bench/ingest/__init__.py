"""The ingest benchmark (`make bench-ingest`, ``python -m bench.ingest``).

* :mod:`bench.ingest.benchmark`: options, the run on a private stack, the docs block;
* :mod:`bench.ingest.modes`: one mode's measurements, live and backlog;
* :mod:`bench.ingest.consumers`: camsim, the bare subscriber and vigil-ingest replicas;
* :mod:`bench.ingest.bare`: the bare subscriber program (``python -m bench.ingest.bare``);
* :mod:`bench.ingest.rows`: cameras, row counts, the psql COPY and naive INSERT baselines;
* :mod:`bench.ingest.report`, :mod:`bench.ingest.history`: the summary and the docs tables.

Nothing is imported here: the bare subscriber starts as ``python -m bench.ingest.bare`` and
its measured CPU must not include the benchmark's imports.
"""
