"""Benchmarks (``make bench``): print measured figures and ratios against in-run baselines."""
