"""fitray's benchmarks: ratios measured side by side in one run (see BENCHMARKS.md).

Run them all with ``python -m bench`` (what ``make bench`` does), one with
``python -m bench.bench_<name>``; every bench shares :mod:`bench.harness`.
"""
