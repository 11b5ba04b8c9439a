"""Hardware-faithful accuracy per chip: mnist-cnn on every shipped preset, 10,000 MNIST test images.

Targets (issue #14 item 18): the functional simulation of one chip under 1x the plain software
forward pass (``FoldedBNN.predict``) of the same 10,000 images, measured here in the same
process, for every shipped preset; and (issue 4 §4) 100 chips of robin-eo under 600 s, given
here as the one-off ideal-chip pass plus 100 times the measured per-chip time.

The ideal chip's pass over the images is chip- and preset-independent: the first preset pays
for it and the others take it from the cache; the per-chip figure is the marginal time of
``CHIPS`` chips after one untimed warm-up chip (which loads the preset's compiled kernels and
touches its scratch memory for the first time, one-off costs that a run of many chips pays once).
The process keeps freed memory for reuse (``mapping.functional.keep_freed_memory``, as the
``robinsim`` command does), which speeds up the software forward as much as the simulator.
"""
from __future__ import annotations

import time

from bench import best_of

import torch

from accel import Accelerator, presets
from mapping import bnn, functional
from mapping.networks.data import load_mnist
from mapping.functional.network import BATCH_IMAGES

CHIPS = 3
SEED = 0


def main() -> None:
    functional.keep_freed_memory()
    folded = bnn.export_binary(bnn.load_pretrained("mnist-cnn"))
    images, labels = load_mnist("test")
    print(f"mnist-cnn: {folded.binary_macs / 1e6:.2f} M binary MACs per image; {len(images)} images; "
          f"{CHIPS} chips per preset; torch threads {torch.get_num_threads()}")
    software_s = best_of(lambda: folded.predict(images, batch_size=BATCH_IMAGES), 3)
    software_acc = float((folded.predict(images, batch_size=BATCH_IMAGES) == labels).double().mean())
    print(f"software BNN forward (FoldedBNN.predict, best of 3): {software_s:.2f} s, accuracy {software_acc:.4f}")
    print(f"{'preset':<16} {'ideal pass s':>12} {'per chip s':>11} {'ratio':>6}  target <= 1  accuracy mean/min")
    for name in presets.names():  # every shipped preset
        acc = Accelerator(presets.load(name))
        t0 = time.perf_counter()
        functional._prepare(folded, acc, (images, labels))  # the ideal chip's run, cached for the chips below
        prep_s = time.perf_counter() - t0
        functional.simulate_chip(folded, acc, (images, labels), chip=CHIPS, seed=SEED)  # warm-up, untimed
        t0 = time.perf_counter()
        df = functional.simulate_accuracy(folded, acc, (images, labels), chips=CHIPS, seed=SEED, progress=False)
        per_chip = (time.perf_counter() - t0) / CHIPS
        ratio = per_chip / software_s
        print(f"{name:<16} {prep_s:>12.2f} {per_chip:>11.2f} {ratio:>6.2f}  [{'ok' if ratio <= 1 else 'MISSED'}]"
              f"       {df.accuracy.mean():.4f} / {df.accuracy.min():.4f}")
        if name == "robin-eo":
            total = prep_s + 100 * per_chip
            print(f"  robin-eo, 100 chips x {len(images)} images (ideal pass + 100 x per chip): {total:.0f} s "
                  f"(target < 600 s) [{'ok' if total < 600 else 'MISSED'}]")


if __name__ == "__main__":
    main()
