"""Ring tuning: one actuator (EO and thermo-optic heater) per ring, locking each bank of 2N rings.

The EO actuator is the preset's ``tuning.eo_mechanism`` (``photonics.eo``); its window (blue and
red range, W/nm each way, hold power, settle time) is derived from the mechanism's table on the
ring designs (``accel.config.TuningConfig``) and reaches the solver through the ``TuningModel``.

:meth:`Tuner.tune` locks resonance shifts with ``photonics.tuning.tune`` on banks of the 2N
rings along one VDU bus, heaters at the ring pitch. The static power (category ``tuning``,
drawn for the whole run time) is the nominal tuning power, :meth:`Tuner.nominal_power_w`:
``tuning.fixed_power_per_ring_mw`` per ring if set; otherwise the mean power per ring over
``tuning.variation_chips`` chips (seed ``tuning.variation_seed``) sampled by the chip pipeline
(``accel.chip.sample_chip``) under the preset's conditions, on a representative block: one
unit with ``min(M, 4)`` VDUs at 1 Gb/s (the die-level variation terms are common to the whole
chip; the intra-die field varies over millimetres, more than a unit); times all rings. A chip
budget (``tuning.chip_budget_w``) is shared out in proportion: the block gets its share of rings'
worth of the chip's budget (so the nominal power stays within it).
"""
from __future__ import annotations

import dataclasses
from functools import cached_property
from types import MappingProxyType

import numpy as np

from accel.chip import sample_chip
from accel.components.component import Component
from accel.components.xnor_cell import XnorCell
from accel.conditions import Conditions
from accel.config import AcceleratorConfig
from accel.floorplan import build_floorplan
from photonics import tuning

__all__ = ["Tuner"]

_NOMINAL_CACHE: dict = {}  # representative block and conditions -> mean tuning power per ring (W)


class Tuner(Component):
    """The tuning actuators of every ring (``count`` = all rings, ``rings_per_cell`` per cell).

    Area 0: the heaters sit within the ring pitch of the floorplan. No actions; the static
    power is the nominal tuning power (module docstring).
    """

    name = "tuner"
    static_category = "tuning"

    def __init__(self, config: AcceleratorConfig):
        self._config = config
        self.count = config.N * config.M * config.units * config.architecture.rings_per_cell
        self.area_mm2 = 0.0
        self.bank_size = 2 * config.N
        self.pitch_um = config.floorplan.ring_pitch_um
        self.actions = MappingProxyType({})

    def tune(self, shift_nm, *, fsr_nm, model: tuning.TuningModel, dlambda_dT_nm_per_K=None) -> tuning.TuningResult:
        """Lock rings with resonance shifts ``shift_nm`` (nm, (..., n_rings) in floorplan order,
        banks of ``bank_size`` rings) and FSRs ``fsr_nm`` with ``model``; ``dlambda_dT_nm_per_K``
        per ring for a die TEC (``photonics.tuning.tune``)."""
        return tuning.tune(shift_nm, fsr_nm=fsr_nm, bank_size=self.bank_size, pitch_um=self.pitch_um, model=model,
                           dlambda_dT_nm_per_K=dlambda_dT_nm_per_K)

    @cached_property
    def static_power_w(self) -> float:
        return self.nominal_power_w()

    def nominal_power_w(self, conditions: Conditions | None = None) -> float:
        """Nominal tuning power of the whole accelerator (W) under ``conditions`` (None: the
        preset's); module docstring."""
        fixed = self._config.tuning.fixed_power_per_ring_mw
        if fixed is not None:
            return fixed * 1e-3 * self.count
        return self._sampled(conditions)[0] * self.count

    def common_mode_dt_k(self, conditions: Conditions | None = None) -> tuple[float, ...]:
        """The common-mode tracking TEC's temperature change (K) on each of the chips the
        nominal power samples (``ChipSample.common_mode_dt_k``; none with a fixed power per ring)."""
        if self._config.tuning.fixed_power_per_ring_mw is not None:
            return ()
        return self._sampled(conditions)[1]

    def _sampled(self, conditions: Conditions | None):
        """(mean tuning power per ring (W), common-mode ΔT per chip) of the representative block."""
        cfg = self._config
        if conditions is not None and not isinstance(conditions, Conditions):
            raise TypeError(f"conditions must be an accel.conditions.Conditions or None, got {type(conditions).__name__}")
        block = cfg.with_values({"architecture.units": 1, "architecture.vdus_per_unit": min(cfg.M, 4),
                                 "architecture.bit_rate_gbps": 1.0})
        resolved = (Conditions() if conditions is None else conditions).resolve(block)
        if resolved.tuning is not False and resolved.tuning.chip_budget_w is not None:
            # The block's sampled rings (activation and weight; the mean per ring is scaled to all
            # ``count`` rings) get their share of the chip's budget, so the nominal power stays within it.
            share = build_floorplan(block).n_rings / self.count
            resolved = dataclasses.replace(
                resolved, tuning=dataclasses.replace(resolved.tuning, chip_budget_w=resolved.tuning.chip_budget_w * share))
        key = (block.wavelength, block.activation_ring, block.weight_ring, block.floorplan, block.architecture,
               block.tuning, resolved.variation, resolved.tuning)
        if key not in _NOMINAL_CACHE:
            _NOMINAL_CACHE[key] = _mean_power_per_ring(block, resolved)
        return _NOMINAL_CACHE[key]


def _mean_power_per_ring(block: AcceleratorConfig, conditions: Conditions) -> tuple[float, tuple[float, ...]]:
    """Mean tuning power per ring (W) of ``block`` over its sampled chips, and each chip's
    common-mode tracking ΔT (K)."""
    fp = build_floorplan(block)
    tuner, cell = Tuner(block), XnorCell(block)
    chips = block.tuning.variation_chips
    samples = [sample_chip(block, fp, tuner, cell, seed=block.tuning.variation_seed, chip=k,
                           conditions=conditions, coefficients=False) for k in range(chips)]
    power = np.array([s.tuning_power_w for s in samples])
    return float(np.sum(power)) / (chips * fp.n_rings), tuple(s.common_mode_dt_k for s in samples)
