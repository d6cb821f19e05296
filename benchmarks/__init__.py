"""minigrad benchmarks: `python -m benchmarks` runs every bench_*.py and writes RESULTS.md."""
