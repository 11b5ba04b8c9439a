"""Pareto fronts of design-space results (used by sweep reports and figures)."""
from __future__ import annotations

import numpy as np

__all__ = ["pareto_front"]


def pareto_front(x, y, *, minimize_x: bool, minimize_y: bool) -> np.ndarray:
    """Boolean mask of the Pareto-optimal points (no other point is at least as good in both
    coordinates and strictly better in one). NaN points are never optimal."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xs = x if minimize_x else -x
    ys = y if minimize_y else -y
    ok = np.isfinite(xs) & np.isfinite(ys)
    mask = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i]))
        mask[i] = not dominated.any()
    return mask
