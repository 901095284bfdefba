"""Benchmarks of the book's code: `python -m benchmarks` (or `make bench`) writes results.md and results.json."""
