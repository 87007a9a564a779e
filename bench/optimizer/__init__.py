"""The optimizer benchmark (`make bench-optimizer`): see :mod:`bench.optimizer.benchmark`."""
