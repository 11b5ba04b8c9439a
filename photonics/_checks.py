"""Argument validation shared by every layer.

Every public function checks its inputs here *before* they reach a Numba kernel or a long
run. Each error names the argument, the offending value and the allowed range, e.g.::

    ValueError: radius_um=-3.0 is out of range; allowed: > 0
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "check_finite",
    "check_range",
    "check_positive",
    "check_int",
    "check_seed",
    "check_xy_um",
]


def _show(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value.item() if hasattr(value, "item") else value)
    return f"array(shape={arr.shape}, min={np.nanmin(arr) if arr.size else 'n/a'}, max={np.nanmax(arr) if arr.size else 'n/a'})"


def as_float_array(name: str, value) -> np.ndarray:
    """Convert ``value`` to a float64 array; reject non-numeric input and NaN/inf."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or array of real numbers, got {type(value).__name__} {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array of real numbers, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"{name} contains a non-finite value ({bad}); allowed: finite real numbers")
    return arr


def check_finite(name: str, value) -> np.ndarray:
    """Alias of :func:`as_float_array` for readability at call sites."""
    return as_float_array(name, value)


def check_range(
    name: str,
    value,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_inclusive: bool = True,
    hi_inclusive: bool = True,
    unit: str = "",
):
    """Check ``lo <= value <= hi`` (bounds optional, open or closed) element-wise.

    Returns the value as a float (scalar input) or float64 array.
    """
    arr = as_float_array(name, value)
    bad = np.zeros(arr.shape, dtype=bool)
    if lo is not None:
        bad |= (arr < lo) if lo_inclusive else (arr <= lo)
    if hi is not None:
        bad |= (arr > hi) if hi_inclusive else (arr >= hi)
    if np.any(bad):
        u = f" {unit}" if unit else ""
        parts = []
        if lo is not None:
            parts.append(f"{'>=' if lo_inclusive else '>'} {lo}{u}")
        if hi is not None:
            parts.append(f"{'<=' if hi_inclusive else '<'} {hi}{u}")
        offending = arr[bad].ravel()[0] if arr.ndim else arr.item()
        shown = _show(value) if arr.ndim == 0 else f"{offending} (in {_show(value)})"
        raise ValueError(f"{name}={shown} is out of range; allowed: {' and '.join(parts)}")
    return float(arr) if arr.ndim == 0 else arr


def check_positive(name: str, value, unit: str = ""):
    """Check ``value > 0`` element-wise."""
    return check_range(name, value, 0.0, None, lo_inclusive=False, unit=unit)


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """Check that ``value`` is an integer (not bool) within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = " and ".join(p for p in ((f">= {lo}" if lo is not None else ""), (f"<= {hi}" if hi is not None else "")) if p)
        raise ValueError(f"{name}={v} is out of range; allowed: {rng}")
    return v


def check_seed(name: str, value) -> int:
    """A seed is a non-negative int (what ``numpy.random.SeedSequence`` accepts)."""
    return check_int(name, value, lo=0)


def check_xy_um(name: str, value) -> np.ndarray:
    """Coordinates in micrometres: a finite float array of shape (n, 2)."""
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_rings, 2) of (x, y) in micrometres, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one ring position, got shape {arr.shape}")
    return arr
