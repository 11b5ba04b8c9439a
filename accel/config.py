"""Typed, frozen accelerator configuration: one dataclass per TOML table, units in every name.

A configuration is a tree ``AcceleratorConfig -> section -> field``; its TOML form has one
table per section (``[architecture]``, ``[losses]``, ...) and a ``[sources]`` table mapping
``"section.field"`` to the publication the value came from, and an optional ``[ranges]`` table
of plausible ranges (:class:`Range`: ``"section.field" = { low, high, source }``). Sections
declare their fields with ``photonics.validation.param`` (allowed bounds, unit, doc); every
field is checked once, on construction (kind and allowed bounds), and converted to its declared
kind; errors name the key as ``section.field``, the value and the allowed bounds.

One namespace: every parameter has one dotted name ``section.field`` (:data:`PARAMETERS`);
the short names (``N``, ``ring_width_nm``, ...) are declared once, in :data:`ALIASES`, and
resolve through :func:`resolve_request` wherever names are given (``with_values``, ``--set``,
sweep files, ``--vary``).

Counts (``wavelengths_per_vdu``, ``vdus_per_unit``, ``units``, ...) carry what they count in
their name; ``N``/``M`` are the usual symbols for the first two (``AcceleratorConfig.N``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from photonics import eo as _eo
from photonics.mrr import RingDesign
from photonics.tuning import TuningModel
from photonics.validation import Allowed, Parameters, ParamSpec, build, check_value, param, param_specs
from photonics.variation import FabricationModel, ThermalModel

__all__ = [
    "CELL_MODELS",
    "ArchitectureConfig",
    "WavelengthConfig",
    "RingConfig",
    "LaserConfig",
    "LossConfig",
    "ReceiverConfig",
    "ConverterConfig",
    "DeviceEnergyConfig",
    "ElectronicsConfig",
    "MemoryConfig",
    "TuningConfig",
    "EO_MECHANISMS",
    "EoConfig",
    "FloorplanConfig",
    "AreaConfig",
    "AcceleratorConfig",
    "Range",
    "SECTIONS",
    "TOP_LEVEL",
    "PARAMETERS",
    "Alias",
    "ALIASES",
    "ConfigKeyError",
    "build_section",
    "section_values",
    "resolve_name",
    "name_spec",
    "check_request",
    "resolve_request",
]

CELL_MODELS = ("robin", "lightbulb")
"""``robin``: two-ring XNOR cell, weight-stationary weight rings reprogrammed per tile (EO
settle time between tiles). ``lightbulb``: XNOR gate whose activation and weight modulators
are both driven every cycle (weights streamed from memory, no reload time)."""


class ConfigKeyError(KeyError):
    """An unknown or missing configuration key (message printed without KeyError's quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ArchitectureConfig(Parameters):
    """Dot-product geometry and clock. N = ``wavelengths_per_vdu``, M = ``vdus_per_unit``."""

    key_prefix: ClassVar[str] = "architecture"
    wavelengths_per_vdu: int = param("[1, 512]", doc="N: channels (XNOR cells) per VDU, the dot-product length")
    vdus_per_unit: int = param("[1, 4096]", doc="M: VDUs per unit, sharing its input activations")
    units: int = param("[1, 1000000]", doc="units on the chip")
    bit_rate_gbps: float = param("(0, 1000]", unit="Gb/s", doc="activation modulation rate, one VDU cycle per bit")
    rings_per_cell: int = param("[2, 4]", doc="rings per XNOR cell")


@dataclass(frozen=True)
class WavelengthConfig(Parameters):
    """WDM grid: channel j of every VDU sits at ``center + (j - (N-1)/2) * spacing``.

    ``bit0_shift_fraction_of_spacing``: only with an ``"assumed"`` modulator (``[eo]``, the
    papers' model): in bit 0 that ring of an XNOR cell is shifted (blue) by this fraction of the
    channel spacing (``accel.components.XnorCell``); None otherwise (the physical modulators'
    states come from ``photonics.eo``).

    ``ring_blue_bias_nm``: design margin b. Every ring is laid out so that at the nominal
    process its resonance sits b blue of its channel: heaters only red-shift, so a chip whose
    rings come out red of the grid beyond what common-mode tracking reaches would need nearly a
    whole FSR of heat per ring (``accel.chip``, step 2; applied with fabrication variation on;
    with it off every ring sits on its channel, the design point).

    ``min_spacing_linewidths`` k: the channel spacing s must be at least k loaded linewidths
    (FWHM) of both ring designs (:class:`AcceleratorConfig`); a Lorentzian drop passes
    ``1/(1 + (2 s/FWHM)^2)`` of a neighbouring channel (k = 3: -15.7 dB per neighbour).
    """

    key_prefix: ClassVar[str] = "wavelength"
    center_wavelength_nm: float = param("[1450, 1650]", unit="nm", doc="centre of the channel grid")
    channel_spacing_nm: float = param("(0, 100]", unit="nm", doc="spacing of adjacent channels")
    min_spacing_linewidths: float = param("(0, 1000]", doc="smallest channel spacing allowed, in loaded linewidths "
                                                         "(FWHM) of either ring design")
    bit0_shift_fraction_of_spacing: float | None = param("(0, 1)", default=None,
                                                         doc="with an 'assumed' modulator: blue shift of a ring in bit 0, "
                                                             "as a fraction of channel_spacing_nm")
    ring_blue_bias_nm: float = param("[0, 100]", unit="nm", default=0.0,
                                     doc="every ring is laid out this far blue of its channel, a margin for heaters "
                                         "that only red-shift (applied with fabrication variation on)")


@dataclass(frozen=True)
class RingConfig(Parameters):
    """A ring design (add-drop); ``n_eff``/``n_g`` default to the strip-waveguide model."""

    key_prefix: ClassVar[str] = "ring"
    radius_um: float = param("[0.5, 1000]", unit="um", doc="ring radius")
    width_nm: float = param("[350, 2500]", unit="nm", doc="ring waveguide width")
    thickness_nm: float = param("[180, 260]", unit="nm", doc="silicon thickness")
    kappa2_in: float = param("(0, 1)", doc="power cross-coupling to the input bus")
    kappa2_drop: float = param("(0, 1)", doc="power cross-coupling to the drop bus")
    loss_db_per_cm: float = param("[0, 100]", unit="dB/cm", doc="ring propagation loss")
    n_eff: float | None = param("[1, 4]", default=None, doc="effective index (None: the strip-waveguide model)")
    n_g: float | None = param("[1, 6]", default=None, doc="group index (None: the strip-waveguide model)")

    def design(self, wavelength_nm: float):
        """The ``photonics.mrr.RingDesign`` of this ring at ``wavelength_nm`` (cached)."""
        return _ring_design(self, float(wavelength_nm))


_DESIGNS: dict = {}


def _ring_design(ring: RingConfig, wavelength_nm: float):
    key = (ring, wavelength_nm)
    if key not in _DESIGNS:
        _DESIGNS[key] = RingDesign(
            ring.radius_um, ring.width_nm, ring.thickness_nm, kappa2_in=ring.kappa2_in, kappa2_drop=ring.kappa2_drop,
            loss_db_per_cm=ring.loss_db_per_cm, wavelength_nm=wavelength_nm, n_eff=ring.n_eff, n_g=ring.n_g,
        )
    return _DESIGNS[key]


@dataclass(frozen=True)
class LaserConfig(Parameters):
    """Laser source. ``fixed_optical_power_per_wavelength_mw`` (optional) replaces the link budget."""

    key_prefix: ClassVar[str] = "laser"
    wall_plug_efficiency: float = param("(0, 1]", doc="optical power out per electrical power in")
    power_margin_db: float = param("[0, 30]", unit="dB", doc="system margin on the worst-path loss")
    fixed_optical_power_per_wavelength_mw: float | None = param("(0, 1000]", unit="mW", default=None,
                                                                doc="optical power per laser line instead of the link budget")


@dataclass(frozen=True)
class LossConfig(Parameters):
    """Optical losses along the worst path (drop losses follow from the ring designs)."""

    key_prefix: ClassVar[str] = "losses"
    coupler_db: float = param("[0, 20]", unit="dB", doc="laser-to-chip coupler")
    combiner_db: float = param("[0, 20]", unit="dB", doc="WDM combiner (N lines onto one guide)")
    splitter_excess_db: float = param("[0, 5]", unit="dB", doc="excess loss per 1:2 splitter stage")
    propagation_db_per_cm: float = param("[0, 100]", unit="dB/cm", doc="bus waveguide loss")
    ring_through_db: float = param("[0, 3]", unit="dB", doc="passing one ring off resonance")
    modulation_db: float = param("[0, 10]", unit="dB", doc="modulator insertion loss")


@dataclass(frozen=True)
class ReceiverConfig(Parameters):
    """Balanced photodetector (two photodiodes) and TIA of every VDU (noise: ``photonics.receiver``);
    popcount error-rate target. The comparator is a 1-bit ADC (``accel.components.Adc.comparator``).

    Receiver noise: shot noise of the photodiodes and the TIA's input-referred noise current
    density ``tia_noise_pa_per_rthz`` (which includes its feedback resistor). Power
    (``accel.components.Receiver``, static: biased whenever the laser is on): the TIA's
    ``tia_power_mw`` quoted at ``tia_reference_rate_gbps``, scaled to the bit rate by
    ``(rate / reference)^tia_rate_exponent``, and each photodiode's own dissipation,
    ``pd_bias_v`` x its current.
    """

    key_prefix: ClassVar[str] = "receiver"
    responsivity_a_per_w: float = param("(0, 1.3]", unit="A/W", doc="photodiode responsivity")
    dark_current_na: float = param("[0, 1e6]", unit="nA", doc="photodiode dark current")
    pd_bias_v: float = param("[0, 10]", unit="V", doc="photodiode reverse bias")
    tia_noise_pa_per_rthz: float = param("(0, 1e3]", unit="pA/sqrt(Hz)", doc="TIA input-referred noise current density")
    tia_power_mw: float = param("[0, 1000]", unit="mW", doc="TIA power per VDU (static) at tia_reference_rate_gbps")
    tia_reference_rate_gbps: float = param("(0, 1000]", unit="Gb/s", doc="bit rate at which tia_power_mw is quoted")
    tia_rate_exponent: float = param("[0, 3]", doc="TIA power ~ (bit rate / tia_reference_rate_gbps)^exponent")
    target_popcount_error_rate: float = param("(0, 0.5)", doc="error rate the laser budget resolves the popcount levels at")


@dataclass(frozen=True)
class ConverterConfig(Parameters):
    """ADC and DAC energies. ADC energy per conversion ``E = FOM(fs) * 2^bits`` at one
    conversion per VDU cycle (fs = the bit rate, GS/s), with the Walden figure of merit flat at
    ``adc_fom_fj_per_step`` up to ``adc_fom_corner_gsps`` and rising as
    ``(fs / corner)^adc_fom_slope`` above it (``accel.components.converters``).

    ``adc_bits``: resolution of the partial-sum ADCs; None (the default) = ceil(log2(N + 1)),
    one code per popcount level. Fewer bits quantise partial sums coarsely (and cost less).
    """

    key_prefix: ClassVar[str] = "converters"
    adc_fom_fj_per_step: float = param("[0, 1e6]", unit="fJ/step", doc="Walden figure of merit below the corner rate")
    adc_fom_corner_gsps: float = param("(0, 1e4]", unit="GS/s", doc="sample rate above which the Walden FOM rises")
    adc_fom_slope: float = param("[0, 3]", doc="FOM ~ (rate / corner)^slope above the corner")
    dac_energy_pj_per_conversion: float = param("[0, 1e4]", unit="pJ", doc="energy per DAC conversion")
    adc_bits: int | None = param("[1, 16]", unit="bit", default=None, doc="partial-sum ADC resolution (None: ceil(log2(N + 1)))")


@dataclass(frozen=True)
class DeviceEnergyConfig(Parameters):
    """Per-event energies of the optical cells typed in: required with an ``"assumed"`` modulator
    (``[eo]``, the papers' model); with a physical one None (its energy per bit comes from
    ``photonics.eo.modulator``) or a value that replaces the model's (a study's override)."""

    key_prefix: ClassVar[str] = "energy"
    activation_modulation_fj_per_bit: float | None = param("[0, 1e6]", unit="fJ", default=None,
                                                           doc="activation-ring energy per bit (None: the modulator model's)")
    weight_program_fj_per_ring: float | None = param("[0, 1e6]", unit="fJ", default=None,
                                                     doc="weight-ring energy per write (None: the modulator model's)")


EO_MECHANISMS = tuple(_eo.MECHANISMS)
"""The physical EO mechanisms (``photonics.eo.MECHANISMS``); each has its parameter table
``[eo_<mechanism>]`` (:data:`SECTIONS`)."""
_MODULATORS = "{" + ", ".join((*EO_MECHANISMS, "assumed")) + "}"


@dataclass(frozen=True)
class EoConfig(Parameters):
    """The chip's EO platform and the modulator of each ring of an XNOR cell (``photonics.eo``).

    ``platform``: what the rings are made of; every EO mechanism a preset uses (the tuning
    actuator ``tuning.eo_mechanism`` and both modulators) must exist on it
    (``photonics.eo.check_platform``: silicon carriers, or CrossLight's BaTiO3-on-silicon
    Pockels device). ``activation_mechanism`` / ``weight_mechanism``: what switches the
    activation / weight ring between its bit states, with its parameters in ``[eo_<mechanism>]``
    (``accel.components.XnorCell``), or ``"assumed"``: the papers' model, a blue shift of
    ``wavelength.bit0_shift_fraction_of_spacing`` channel spacings in bit 0 at the typed-in
    ``[energy]`` figures, no extra loss. ``weight_park_fraction_of_spacing``: with an injection
    weight ring, its bit-0 (park) state is driven to a blue shift of this fraction of the channel
    spacing (the injected density that gives it, with that density's loss and hold power); None:
    the mechanism's own drive (injection: its loss-limited density). Like the ``[eo_<mechanism>]``
    tables of the mechanisms a preset does not use, it has no effect with another weight mechanism
    (so a variant can switch mechanism by overrides alone).
    """

    key_prefix: ClassVar[str] = "eo"
    platform: str = param(f"{{{_eo.SILICON}, {_eo.BTO_ON_SILICON}}}", doc="EO platform of the rings")
    activation_mechanism: str = param(_MODULATORS, doc="what modulates the activation ring every cycle")
    weight_mechanism: str = param(_MODULATORS, doc="what switches the weight ring between its bit states")
    weight_park_fraction_of_spacing: float | None = param(
        "(0, 1)", default=None, doc="injection weight ring: bit-0 blue shift as a fraction of channel_spacing_nm "
                                    "(None: the loss-limited density)")


@dataclass(frozen=True)
class ElectronicsConfig(Parameters):
    """Digital back end: partial-sum adders, electronic layers (pooling, residual adds, ...)."""

    key_prefix: ClassVar[str] = "electronics"
    accumulator_add_energy_fj: float = param("[0, 1e6]", unit="fJ", doc="partial-sum add")
    op_energy_fj: float = param("[0, 1e6]", unit="fJ", doc="electronic op (add, compare, pool)")
    mac_energy_fj: float = param("[0, 1e6]", unit="fJ", doc="electronic multiply-accumulate")
    ops_per_ns: float = param("(0, 1e9]", unit="ops/ns", doc="electronic op throughput")
    macs_per_ns: float = param("(0, 1e9]", unit="MACs/ns", doc="electronic MAC throughput")
    value_bits: int = param("[1, 64]", unit="bit", doc="width of electronic values (buffer traffic)")
    accumulators_per_vdu: int = param("[1, 1024]", doc="partial-sum accumulators (adder + register) per VDU")
    accumulator_adds_per_ns: float = param("(0, 1e3]", unit="adds/ns", doc="adds per ns of one accumulator")
    accumulator_bits: int = param("[1, 64]", unit="bit", doc="accumulator register width")


@dataclass(frozen=True)
class MemoryConfig(Parameters):
    """On-chip buffers: one activation and one weight buffer per unit."""

    key_prefix: ClassVar[str] = "memory"
    activation_buffer_kib: float = param("(0, 1e7]", unit="KiB", doc="activation buffer per unit")
    weight_buffer_kib: float = param("(0, 1e7]", unit="KiB", doc="weight buffer per unit")
    read_energy_fj_per_bit: float = param("[0, 1e6]", unit="fJ", doc="buffer read per bit")
    write_energy_fj_per_bit: float = param("[0, 1e6]", unit="fJ", doc="buffer write per bit")


@dataclass(frozen=True)
class TuningConfig(Parameters):
    """Tuning actuators and policy, weight-reload settle time, and how the nominal tuning power
    is obtained.

    ``eo_mechanism``: the EO tuning actuator of every ring (``photonics.eo``: injection,
    depletion or pockels), with its parameters in the ``[eo_<mechanism>]`` table. Its window
    (blue and red range, W/nm each way, hold power, settle time) is derived, never typed in:
    :class:`AcceleratorConfig` sets ``eo_actuator`` (not a TOML key) to
    ``photonics.eo.actuator`` of the mechanism on both ring designs combined conservatively
    (the smaller range and the larger cost, hold and settle time of the two), and
    :meth:`model` puts it into the ``TuningModel``.
    The other actuator and policy fields (``to_*``, ``reassign_order``,
    ``thermal_crosstalk``, ``lock_tolerance_nm``, ``chip_budget_w``, ``heater_dac_bits``, and the
    common-mode tracking fields ``common_mode``, ``laser_*``, ``die_*``, ``tec_*``) are those of
    ``photonics.tuning.TuningModel`` in the units of their names (:meth:`model`).
    ``chip_budget_w`` applies to each chip the pipeline samples. ``common_mode``: how the
    channel grid follows each chip's common-mode resonance shift ("none", "laser", "tec", or
    "ideal" = free and unbounded, the papers' assumption; ``photonics.common_mode``); its cost
    is the ``common_mode`` static power (``accel.components.CommonModeTracker``).
    ``lock_residual_pm``: closed-loop locking (a feedback loop per ring holds it on its channel):
    σ of the per-ring error it leaves, drawn per chip (``accel.chip``, step 4); with closed
    loop, set ``thermal.post_lock_drift_sigma_K`` to 0 (the loop tracks the drift).
    ``eo_settle_ns``: the weight-ring reload time of a weight-stationary (``robin``) cell with an
    ``"assumed"`` weight modulator (the papers' model, a typed-in figure); required exactly then. A
    physical weight modulator's reload time is its own settle time (``photonics.eo.actuator`` of
    the weight mechanism on the weight ring: carrier lifetime, RC or the Pockels device's figure,
    ``accel.components.XnorCell``).
    Without ``fixed_power_per_ring_mw`` the nominal tuning power is sampled
    (``accel.components.Tuner``): at most ``variation_banks`` banks per chip, stratified over the
    whole die floorplan, on chips added ``variation_chip_block`` at a time until the standard error
    over per-chip means is at most ``variation_target_rel_se`` of the mean or ``variation_chips``
    (the cap) are sampled; chip k's draws depend only on (``variation_seed``, k).
    """

    key_prefix: ClassVar[str] = "tuning"
    eo_mechanism: str = param("{" + ", ".join(EO_MECHANISMS) + "}",
                              doc="EO tuning actuator (parameters in [eo_<mechanism>], window derived)")
    to_power_per_fsr_mw: float = param("(0, 1e4]", unit="mW", doc="heater power for one FSR of red shift")
    to_max_power_mw: float = param("(0, 1e4]", unit="mW", doc="largest power of one heater")
    to_lock_time_us: float = param("(0, 1e6]", unit="us", doc="heater lock (settle) time")
    reassign_order: bool = param(doc="lock a ring on the nearest reachable resonance order")
    thermal_crosstalk: bool = param(doc="heaters of a bank couple thermally")
    lock_tolerance_nm: float = param("(0, 1]", unit="nm", doc="residual above which a ring is unreachable")
    common_mode: str = param("{none, laser, tec, ideal}",
                             doc="common-mode tracking: fixed grid, tuned laser, die TEC, or ideal (free, unbounded)")
    laser_nm_per_k: float = param("(0, 10]", unit="nm/K", doc="laser line shift per kelvin of its TEC")
    laser_tec_max_dt_k: float = param("[0, 60]", unit="K", doc="largest laser TEC temperature change")
    laser_heat_load_w: float = param("[0, 1e3]", unit="W", doc="heat the laser TEC pumps")
    die_tec_max_dt_k: float = param("[0, 60]", unit="K", doc="largest die TEC temperature change")
    die_heat_load_w: float = param("[0, 1e4]", unit="W", doc="die heat the die TEC pumps besides the EO + TO tuning power")
    tec_hot_side_k: float = param("[200, 400]", unit="K", doc="TEC hot-side (heat-sink) temperature")
    tec_zt: float = param("(0, 5]", doc="TEC module figure of merit ZT")
    variation_chips: int = param("[1, 10000]", doc="most chips sampled for the nominal tuning power (cap)")
    variation_chip_block: int = param("[1, 10000]", doc="chips added per step until the standard error target is met")
    variation_target_rel_se: float = param("(0, 1]", doc="relative standard error (over per-chip means) to stop at")
    variation_banks: int = param("[1, 100000]", doc="banks sampled per chip, stratified over the die floorplan")
    variation_seed: int = param("[0, 9223372036854775807]", doc="seed of those chips")
    to_efficiency_nm_per_mw: float | None = param("(0, 1e3]", unit="nm/mW", default=None,
                                                  doc="heater efficiency (None: from to_power_per_fsr_mw)")
    fixed_power_per_ring_mw: float | None = param("[0, 1000]", unit="mW", default=None,
                                                  doc="nominal tuning power per ring instead of sampled chips")
    chip_budget_w: float | None = param("(0, 1e5]", unit="W", default=None,
                                        doc="largest EO + TO tuning power of one chip (None: unlimited)")
    heater_dac_bits: int | None = param("[1, 32]", unit="bit", default=None,
                                        doc="heater drive resolution over [0, to_max_power_mw] (None: ideal)")
    lock_residual_pm: float = param("[0, 1e4]", unit="pm", default=0.0,
                                    doc="σ of each ring's residual under closed-loop locking (0: open loop, no feedback)")
    eo_settle_ns: float | None = param("(0, 1e6]", unit="ns", default=None,
                                       doc="with an 'assumed' weight-stationary weight modulator: its reload (settle) time "
                                           "(None: the weight mechanism's own settle time)")
    eo_actuator: _eo.ActuatorFigures | None = dataclasses.field(default=None, repr=False)  # derived, not a TOML key

    def model(self) -> TuningModel:
        """The ``photonics.tuning.TuningModel`` of these fields (SI units: divided by 1e3, 1e6, 1e9)
        with the derived EO window ``eo_actuator`` (set by :class:`AcceleratorConfig`)."""
        if self.eo_actuator is None:
            raise ValueError("tuning.eo_actuator is None: the EO window is derived from the [eo_<mechanism>] table and "
                             "the ring designs by AcceleratorConfig; allowed: the tuning section of an AcceleratorConfig")
        return TuningModel(
            to_power_per_fsr_w=self.to_power_per_fsr_mw / 1e3, to_efficiency_nm_per_mw=self.to_efficiency_nm_per_mw,
            to_max_power_w=self.to_max_power_mw / 1e3, to_lock_time_s=self.to_lock_time_us / 1e6,
            reassign_order=self.reassign_order, thermal_crosstalk=self.thermal_crosstalk,
            lock_tolerance_nm=self.lock_tolerance_nm, common_mode=self.common_mode,
            laser_nm_per_k=self.laser_nm_per_k, laser_tec_max_dt_k=self.laser_tec_max_dt_k,
            laser_heat_load_w=self.laser_heat_load_w, die_tec_max_dt_k=self.die_tec_max_dt_k,
            die_heat_load_w=self.die_heat_load_w, tec_hot_side_k=self.tec_hot_side_k, tec_zt=self.tec_zt,
            chip_budget_w=self.chip_budget_w, heater_dac_bits=self.heater_dac_bits,
        ).with_actuator(self.eo_actuator)


@dataclass(frozen=True)
class FloorplanConfig(Parameters):
    """Ring spacing along a bus and across buses (VDUs), margin around each unit.

    Gaps are edge to edge, between the outer edges of neighbouring rings (the distance
    convention of the thermal-crosstalk data, ``photonics.tuning.thermal_crosstalk_ratio``).
    The pitches (centre to centre) follow from the rings: ``ring_pitch = D + ring_gap_um`` along
    a bus and ``vdu_pitch = D + vdu_gap_um`` across VDUs, D the ring outer diameter (the larger
    ``2*radius + width`` of the activation and weight ring designs); resolved by
    :class:`AcceleratorConfig` (``AcceleratorConfig.ring_pitch_um``, ``vdu_pitch_um``).
    ``ring_pitch_um`` / ``vdu_pitch_um`` given explicitly replace the derived pitch; any pitch
    must leave at least ``min_ring_gap_um`` between ring edges (the smallest gap of the
    crosstalk data, which has no points below it).
    """

    key_prefix: ClassVar[str] = "floorplan"
    ring_gap_um: float = param("[0, 1e4]", unit="um", doc="edge-to-edge gap between neighbouring rings along a bus")
    vdu_gap_um: float = param("[0, 1e5]", unit="um",
                              doc="edge-to-edge gap between rings of adjacent VDUs (bus and routing clearance)")
    min_ring_gap_um: float = param("[0, 1e3]", unit="um", doc="smallest edge-to-edge gap allowed in either direction")
    unit_margin_um: float = param("[0, 1e5]", unit="um", doc="margin around each unit")
    ring_pitch_um: float | None = param("(0, 1e4]", unit="um", default=None,
                                        doc="ring pitch (centre to centre) along a bus (None: outer diameter + ring_gap_um)")
    vdu_pitch_um: float | None = param("(0, 1e5]", unit="um", default=None,
                                       doc="VDU pitch (centre to centre) across buses (None: outer diameter + vdu_gap_um)")

    def __post_init__(self):
        super().__post_init__()
        prefix = self.key_prefix
        for name in ("ring_gap_um", "vdu_gap_um"):
            gap = getattr(self, name)
            if gap < self.min_ring_gap_um - _GAP_TOL_UM:
                raise ValueError(f"{prefix}.{name}={gap} is below {prefix}.min_ring_gap_um={self.min_ring_gap_um}; "
                                 f"allowed: {name} >= {self.min_ring_gap_um} um")


_GAP_TOL_UM = 1e-9  # rounding slack of the gap checks (pitch - diameter computed in floating point)


@dataclass(frozen=True)
class PackageConfig(Parameters):
    """The package's power limit: the total electrical power (laser, tuning, common-mode TEC,
    receivers, converters, memory, electronics) it can remove. A design above it is flagged in
    sweeps (``over_package_limit``) and reports; the tuning budget ``tuning.chip_budget_w`` is part of it."""

    key_prefix: ClassVar[str] = "package"
    max_power_w: float = param("(0, 1e6]", unit="W", doc="largest total electrical power the package removes")


@dataclass(frozen=True)
class AreaConfig(Parameters):
    """Areas of the electronic components (the photonic area comes from the floorplan)."""

    key_prefix: ClassVar[str] = "area"
    pd_mm2: float = param("[0, 100]", unit="mm2", doc="one photodiode (TIA included)")
    adc_mm2: float = param("[0, 100]", unit="mm2", doc="one ADC (comparator included)")
    dac_mm2: float = param("[0, 100]", unit="mm2", doc="one DAC")
    buffer_mm2: float = param("[0, 1000]", unit="mm2", doc="one buffer")
    splitter_mm2: float = param("[0, 100]", unit="mm2", doc="one splitter")
    electronics_mm2: float = param("[0, 1e4]", unit="mm2", doc="electronic back end of the chip")
    accumulator_mm2: float = param("[0, 100]", unit="mm2", doc="one partial-sum accumulator")


SECTIONS: dict[str, type] = {
    "architecture": ArchitectureConfig,
    "wavelength": WavelengthConfig,
    "activation_ring": RingConfig,
    "weight_ring": RingConfig,
    "laser": LaserConfig,
    "losses": LossConfig,
    "receiver": ReceiverConfig,
    "converters": ConverterConfig,
    "energy": DeviceEnergyConfig,
    "electronics": ElectronicsConfig,
    "memory": MemoryConfig,
    "tuning": TuningConfig,
    "variation": FabricationModel,
    "thermal": ThermalModel,
    "floorplan": FloorplanConfig,
    "area": AreaConfig,
    "package": PackageConfig,
    "eo": EoConfig,
    "eo_injection": _eo.InjectionTuner,
    "eo_depletion": _eo.DepletionTuner,
    "eo_pockels": _eo.PockelsTuner,
}
"""TOML table name -> section class, in file order. ``[variation]`` and ``[thermal]`` are the
``photonics.variation`` models themselves (``FabricationModel`` without ``die_xy_mm``: a chip's
die position is drawn on its wafer; ``ThermalModel``). ``[eo_injection]``, ``[eo_depletion]``
and ``[eo_pockels]`` are the ``photonics.eo`` mechanism parameter classes themselves."""

TOP_LEVEL = {"name": str, "description": str, "cell_model": str}


@dataclass(frozen=True)
class AcceleratorConfig:
    """A whole accelerator. ``sources`` maps ``"section.field"`` to the value's publication;
    ``ranges`` declares plausible ranges of numeric fields with their sources (:class:`Range`,
    sorted by key; checked here for key, kind and allowed bounds, and against the preset's values
    by :meth:`check_ranges` when a preset is loaded).

    Cross-field checks: ``rings_per_cell`` is 2 for the ``robin`` cell; the N channels fit in
    the free spectral range of both ring designs (``N * channel_spacing_nm <= fsr_nm``); the
    channel spacing is at least ``wavelength.min_spacing_linewidths`` loaded linewidths (FWHM) of
    both ring designs; explicitly given pitches leave ``floorplan.min_ring_gap_um`` between ring
    edges; the ``variation`` model leaves ``die_xy_mm`` None.

    Derived floorplan (:class:`FloorplanConfig`): :attr:`ring_outer_diameter_um`,
    :attr:`ring_pitch_um`, :attr:`vdu_pitch_um`.
    """

    name: str
    description: str
    cell_model: str
    architecture: ArchitectureConfig
    wavelength: WavelengthConfig
    activation_ring: RingConfig
    weight_ring: RingConfig
    laser: LaserConfig
    losses: LossConfig
    receiver: ReceiverConfig
    converters: ConverterConfig
    energy: DeviceEnergyConfig
    electronics: ElectronicsConfig
    memory: MemoryConfig
    tuning: TuningConfig
    variation: FabricationModel
    thermal: ThermalModel
    floorplan: FloorplanConfig
    area: AreaConfig
    package: PackageConfig
    eo: EoConfig
    eo_injection: _eo.InjectionTuner
    eo_depletion: _eo.DepletionTuner
    eo_pockels: _eo.PockelsTuner
    sources: tuple[tuple[str, str], ...] = ()
    ranges: tuple["Range", ...] = ()

    def __post_init__(self):
        for key in TOP_LEVEL:
            value = getattr(self, key)
            if not isinstance(value, str):
                raise TypeError(f"{key} must be a string, got {type(value).__name__} {value!r}")
        if self.cell_model not in CELL_MODELS:
            raise ValueError(f"cell_model={self.cell_model!r} is not allowed; allowed: one of {list(CELL_MODELS)}")
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"{name} must be a {cls.__name__}, got {type(getattr(self, name)).__name__}")
        if self.cell_model == "robin" and self.architecture.rings_per_cell != 2:
            raise ValueError(
                f"architecture.rings_per_cell={self.architecture.rings_per_cell} is not allowed for cell_model='robin'; allowed: 2"
            )
        if self.variation.die_xy_mm is not None:
            raise ValueError(f"variation.die_xy_mm={self.variation.die_xy_mm} is not a configuration field; allowed: None "
                             "(a chip's die position is drawn on its wafer; fix it for a study with "
                             "accel.conditions.VariationSettings(fab=...))")
        object.__setattr__(self, "sources", _check_sources(self.sources))
        object.__setattr__(self, "ranges", _check_ranges(self.ranges))
        self._check_fsr()
        self._check_spacing()
        self._check_floorplan()
        self._check_eo()

    def _check_fsr(self):
        span_nm = self.N * self.wavelength.channel_spacing_nm
        for name in ("activation_ring", "weight_ring"):
            fsr_nm = getattr(self, name).design(self.wavelength.center_wavelength_nm).fsr_nm
            if span_nm > fsr_nm:
                raise ValueError(
                    f"architecture.wavelengths_per_vdu={self.N} channels at wavelength.channel_spacing_nm="
                    f"{self.wavelength.channel_spacing_nm} span {span_nm:.4g} nm, more than the {name} FSR "
                    f"{fsr_nm:.4g} nm; allowed: wavelengths_per_vdu * channel_spacing_nm <= {fsr_nm:.4g} nm"
                )

    def _check_spacing(self):
        """Channel spacing >= ``min_spacing_linewidths`` loaded FWHM of both ring designs."""
        w = self.wavelength
        k, s = w.min_spacing_linewidths, w.channel_spacing_nm
        widest = max(("activation_ring", "weight_ring"),
                     key=lambda r: getattr(self, r).design(w.center_wavelength_nm).fwhm_nm)
        fwhm = getattr(self, widest).design(w.center_wavelength_nm).fwhm_nm
        if s < k * fwhm:
            leak_db = 10.0 * math.log10(1.0 / (1.0 + (2.0 * s / fwhm) ** 2))
            floor_db = 10.0 * math.log10(1.0 / (1.0 + (2.0 * k) ** 2))
            raise ValueError(
                f"wavelength.channel_spacing_nm={s} is {s / fwhm:.3g} loaded linewidths of the {widest} "
                f"(FWHM {fwhm:.4g} nm): a Lorentzian drop 1/(1+(2 s/FWHM)^2) passes {leak_db:.3g} dB of each neighbouring "
                f"channel; allowed: channel_spacing_nm >= wavelength.min_spacing_linewidths={k} x FWHM = {k * fwhm:.4g} nm "
                f"({floor_db:.1f} dB per neighbour)"
            )

    def _check_floorplan(self):
        """Explicit pitches leave at least ``floorplan.min_ring_gap_um`` between ring edges."""
        fp, outer = self.floorplan, self.ring_outer_diameter_um
        for name in ("ring_pitch_um", "vdu_pitch_um"):
            pitch = getattr(fp, name)
            if pitch is not None and pitch - outer < fp.min_ring_gap_um - _GAP_TOL_UM:
                raise ValueError(
                    f"floorplan.{name}={pitch} leaves a {pitch - outer:.4g} um gap between rings of outer diameter "
                    f"{outer:.4g} um (max of 2*radius_um + width_nm/1000 of activation_ring, weight_ring); allowed: "
                    f"{name} >= outer diameter + floorplan.min_ring_gap_um = {outer:.4g} + {fp.min_ring_gap_um} = "
                    f"{outer + fp.min_ring_gap_um:.4g} um (or None: derived from the gap)"
                )

    @property
    def ring_outer_diameter_um(self) -> float:
        """Outer diameter of the largest ring design (µm): max of ``2*radius_um + width_nm/1000``
        over ``activation_ring`` and ``weight_ring``."""
        return max(2.0 * r.radius_um + r.width_nm / 1e3 for r in (self.activation_ring, self.weight_ring))

    @property
    def ring_pitch_um(self) -> float:
        """Ring pitch along a bus (µm, centre to centre): ``floorplan.ring_pitch_um`` if given, else
        :attr:`ring_outer_diameter_um` + ``floorplan.ring_gap_um``."""
        fp = self.floorplan
        return fp.ring_pitch_um if fp.ring_pitch_um is not None else self.ring_outer_diameter_um + fp.ring_gap_um

    @property
    def vdu_pitch_um(self) -> float:
        """VDU pitch across buses (µm, centre to centre): ``floorplan.vdu_pitch_um`` if given, else
        :attr:`ring_outer_diameter_um` + ``floorplan.vdu_gap_um``."""
        fp = self.floorplan
        return fp.vdu_pitch_um if fp.vdu_pitch_um is not None else self.ring_outer_diameter_um + fp.vdu_gap_um

    def _check_eo(self):
        """EO mechanisms on the preset's platform, the "assumed" modulator's typed-in figures set
        exactly when used, and the derived EO tuning window (``tuning.eo_actuator``)."""
        for key in ("tuning.eo_mechanism", "eo.activation_mechanism", "eo.weight_mechanism"):
            mechanism = self.value(key)
            if mechanism != "assumed":
                try:
                    _eo.check_platform(self.eo_tuner(mechanism), self.eo.platform)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc} (eo.platform)") from None
        assumed = {"wavelength.bit0_shift_fraction_of_spacing": ("eo.activation_mechanism", "eo.weight_mechanism"),
                   "energy.activation_modulation_fj_per_bit": ("eo.activation_mechanism",),
                   "energy.weight_program_fj_per_ring": ("eo.weight_mechanism",)}
        for key, users in assumed.items():
            used = any(self.value(u) == "assumed" for u in users)
            given = self.value(key) is not None
            if used != given and (used or key.startswith("wavelength.")):
                raise ValueError(
                    f"{key}={self.value(key)!r} is not allowed with {', '.join(f'{u}={self.value(u)!r}' for u in users)}; "
                    f"allowed: a value exactly when one of them is 'assumed' (the papers' model)"
                    + ("" if key.startswith("wavelength.") else ", optional otherwise (it replaces the model's energy)"))
        typed_reload = self.cell_model == "robin" and self.eo.weight_mechanism == "assumed"
        if typed_reload != (self.tuning.eo_settle_ns is not None):
            raise ValueError(
                f"tuning.eo_settle_ns={self.tuning.eo_settle_ns!r} is not allowed with cell_model={self.cell_model!r} and "
                f"eo.weight_mechanism={self.eo.weight_mechanism!r}; allowed: a value > 0 ns exactly for a weight-stationary "
                "('robin') cell with an 'assumed' weight modulator (the papers' reload time), None otherwise (a physical "
                "weight ring reloads in its mechanism's settle time; streamed weights are not reloaded)")
        lam = self.wavelength.center_wavelength_nm
        tuner = self.eo_tuner(self.tuning.eo_mechanism)
        figs = [_eo.actuator(tuner, getattr(self, r).design(lam)) for r in ("activation_ring", "weight_ring")]
        object.__setattr__(self, "tuning", dataclasses.replace(self.tuning, eo_actuator=_conservative(figs)))

    def eo_tuner(self, mechanism: str):
        """The ``photonics.eo`` parameter object of ``mechanism`` (its ``[eo_<mechanism>]`` table)."""
        if mechanism not in EO_MECHANISMS:
            raise ValueError(f"mechanism={mechanism!r} is not allowed; allowed: one of {list(EO_MECHANISMS)}")
        return getattr(self, f"eo_{mechanism}")

    # --- shorthands ---------------------------------------------------------------------------
    @property
    def N(self) -> int:
        """Dot-product length of a VDU (wavelengths per VDU)."""
        return self.architecture.wavelengths_per_vdu

    @property
    def M(self) -> int:
        """VDUs per unit."""
        return self.architecture.vdus_per_unit

    @property
    def units(self) -> int:
        return self.architecture.units

    @property
    def bit_rate_gbps(self) -> float:
        return self.architecture.bit_rate_gbps

    @property
    def channels_nm(self) -> np.ndarray:
        """Channel wavelengths (N,), centred on ``center_wavelength_nm``."""
        w = self.wavelength
        return w.center_wavelength_nm + (np.arange(self.N) - (self.N - 1) / 2.0) * w.channel_spacing_nm

    def source(self, key: str) -> str | None:
        """The recorded source of ``"section.field"`` (None when not from a publication)."""
        return dict(self.sources).get(key)

    def to_dict(self) -> dict:
        """Nested plain dict in TOML layout (optional fields left out when None)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in TOP_LEVEL}
        for name in SECTIONS:
            sec = getattr(self, name)
            out[name] = {k: v for k, v in section_values(sec).items() if v is not None}
        out["sources"] = dict(self.sources)
        if self.ranges:
            out["ranges"] = {r.key: {"low": r.low, "high": r.high, "source": r.source} for r in self.ranges}
        return out

    def range_of(self, key: str) -> "Range | None":
        """The declared plausible range of ``"section.field"`` (None when the preset declares none)."""
        return next((r for r in self.ranges if r.key == key), None)

    def check_ranges(self) -> "AcceleratorConfig":
        """Raise ValueError unless every declared range contains this configuration's value (checked
        when a preset is loaded; a configuration derived with :meth:`with_values`, e.g. a sweep
        point, may lie outside a range). Returns ``self``."""
        for r in self.ranges:
            value = self.value(r.key)
            if value is None or not r.low <= value <= r.high:
                raise ValueError(f"ranges[{r.key!r}]: low={r.low!r}, high={r.high!r} do not contain the value "
                                 f"{r.key}={value!r}; allowed: low <= {r.key} <= high")
        return self

    def with_values(self, changes: dict[str, Any]) -> "AcceleratorConfig":
        """A new, re-validated config with ``{name: value}`` changed: names are ``section.field``,
        short names of :data:`ALIASES` or top-level keys (``name``, ``description``,
        ``cell_model``); two names for the same field are an error (:func:`resolve_request`)."""
        top = {key: value for key, value in changes.items() if key in TOP_LEVEL}
        per_section: dict[str, dict[str, Any]] = {}
        resolved = resolve_request({k: v for k, v in changes.items() if k not in TOP_LEVEL}, self.value)
        for key, value in resolved.items():
            section, _, name = key.partition(".")
            per_section.setdefault(section, {})[name] = value
        for section, vals in per_section.items():
            top[section] = build_section(section, {**section_values(getattr(self, section)), **vals})
        return dataclasses.replace(self, **top)

    def value(self, key: str) -> Any:
        """The value of ``"section.field"``."""
        section, _, name = key.partition(".")
        if key not in PARAMETERS:
            raise ConfigKeyError(_unknown(key))
        return getattr(getattr(self, section), name)


def _conservative(figures) -> _eo.ActuatorFigures:
    """One EO window valid on every ring design: the smaller range each way, the larger W/nm,
    hold power and settle time, the larger extra loss at the limits (``figures``: one per design)."""
    first = figures[0]
    pick = {}
    for f in dataclasses.fields(first):
        values = [getattr(x, f.name) for x in figures]
        if f.name.endswith("range_nm"):
            pick[f.name] = min(values)
        elif isinstance(values[0], float):
            pick[f.name] = math.nan if any(math.isnan(v) for v in values) else max(values)
        else:
            pick[f.name] = values[0]
    return _eo.ActuatorFigures(**pick)


def section_values(sec) -> dict[str, Any]:
    """``{field: value}`` of a section (its declared parameters)."""
    return {name: getattr(sec, name) for name in param_specs(sec)}


def build_section(name: str, values: dict) -> Any:
    """Construct section ``name`` from ``values`` (every non-optional field required); errors name ``name.field``."""
    cls = SECTIONS[name]
    specs = param_specs(cls)
    for key in values:
        if key not in specs:
            raise ConfigKeyError(f"unknown key '{name}.{key}'; allowed keys in [{name}]: {sorted(specs)}")
    for fname, spec in specs.items():
        if fname not in values and not spec.optional:
            raise ConfigKeyError(f"missing key '{name}.{fname}' (allowed: {spec.allowed_text()})")
    return build(cls, values, prefix=name)


PARAMETERS: dict[str, ParamSpec] = {f"{s}.{n}": spec for s, cls in SECTIONS.items() for n, spec in param_specs(cls).items()}
"""Every configuration parameter by its one dotted name ``section.field``, in file order."""


# ------------------------------------------------------------------------------ short names
@dataclass(frozen=True)
class Alias:
    """A short name for configuration parameters (``section.field`` keys).

    ``rule``: ``"set"`` sets every key to the value; ``"scale"`` multiplies every key by the
    value; ``"total"`` multiplies the keys by one factor so that their root-sum-square (the
    total σ of independent terms) becomes the value. ``allowed``/``unit``: bounds of the value
    itself (interval notation); for ``"set"`` the keys' own bounds apply as well.
    """

    keys: tuple[str, ...]
    doc: str
    rule: str = "set"
    allowed: str | None = None
    unit: str = ""

    def __post_init__(self):
        if self.rule not in ("set", "scale", "total"):
            raise ValueError(f"Alias.rule={self.rule!r} is not allowed; allowed: 'set', 'scale', 'total'")

    def spec(self, name: str) -> ParamSpec:
        """What a value of this name must be: the first key's kind (float for a derived rule)."""
        base = PARAMETERS[self.keys[0]]
        if self.rule != "set":
            base = dataclasses.replace(base, kind=float, optional=False, allowed=None, unit="")
        allowed = base.allowed if self.allowed is None else Allowed.parse(self.allowed)
        return dataclasses.replace(base, name=name, allowed=allowed, unit=self.unit or base.unit, doc=self.doc)

    def values(self, name: str, value, current) -> dict[str, Any]:
        """``{key: value}`` this alias sets for ``value``; ``current(key)`` reads the base values."""
        if self.rule == "set":
            return {key: value for key in self.keys}
        if self.rule == "scale":
            return {key: current(key) * value for key in self.keys}
        total = math.sqrt(sum(current(key) ** 2 for key in self.keys))
        if total == 0 and value > 0:
            raise ValueError(f"{name}={value}: the base configuration has no {name} to scale (all of {', '.join(self.keys)} are 0)")
        factor = value / total if total else 0.0
        return {key: current(key) * factor for key in self.keys}


_SIGMA_W = tuple(f"variation.sigma_w_{level}_nm" for level in ("wafer", "die", "field", "ring"))
_SIGMA_T = tuple(f"variation.sigma_t_{level}_nm" for level in ("wafer", "die", "field", "ring"))

ALIASES: dict[str, Alias] = {
    "N": Alias(("architecture.wavelengths_per_vdu",), "dot-product length (channels per VDU)"),
    "M": Alias(("architecture.vdus_per_unit",), "VDUs per unit"),
    "units": Alias(("architecture.units",), "units on the chip"),
    "bit_rate_gbps": Alias(("architecture.bit_rate_gbps",), "activation bit rate"),
    "ring_width_nm": Alias(("activation_ring.width_nm", "weight_ring.width_nm"), "width of both rings"),
    "activation_ring_width_nm": Alias(("activation_ring.width_nm",), "activation-ring width"),
    "weight_ring_width_nm": Alias(("weight_ring.width_nm",), "weight-ring width"),
    "ring_radius_um": Alias(("activation_ring.radius_um", "weight_ring.radius_um"), "radius of both rings"),
    "ring_pitch_um": Alias(("floorplan.ring_pitch_um",), "ring pitch along a bus, centre to centre (None: derived)"),
    "ring_gap_um": Alias(("floorplan.ring_gap_um",), "edge-to-edge gap between rings along a bus"),
    "channel_spacing_nm": Alias(("wavelength.channel_spacing_nm",), "channel spacing"),
    "adc_bits": Alias(("converters.adc_bits",), "partial-sum ADC resolution"),
    "width_sigma_nm": Alias(_SIGMA_W, "total σ of ring width (nm)", rule="total", allowed="[0, inf)", unit="nm"),
    "thickness_sigma_nm": Alias(_SIGMA_T, "total σ of ring thickness (nm)", rule="total", allowed="[0, inf)", unit="nm"),
    "variation_scale": Alias(_SIGMA_W + _SIGMA_T, "factor on every fabrication σ", rule="scale", allowed="[0, inf)"),
    "temperature_offset_k": Alias(("thermal.ambient_mean_K",), "mean ambient temperature offset (K)",
                                  allowed="[-100, 200]", unit="K"),
    "temperature_sigma_k": Alias(("thermal.ambient_sigma_K",), "chip-to-chip σ of ambient temperature (K)"),
    "heater_dac_bits": Alias(("tuning.heater_dac_bits",), "heater drive resolution (bits over [0, to_max_power])"),
    "gap_sigma_nm": Alias(("variation.sigma_gap_nm",), "σ of every coupler's gap deviation (nm), per ring and coupler"),
    "post_lock_drift_k": Alias(("thermal.post_lock_drift_sigma_K",),
                               "σ of the ambient change after the one-time lock, rings not re-locked (K)"),
    "laser_drift_pm": Alias(("thermal.laser_drift_sigma_pm",), "σ of each laser line's wander after the lock (pm)"),
    "lock_residual_pm": Alias(("tuning.lock_residual_pm",), "σ of each ring's closed-loop lock residual (pm)"),
}
"""The one table of short names, used by ``with_values``, ``--set``, sweep files and ``--vary``."""


def _unknown(name: str) -> str:
    return (f"unknown parameter {name!r}; allowed: a short name ({', '.join(ALIASES)}) or any 'section.field' "
            f"of the configuration (sections: {', '.join(SECTIONS)})")


def resolve_name(name: str) -> tuple[str, ...]:
    """The ``section.field`` keys a parameter name sets (itself, or an alias's keys)."""
    if name in ALIASES:
        return ALIASES[name].keys
    if name in PARAMETERS:
        return (name,)
    raise ConfigKeyError(_unknown(name))


def name_spec(name: str) -> ParamSpec:
    """What a value given for parameter ``name`` must be (kind, bounds, unit, doc)."""
    if name in ALIASES:
        return ALIASES[name].spec(name)
    resolve_name(name)
    return PARAMETERS[name]


def check_request(names) -> None:
    """Reject two names that set the same field (``N`` and ``architecture.wavelengths_per_vdu``)."""
    owner: dict[str, str] = {}
    for name in names:
        for key in resolve_name(name):
            if key in owner:
                raise ValueError(f"{owner[key]!r} and {name!r} both set {key}; allowed: one name per field in a request")
            owner[key] = name


def resolve_request(request: dict[str, Any], current) -> dict[str, Any]:
    """``{name: value}`` -> ``{"section.field": value}``; ``current(key)`` supplies the base value of a
    derived alias (``"scale"``/``"total"``). Values of aliases are checked against their own bounds;
    the fields' checks happen when the section is built."""
    check_request(request)
    out: dict[str, Any] = {}
    for name, value in request.items():
        if name in ALIASES:
            alias = ALIASES[name]
            if alias.rule != "set" or alias.allowed is not None:
                value = check_value(name, value, alias.spec(name))
            out.update(alias.values(name, value, current))
        else:
            out[name] = value
    return out


_VALID_SOURCE_KEYS = frozenset(TOP_LEVEL) | frozenset(PARAMETERS)


@dataclass(frozen=True)
class Range:
    """A declared plausible range of one numeric field ``key`` (``section.field``): ``low`` to
    ``high`` in the field's unit, and where the range comes from (``source``: a publication or
    ``"assumption: <reason>"``). Written in a preset's ``[ranges]`` table as
    ``"section.field" = { low = ..., high = ..., source = "..." }``; used by ``studies.sensitivity``."""

    key: str
    low: float
    high: float
    source: str


_RANGE_KEYS = ("low", "high", "source")


def _check_range(key, entry) -> Range:
    """One ``[ranges]`` entry (a :class:`Range`, a ``{low, high, source}`` table or a
    ``(key, low, high, source)`` tuple) checked: ``key`` a numeric field, ``low < high``, both within the
    field's allowed bounds, ``source`` a non-empty string. Errors name ``ranges['key']``."""
    if key not in PARAMETERS:
        raise ConfigKeyError(f"ranges key {key!r} names no configuration field; allowed: 'section.field' of a "
                             f"numeric field")
    spec = PARAMETERS[key]
    if spec.kind not in (int, float):
        raise TypeError(f"ranges key {key!r} is a {spec.kind.__name__} field ({spec.allowed_text()}); allowed: a "
                        f"numeric (int or float) field")
    where = f"ranges[{key!r}]"
    if isinstance(entry, Range):
        entry = {"low": entry.low, "high": entry.high, "source": entry.source}
    if not isinstance(entry, dict):
        raise TypeError(f"{where} must be a table {{ low = ..., high = ..., source = \"...\" }}, got "
                        f"{type(entry).__name__} {entry!r}")
    unknown = sorted(set(entry) - set(_RANGE_KEYS))
    missing = [k for k in _RANGE_KEYS if k not in entry]
    if unknown or missing:
        raise ConfigKeyError(f"{where}: {'unknown key ' + repr(unknown[0]) if unknown else 'missing key ' + repr(missing[0])}"
                             f"; allowed keys: {list(_RANGE_KEYS)}")
    bounds = dataclasses.replace(spec, optional=False)
    low = check_value(f"{where}.low", entry["low"], bounds)
    high = check_value(f"{where}.high", entry["high"], bounds)
    if not low < high:
        raise ValueError(f"{where}: low={low!r} is not below high={high!r}; allowed: low < high")
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise TypeError(f"{where}.source must be a non-empty string (a citation or 'assumption: <reason>'), "
                        f"got {source!r}")
    return Range(key, low, high, source)


def _check_ranges(ranges) -> tuple[Range, ...]:
    if isinstance(ranges, dict):
        items = list(ranges.items())
    else:
        items = []
        for r in ranges:
            if isinstance(r, Range):
                items.append((r.key, r))
            elif isinstance(r, (tuple, list)) and len(r) == 4:
                items.append((r[0], dict(zip(_RANGE_KEYS, r[1:]))))
            else:
                raise TypeError(f"ranges must hold Range objects or (key, low, high, source) tuples, got {r!r}")
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"ranges declares {next(k for k in keys if keys.count(k) > 1)!r} twice; allowed: one range per field")
    return tuple(sorted((_check_range(k, e) for k, e in items), key=lambda r: r.key))


def _check_sources(sources) -> tuple[tuple[str, str], ...]:
    items = sources.items() if isinstance(sources, dict) else sources
    valid = _VALID_SOURCE_KEYS
    out = []
    for key, text in items:
        if key not in valid:
            raise ConfigKeyError(f"sources key {key!r} names no configuration field; allowed: 'section.field' of an existing field")
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"sources[{key!r}] must be a non-empty string, got {text!r}")
        out.append((key, text))
    return tuple(sorted(out))
