"""Optimisation (issue 12, item 5): a 200-trial EPB/FPS NSGA-II search of robin-eo over its default
design fields, in this process, and a few accuracy-constrained trials with a stated chip and image count.

Targets (issue 12, item 5): the 200-trial EPB/FPS optimisation in under 5 minutes on this 2-core machine.
"""
from __future__ import annotations

import time


def main() -> None:
    from studies import optimize

    t0 = time.perf_counter()
    df = optimize.run("robin-eo", trials=200, progress=False)
    dt = time.perf_counter() - t0
    print(f"optimize robin-eo epb,fps: {len(df)} trials over {len(df.attrs['fields'])} fields in {dt:.1f} s "
          f"(target < 300 s: {'met' if dt < 300 else 'MISSED'})")
    print(optimize.summary_text(df))
    chips, images, trials = 2, 200, 6
    t0 = time.perf_counter()
    df = optimize.run("robin-eo", trials=trials, generation_size=3, min_accuracy=0.9, chips=chips, images=images,
                      progress=False)
    dt = time.perf_counter() - t0
    print(f"accuracy-constrained (accuracy >= 0.9 over {chips} chips x {images} images): {trials} trials in "
          f"{dt:.1f} s ({dt / trials:.1f} s per trial, the preset's point included in the total); "
          f"{df.attrs['feasible_trials']} feasible")
