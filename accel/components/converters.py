"""Data converters: the partial-sum ADC and the comparator (a 1-bit ADC) of every VDU, and the
threshold DAC.

ADC energy per conversion follows the Walden figure of merit, ``E = FOM * 2^bits``
(``converters.adc_fom_fj_per_step``), at ``converters.adc_bits`` bits or, by default,
``ceil(log2(N + 1))`` (one code per popcount level).

The comparator is modelled as a 1-bit ADC at the same figure of merit, ``E = FOM * 2``. This is
an assumption: a Walden FOM is defined over a converter's resolution and is not meaningful at
1 bit; it stands in until the comparator has a figure of its own.
"""
from __future__ import annotations

import math
from types import MappingProxyType

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig

__all__ = ["adc_bits", "Adc", "Dac"]


def adc_bits(n_dot: int) -> int:
    """Bits needed for the N+1 popcount levels of one VDU: ceil(log2(N + 1))."""
    return max(1, math.ceil(math.log2(n_dot + 1)))


class Adc(Component):
    """One ADC per VDU (``count`` = M * units) at ``bits`` bits; area ``area.adc_mm2`` each.

    Action ``convert``: one conversion per VDU cycle, energy ``FOM * 2^bits``, reported under
    ``adc_dac``. :meth:`comparator` builds the comparator of every VDU as a 1-bit ADC.
    """

    def __init__(self, config: AcceleratorConfig, *, name: str = "adc", bits: int | None = None,
                 category: str = "adc_dac", area_mm2_each: float | None = None):
        self.name = name
        self.bits = bits if bits is not None else (config.converters.adc_bits or adc_bits(config.N))
        self.count = config.M * config.units
        self.area_mm2 = self.count * (config.area.adc_mm2 if area_mm2_each is None else area_mm2_each)
        cycle_s = 1.0 / (config.bit_rate_gbps * 1e9)
        self.actions = MappingProxyType({
            "convert": Action(config.converters.adc_fom_fj_per_step * 1e-15 * 2.0**self.bits, cycle_s, category),
        })

    @classmethod
    def comparator(cls, config: AcceleratorConfig) -> "Adc":
        """The comparator of every VDU: a 1-bit ADC (an assumption, module docstring) whose
        decisions are reported under ``receiver``; its area is taken as part of the ADC's."""
        return cls(config, name="comparator", bits=1, category="receiver", area_mm2_each=0.0)


class Dac(Component):
    """One threshold DAC per VDU (``count`` = M * units); area ``area.dac_mm2`` each.

    Action ``convert``: one conversion (``converters.dac_energy_pj_per_conversion``), made while
    the VDU's weights load, so it adds no latency of its own.
    """

    name = "dac"

    def __init__(self, config: AcceleratorConfig):
        self.count = config.M * config.units
        self.area_mm2 = self.count * config.area.dac_mm2
        self.actions = MappingProxyType({
            "convert": Action(config.converters.dac_energy_pj_per_conversion * 1e-12, 0.0, "adc_dac"),
        })
