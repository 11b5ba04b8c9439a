"""Multi-bit layers as bit-plane passes on the optical engine (helper of ``mapping.functional``).

A :class:`mapping.networks.quant_folding.QuantLayerSpec` with ``k_a`` activation planes and
``k_w`` weight planes runs as ``k_a·k_w`` ±1 passes, time-multiplexed on the cells its
(out_channels, K, positions) map to by ``mapping.performance.schedule.assign_vdus``: weight
plane ``j`` is loaded in turn (the cells' coefficients ``c(a, w)`` depend on the weight, so
each plane has its own :class:`~mapping.functional.layer.LayerCells`) and the ``k_a``
activation planes ``x_i = 2 b_i − 1`` stream through it. Every pass is a ``digital``
:class:`~mapping.functional.layer.LayerGeometry`: each chunk readout sees the receiver noise
and the ADC (also when K <= N: a multi-bit layer has no comparator), and its digital sum
``s_ij`` goes to the back end, which shift-adds the passes with the Σw correction
(``QuantLayerSpec.pass_term``) into the integer sum ``A``; the folded thresholds then give the
output codes. Each pass uses the exact sparse/dense readout machinery of
:mod:`mapping.functional.layer`, so every path samples the same distribution.

Pass order (and so the order of the random draws): weight plane outer, activation plane inner.
"""
from __future__ import annotations

import numpy as np
import torch

from mapping.functional.layer import (
    DENSE_PROBABILITY, Adc, LayerCells, LayerGeometry, ReadoutDraw, apply_readouts, draw_readouts, ideal_sums,
)
from mapping.networks.layers import PAD_VALUE
from mapping.networks.quant_folding import QuantLayerSpec

__all__ = ["pass_geometries", "pass_order", "draw_passes", "accumulate", "hardware_accumulations"]


def pass_geometries(spec: QuantLayerSpec, chunk: int) -> tuple[LayerGeometry, ...]:
    """One digital geometry per weight plane (ring inputs of a padded code 0 are −1)."""
    if spec.kind == "conv":
        kernel = tuple(spec.weight_codes.shape[1:])
        stride, padding = tuple(spec.stride), tuple(spec.padding)
    else:
        kernel, stride, padding = None, (1, 1), (0, 0)
    return tuple(LayerGeometry(spec.name, plane.contiguous(), kernel, stride, padding, PAD_VALUE, None, None, chunk,
                               digital=True) for plane in spec.weight_planes)


def pass_order(spec: QuantLayerSpec) -> list[tuple[int, int]]:
    """(activation plane i, weight plane j) of each pass in time order."""
    return [(i, j) for j in range(spec.weight_bits) for i in range(spec.act_planes)]


def draw_passes(spec: QuantLayerSpec, geometries, cells, adc: Adc, readouts_per_pair: int, rng: np.random.Generator,
                dense_probability: float = DENSE_PROBABILITY) -> list[ReadoutDraw]:
    """:func:`~mapping.functional.layer.draw_readouts` of every pass, in :func:`pass_order`."""
    return [draw_readouts(geometries[j], cells[j], adc, readouts_per_pair, rng, dense_probability)
            for _, j in pass_order(spec)]


def accumulate(spec: QuantLayerSpec, geometries, cells, draws: list[ReadoutDraw], h: torch.Tensor, adc: Adc,
               rng: np.random.Generator, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The back end's integer sums ``A`` (hardware passes) and ``A0`` (ideal passes) of input ``h``
    (B, *in_shape; ±1 or codes), float32 (exact: the folding keeps |A| <= 2^24)."""
    planes = spec.input_planes(h)
    a_hw = a_ideal = None
    for (i, j), draw in zip(pass_order(spec), draws):
        s0 = ideal_sums(geometries[j], planes[i])
        s = s0 if draw.empty else apply_readouts(geometries[j], cells[j], draw, planes[i], s0, adc, rng, generator)[0]
        t_hw, t_ideal = spec.pass_term(i, j, s), spec.pass_term(i, j, s0)
        a_hw = t_hw if a_hw is None else a_hw + t_hw
        a_ideal = t_ideal if a_ideal is None else a_ideal + t_ideal
    return a_hw, a_ideal


def hardware_accumulations(spec: QuantLayerSpec, geometries, cells: tuple[LayerCells, ...], h: torch.Tensor, adc: Adc,
                           rng: np.random.Generator, generator: torch.Generator,
                           dense_probability: float = DENSE_PROBABILITY) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`draw_passes` then :func:`accumulate` on input ``h`` (B, ...): (A, A0)."""
    positions = 1 if spec.kind == "linear" else int(np.prod(spec.out_shape[1:]))
    draws = draw_passes(spec, geometries, cells, adc, positions * h.shape[0], rng, dense_probability)
    return accumulate(spec, geometries, cells, draws, h, adc, rng, generator)
