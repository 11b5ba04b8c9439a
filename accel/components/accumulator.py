"""The partial-sum accumulators: adder + register, ``electronics.accumulators_per_vdu`` per VDU.

When a dot product is longer than one VDU (K > N), each chunk result is digitised by the VDU's
ADC and added into the dot product's running partial sum by an accumulator of the VDU that
produced it (the first chunk's result starts the sum, so a dot product of ``n_chunks`` chunks
costs ``n_chunks - 1`` adds). One accumulator completes ``electronics.accumulator_adds_per_ns``
adds per ns; a VDU's accumulators together add ``accumulators_per_vdu`` times that. The
register is ``electronics.accumulator_bits`` wide and holds an unsigned popcount, so a dot
product of length K fits when ``K <= 2**bits - 1`` (:meth:`Accumulator.check_fits`).

A k-bit layer (k_a-bit activations x k_w-bit weights as bit-plane passes) adds every pass
result, shifted, into the register, which then holds the signed integer dot product
``|A| <= K * (2**k_a - 1) * (2**k_w - 1)``; it fits when that bound is at most ``2**(bits - 1) - 1``
(two's complement, one bit for the sign).
"""
from __future__ import annotations

from types import MappingProxyType

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig
from photonics.validation import check_int

__all__ = ["Accumulator"]


class Accumulator(Component):
    """Every partial-sum accumulator of the chip: ``count`` = ``accumulators_per_vdu`` x M x units,
    area ``area.accumulator_mm2`` each, no static power (its leakage is not modelled).

    Action ``accumulate``: one partial-sum add (``electronics.accumulator_add_energy_fj``), taking
    ``1 / accumulator_adds_per_ns`` ns on one accumulator, reported under ``accumulation``. The
    scheduler bounds a layer's time by the adds falling on its busiest VDU divided by
    :attr:`adds_per_s_per_vdu` (``mapping.performance.schedule``).
    """

    name = "accumulator"

    def __init__(self, config: AcceleratorConfig):
        el = config.electronics
        self.per_vdu = el.accumulators_per_vdu
        self.count = self.per_vdu * config.M * config.units
        self.area_mm2 = self.count * config.area.accumulator_mm2
        self.bits = el.accumulator_bits
        self.adds_per_s = el.accumulator_adds_per_ns * 1e9
        self.actions = MappingProxyType({
            "accumulate": Action(el.accumulator_add_energy_fj * 1e-15, 1.0 / self.adds_per_s, "accumulation"),
        })

    @property
    def adds_per_s_per_vdu(self) -> float:
        """Add throughput of one VDU's accumulators together (adds/s)."""
        return self.per_vdu * self.adds_per_s

    @property
    def max_popcount(self) -> int:
        """Largest partial sum the register holds: ``2**bits - 1``."""
        return (1 << self.bits) - 1

    def check_fits(self, k: int, layer: str = "layer", *, act_bits: int | None = None,
                   weight_bits: int | None = None) -> int:
        """``k`` if a popcount of ``k`` bits (0..k) fits the register, else a ValueError naming
        ``layer``, K and the width. With ``act_bits`` and ``weight_bits`` (a k-bit layer): if the
        signed sum ``|A| <= k * (2**act_bits - 1) * (2**weight_bits - 1)`` fits (module docstring)."""
        k = check_int("k", k, lo=1)
        if (act_bits is None) != (weight_bits is None):
            raise TypeError(f"act_bits={act_bits!r}, weight_bits={weight_bits!r}: give both (a k-bit layer) or neither")
        if act_bits is not None:
            ka, kw = check_int("act_bits", act_bits, lo=1), check_int("weight_bits", weight_bits, lo=1)
            top = k * ((1 << ka) - 1) * ((1 << kw) - 1)
            if top > (1 << (self.bits - 1)) - 1:
                need = top.bit_length() + 1
                raise ValueError(f"layer {layer!r}: K={k} at {ka}-bit activations x {kw}-bit weights reaches |A| = {top}, "
                                 f"a {need}-bit signed sum, but electronics.accumulator_bits={self.bits} holds "
                                 f"|A| <= {(1 << (self.bits - 1)) - 1}; allowed: K * (2**act_bits - 1) * (2**weight_bits - 1)"
                                 f" <= 2**(accumulator_bits - 1) - 1 (raise electronics.accumulator_bits to >= {need})")
            return k
        if k > self.max_popcount:
            need = k.bit_length()
            raise ValueError(f"layer {layer!r}: K={k} needs a {need}-bit partial sum, but electronics.accumulator_bits="
                             f"{self.bits} holds popcounts up to {self.max_popcount}; allowed: K <= 2**accumulator_bits - 1 "
                             f"(raise electronics.accumulator_bits to >= {need})")
        return k
