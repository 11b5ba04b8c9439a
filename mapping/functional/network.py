"""A folded BNN on the accelerator's cells, run chip by chip (helper of ``mapping.functional``).

The ideal chip's run on a set of images (:class:`IdealRun`: every optical layer's input and
exact integer sums, the predictions) is chip-independent and computed once. A sampled chip differs
from it only where some readout differs, so :func:`run_chip` works incrementally and exactly:
layer by layer it draws the readouts that can differ (:mod:`mapping.functional.layer`; every
pass of a multi-bit layer, :mod:`mapping.functional.multibit`), and keeps the set S of images
whose output activations (signs or codes) have left the ideal path. Images outside S have the
ideal input at the next layer (taken from the cache); the hardware activations of images in
S are carried forward from layer to layer (``FoldedBNN.run_steps``). Outputs (and so
predictions) outside S are the ideal ones. A layer whose input is the ideal one for a whole batch
(always the first optical layer) keeps the kernel's work on that input for the next chip.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from accel import Accelerator
from mapping.networks.folding import FoldedBNN
from mapping.networks.layers import pm1_from_signs
from mapping.networks.quant_folding import QuantLayerSpec
from mapping.functional.layer import (
    Adc, LayerCells, LayerGeometry, LazyInput, decide, decide_against, decided_readouts, draw_readouts, ideal_sums,
)
from mapping.functional.multibit import accumulate, draw_passes, pass_geometries, pass_order
from mapping.performance.schedule import assign_vdus

__all__ = ["BATCH_IMAGES", "Network", "IdealRun", "run_chip"]

#: Images per batch (bounds memory; fixed so that results do not depend on the machine).
BATCH_IMAGES = 2000


@dataclass(eq=False)
class Network:
    """Chip-independent mapping of a folded BNN onto an accelerator.

    ``geometries[name]`` per optical layer (forward order): a tuple of one geometry for a binary
    layer (``BinaryLayerSpec``), of one digital geometry per weight plane for a multi-bit layer
    (``QuantLayerSpec``, :mod:`mapping.functional.multibit`); ``cells_index[name]`` = (unit, vdu)
    arrays (R, O, C) of each (replica, output, chunk) from ``mapping.performance.schedule.assign_vdus``
    (positions = output positions of one image; every pass of a multi-bit layer uses the same
    cells); ``positions[name]`` readouts per image and pair.
    """

    folded: FoldedBNN
    accelerator: Accelerator
    geometries: dict[str, tuple[LayerGeometry, ...]] = field(default_factory=dict)
    cells_index: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        n = self.accelerator.N
        for spec in self.folded.layers:
            positions = int(np.prod(spec.out_shape[1:])) if spec.kind == "conv" else 1
            if isinstance(spec, QuantLayerSpec):
                o = spec.weight_codes.shape[0]
                self.geometries[spec.name] = pass_geometries(spec, n)
            else:
                o = spec.weight_pm1.shape[0]
                if spec.kind == "conv":
                    kernel, stride, padding = tuple(spec.weight_pm1.shape[1:]), tuple(spec.stride), tuple(spec.padding)
                else:
                    kernel, stride, padding = None, (1, 1), (0, 0)
                self.geometries[spec.name] = (LayerGeometry(
                    spec.name, spec.weight_pm1.reshape(o, -1).float(), kernel, stride, padding, float(spec.pad_value),
                    spec.threshold, spec.flip, n),)
            assignment = assign_vdus(self.accelerator, out_channels=o, k=spec.K, positions=positions)
            self.cells_index[spec.name] = (np.moveaxis(assignment.unit, 2, 0), np.moveaxis(assignment.vdu, 2, 0))
            self.positions[spec.name] = positions


@dataclass(eq=False)
class IdealRun:
    """The ideal chip on ``images``: per optical layer its input (int8: ±1 or codes) and exact
    integer sums (binary layers: ±1 sums, int16 or int32; multi-bit layers: the back end's ``A``
    from the ideal passes, int32), per binary layer its output signs (``decisions``, bool, True =
    +1), the network's output tensor (``outputs``, e.g. the logits) and the predictions (its
    argmax over dimension 1)."""

    images: torch.Tensor
    inputs: dict[str, torch.Tensor]
    sums: dict[str, torch.Tensor]
    decisions: dict[str, torch.Tensor]
    outputs: torch.Tensor
    predictions: torch.Tensor

    def head(self, n: int) -> "IdealRun":
        """The run on the first ``n`` images (views of this run's tensors)."""
        return IdealRun(self.images[:n], {k: v[:n] for k, v in self.inputs.items()},
                        {k: v[:n] for k, v in self.sums.items()}, {k: v[:n] for k, v in self.decisions.items()},
                        self.outputs[:n], self.predictions[:n])

    @classmethod
    def build(cls, network: Network, images: torch.Tensor) -> "IdealRun":
        """The ideal chip's run; it depends on ``network.folded`` and ``images`` only (not on the
        accelerator: the chunk size N does not change an exact sum)."""
        inputs: dict[str, list] = {name: [] for name in network.geometries}
        sums: dict[str, list] = {name: [] for name in network.geometries}
        decisions: dict[str, list] = {spec.name: [] for spec in network.folded.layers
                                      if not isinstance(spec, QuantLayerSpec)}

        def dot(spec, a):
            geos = network.geometries[spec.name]
            if isinstance(spec, QuantLayerSpec):
                planes = spec.input_planes(a)
                s = sum(spec.pass_term(i, j, ideal_sums(geos[j], planes[i])) for i, j in pass_order(spec))
                stored = torch.int32
            else:
                s = ideal_sums(geos[0], a)
                stored = torch.int16 if geos[0].k < 2**15 else torch.int32
                decisions[spec.name].append(decide(geos[0], s))
            inputs[spec.name].append(a.to(torch.int8))
            sums[spec.name].append(s.to(stored))
            return s

        outputs = [network.folded.forward(images[i : i + BATCH_IMAGES], dot=dot) for i in range(0, len(images), BATCH_IMAGES)]
        return cls(images, {k: torch.cat(v) for k, v in inputs.items()}, {k: torch.cat(v) for k, v in sums.items()},
                   {k: torch.cat(v) for k, v in decisions.items()}, torch.cat(outputs),
                   torch.cat([out.argmax(1) for out in outputs]))


#: Work on layer inputs that no chip changes, for one (network, ideal run) pair at a time (the
#: chips of one preset): ``[(network, ideal, {(layer, first image of the batch): dict})]``, the
#: dicts kept for ``apply_readouts(..., reuse=...)``: the sign bits of the input (a byte per
#: element) and, on the deviation or frequent-pattern path, the grouping of its readouts by input
#: pattern (up to 12 bytes per readout row and chunk); ``studies.memory`` counts them. Under
#: ``(layer, None)`` the dict for ``apply_readouts(..., layer_reuse=...)``, shared by the batches
#: of the layer (their frequent patterns).
_REUSE: list = []


def _reuse_slots(network: Network, ideal: IdealRun) -> dict:
    if not (_REUSE and _REUSE[0][0] is network and _REUSE[0][1] is ideal):
        _REUSE[:] = [(network, ideal, {})]
    return _REUSE[0][2]


def run_chip(network: Network, ideal: IdealRun, cells: dict[str, tuple[LayerCells, ...]], adc: Adc,
             rng: np.random.Generator, generator: torch.Generator, dense_probability: float | None = None):
    """Hardware output tensor of one chip (``ideal.outputs`` where an image stayed on the ideal
    path) and, per optical layer, the number of output activations (signs or codes) that differ
    from the ideal chip's (module docstring)."""
    options = {} if dense_probability is None else {"dense_probability": dense_probability}
    folded = network.folded
    names = list(network.geometries)
    steps = [folded.step_of(name) for name in names] + [None]
    specs = {spec.name: spec for spec in folded.layers}
    outputs = ideal.outputs.clone()
    flips = dict.fromkeys(names, 0)
    reuse = _reuse_slots(network, ideal)
    for b0 in range(0, len(ideal.images), BATCH_IMAGES):
        rows = slice(b0, b0 + BATCH_IMAGES)
        n_rows = len(ideal.images[rows])
        members = torch.zeros(0, dtype=torch.int64)  # S: batch rows off the ideal path, sorted
        a_members = None  # their input to the current layer
        for i, name in enumerate(names):
            spec, readouts = specs[name], n_rows * network.positions[name]
            if isinstance(spec, QuantLayerSpec):
                members, out_members = _multibit_layer(network, ideal, spec, cells[name], adc, rng, generator, options,
                                                       rows, readouts, members, _values(a_members))
                if out_members is None:
                    continue
                ideal_out = spec.activate(ideal.sums[name][rows][members].float())
                flips[name] += int((out_members != ideal_out).sum())
                a_members = folded.run_steps(out_members, steps[i] + 1, steps[i + 1])
                continue
            geo, layer_cells = network.geometries[name][0], cells[name][0]
            kept = not len(members)  # the input is the ideal one: its work is kept for the next chips
            # (a dense_probability the caller forces is used as given, without the kept-input rule)
            draw = draw_readouts(geo, layer_cells, adc, readouts, rng, **options, kept_input=kept and not options)
            if draw.empty and not len(members):
                continue
            ideal_plus = ideal.decisions[name][rows]
            if draw.empty:  # only the members' inputs differ from the ideal chip's
                plus, differ = decide_against(geo, ideal_sums(geo, _values(a_members)),
                                              ideal_plus if len(members) == n_rows else ideal_plus[members])
            else:
                every = len(members) == n_rows  # every image of the batch is already off the ideal path
                if every:
                    a = a_members
                elif len(members):
                    a = ideal.inputs[name][rows].float()
                    a[members] = _values(a_members)
                else:  # the ideal input, made only if a readout path reads its values (not its kept sign bits)
                    ideal_a = ideal.inputs[name][rows]
                    a = LazyInput(tuple(ideal_a.shape), ideal_a.float)
                if draw.full:  # a full draw computes every sum anew and (with every image known) never reads s0
                    s0 = torch.empty(ideal.sums[name][rows].shape)
                elif len(members):
                    s0 = ideal.sums[name][rows].float()
                    s0[members] = ideal_sums(geo, _values(a_members))
                else:  # the stored (integer) ideal sums, read in place
                    s0 = ideal.sums[name][rows]
                # S grows by the images whose signs differ from the ideal chip's (computed here once
                # for every image from the cached ideal signs, so the readouts need not mark them)
                plus, differ = decided_readouts(geo, layer_cells, draw, a, s0, adc, rng, generator, ideal_plus,
                                                reuse=reuse.setdefault((name, b0), {}) if kept else None,
                                                layer_reuse=reuse.setdefault((name, None), {}) if kept else None)
                changed = differ > 0
                if changed.any():
                    members = torch.unique(torch.cat([members, changed.nonzero().flatten()]))
                if len(members) < n_rows:
                    plus = plus[members]
            flips[name] += int(differ.sum())  # differ: signs off the ideal, per image (non-members differ nowhere)
            if len(members):
                after = folded.sign_steps(plus, steps[i] + 1, steps[i + 1])  # the next layer's input signs
                a_members = (folded.run_signs(plus, steps[i] + 1, steps[i + 1]) if after is None else
                             LazyInput(tuple(after.shape), functools.partial(pm1_from_signs, after), plus=after))
        if len(members):
            outputs[b0 + members] = _values(a_members)
    return outputs, flips


def _values(a: "torch.Tensor | LazyInput") -> torch.Tensor:
    """The tensor of a layer input (a :class:`LazyInput`'s values made)."""
    return a.values() if isinstance(a, LazyInput) else a


def _multibit_layer(network, ideal, spec, cells, adc, rng, generator, options, rows, readouts, members, a_members):
    """One multi-bit layer of :func:`run_chip` on a batch: the updated S and the output
    activations of its members (None when S is empty and every readout is ideal). An image joins
    S when its output codes differ from those of the ideal passes on its input."""
    geos = network.geometries[spec.name]
    draws = draw_passes(spec, geos, cells, adc, readouts, rng, **options)
    if all(d.empty for d in draws):
        if not len(members):
            return members, None
        return members, spec.activate(accumulate(spec, geos, cells, draws, a_members, adc, rng, generator)[0])
    h = ideal.inputs[spec.name][rows].float()
    if len(members):
        h[members] = a_members
    a_hw, a_ideal = accumulate(spec, geos, cells, draws, h, adc, rng, generator)
    differ = (a_hw != a_ideal).reshape(len(h), -1).any(dim=1).nonzero().flatten()  # only these can change codes
    changed = (spec.activate(a_hw[differ]) != spec.activate(a_ideal[differ])).flatten(1).any(dim=1)
    members = torch.unique(torch.cat([members, differ[changed]]))
    if not len(members):
        return members, None
    return members, spec.activate(a_hw[members])
