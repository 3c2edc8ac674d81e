"""Benchmarks kept by the project; run them with `nox -s bench` or `python -m benchmarks`."""
