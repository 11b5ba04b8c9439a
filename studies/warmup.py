"""Compile the simulators' Numba kernels before the first study (``make install`` runs this).

Numba compiles a kernel on its first call and caches the machine code beside its source
(``cache=True``), so a fresh checkout's first ``robinsim run`` would spend part of its time
compiling: measured on this machine (2026-12-03), a 1-chip, 400-image ``robinsim run`` took 72 s
in a fresh clone and 30 s the second time. ``python -m studies.warmup`` simulates one chip of
every default preset of ``robinsim run`` on the first 400 MNIST test images (78,400 readout rows
per conv2 chunk: enough for the pattern and deviation paths the full run takes) and draws the
report's ring spectra, which compiles and caches the chip pipeline's, the functional simulator's
and the spectra's kernels once.
"""
from __future__ import annotations

import time

from accel import Accelerator, presets
from mapping import bnn, functional
from mapping.networks.data import load_mnist
from studies.cli import DEFAULT_MODEL, DEFAULT_PRESETS
from studies.report import bank_spectra

WARMUP_IMAGES = 400


def main() -> None:
    t0 = time.perf_counter()
    functional.keep_freed_memory()
    folded = bnn.export_binary(bnn.load_pretrained(DEFAULT_MODEL))
    images, labels = load_mnist("test")
    data = (images[:WARMUP_IMAGES], labels[:WARMUP_IMAGES])
    for name in DEFAULT_PRESETS:
        acc = Accelerator(presets.load(name))
        functional.simulate_chip(folded, acc, data, chip=0, seed=0)
    bank_spectra(acc, seed=0, chip=0)
    print(f"studies.warmup: compiled and cached the kernels of {', '.join(DEFAULT_PRESETS)} "
          f"in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
