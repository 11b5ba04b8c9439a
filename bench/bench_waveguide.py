"""Waveguide model speed: mode-solver calls, and the table surrogate against in-run baselines.

Baselines measured in the same run: scipy's ``NdBSpline`` evaluating the same spline (values
plus the two derivatives ``sensitivities`` needs) and the mode solver itself.
"""
from __future__ import annotations

import time

from bench import best_of

import numpy as np
from scipy.interpolate import NdBSpline

from photonics import waveguide


def main() -> None:
    points = [(500.0, 220.0, 1550.0), (800.0, 200.0, 1500.0), (2000.0, 250.0, 1620.0)]
    waveguide.solve_mode(*points[0])  # warm imports
    t0 = time.perf_counter()
    for p in points:
        waveguide.solve_mode(*p)
    solve_s = (time.perf_counter() - t0) / len(points)
    t0 = time.perf_counter()
    waveguide.solver_sensitivities(*points[0])
    solver_sens_s = time.perf_counter() - t0
    print(f"mode solver: solve_mode {solve_s * 1e3:.0f} ms per call, solver_sensitivities {solver_sens_s * 1e3:.0f} ms per call")

    table = waveguide._surrogate()
    oracle = NdBSpline(table.knots, table.coef, 3)
    rng = np.random.default_rng(0)
    waveguide.sensitivities(600.0)  # load table, compile or load the kernel
    for n in (1, 1_000, 10_000, 100_000):
        w = rng.uniform(*waveguide.WIDTH_RANGE_NM, n)
        t = rng.uniform(*waveguide.THICKNESS_RANGE_NM, n)
        lam = rng.uniform(*waveguide.WAVELENGTH_RANGE_NM, n)
        pts = np.column_stack([w, t, lam])
        repeats = 20 if n <= 10_000 else 3
        fast_s = best_of(lambda: waveguide.sensitivities(w, t, lam), repeats)
        base_s = best_of(lambda: (oracle(pts), oracle(pts, nu=(1, 0, 0)), oracle(pts, nu=(0, 1, 0))), repeats)
        print(
            f"sensitivities, {n:>7} points: {fast_s * 1e3:8.3f} ms ({n / fast_s:.3g} points/s); "
            f"scipy NdBSpline baseline {base_s * 1e3:8.3f} ms; speed-up x{base_s / fast_s:.1f}; "
            f"vs solver x{solver_sens_s * n / fast_s:.2g}"
        )


if __name__ == "__main__":
    main()
