"""Reproducible speed and memory measurements of cppcc-archive: `python -m benchmarks`."""
