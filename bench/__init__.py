"""Vigil benchmarks (`make bench`). Never part of the test suite; results in bench/results/."""
