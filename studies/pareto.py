"""Pareto fronts of design-space results (used by sweep reports and figures)."""
from __future__ import annotations

import numpy as np

__all__ = ["pareto_front"]


def pareto_front(x, y, *, minimize_x: bool, minimize_y: bool, eligible=None) -> np.ndarray:
    """Boolean mask of the Pareto-optimal points (no other point is at least as good in both
    coordinates and strictly better in one). NaN points are never optimal.

    ``eligible``: optional boolean mask (same length); points outside it (e.g. designs below a
    minimum accuracy) are neither on the front nor dominate any point: the front of the eligible
    points alone."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xs = x if minimize_x else -x
    ys = y if minimize_y else -y
    ok = np.isfinite(xs) & np.isfinite(ys)
    if eligible is not None:
        eligible = np.asarray(eligible, dtype=bool)
        if eligible.shape != ok.shape:
            raise ValueError(f"eligible has shape {eligible.shape}; allowed: one flag per point, shape {ok.shape}")
        ok &= eligible
    mask = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i]))
        mask[i] = not dominated.any()
    return mask
