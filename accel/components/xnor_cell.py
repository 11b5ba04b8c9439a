"""The XNOR cell: an activation ring and a weight ring on one wavelength channel of a VDU.

Each cell is a pair of add-drop rings between the two buses of its VDU (DESIGN.md, "XNOR
cell"): the activation ring is modulated with the input bit every cycle, the weight ring holds
its bit for a tile (or is modulated every cycle in the ``lightbulb`` cell, whose weights are
streamed). A cell's four output levels give ``c(a, w) = α + β·a + γ·w + δ·a·w``
(``photonics.xnor``), from each ring's residual detuning after tuning and its two bit states.

Bit states (:class:`RingStates`, one per ring role) come from the ring's modulator,
``[eo] activation_mechanism`` / ``weight_mechanism`` (``photonics.eo.modulator`` with the
``[eo_<mechanism>]`` parameters on the ring's design): the activation ring at the bit rate,
a streamed weight ring (``lightbulb``) too, a weight-stationary ring (``robin``) at one switch
per reload. A reload takes the weight mechanism's settle time on the weight ring
(``photonics.eo.actuator``: injection τ·ln(1/tol) for its carrier lifetime τ, depletion R·C·ln(1/tol),
Pockels its device's settle time, each plus the cavity photon lifetime; :attr:`RingStates.reload_time_s`),
or, with an ``"assumed"`` modulator, the typed-in ``tuning.eo_settle_ns``. Of the modulator's two
drive states the one with less extra loss is the cell's bit 1 ("on", swapping; the one the
tuner locks onto the channel, its residual the ring's) and the other bit 0 ("off"), so the
cell's modulation shift is off − on (the drive's polarity is the designer's, an inverter);
each state's extra loss (free carriers) enters the ring's round-trip loss in that state, so a
weak swing shows up as lost extinction. The modulator's energy per bit is the ``modulate``
(and, streamed or written, ``program_weight``) energy, unless ``[energy]`` types one in. ``"assumed"`` (the papers' model): a
blue shift of ``wavelength.bit0_shift_fraction_of_spacing`` channel spacings in bit 0, no
extra loss, the typed-in ``[energy]`` figures. A closed eye (no swing at that rate) is an error.

Receiver calibration (chip-independent, done once at design/bring-up): each channel's laser
line is trimmed so the nominal cell (zero residual) has unit gain δ0 = 1 (the laser budget pays
for it: ``Receiver.cell_gain``), and the known offset ``Σ (α0 + β0·a + γ0·w)`` of every readout
is subtracted digitally (:meth:`XnorCell.calibrated`): the back end holds the weights and the
activation bits it streamed, so the activation term is one weighted popcount per input chunk,
shared by every VDU and output it feeds (its energy is not counted). What remains on a sampled
chip is its deviation from nominal. With a weak modulator swing β0 is comparable to δ0 (LightBulb:
a third of it), which is why it cannot be left in the readout.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import numpy as np

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig
from accel.floorplan import unit_size_um
from photonics import eo, xnor

__all__ = ["RingStates", "ring_states", "XnorCell"]


@dataclass(frozen=True)
class RingStates:
    """One ring role's two bit states in an XNOR cell: ``shift_nm`` of bit 0 relative to bit 1
    (nm, positive = red), ``extra_loss_db_per_cm`` (bit 0, bit 1) on top of the ring's own
    loss, ``energy_j`` per modulated bit (or weight write), ``hold_power_w`` the mean static
    power of a weight-stationary ring holding its bit (0 otherwise: a modulated ring's energy per
    bit includes it), the modulator's figures (None for ``"assumed"``), and ``reload_time_s``: a
    weight-stationary ring's time to switch and settle between tiles (0 for a modulated ring:
    it switches within the cycle)."""

    mechanism: str
    shift_nm: float
    extra_loss_db_per_cm: tuple[float, float]
    energy_j: float
    hold_power_w: float
    figures: eo.ModulatorFigures | None
    reload_time_s: float = 0.0


def _held(tuner, ring, fig: eo.ModulatorFigures, density_cm3) -> tuple[float, float]:
    """(mean hold power W, energy J per write) of a weight-stationary ring with random bits: half the
    rings hold the driven state. Injection: hold ½·P(density), a write injects the charge P·τ/V_f·V_f
    (½·P·τ per write); depletion: leakage × |bias|, C·V_pp²/4 per write; Pockels: ½·(µW/nm)·swing,
    no switching energy published (0)."""
    if isinstance(tuner, eo.InjectionTuner):
        p = float(eo.injection_power_w(tuner, ring, density_cm3=density_cm3))
        return 0.5 * p, 0.5 * p * tuner.carrier_lifetime_ns * 1e-9
    if isinstance(tuner, eo.DepletionTuner):
        return (tuner.leakage_current_na * 1e-9 * abs(tuner.bias_v),
                0.25 * tuner.capacitance_ff * 1e-15 * tuner.drive_vpp_v**2)
    return 0.5 * tuner.efficiency_uw_per_nm * 1e-6 * abs(fig.full_swing_nm), 0.0


def ring_states(config: AcceleratorConfig, role: str) -> RingStates:
    """The bit states of the ``role`` ring (``"activation"`` or ``"weight"``) of ``config``'s cells (module docstring)."""
    if role not in ("activation", "weight"):
        raise ValueError(f"role={role!r} is not allowed; allowed: 'activation' or 'weight'")
    mechanism = getattr(config.eo, f"{role}_mechanism")
    if mechanism == "assumed":
        w = config.wavelength
        fj = (config.energy.activation_modulation_fj_per_bit if role == "activation"
              else config.energy.weight_program_fj_per_ring)
        held = role == "weight" and config.cell_model != "lightbulb"
        return RingStates(mechanism, -w.bit0_shift_fraction_of_spacing * w.channel_spacing_nm, (0.0, 0.0), fj * 1e-15,
                          0.0, None, config.tuning.eo_settle_ns * 1e-9 if held else 0.0)
    ring = getattr(config, f"{role}_ring").design(config.wavelength.center_wavelength_nm)
    tuner = config.eo_tuner(mechanism)
    held = role == "weight" and config.cell_model != "lightbulb"
    if not held:
        rate_gbps, what = config.bit_rate_gbps, f"architecture.bit_rate_gbps={config.bit_rate_gbps!r}"
    else:  # one switch per reload, settled to the mechanism's tolerance
        reload_s = eo.actuator(tuner, ring).settle_time_s
        rate_gbps, what = 1e-9 / reload_s, f"one switch per reload ({reload_s * 1e9:.3g} ns settle time)"
    density = None
    if mechanism == "injection":
        park = config.eo.weight_park_fraction_of_spacing if role == "weight" else None
        density = (eo.injection_max_density_cm3(tuner, ring)[0] if park is None else float(
            eo.injection_density_for_shift(tuner, ring, shift_nm=-park * config.wavelength.channel_spacing_nm)))
        fig = tuner.modulator(ring, bit_rate_gbps=rate_gbps, density_cm3=density)
    else:
        fig = eo.modulator(tuner, ring, bit_rate_gbps=rate_gbps)
    if fig.swing_nm == 0.0:
        raise ValueError(f"eo.{role}_mechanism={mechanism!r}: the {role} ring's eye is closed at {what} (response time "
                         f"{fig.response_time_s:.3g} s); allowed: a mechanism fast enough for that rate, or 'assumed'")
    off, on = (0, 1) if fig.extra_loss_db_per_cm[1] <= fig.extra_loss_db_per_cm[0] else (1, 0)
    hold_w, energy_j = _held(tuner, ring, fig, density) if held else (0.0, fig.energy_per_bit_j)
    typed = config.energy.activation_modulation_fj_per_bit if role == "activation" else config.energy.weight_program_fj_per_ring
    if typed is not None:  # a study's override of the model's energy per bit
        energy_j = typed * 1e-15
    return RingStates(mechanism, fig.shift_nm[off] - fig.shift_nm[on],
                      (fig.extra_loss_db_per_cm[off], fig.extra_loss_db_per_cm[on]), energy_j, hold_w, fig,
                      reload_s if held else 0.0)


class XnorCell(Component):
    """The N * M * units XNOR cells (``count``).

    Area: the photonic units of the floorplan (cells at the ring pitch along the bus pairs, the
    bus pairs at the VDU pitch, the unit margins); ``rings_per_cell`` rings per cell. Static
    power (category ``weight_programming``): the weight-stationary weight rings holding their
    bits (:class:`RingStates` ``hold_power_w``; 0 for ``"assumed"`` and for streamed weights).
    ``activation_states`` / ``weight_states``: each ring role's :class:`RingStates`;
    ``modulation_nm`` / ``park_nm`` their bit-0 shifts.
    Actions: ``modulate`` (one activation bit on one activation ring, one cycle) and
    ``program_weight`` (one weight-ring write; every weight ring of a round is written at
    once, so a reload takes one write's latency, the weight ring's ``reload_time_s``; 0 for
    streamed weights, which are modulated within the cycle).
    """

    name = "xnor_cell"
    static_category = "weight_programming"

    def __init__(self, config: AcceleratorConfig):
        lam = config.wavelength.center_wavelength_nm
        self._config = config
        self.activation_ring = config.activation_ring.design(lam)
        self.weight_ring = config.weight_ring.design(lam)
        self.channels_nm = config.channels_nm
        self.activation_states = ring_states(config, "activation")
        self.weight_states = ring_states(config, "weight")
        self.modulation_nm = self.activation_states.shift_nm
        self.park_nm = self.weight_states.shift_nm
        self._losses = {}
        for name, states in (("act_extra_loss_db_per_cm", self.activation_states),
                             ("weight_extra_loss_db_per_cm", self.weight_states)):
            if states.extra_loss_db_per_cm != (0.0, 0.0):
                self._losses[name] = np.array(states.extra_loss_db_per_cm)
        self.count = config.N * config.M * config.units
        self.rings_per_cell = config.architecture.rings_per_cell
        width, height = unit_size_um(config)
        self.area_mm2 = config.units * width * height * 1e-6
        self.weights_streamed = config.cell_model == "lightbulb"
        cycle_s = 1.0 / (config.bit_rate_gbps * 1e9)
        self.actions = MappingProxyType({
            "modulate": Action(self.activation_states.energy_j, cycle_s, "modulation"),
            "program_weight": Action(self.weight_states.energy_j,
                                     self.weight_states.reload_time_s,
                                     "weight_programming"),
        })

    def tuning_loss_db_per_cm(self, eo_shift_nm) -> np.ndarray:
        """Extra loss (dB/cm) of rings whose EO tuner applies ``eo_shift_nm`` ((..., N, 2), role last;
        positive = red), at that operating point: injection, the free-carrier loss of the density
        that gives the (blue) shift; depletion, the Soref–Bennett loss change of the bias that gives
        it; Pockels, 0 (the platform's loss is the ring's ``loss_db_per_cm``)."""
        cfg = self._config
        e = np.asarray(eo_shift_nm, dtype=np.float64)
        tuner = cfg.eo_tuner(cfg.tuning.eo_mechanism)
        out = np.zeros(e.shape)
        for role, ring in enumerate((self.activation_ring, self.weight_ring)):
            x = e[..., role]
            if isinstance(tuner, eo.InjectionTuner):
                deepest = float(eo.injection_shift_nm(tuner, ring, density_cm3=tuner.max_density_cm3))
                n = eo.injection_density_for_shift(tuner, ring, shift_nm=np.clip(x, deepest, 0.0))
                out[..., role] = np.where(x < 0.0, eo.injection_extra_loss_db_per_cm(tuner, density_cm3=n), 0.0)
            elif isinstance(tuner, eo.DepletionTuner):
                v = np.clip(tuner.bias_v - x / (tuner.efficiency_pm_per_v * 1e-3), tuner.reverse_limit_v, tuner.forward_limit_v)
                out[..., role] = eo.depletion_extra_loss_db_per_cm(tuner, ring, voltage_v=v)
        return out

    def _coefficients(self, act_residual_nm, weight_residual_nm, kappa2_in=None, kappa2_drop=None,
                      eo_shift_nm=None) -> np.ndarray:
        couplings = {}
        for port, k2 in (("in", kappa2_in), ("drop", kappa2_drop)):
            if k2 is not None:
                couplings[f"act_kappa2_{port}"] = k2[..., 0]
                couplings[f"weight_kappa2_{port}"] = k2[..., 1]
        losses = dict(self._losses)
        tuned = None if eo_shift_nm is None else self.tuning_loss_db_per_cm(eo_shift_nm)
        if tuned is not None and np.any(tuned != 0.0):  # each ring's EO tuning loss, in both of its states
            for role, (name, states) in enumerate((("act_extra_loss_db_per_cm", self.activation_states),
                                                   ("weight_extra_loss_db_per_cm", self.weight_states))):
                losses[name] = np.asarray(states.extra_loss_db_per_cm)[None] + tuned[..., role, None]
        levels = xnor.bank_levels(self.activation_ring, self.weight_ring, channels_nm=self.channels_nm,
                                  act_residual_nm=act_residual_nm, weight_residual_nm=weight_residual_nm,
                                  modulation_nm=self.modulation_nm, park_nm=self.park_nm, **couplings, **losses)
        return xnor.coefficients(levels)

    def coefficients(self, chip_state) -> np.ndarray:
        """Raw (uncalibrated) α, β, γ, δ of every cell, shape (..., N, 4), from a chip state with
        ``act_residual_nm`` and ``weight_residual_nm`` of shape (..., N) (e.g. an
        ``accel.chip.ChipSample``): each ring's residual detuning, κ² and loss, neighbour
        channels included (``photonics.xnor.bank_levels``). Optional ``kappa2_in`` /
        ``kappa2_drop`` of shape (..., N, 2) (role last: activation, weight; None or absent =
        the ring designs') give each ring its own couplings (coupling-gap variation); an optional
        ``eo_shift_nm`` of the same shape (each ring's EO tuning correction, ``TuningResult.eo_shift_nm``)
        adds each ring's EO tuning loss at its operating point (:meth:`tuning_loss_db_per_cm`)
        to both its states."""
        return self._coefficients(chip_state.act_residual_nm, chip_state.weight_residual_nm,
                                  getattr(chip_state, "kappa2_in", None), getattr(chip_state, "kappa2_drop", None),
                                  getattr(chip_state, "eo_shift_nm", None))

    @property
    def static_power_w(self) -> float:
        """Hold power of the weight-stationary weight rings (one per cell; 0 for streamed weights)."""
        return self.count * self.weight_states.hold_power_w

    @cached_property
    def nominal_coefficients(self) -> np.ndarray:
        """(N, 4) coefficients of a bank with every ring exactly on its channel."""
        zero = np.zeros(self._config.N)
        return self._coefficients(zero, zero)

    def calibrated(self, coefficients) -> np.ndarray:
        """Apply the receiver calibration (module docstring) to raw (..., N, 4) coefficients."""
        nominal = self.nominal_coefficients
        out = np.array(coefficients, dtype=np.float64, copy=True)
        out[..., 0] -= nominal[:, 0]
        out[..., 1] -= nominal[:, 1]
        out[..., 2] -= nominal[:, 2]
        return out / nominal[:, 3:4]
