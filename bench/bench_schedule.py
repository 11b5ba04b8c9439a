"""Scheduler speed: map_model of ResNet-18 on robin-po (target < 100 ms after the first call) and
a 1,000-configuration sweep (N, M, units, bit rate) of the same model (target < 10 s)."""
from __future__ import annotations

import itertools
import statistics
import time

import pandas as pd

from accel import Accelerator, presets
from mapping.performance import shape_zoo
from mapping.performance.schedule import map_model

N_VALUES = (8, 10, 16, 20, 25, 32, 40, 50)
M_VALUES = (4, 8, 10, 16, 32)
UNIT_VALUES = (16, 37, 64, 128, 183)
BIT_RATES_GBPS = (1.0, 5.0, 10.0, 25.0, 50.0)


def main() -> None:
    model = shape_zoo.build("resnet18")
    shape = shape_zoo.input_shape("resnet18")
    base = presets.load("robin-po")
    acc = Accelerator(base)

    t0 = time.perf_counter()
    rep = map_model(model, acc, shape)
    first_s = time.perf_counter() - t0
    repeat = []
    for _ in range(20):
        t0 = time.perf_counter()
        rep = map_model(model, acc, shape)
        repeat.append(time.perf_counter() - t0)
    median_s = statistics.median(repeat)
    print(f"map_model resnet18 on robin-po: first call {first_s * 1e3:.0f} ms (trace + nominal tuning), "
          f"then median {median_s * 1e3:.2f} ms over 20 calls (target < 100 ms: {'ok' if median_s < 0.1 else 'MISSED'}; "
          f"{first_s / median_s:.0f}x faster than the first call)")
    print(f"  -> latency {rep.latency_s * 1e6:.2f} us, {rep.fps:.0f} fps, {rep.energy_j * 1e6:.1f} uJ/inference, "
          f"EPB {rep.energy_per_bit_j * 1e15:.1f} fJ/bit, {rep.power_w:.2f} W")

    points = list(itertools.product(N_VALUES, M_VALUES, UNIT_VALUES, BIT_RATES_GBPS))
    rows = []
    t0 = time.perf_counter()
    for n, m, units, rate in points:
        cfg = base.with_values({"architecture.wavelengths_per_vdu": n, "architecture.vdus_per_unit": m,
                                "architecture.units": units, "architecture.bit_rate_gbps": rate})
        r = map_model(model, Accelerator(cfg), shape)
        rows.append({"N": n, "M": m, "units": units, "bit_rate_gbps": rate, "fps": r.fps,
                     "energy_per_bit_j": r.energy_per_bit_j, "power_w": r.power_w})
    sweep_s = time.perf_counter() - t0
    df = pd.DataFrame(rows)
    print(f"sweep of {len(points)} configurations (N x M x units x bit rate) on resnet18: {sweep_s:.2f} s "
          f"(target < 10 s: {'ok' if sweep_s < 10 else 'MISSED'}; {sweep_s / len(points) * 1e3:.2f} ms per point, "
          f"{sweep_s / len(points) / median_s:.2f}x one cached map_model call)")
    best_epb = df.loc[df.energy_per_bit_j.idxmin()]
    best_fps = df.loc[df.fps.idxmax()]
    print(f"  lowest EPB {best_epb.energy_per_bit_j * 1e15:.1f} fJ/bit at N={best_epb.N:.0f}, M={best_epb.M:.0f}, "
          f"units={best_epb.units:.0f}, {best_epb.bit_rate_gbps:g} Gb/s")
    print(f"  highest FPS {best_fps.fps:.0f} at N={best_fps.N:.0f}, M={best_fps.M:.0f}, units={best_fps.units:.0f}, "
          f"{best_fps.bit_rate_gbps:g} Gb/s ({best_fps.power_w:.1f} W)")


if __name__ == "__main__":
    main()
