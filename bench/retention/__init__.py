"""The retention benchmark (`make bench-retention`): see :mod:`bench.retention.benchmark`."""
