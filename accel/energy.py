"""Power and energy model: static power (laser, tuning) apart from per-event (dynamic) energies.

Static power, drawn for the whole run time:

* **laser** - per laser line (one per channel per unit): the received power that resolves
  the N+1 popcount levels at the target error rate (``photonics.receiver``), times the
  worst-path loss (:func:`worst_path_loss_db`), divided by the wall-plug efficiency;
* **tuning** - nominal: mean tuning power per ring over sampled chips (``photonics.variation``
  + ``photonics.tuning``) times the ring count, or a per-chip value passed in.

Dynamic energies per event (:class:`EventEnergies`): activation-ring modulation per bit,
weight-ring programming per ring write, PD + TIA per active VDU cycle, comparator per
decision, ADC per conversion (``ceil(log2(N+1))`` bits, Walden scaling), DAC per conversion,
buffer read/write per bit, partial-sum add, electronic op / MAC.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from accel.accelerator import build_floorplan
from accel.config import AcceleratorConfig
from photonics import receiver, tuning, variation
from photonics._checks import check_range

__all__ = [
    "worst_path_loss_terms_db",
    "worst_path_loss_db",
    "LaserBudget",
    "laser_budget",
    "EventEnergies",
    "event_energies",
    "adc_bits",
    "config_adc_bits",
    "default_tuning_model",
    "nominal_tuning_power_w",
    "PowerModel",
]


def adc_bits(n_dot: int) -> int:
    """Bits needed for the N+1 popcount levels of one VDU: ceil(log2(N + 1))."""
    return max(1, math.ceil(math.log2(n_dot + 1)))


def config_adc_bits(config: AcceleratorConfig) -> int:
    """ADC resolution of a configuration: ``converters.adc_bits``, else :func:`adc_bits` of N."""
    return config.converters.adc_bits or adc_bits(config.N)


def worst_path_loss_terms_db(config: AcceleratorConfig) -> dict[str, float]:
    """Loss (dB) of each element on the worst laser-to-detector path of one channel.

    Laser -> coupler -> combiner (N lines onto one guide) -> 1:M splitter tree (``10 log10 M``
    plus the excess loss of ``ceil(log2 M)`` stages) -> waveguide (unit margin, trunk to the
    farthest VDU, the whole bank, margin to the detector) -> every other ring of the bank
    off resonance (``rings_per_cell*N - 2`` rings at ``ring_through_db``) -> drop through the
    channel's own activation and weight rings (both on: ``-10 log10`` of each ring's peak drop)
    -> modulator insertion loss -> system margin.
    """
    n, m = config.N, config.M
    loss, fp, per_cell = config.losses, config.floorplan, config.architecture.rings_per_cell
    lam = config.wavelength.center_wavelength_nm
    stages = math.ceil(math.log2(m)) if m > 1 else 0
    path_um = 2.0 * fp.unit_margin_um + (m - 1) * fp.vdu_pitch_um + n * per_cell * fp.ring_pitch_um
    drop_db = sum(-10.0 * math.log10(getattr(config, r).design(lam).peak_drop) for r in ("activation_ring", "weight_ring"))
    return {
        "coupler": loss.coupler_db,
        "combiner": loss.combiner_db,
        "splitter_fanout": 10.0 * math.log10(m) + stages * loss.splitter_excess_db,
        "propagation": loss.propagation_db_per_cm * path_um * 1e-4,
        "ring_through": loss.ring_through_db * (per_cell * n - 2),
        "drop": drop_db,
        "modulation": loss.modulation_db,
        "margin": config.laser.power_margin_db,
    }


def worst_path_loss_db(config: AcceleratorConfig) -> float:
    """Sum of :func:`worst_path_loss_terms_db`."""
    return float(sum(worst_path_loss_terms_db(config).values()))


@dataclass(frozen=True)
class LaserBudget:
    """Laser link budget; powers per laser line unless named ``total``."""

    loss_terms_db: tuple[tuple[str, float], ...]
    path_loss_db: float
    q: float
    received_power_per_wavelength_w: float
    optical_power_per_wavelength_w: float
    electrical_power_per_wavelength_w: float
    laser_wavelengths: int
    from_budget: bool

    @property
    def total_optical_power_w(self) -> float:
        return self.optical_power_per_wavelength_w * self.laser_wavelengths

    @property
    def total_electrical_power_w(self) -> float:
        return self.electrical_power_per_wavelength_w * self.laser_wavelengths


def laser_budget(config: AcceleratorConfig) -> LaserBudget:
    """Laser power per line from the worst-path loss and the receiver requirement.

    With ``laser.fixed_optical_power_per_wavelength_mw`` set, that optical power is used instead
    of the budget (``from_budget`` False).
    """
    terms = worst_path_loss_terms_db(config)
    loss_db = float(sum(terms.values()))
    rx, las = config.receiver, config.laser
    q = float(receiver.q_from_ber(rx.target_popcount_error_rate))
    received = float(
        receiver.required_power_per_wavelength_w(
            config.N, config.bit_rate_gbps, q, rx.responsivity_a_per_w, config.wavelength.center_wavelength_nm,
            dark_current_a=rx.dark_current_na * 1e-9, resistance_ohm=rx.tia_resistance_ohm,
        )
    )
    if las.fixed_optical_power_per_wavelength_mw is None:
        optical, electrical = (float(v) for v in receiver.laser_power_per_wavelength_w(received, loss_db, las.wall_plug_efficiency))
    else:
        optical = las.fixed_optical_power_per_wavelength_mw * 1e-3
        electrical = optical / las.wall_plug_efficiency
    return LaserBudget(
        loss_terms_db=tuple(terms.items()), path_loss_db=loss_db, q=q, received_power_per_wavelength_w=received,
        optical_power_per_wavelength_w=optical, electrical_power_per_wavelength_w=electrical,
        laser_wavelengths=config.N * config.units, from_budget=las.fixed_optical_power_per_wavelength_mw is None,
    )


@dataclass(frozen=True)
class EventEnergies:
    """Dynamic energy per event (J) and the timing the scheduler needs (s, per s)."""

    activation_modulation_j_per_bit: float
    weight_program_j_per_ring: float
    receiver_j_per_vdu_cycle: float
    comparator_j_per_decision: float
    adc_bits: int
    adc_j_per_conversion: float
    dac_j_per_conversion: float
    memory_read_j_per_bit: float
    memory_write_j_per_bit: float
    accumulator_j_per_add: float
    electronic_j_per_op: float
    electronic_j_per_mac: float
    electronic_ops_per_s: float
    electronic_macs_per_s: float
    electronic_value_bits: int
    cycle_s: float
    weight_reload_s: float
    weights_streamed: bool


def event_energies(config: AcceleratorConfig) -> EventEnergies:
    """Per-event energies of a configuration (module docstring).

    The receiver energy per VDU cycle is ``(2 * pd_power + tia_power) / bit_rate`` (a balanced
    detector has two photodiodes). In the ``lightbulb`` cell the weights are modulated every
    cycle (``weights_streamed``) and there is no reload time between tiles.
    """
    rx, e, el, mem = config.receiver, config.energy, config.electronics, config.memory
    cycle_s = 1.0 / (config.bit_rate_gbps * 1e9)
    bits = config_adc_bits(config)
    streamed = config.cell_model == "lightbulb"
    return EventEnergies(
        activation_modulation_j_per_bit=e.activation_modulation_fj_per_bit * 1e-15,
        weight_program_j_per_ring=e.weight_program_fj_per_ring * 1e-15,
        receiver_j_per_vdu_cycle=(2.0 * rx.pd_power_mw + rx.tia_power_mw) * 1e-3 * cycle_s,
        comparator_j_per_decision=rx.comparator_energy_fj * 1e-15,
        adc_bits=bits,
        adc_j_per_conversion=config.converters.adc_fom_fj_per_step * 1e-15 * 2.0**bits,
        dac_j_per_conversion=config.converters.dac_energy_pj_per_conversion * 1e-12,
        memory_read_j_per_bit=mem.read_energy_fj_per_bit * 1e-15,
        memory_write_j_per_bit=mem.write_energy_fj_per_bit * 1e-15,
        accumulator_j_per_add=el.accumulator_add_energy_fj * 1e-15,
        electronic_j_per_op=el.op_energy_fj * 1e-15,
        electronic_j_per_mac=el.mac_energy_fj * 1e-15,
        electronic_ops_per_s=el.ops_per_ns * 1e9,
        electronic_macs_per_s=el.macs_per_ns * 1e9,
        electronic_value_bits=el.value_bits,
        cycle_s=cycle_s,
        weight_reload_s=0.0 if streamed else config.tuning.eo_settle_ns * 1e-9,
        weights_streamed=streamed,
    )


_TUNING_CACHE: dict = {}  # representative block -> mean tuning power per ring (W)


def default_tuning_model(config: AcceleratorConfig) -> tuning.TuningModel:
    """The ``photonics.tuning.TuningModel`` a chip of this configuration is tuned with."""
    return tuning.TuningModel(track_common_mode=config.tuning.track_common_mode)


def nominal_tuning_power_w(config: AcceleratorConfig, tuning_model: tuning.TuningModel | None = None) -> float:
    """Nominal tuning power of the whole accelerator (W): mean power per ring times all rings.

    With ``tuning.fixed_power_per_ring_mw`` that value is used per ring. Otherwise the mean
    per-ring power comes from ``tuning.variation_chips`` chips sampled with the default
    ``photonics.variation`` models (seeded by ``tuning.variation_seed``) and tuned with
    ``tuning_model`` (default :func:`default_tuning_model`), on a representative block:
    one unit with ``min(M, 4)`` VDUs (the die-level variation terms are common to the whole
    chip; the intra-die field varies over millimetres, more than a unit).
    """
    rings = config.N * config.M * config.units * config.architecture.rings_per_cell
    fixed = config.tuning.fixed_power_per_ring_mw
    if fixed is not None:
        return fixed * 1e-3 * rings
    block = config.with_values({"architecture.units": 1, "architecture.vdus_per_unit": min(config.M, 4),
                                "architecture.bit_rate_gbps": 1.0})
    model = default_tuning_model(config) if tuning_model is None else tuning_model
    if not isinstance(model, tuning.TuningModel):
        raise TypeError(f"tuning_model must be a photonics.tuning.TuningModel or None, got {type(model).__name__}")
    key = (block.wavelength, block.activation_ring, block.weight_ring, block.floorplan, block.architecture, block.tuning, model)
    if key not in _TUNING_CACHE:
        _TUNING_CACHE[key] = _sample_block_tuning(block, model)
    return _TUNING_CACHE[key] * rings


def _sample_block_tuning(block: AcceleratorConfig, model: tuning.TuningModel) -> float:
    """Mean tuning power per ring (W) of ``block`` over its sampled chips."""
    fp = build_floorplan(block)
    lam = block.wavelength.center_wavelength_nm
    act, wt = block.activation_ring, block.weight_ring
    is_act = fp.role == 0
    chips = block.tuning.variation_chips
    cv = variation.sample_chips(fp.xy_um, range(chips), block.tuning.variation_seed)
    shift = variation.resonance_shift_nm(
        np.where(is_act, act.width_nm, wt.width_nm), np.where(is_act, act.thickness_nm, wt.thickness_nm),
        cv.dw_nm, cv.dt_nm, cv.dT_K, fp.channels_nm[fp.channel],
    )
    fsr = np.where(is_act, act.design(lam).fsr_nm, wt.design(lam).fsr_nm)
    res = tuning.tune(shift, fsr_nm=fsr, bank_size=2 * block.N, pitch_um=block.floorplan.ring_pitch_um, model=model)
    return float(np.sum(res.total_power_w)) / (chips * fp.n_rings)


class PowerModel:
    """Static power and per-event energies of one :class:`accel.Accelerator` (computed lazily)."""

    def __init__(self, accelerator):
        self._config = accelerator.config

    @cached_property
    def laser(self) -> LaserBudget:
        return laser_budget(self._config)

    @cached_property
    def events(self) -> EventEnergies:
        return event_energies(self._config)

    @cached_property
    def nominal_tuning_power_w(self) -> float:
        return nominal_tuning_power_w(self._config)

    def static_power_w(self, tuning_power_w: float | None = None) -> dict[str, float]:
        """``{"laser": W, "tuning": W}``; ``tuning_power_w`` (e.g. one chip's) replaces the nominal value."""
        if tuning_power_w is None:
            tuning_w = self.nominal_tuning_power_w
        else:
            tuning_w = check_range("tuning_power_w", tuning_power_w, 0.0, None, unit="W")
        return {"laser": self.laser.total_electrical_power_w, "tuning": float(tuning_w)}
