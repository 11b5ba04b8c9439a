"""Ring tuning: one actuator (EO and thermo-optic heater) per ring, locking each bank of 2N rings.

The EO actuator is the preset's ``tuning.eo_mechanism`` (``photonics.eo``); its window (blue and
red range, W/nm each way, hold power, settle time) is derived from the mechanism's table on the
ring designs (``accel.config.TuningConfig``) and reaches the solver through the ``TuningModel``.

:meth:`Tuner.tune` locks resonance shifts with ``photonics.tuning.tune`` on banks of the 2N
rings along one VDU bus, heaters at the ring pitch. The static power (category ``tuning``,
drawn for the whole run time) is the nominal tuning power, :meth:`Tuner.nominal_power_w`:
``tuning.fixed_power_per_ring_mw`` per ring if set; otherwise the mean tuning power per ring
of sampled chips (:meth:`Tuner.nominal`, a :class:`NominalTuning`) times all rings:

* Where on the die: at most ``tuning.variation_banks`` banks of the full configuration's
  floorplan (``accel.floorplan.build_floorplan``), the banks nearest a lattice of points spanning
  the die edge to edge, corners included (``accel.chip.stratified_banks``; every bank of a die
  with no more), so the position-dependent variation (wafer bowl and tilt, die gradient,
  correlated field, temperature gradient) is seen from corner to centre to corner. Each chip
  runs the chip pipeline's variation, shift and tuning on those banks
  (``accel.chip.sample_banks``), all the block's chips in one solve; the sampled rings' values of
  those terms equal the full-die chip's (a lattice of at least 2 x 2 keeps the die's bounding
  box); the per-ring uncorrelated term is an independent draw of the same distribution (equal
  too when all banks are sampled, and then so is each chip's tuning power). The grid placement of common-mode tracking and the chip
  budget act on the sampled rings: ``tuning.chip_budget_w`` is shared out in proportion, the
  sampled rings getting their share of rings' worth of the chip's budget.
* How many chips: chips are the independent unit. Chip k (``tuning.variation_seed``) draws only
  from its own ``numpy.random.SeedSequence`` (``photonics.variation.chip_seed_sequence``), so
  configurations compare on the same chips (common random numbers). Chips are added in blocks
  of ``tuning.variation_chip_block`` until the standard error of the mean over the per-chip
  means (sample std, ddof 1, over √n) is at most ``tuning.variation_target_rel_se`` times the
  mean, or ``tuning.variation_chips`` (the cap) is reached; a zero mean with zero spread (no
  variation) stops at the first block with standard error 0. With variation off every chip is
  the same, and one is sampled. Several blocks may be drawn and tuned in one solve (as many as
  the spread so far says the target needs), the rule then applied block by block and later
  chips dropped: the same chips and result as one block at a time. The chip count and relative standard error are
  ``NominalTuning.chips`` / ``rel_se`` (:attr:`Tuner.nominal_chips`, :attr:`Tuner.nominal_rel_se`).
* Cache: by the fields the sampled banks' tuning depends on (wavelength grid, ring designs,
  floorplan, N, M, units, rings per cell, tuning, and the resolved variation and tuning
  conditions), not the bit rate, energies, converters or other fields, which steps 1-3 of the
  chip pipeline never read: configurations differing only there share one :class:`NominalTuning`.
* Memory: a configuration whose sampling would not fit (``accel.memory.nominal_tuning_bytes``
  against ``accel.memory.available_bytes``) is refused with ``accel.memory.MemoryLimitError``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import numpy as np

from accel import memory as _memory
from accel.chip import sample_banks, stratified_banks
from accel.components.component import Component
from accel.conditions import Conditions
from accel.config import AcceleratorConfig
from accel.floorplan import build_floorplan
from photonics import tuning

__all__ = ["NominalTuning", "Tuner"]

#: Most rings (chips x sampled rings) drawn and tuned in one solve of the nominal sampling.
_SOLVE_RINGS = 1 << 18
_NOMINAL_CACHE: dict = {}  # tuning-relevant configuration fields and resolved conditions -> NominalTuning


@dataclass(frozen=True)
class NominalTuning:
    """The sampled nominal tuning power (module docstring).

    ``power_per_ring_w``: mean over the chips of each chip's mean EO + TO power per sampled ring
    (W); ``se_power_per_ring_w``: its standard error, std(per-chip means, ddof=1)/√chips (0 when
    every chip is the same, NaN with a single chip of varying ones); ``rel_se``: the two's
    ratio (0 when both are 0); ``chips``: chips sampled (0 with ``tuning.fixed_power_per_ring_mw``);
    ``per_chip_power_per_ring_w`` / ``common_mode_dt_k``: per chip, in chip order 0, 1, ...;
    ``banks``: the sampled banks (floorplan bank indices, ``accel.chip.sample_banks``);
    ``rings_per_chip``: the rings sampled on each chip.
    """

    power_per_ring_w: float
    se_power_per_ring_w: float
    rel_se: float
    chips: int
    per_chip_power_per_ring_w: tuple[float, ...] = ()
    common_mode_dt_k: tuple[float, ...] = ()
    banks: tuple[int, ...] = ()
    rings_per_chip: int = 0



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
        self.pitch_um = config.ring_pitch_um
        self.ring_outer_diameter_um = config.ring_outer_diameter_um
        self.actions = MappingProxyType({})

    def tune(self, shift_nm, *, fsr_nm, model: tuning.TuningModel, dlambda_dT_nm_per_K=None) -> tuning.TuningResult:
        """Lock rings with resonance shifts ``shift_nm`` (nm, (..., n_rings) in floorplan order,
        banks of ``bank_size`` rings at the ring pitch, crosstalk of the edge-to-edge gaps between
        rings of the configuration's outer diameter) and FSRs ``fsr_nm`` with ``model``;
        ``dlambda_dT_nm_per_K`` per ring for a die TEC (``photonics.tuning.tune``)."""
        return tuning.tune(shift_nm, fsr_nm=fsr_nm, bank_size=self.bank_size, pitch_um=self.pitch_um,
                           ring_outer_diameter_um=self.ring_outer_diameter_um, model=model,
                           dlambda_dT_nm_per_K=dlambda_dT_nm_per_K)

    @cached_property
    def static_power_w(self) -> float:
        return self.nominal_power_w()

    def nominal_power_w(self, conditions: Conditions | None = None) -> float:
        """Nominal tuning power of the whole accelerator (W) under ``conditions`` (None: the
        preset's); module docstring."""
        return self.nominal(conditions).power_per_ring_w * self.count

    @property
    def nominal_chips(self) -> int:
        """Chips the nominal tuning power (preset's conditions) sampled (0 with a fixed power per ring)."""
        return self.nominal().chips

    @property
    def nominal_rel_se(self) -> float:
        """Relative standard error of the nominal tuning power (preset's conditions; module docstring)."""
        return self.nominal().rel_se

    def common_mode_dt_k(self, conditions: Conditions | None = None) -> tuple[float, ...]:
        """The common-mode tracking TEC's temperature change (K) on each of the chips the
        nominal power samples (``ChipSample.common_mode_dt_k``; none with a fixed power per ring)."""
        return self.nominal(conditions).common_mode_dt_k

    def nominal(self, conditions: Conditions | None = None) -> NominalTuning:
        """The nominal tuning power's sample under ``conditions`` (None: the preset's), cached
        (module docstring)."""
        cfg = self._config
        if conditions is not None and not isinstance(conditions, Conditions):
            raise TypeError(f"conditions must be an accel.conditions.Conditions or None, got {type(conditions).__name__}")
        fixed = cfg.tuning.fixed_power_per_ring_mw
        if fixed is not None:
            return NominalTuning(fixed * 1e-3, 0.0, 0.0, 0)
        resolved = (Conditions() if conditions is None else conditions).resolve(cfg)
        a = cfg.architecture
        key = (cfg.wavelength, cfg.activation_ring, cfg.weight_ring, cfg.floorplan, a.wavelengths_per_vdu,
               a.vdus_per_unit, a.units, a.rings_per_cell, cfg.tuning, resolved.variation, resolved.tuning)
        value = _NOMINAL_CACHE.get(key)
        if value is None:
            value = _NOMINAL_CACHE[key] = _sample_nominal(cfg, resolved, self.count)
        return value


def _mean_se(values: list[float], identical: bool = False) -> tuple[float, float, float]:
    """(mean, standard error std(ddof=1)/√n, relative standard error) of per-chip values; NaN
    errors from one value unless the chips are ``identical`` by construction (no variation)."""
    x = np.asarray(values, dtype=float)
    mean = float(np.mean(x))
    if identical or (x.size >= 2 and np.all(x == x[0])):  # no spread, whatever the rounding of the mean
        return mean, 0.0, 0.0
    if x.size < 2:
        return mean, math.nan, math.nan
    se = float(np.std(x, ddof=1) / math.sqrt(x.size))
    return mean, se, se / mean if mean > 0 else math.inf


def _sample_nominal(cfg: AcceleratorConfig, resolved: Conditions, count: int) -> NominalTuning:
    """Chips in blocks until the relative standard error target or the cap (module docstring)."""
    _memory.check_fits({"nominal tuning": _memory.nominal_tuning_bytes(cfg)}, f"the nominal tuning power of {cfg.name!r}", cfg)
    fp = build_floorplan(cfg)
    tuner = Tuner(cfg)
    t = cfg.tuning
    banks = stratified_banks(fp, t.variation_banks)
    rings = banks.size * tuner.bank_size
    if resolved.tuning is not False and resolved.tuning.chip_budget_w is not None:
        # the sampled rings (activation and weight; the mean per ring is scaled to all ``count``
        # rings) get their share of the chip's budget, so the nominal power stays within it
        resolved = dataclasses.replace(resolved, tuning=dataclasses.replace(
            resolved.tuning, chip_budget_w=resolved.tuning.chip_budget_w * rings / count))
    cap = 1 if resolved.variation is False else t.variation_chips  # no variation: every chip is the same
    block, target = t.variation_chip_block, t.variation_target_rel_se
    power: list[float] = []
    dt: list[float] = []
    while True:
        # Chips are drawn and tuned several blocks at a time (one solve), as many as the spread so
        # far says the target needs; the rule is then applied block by block on the chips in
        # order and later chips are dropped, so the result is the block-by-block rule's exactly
        # (each chip is its own row of the solve, independent of the others).
        start = len(power)
        want = block
        if start:
            _, _, rel = _mean_se(power)
            if math.isfinite(rel) and rel > 0:
                want = max(block, math.ceil(start * (rel / target) ** 2 / block) * block - start)
        want = min(want, max(block, _SOLVE_RINGS // rings // block * block))  # bounded memory per solve
        chips = range(start, min(start + want, cap))
        sample = sample_banks(cfg, fp, tuner, seed=t.variation_seed, chips=chips, banks=banks, conditions=resolved)
        new_power = (sample.tuning_power_w / rings).tolist()
        new_dt = sample.common_mode_dt_k.tolist()
        stop = None
        for end in range(start + block, chips.stop + block, block):
            end = min(end, chips.stop)
            mean, se, rel = _mean_se(power + new_power[:end - start], identical=resolved.variation is False)
            if end >= cap or rel <= target:
                stop = end
                break
        if stop is not None:
            power += new_power[:stop - start]
            dt += new_dt[:stop - start]
            break
        power += new_power
        dt += new_dt
    return NominalTuning(mean, se, rel, len(power), tuple(power), tuple(dt), tuple(int(b) for b in banks), rings)
