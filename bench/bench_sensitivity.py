"""Sensitivity (issue 12): OAT over every declared range of robin-eo on EPB and FPS, the
LightBulb/robin-eo EPB ratio tornado, and a Morris run's base sample size and time.

Targets (issue 12, item 5): OAT over 20+ parameters of one preset in under 60 s on this 2-core machine.
"""
from __future__ import annotations

import time


def main() -> None:
    from studies import sensitivity

    for metric in ("epb", "fps"):
        t0 = time.perf_counter()
        df = sensitivity.run("robin-eo", metric=metric, progress=False)
        dt = time.perf_counter() - t0
        print(f"OAT robin-eo {metric}: {df.attrs['parameters']} parameters, {df.attrs['evaluations']} evaluations "
              f"in {dt:.1f} s (target < 60 s: {'met' if dt < 60 else 'MISSED'})")
        print(sensitivity.summary_text(df, top=5))
    t0 = time.perf_counter()
    df = sensitivity.run("robin-eo", ratio_to="lightbulb", target=933.0, progress=False)
    print(f"OAT lightbulb/robin-eo EPB ratio + target 933: {df.attrs['evaluations']} evaluations "
          f"in {time.perf_counter() - t0:.1f} s")
    print(sensitivity.summary_text(df, top=5))
    t0 = time.perf_counter()
    df = sensitivity.run("robin-eo", method="morris", n_base=4, progress=False)
    print(f"Morris robin-eo EPB: base sample size {df.attrs['base_samples']} trajectories x "
          f"({df.attrs['parameters']} + 1) points, {df.attrs['evaluations']} distinct evaluations (OAT ends "
          f"included) in {time.perf_counter() - t0:.1f} s")
