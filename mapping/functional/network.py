"""A folded BNN on the accelerator's cells, run chip by chip (helper of ``mapping.functional``).

The ideal chip's run on a set of images (:class:`IdealRun`: every binary layer's ±1 input and
exact sums, the predictions) is chip-independent and computed once. A sampled chip differs
from it only where some readout differs, so :func:`run_chip` works incrementally and exactly:
layer by layer it draws the readouts that can differ (:mod:`mapping.functional.layer`), and
keeps the set S of images whose signs have left the ideal path. Images outside S have the
ideal input at the next layer (taken from the cache); the hardware activations of images in
S are carried forward from layer to layer (``FoldedBNN.run_steps``). Outputs (and so
predictions) outside S are the ideal ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from accel import Accelerator
from mapping.networks.folding import FoldedBNN
from mapping.functional.layer import (
    Adc, LayerCells, LayerGeometry, apply_readouts, decide, draw_readouts, ideal_sums,
)
from mapping.performance.schedule import assign_vdus

__all__ = ["BATCH_IMAGES", "Network", "IdealRun", "run_chip"]

#: Images per batch (bounds memory; fixed so that results do not depend on the machine).
BATCH_IMAGES = 2000


@dataclass(eq=False)
class Network:
    """Chip-independent mapping of a folded BNN onto an accelerator.

    ``geometries[name]`` per binary layer (forward order); ``cells_index[name]`` = (unit, vdu)
    arrays (R, O, C) of each (replica, output, chunk) from ``mapping.performance.schedule.assign_vdus``
    (positions = output positions of one image); ``positions[name]`` readouts per image and pair.
    """

    folded: FoldedBNN
    accelerator: Accelerator
    geometries: dict[str, LayerGeometry] = field(default_factory=dict)
    cells_index: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        n = self.accelerator.N
        for spec in self.folded.layers:
            o = spec.weight_pm1.shape[0]
            if spec.kind == "conv":
                kernel = tuple(spec.weight_pm1.shape[1:])
                positions = int(np.prod(spec.out_shape[1:]))
                stride, padding = tuple(spec.stride), tuple(spec.padding)
            else:
                kernel, positions, stride, padding = None, 1, (1, 1), (0, 0)
            self.geometries[spec.name] = LayerGeometry(
                spec.name, spec.weight_pm1.reshape(o, -1).float(), kernel, stride, padding, float(spec.pad_value),
                spec.threshold, spec.flip, n)
            assignment = assign_vdus(self.accelerator, out_channels=o, k=spec.K, positions=positions)
            self.cells_index[spec.name] = (np.moveaxis(assignment.unit, 2, 0), np.moveaxis(assignment.vdu, 2, 0))
            self.positions[spec.name] = positions


@dataclass(eq=False)
class IdealRun:
    """The ideal chip on ``images``: per binary layer its ±1 input (int8) and exact sums (int16
    or int32), the network's output tensor (``outputs``, e.g. the logits) and the predictions
    (its argmax over dimension 1)."""

    images: torch.Tensor
    inputs: dict[str, torch.Tensor]
    sums: dict[str, torch.Tensor]
    outputs: torch.Tensor
    predictions: torch.Tensor

    @classmethod
    def build(cls, network: Network, images: torch.Tensor) -> "IdealRun":
        inputs: dict[str, list] = {name: [] for name in network.geometries}
        sums: dict[str, list] = {name: [] for name in network.geometries}

        def dot(spec, a):
            geo = network.geometries[spec.name]
            s = ideal_sums(geo, a)
            inputs[spec.name].append(a.to(torch.int8))
            sums[spec.name].append(s.to(torch.int16 if geo.k < 2**15 else torch.int32))
            return s

        outputs = [network.folded.forward(images[i : i + BATCH_IMAGES], dot=dot) for i in range(0, len(images), BATCH_IMAGES)]
        return cls(images, {k: torch.cat(v) for k, v in inputs.items()}, {k: torch.cat(v) for k, v in sums.items()},
                   torch.cat(outputs), torch.cat([out.argmax(1) for out in outputs]))


def run_chip(network: Network, ideal: IdealRun, cells: dict[str, LayerCells], adc: Adc,
             rng: np.random.Generator, generator: torch.Generator, dense_probability: float | None = None):
    """Hardware output tensor of one chip (``ideal.outputs`` where an image stayed on the ideal
    path) and, per binary layer, the number of sign activations that differ from the ideal
    chip's (module docstring)."""
    options = {} if dense_probability is None else {"dense_probability": dense_probability}
    folded = network.folded
    names = list(network.geometries)
    steps = [folded.step_of(name) for name in names] + [None]
    specs = {spec.name: spec for spec in folded.layers}
    outputs = ideal.outputs.clone()
    flips = dict.fromkeys(names, 0)
    for b0 in range(0, len(ideal.images), BATCH_IMAGES):
        rows = slice(b0, b0 + BATCH_IMAGES)
        n_rows = len(ideal.images[rows])
        members = torch.zeros(0, dtype=torch.int64)  # S: batch rows off the ideal path, sorted
        a_members = None  # their input to the current layer
        for i, name in enumerate(names):
            geo = network.geometries[name]
            draw = draw_readouts(geo, cells[name], adc, n_rows * network.positions[name], rng, **options)
            if draw.empty and not len(members):
                continue
            if draw.empty:
                s_members = ideal_sums(geo, a_members)
            else:
                a = ideal.inputs[name][rows].float()
                s0 = ideal.sums[name][rows].float()
                if len(members):
                    a[members] = a_members
                    s0[members] = ideal_sums(geo, a_members)
                s, changed = apply_readouts(geo, cells[name], draw, a, s0, adc, rng, generator)
                members = torch.unique(torch.cat([members, changed.nonzero().flatten()]))
                s_members = s[members]
            if len(members):
                ideal_out = decide(geo, ideal.sums[name][rows][members].float())
                flips[name] += int((decide(geo, s_members) != ideal_out).sum())
                a_members = folded.run_steps(specs[name].binarize(s_members), steps[i] + 1, steps[i + 1])
        if len(members):
            outputs[b0 + members] = a_members
    return outputs, flips
