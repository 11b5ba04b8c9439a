"""Benchmarks (``make bench``): print measured figures and ratios against in-run baselines."""

import time


def best_of(fn, repeats: int) -> float:
    """Best wall-clock time (s) of ``repeats`` calls of ``fn()``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
