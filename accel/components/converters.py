"""Data converters: the partial-sum ADC and the comparator (a 1-bit ADC) of every VDU, and the
threshold DAC.

ADC energy per conversion is the Walden figure of merit times the number of effective levels,
``E = FOM(fs) * 2^ENOB`` (:func:`adc_energy_j`), with a figure of merit that depends on the
sample rate ``fs`` (:func:`walden_fom_fj_per_step`)::

    FOM(fs) = FOM0                                 fs <= corner
    FOM(fs) = FOM0 * (fs / corner)^slope           fs >  corner

``FOM0`` = ``converters.adc_fom_fj_per_step`` (13.2 fJ/step in the presets: SONIC's 16-bit ADC,
62 mW x 14 ns / 2^16, a ~71 MS/s converter below the corner), ``corner`` =
``converters.adc_fom_corner_gsps`` and ``slope`` = ``converters.adc_fom_slope``. The shape is
that of the Walden-FOM envelope of B. Murmann's ADC Performance Survey (1997-2024): flat at low
rates, rising above a corner of a few hundred MS/s; the presets' corner (0.5 GS/s) and slope
(0.45) are placed through Kull et al., IEEE JSSC 53(12), 3508 (2018), an 8-b time-interleaved
SAR ADC at 24-72 GS/s spending 2.0-3.3 pJ per conversion at > 30 dB SNDR (ENOB ~4.7).

Each ADC makes one conversion per VDU cycle, so its sample rate is ``fs`` =
``architecture.bit_rate_gbps`` GS/s, and its resolution (``converters.adc_bits`` or, by default,
``ceil(log2(N + 1))``, one code per popcount level) is read as its effective number of bits
(an assumption: a real converter's ENOB is below its nominal resolution, which would cost
more).

The comparator is modelled as a 1-bit ADC at the same rate-aware figure of merit,
``E = FOM(fs) * 2``. This is an assumption: a Walden FOM is defined over a converter's
resolution and is not meaningful at 1 bit; it stands in until the comparator has a figure of
its own.

The DAC's energy per conversion (``converters.dac_energy_pj_per_conversion``: SONIC's 6-bit DAC,
3 mW x 0.25 ns) is not scaled with the bit rate: a threshold DAC converts once per weight load,
not once per VDU cycle, so its conversion rate is not the bit rate.
"""
from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig
from photonics.validation import check_range

__all__ = ["adc_bits", "walden_fom_fj_per_step", "adc_energy_j", "Adc", "Dac"]


def adc_bits(n_dot: int) -> int:
    """Bits needed for the N+1 popcount levels of one VDU: ceil(log2(N + 1))."""
    return max(1, math.ceil(math.log2(n_dot + 1)))


def _out(value):
    return float(value) if np.ndim(value) == 0 else value


def walden_fom_fj_per_step(sample_rate_gsps, *, fom_fj_per_step: float, corner_gsps: float, slope: float):
    """Walden figure of merit (fJ per conversion step) at ``sample_rate_gsps`` (GS/s):
    ``fom_fj_per_step`` up to ``corner_gsps``, ``fom_fj_per_step * (fs / corner_gsps)^slope``
    above it (continuous at the corner, non-decreasing in the rate). Scalar or array ``fs``."""
    fs = check_range("sample_rate_gsps", sample_rate_gsps, 0.0, None, lo_inclusive=False, unit="GS/s")
    fom0 = check_range("fom_fj_per_step", fom_fj_per_step, 0.0, 1e6, unit="fJ/step")
    corner = check_range("corner_gsps", corner_gsps, 0.0, 1e4, lo_inclusive=False, unit="GS/s")
    slope = check_range("slope", slope, 0.0, 3.0)
    return _out(fom0 * np.maximum(1.0, np.asarray(fs) / corner) ** slope)


def adc_energy_j(bits, sample_rate_gsps, *, fom_fj_per_step: float, corner_gsps: float, slope: float):
    """Energy of one conversion (J) of an ADC of ``bits`` effective bits (ENOB, may be
    fractional) at ``sample_rate_gsps`` GS/s: ``walden_fom_fj_per_step(fs) * 1e-15 * 2^bits``."""
    b = check_range("bits", bits, 0.0, 32.0, lo_inclusive=False, unit="bit")
    fom = walden_fom_fj_per_step(sample_rate_gsps, fom_fj_per_step=fom_fj_per_step, corner_gsps=corner_gsps, slope=slope)
    return _out(np.asarray(fom) * 1e-15 * 2.0 ** np.asarray(b))


class Adc(Component):
    """One ADC per VDU (``count`` = M * units) at ``bits`` bits, read as effective bits; area
    ``area.adc_mm2`` each.

    Action ``convert``: one conversion per VDU cycle, at ``sample_rate_gsps`` =
    ``architecture.bit_rate_gbps`` GS/s, energy :func:`adc_energy_j` (``FOM(fs) * 2^bits``,
    ``fom_fj_per_step`` = FOM(fs)), reported under ``adc_dac``. :meth:`comparator` builds the
    comparator of every VDU as a 1-bit ADC.
    """

    def __init__(self, config: AcceleratorConfig, *, name: str = "adc", bits: int | None = None,
                 category: str = "adc_dac", area_mm2_each: float | None = None):
        conv = config.converters
        self.name = name
        self.bits = bits if bits is not None else (conv.adc_bits or adc_bits(config.N))
        self.count = config.M * config.units
        self.area_mm2 = self.count * (config.area.adc_mm2 if area_mm2_each is None else area_mm2_each)
        self.sample_rate_gsps = float(config.bit_rate_gbps)  # one conversion per VDU cycle
        fom = dict(fom_fj_per_step=conv.adc_fom_fj_per_step, corner_gsps=conv.adc_fom_corner_gsps,
                   slope=conv.adc_fom_slope)
        self.fom_fj_per_step = walden_fom_fj_per_step(self.sample_rate_gsps, **fom)
        cycle_s = 1.0 / (self.sample_rate_gsps * 1e9)
        self.actions = MappingProxyType({
            "convert": Action(adc_energy_j(self.bits, self.sample_rate_gsps, **fom), cycle_s, category),
        })

    @classmethod
    def comparator(cls, config: AcceleratorConfig) -> "Adc":
        """The comparator of every VDU: a 1-bit ADC at the same rate-aware FOM (an assumption,
        module docstring) whose decisions are reported under ``receiver``; its area is taken as
        part of the ADC's."""
        return cls(config, name="comparator", bits=1, category="receiver", area_mm2_each=0.0)


class Dac(Component):
    """One threshold DAC per VDU (``count`` = M * units); area ``area.dac_mm2`` each.

    Action ``convert``: one conversion (``converters.dac_energy_pj_per_conversion``, not scaled
    with the bit rate: the DAC converts once per weight load, not once per VDU cycle), made while
    the VDU's weights load, so it adds no latency of its own.
    """

    name = "dac"

    def __init__(self, config: AcceleratorConfig):
        self.count = config.M * config.units
        self.area_mm2 = self.count * config.area.dac_mm2
        self.actions = MappingProxyType({
            "convert": Action(config.converters.dac_energy_pj_per_conversion * 1e-12, 0.0, "adc_dac"),
        })
