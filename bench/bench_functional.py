"""Hardware-faithful accuracy: 100 chips x 10,000 MNIST test images, mnist-cnn on robin-eo.

Targets (issue 4 §4): whole run under 600 s on this 2-core machine; per chip at most 2x the
plain software forward pass (``FoldedBNN.predict``) of the same 10,000 images, measured here.
The run pays once for the ideal chip's pass over the images (chip-independent); the figures
show it apart and amortised over the chips.
"""
from __future__ import annotations

import time

from bench import best_of

import torch

from accel import Accelerator, presets
from mapping import bnn, functional
from mapping.networks.data import load_mnist
from mapping.functional.network import BATCH_IMAGES

CHIPS = 100
LIGHTBULB_CHIPS = 3
SEED = 0


def main() -> None:
    folded = bnn.export_binary(bnn.load_pretrained("mnist-cnn"))
    acc = Accelerator(presets.load("robin-eo"))
    images, labels = load_mnist("test")
    print(f"mnist-cnn: {folded.binary_macs / 1e6:.2f} M binary MACs per image; {acc!r}; "
          f"{len(images)} images; torch threads {torch.get_num_threads()}")

    software_s = best_of(lambda: folded.predict(images, batch_size=BATCH_IMAGES), 3)
    software_acc = float((folded.predict(images, batch_size=BATCH_IMAGES) == labels).double().mean())
    print(f"software BNN forward (FoldedBNN.predict, best of 3): {software_s:.2f} s, accuracy {software_acc:.4f}")

    t0 = time.perf_counter()
    functional._prepare(folded, acc, (images, labels))  # the ideal chip's run, cached for the chips below
    prep_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = functional.simulate_accuracy(folded, acc, (images, labels), chips=CHIPS, seed=SEED)
    chips_s = time.perf_counter() - t0
    total_s = prep_s + chips_s
    marginal_s = chips_s / CHIPS
    amortised_s = total_s / CHIPS
    print(f"{CHIPS} chips x {len(images)} images: {total_s:.1f} s total (target < 600 s) "
          f"[{'ok' if total_s < 600 else 'MISSED'}]")
    print(f"  once per run (ideal chip over the images): {prep_s:.2f} s")
    print(f"  per chip: {marginal_s:.3f} s marginal, {amortised_s:.3f} s amortised")
    ratio = amortised_s / software_s
    print(f"  ratio per chip (amortised) / software forward: {ratio:.3f} (target <= 2) [{'ok' if ratio <= 2 else 'MISSED'}]")
    print(f"  accuracy over chips: mean {df.accuracy.mean():.4f}, min {df.accuracy.min():.4f}, "
          f"max {df.accuracy.max():.4f} (software {software_acc:.4f})")
    print(f"  tuning power per chip: mean {df.tuning_power_w.mean():.1f} W, "
          f"max {df.tuning_power_w.max():.1f} W; rings out of range: mean {df.rings_out_of_range.mean():.1f}")
    flips = {c: df[c].mean() for c in df.columns if c.startswith("flipped_")}
    print("  flipped sign activations vs the ideal chip (mean fraction): "
          + ", ".join(f"{c.removeprefix('flipped_')} {v:.2e}" for c, v in flips.items()))

    # LightBulb: broad rings leave a nominal crosstalk offset on every cell, so every ADC readout
    # of conv2 and fc3 takes the dense path (mapping.functional.readout_noise); the slowest preset of `robinsim run`.
    lightbulb = Accelerator(presets.load("lightbulb"))
    functional._prepare(folded, lightbulb, (images, labels))
    t0 = time.perf_counter()
    df = functional.simulate_accuracy(folded, lightbulb, (images, labels), chips=LIGHTBULB_CHIPS, seed=SEED, progress=False)
    per_chip = (time.perf_counter() - t0) / LIGHTBULB_CHIPS
    print(f"lightbulb (dense readouts): {per_chip:.2f} s per chip over {LIGHTBULB_CHIPS} chips "
          f"({per_chip / software_s:.2f}x the software forward); accuracy mean {df.accuracy.mean():.4f}")


if __name__ == "__main__":
    main()
