"""Device Monte Carlo end to end: variation -> resonance shift -> tuning -> residuals.

Synthetic floorplan of 40,000 rings in 2,000 banks (10 XNOR cells = 20 rings of 5 µm radius,
activation rings 500 nm wide, weight rings 800 nm, 5 µm apart edge to edge: 15.8 µm pitch). Prints ring-samples per second (target
>= 1e6/s), the stage split, peak memory and the 1000-chip memory estimate, and in-run
baselines: a dense-covariance Cholesky field sampler and a per-bank SciPy heater solve; then
one chunk again with a binding chip budget, an 8-bit heater DAC and common-mode tracking.
"""
from __future__ import annotations

import math
import time
import tracemalloc

import numpy as np
from scipy.optimize import lsq_linear

from photonics import tuning, variation, waveguide

N_CHANNELS = 10
BANK = 2 * N_CHANNELS
RING_OUTER_DIAMETER_UM = 2 * 5.0 + 0.8  # the wider (800 nm) ring
PITCH_UM = RING_OUTER_DIAMETER_UM + 5.0  # 5 µm edge-to-edge gap (robin-eo's floorplan)
GEOMETRY = dict(pitch_um=PITCH_UM, ring_outer_diameter_um=RING_OUTER_DIAMETER_UM)
N_RINGS = 40_000
CHIPS = 100
CHUNK = 25
SEED = 2024


def floorplan():
    """(xy_um, width_nm, wavelength_nm, fsr_nm) of 40,000 rings; banks along x, 40 x 50 grid."""
    banks = N_RINGS // BANK
    ring = np.arange(N_RINGS)
    bank, pos = divmod(ring, BANK)
    xy = np.stack([(bank % 40) * (BANK * PITCH_UM + 50.0) + pos * PITCH_UM, (bank // 40) * 50.0], axis=1)
    role = pos % 2
    width = np.where(role == 0, 500.0, 800.0)
    channels = 1550.0 + 1.6 * np.arange(N_CHANNELS)
    wavelength = channels[pos // 2]
    assert banks * BANK == N_RINGS
    try:
        from photonics.mrr import RingDesign

        fsr_by_width = {w: RingDesign(5.0, w, kappa2_in=0.05, kappa2_drop=0.05).fsr_nm for w in (500.0, 800.0)}
    except ImportError:  # FSR = λ²/(n_g L) from the waveguide model
        fsr_by_width = {w: 1550.0**2 / (waveguide.strip_indices_fast(w)[1] * 2 * math.pi * 5.0e3) for w in (500.0, 800.0)}
    fsr = np.where(role == 0, fsr_by_width[500.0], fsr_by_width[800.0])
    return xy, width, wavelength, fsr


def run_chunk(xy, sens, fsr, chips):
    t0 = time.perf_counter()
    cv = variation.sample_chips(xy, chips, SEED)
    t1 = time.perf_counter()
    shift = variation.resonance_shift_nm(0.0, 0.0, cv.dw_nm, cv.dt_nm, cv.dT_K, sensitivities=sens)
    t2 = time.perf_counter()
    res = tuning.tune(shift, fsr_nm=fsr, bank_size=BANK, **GEOMETRY)
    t3 = time.perf_counter()
    return res, shift, (t1 - t0, t2 - t1, t3 - t2)


def naive_field_baseline(xy, ours_per_chip_s):
    """Dense covariance + Cholesky of the intra-die field at n rings, scaled to 40,000."""
    n = 2000
    sub = xy[np.linspace(0, N_RINGS - 1, n).astype(int)]
    ell = variation.FabricationModel().corr_length_um
    t0 = time.perf_counter()
    d2 = ((sub[:, None, :] - sub[None, :, :]) ** 2).sum(-1)
    cov = np.exp(-d2 / (2 * ell * ell)) + 1e-6 * np.eye(n)  # jitter: the smooth kernel is near-singular
    chol = np.linalg.cholesky(cov)
    t_factor = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(5):
        chol @ rng.standard_normal((n, 2))
    t_sample = (time.perf_counter() - t0) / 5
    scale = N_RINGS / n
    factor_40k = t_factor * scale**3
    sample_40k = t_sample * scale**2
    per_chip_1000 = factor_40k / 1000 + sample_40k
    print(f"  naive dense Cholesky at n={n}: factor {t_factor * 1e3:.0f} ms, sample {t_sample * 1e3:.1f} ms/chip")
    print(f"  scaled to 40,000 rings: factor ≈{factor_40k:.0f} s, sample ≈{sample_40k:.2f} s/chip, "
          f"covariance {N_RINGS**2 * 8 / 1e9:.1f} GB (does not fit in 2 GB)")
    print(f"  per chip over a 1000-chip run: naive ≈{per_chip_1000:.2f} s vs ours {ours_per_chip_s * 1e3:.1f} ms "
          f"(all levels + thermal) -> ratio {per_chip_1000 / ours_per_chip_s:.0f}x")


def naive_tuning_baseline(shift, fsr, ours_per_chip_s):
    """Per-bank SciPy bounded least squares for the heater powers (same targets), scaled to a chip."""
    c = tuning.crosstalk_matrix(np.arange(BANK) * PITCH_UM, outer_diameter_um=RING_OUTER_DIAMETER_UM)
    m = tuning.TuningModel()
    q_max = m.to_max_power_w * fsr[:BANK] / m.to_power_per_fsr_w
    banks = 100
    tau = -(shift[: banks * BANK] - np.ceil(shift[: banks * BANK] / fsr[: banks * BANK]) * fsr[: banks * BANK])
    tau = tau.reshape(banks, BANK)
    t0 = time.perf_counter()
    for k in range(banks):
        lsq_linear(c, tau[k], bounds=(0.0, q_max), method="bvls")
    per_chip = (time.perf_counter() - t0) / banks * (N_RINGS // BANK)
    print(f"  naive per-bank scipy lsq_linear: {per_chip:.2f} s/chip vs ours {ours_per_chip_s * 1e3:.1f} ms/chip "
          f"-> ratio {per_chip / ours_per_chip_s:.0f}x")


def policy_options(xy, sens, fsr, mean_chip_w):
    """Tune one chunk again with a binding chip budget (half the mean chip power), an 8-bit
    heater DAC and common-mode tracking: time per chip and what each leaves behind."""
    _, shift, _ = run_chunk(xy, sens, fsr, range(CHUNK))
    for label, model in (("chip budget 0.5x mean", tuning.TuningModel(chip_budget_w=0.5 * mean_chip_w)),
                         ("8-bit heater DAC", tuning.TuningModel(heater_dac_bits=8)),
                         ("common-mode tracking (laser, 4 nm)", tuning.TuningModel(common_mode="laser"))):
        t0 = time.perf_counter()
        res = tuning.tune(shift, fsr_nm=fsr, bank_size=BANK, **GEOMETRY, model=model)
        dt = (time.perf_counter() - t0) / CHUNK
        print(f"  {label}: tune {dt * 1e3:.1f} ms/chip, {np.mean(res.total_power_w) / N_RINGS * 1e3:.2f} mW/ring, "
              f"unreachable {res.unreachable.mean():.2%}, residual RMS {np.sqrt(np.mean(res.residual_nm**2)):.3g} nm")


def main():
    xy, width, wavelength, fsr = floorplan()
    sens = waveguide.sensitivities(width, 220.0, wavelength)  # once per floorplan
    run_chunk(xy, sens, fsr, range(2))  # warm-up: Numba cache load, field grid set-up

    results, times = [], np.zeros(3)
    t0 = time.perf_counter()
    for lo in range(0, CHIPS, CHUNK):
        res, _, dt = run_chunk(xy, sens, fsr, range(lo, lo + CHUNK))
        times += dt
        results.append((res.total_power_w, res.unreachable.mean(axis=1), np.sqrt((res.residual_nm**2).mean(axis=1)),
                        res.lock_time_s, (res.to_power_w > 0).mean(axis=1)))
    total_s = time.perf_counter() - t0
    power, unreach, rms, lock, heated = (np.concatenate(x) for x in zip(*results))
    rate = CHIPS * N_RINGS / total_s
    print(f"device Monte Carlo: {CHIPS} chips x {N_RINGS:,} rings in {total_s:.2f} s "
          f"-> {rate:.3g} ring-samples/s (target >= 1e6/s: {'met' if rate >= 1e6 else 'NOT met'})")
    print(f"  stages: sample {times[0]:.2f} s ({times[0] / CHIPS * 1e3:.1f} ms/chip), shift {times[1]:.2f} s, "
          f"tune {times[2]:.2f} s ({times[2] / CHIPS * 1e3:.1f} ms/chip)")
    print(f"  floorplan: {N_RINGS // BANK} banks of {BANK} rings at {PITCH_UM} µm, die {np.ptp(xy[:, 0]) / 1e3:.1f} x "
          f"{np.ptp(xy[:, 1]) / 1e3:.1f} mm, FSR {fsr[0]:.2f}/{fsr[1]:.2f} nm (500/800 nm rings, R = 5 µm)")
    print(f"  physics: tuning power {power.mean() / N_RINGS * 1e3:.2f} mW/ring (chip mean {power.mean():.1f} W), "
          f"heated rings {heated.mean():.1%}, unreachable {unreach.mean():.2%}, residual RMS {rms.mean():.2e} nm, "
          f"lock time {lock.mean() * 1e6:.2f} µs")

    tracemalloc.start()
    run_chunk(xy, sens, fsr, range(CHUNK))
    peak_chunk = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    store_1000 = 1000 * N_RINGS * 3 * 8
    print(f"  peak memory of a {CHUNK}-chip chunk (tracemalloc): {peak_chunk / 1e6:.0f} MB; a 1000-chip run streamed in "
          f"chunks peaks the same; keeping all 1000 chips' dw/dt/dT: {store_1000 / 1e9:.2f} GB (< 2 GB)")

    policy_options(xy, sens, fsr, float(power.mean()))

    per_chip_sample = times[0] / CHIPS
    naive_field_baseline(xy, per_chip_sample)
    _, shift, _ = run_chunk(xy, sens, fsr, range(1))
    naive_tuning_baseline(shift[0], fsr, times[2] / CHIPS)


if __name__ == "__main__":
    main()
