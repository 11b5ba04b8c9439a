"""MRR kernel speed: ring-wavelength evaluations per second vs plain NumPy, and XNOR banks per second.

Targets (issue 2 §6): the spectrum kernel >= 1e8 ring-wavelength evaluations/s on the 2-core
machine and >= 5x the NumPy implementation of the same formula measured in the same run. One
evaluation = through and drop power of one ring at one wavelength. The public functions with a
coupling array per ring (issue 14 item 17, the Monte Carlo case; one evaluation = one output
element, input checks included): >= 1e8/s and >= 5x NumPy in the same run.
"""
from __future__ import annotations

import os
import time

import numba
import numpy as np

from photonics import mrr, xnor
from photonics.mrr import RingDesign

N_RINGS, N_WAVELENGTHS, REPEATS = 2000, 2000, 7


def _best_time(fn, repeats=REPEATS):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def numpy_spectrum(ring, wavelengths_nm, detuning_nm):
    """The same Airy formula in plain NumPy (textbook cos form, docs/references.md §1)."""
    length_nm = ring.circumference_um * 1e3
    x = wavelengths_nm - detuning_nm
    n_eff = ring.n_eff - (ring.n_g - ring.n_eff) * (x - ring.wavelength_nm) / ring.wavelength_nm
    c = np.cos(2 * np.pi * n_eff * length_nm / x)
    r1, r2, a = ring.r1, ring.r2, ring.a
    den = 1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2
    through = (r2**2 * a**2 - 2 * r1 * r2 * a * c + r1**2) / den
    drop = (1 - r1**2) * (1 - r2**2) * a / den
    return through, drop


def numpy_drop(phi, r1, r2, a):
    """Add-drop drop power, textbook cos form in plain NumPy (docs/references.md §1)."""
    return (1 - r1**2) * (1 - r2**2) * a / (1 - 2 * r1 * r2 * a * np.cos(phi) + (r1 * r2 * a) ** 2)


def numpy_through(phi, r1, r2, a):
    """Add-drop through power, textbook cos form in plain NumPy."""
    c = np.cos(phi)
    return (r2**2 * a**2 - 2 * r1 * r2 * a * c + r1**2) / (1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2)


def numpy_allpass(phi, r, a):
    """All-pass through power, textbook cos form in plain NumPy."""
    c = np.cos(phi)
    return (a**2 - 2 * r * a * c + r**2) / (1 - 2 * r * a * c + (r * a) ** 2)


def main() -> None:
    ring = RingDesign(10.0, kappa2_in=0.05, kappa2_drop=0.05, loss_db_per_cm=2.0, n_eff=2.4455, n_g=4.191)
    rng = np.random.default_rng(0)
    wavelengths = np.linspace(1540.0, 1560.0, N_WAVELENGTHS)
    detuning = rng.normal(0.0, 2.0, (N_RINGS, 1))
    n_eval = N_RINGS * N_WAVELENGTHS

    ring.spectrum(wavelengths[:10], detuning[:10])  # compile / load the cached kernel
    through, drop = ring.spectrum(wavelengths, detuning)
    ref_t, ref_d = numpy_spectrum(ring, wavelengths, detuning)
    max_err = max(np.abs(through - ref_t).max(), np.abs(drop - ref_d).max())

    t_kernel = _best_time(lambda: ring.spectrum(wavelengths, detuning))
    t_numpy = _best_time(lambda: numpy_spectrum(ring, wavelengths, detuning))
    rate, rate_np = n_eval / t_kernel, n_eval / t_numpy
    print(f"spectrum {N_RINGS} rings x {N_WAVELENGTHS} wavelengths (through + drop), best of {REPEATS}; "
          f"{numba.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    print(f"  RingDesign.spectrum (Numba, incl. input checks): {rate:.3g} evaluations/s  (target >= 1e8)")
    print(f"  plain NumPy, same formula:                       {rate_np:.3g} evaluations/s")
    print(f"  ratio Numba / NumPy: {rate / rate_np:.1f}x  (target >= 5x); max |difference| {max_err:.1e}")

    phi = 2 * np.pi * rng.uniform(0, 100, n_eval)
    mrr.adddrop_drop(phi[:10], 0.97, 0.97, 0.99)
    t_drop = _best_time(lambda: mrr.adddrop_drop(phi, 0.97, 0.97, 0.99))
    t_drop_np = _best_time(lambda: numpy_drop(phi, 0.97, 0.97, 0.99))
    print(f"adddrop_drop(phi, r1, r2, a) on {n_eval} phases, scalar couplings (no target): {n_eval / t_drop:.3g}/s, "
          f"NumPy {n_eval / t_drop_np:.3g}/s, ratio {t_drop_np / t_drop:.1f}x")

    # issue 14 item 17: a coupling array per ring (the Monte Carlo case), input checks included
    r1, r2 = (np.sqrt(1.0 - rng.uniform(0.01, 0.1, n_eval)) for _ in range(2))
    a = rng.uniform(0.95, 0.999, n_eval)
    rows = (phi.reshape(N_RINGS, -1), r1[:N_RINGS, None], r2[:N_RINGS, None], a[:N_RINGS, None])
    cases = [
        ("adddrop_drop,    (n,) phi, r1, r2, a", mrr.adddrop_drop, numpy_drop, (phi, r1, r2, a)),
        ("adddrop_through, (n,) phi, r1, r2, a", mrr.adddrop_through, numpy_through, (phi, r1, r2, a)),
        ("allpass_through, (n,) phi, r, a", mrr.allpass_through, numpy_allpass, (phi, r1, a)),
        (f"adddrop_drop,    ({N_RINGS}, {n_eval // N_RINGS}) phi, ({N_RINGS}, 1) r1, r2, a",
         mrr.adddrop_drop, numpy_drop, rows),
    ]
    print(f"per-ring coupling arrays, {n_eval} evaluations, best of {2 * REPEATS}, load average "
          f"{os.getloadavg()[0]:.1f} (targets >= 1e8/s and >= 5x NumPy):")
    for label, fn, oracle, args in cases:
        fn(*(x[:10] for x in args))
        err = np.abs(fn(*args) - oracle(*args)).max()
        t_fn, t_np = _best_time(lambda: fn(*args), 2 * REPEATS), _best_time(lambda: oracle(*args), 2 * REPEATS)
        print(f"  {label}: {n_eval / t_fn:.3g}/s, NumPy {n_eval / t_np:.3g}/s, ratio {t_np / t_fn:.1f}x; "
              f"max |difference| {err:.1e}")
    threads = numba.get_num_threads()  # the parallel build's gain (none when other processes load the cores)
    numba.set_num_threads(1)
    try:
        t_one = _best_time(lambda: mrr.adddrop_drop(phi, r1, r2, a), 2 * REPEATS)
    finally:
        numba.set_num_threads(threads)
    t_all = _best_time(lambda: mrr.adddrop_drop(phi, r1, r2, a), 2 * REPEATS)
    print(f"  adddrop_drop, (n,) per ring: 1 thread {n_eval / t_one:.3g}/s, {threads} threads {n_eval / t_all:.3g}/s "
          f"(speed-up {t_one / t_all:.2f}x)")

    n_banks, n_cells = 2000, 64
    act = RingDesign(5.0, kappa2_in=0.02, kappa2_drop=0.02, loss_db_per_cm=2.0, n_eff=2.4455, n_g=4.191)
    weight = RingDesign(6.0, 800.0, kappa2_in=0.02, kappa2_drop=0.02, loss_db_per_cm=2.0, n_eff=2.6885, n_g=3.904)
    channels = 1550.0 + 0.4 * np.arange(n_cells)
    res = rng.normal(0.0, 0.02, (2, n_banks, n_cells))
    kw = dict(channels_nm=channels, modulation_nm=0.3, park_nm=0.3)
    xnor.bank_levels(act, weight, act_residual_nm=res[0, :2], weight_residual_nm=res[1, :2], **kw)
    t_bank = _best_time(lambda: xnor.bank_levels(act, weight, act_residual_nm=res[0], weight_residual_nm=res[1], **kw), 3)
    ring_evals = n_banks * n_cells * n_cells * 2 * 2
    print(f"xnor.bank_levels {n_banks} banks x N={n_cells} (neighbours on): {t_bank:.3f} s, "
          f"{n_banks / t_bank:.3g} banks/s, {ring_evals / t_bank:.3g} ring-state-channel evaluations/s")


if __name__ == "__main__":
    main()
