"""The XNOR cell: an activation ring and a weight ring on one wavelength channel of a VDU.

Each cell is a pair of add-drop rings between the two buses of its VDU (DESIGN.md, "XNOR
cell"): the activation ring is modulated with the input bit every cycle, the weight ring holds
its bit for a tile (or is modulated every cycle in the ``lightbulb`` cell, whose weights are
streamed). In bit 0 a ring is shifted (blue) by ``wavelength.bit0_shift_fraction_of_spacing``
of the channel spacing. A cell's four output levels give ``c(a, w) = α + β·a + γ·w + δ·a·w``
(``photonics.xnor``), from each ring's residual detuning after tuning.

Receiver calibration (chip-independent, done once at design/bring-up): each channel's laser
line is trimmed so the nominal cell (zero residual) has unit gain δ0 = 1, and the known
weight-dependent offset ``Σ (α0 + γ0·w)`` of every readout is subtracted digitally
(:meth:`XnorCell.calibrated`). What remains on a sampled chip is its deviation from nominal
plus the nominal β0 (an offset that depends on the streamed activations, which nothing cancels).
"""
from __future__ import annotations

from functools import cached_property
from types import MappingProxyType

import numpy as np

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig
from accel.floorplan import unit_size_um
from photonics import xnor

__all__ = ["XnorCell"]


class XnorCell(Component):
    """The N * M * units XNOR cells (``count``).

    Area: the photonic units of the floorplan (cells at the ring pitch along the bus pairs, the
    bus pairs at the VDU pitch, the unit margins); ``rings_per_cell`` rings per cell.
    Actions: ``modulate`` (one activation bit on one activation ring, one cycle) and
    ``program_weight`` (one weight-ring write; every weight ring of a round is written at
    once, so a reload takes one write's latency, ``tuning.eo_settle_ns``; 0 for streamed
    weights, which are modulated within the cycle).
    """

    name = "xnor_cell"

    def __init__(self, config: AcceleratorConfig):
        lam = config.wavelength.center_wavelength_nm
        self._config = config
        self.activation_ring = config.activation_ring.design(lam)
        self.weight_ring = config.weight_ring.design(lam)
        self.channels_nm = config.channels_nm
        shift = -config.wavelength.bit0_shift_fraction_of_spacing * config.wavelength.channel_spacing_nm
        self.modulation_nm = shift
        self.park_nm = shift
        self.count = config.N * config.M * config.units
        self.rings_per_cell = config.architecture.rings_per_cell
        width, height = unit_size_um(config)
        self.area_mm2 = config.units * width * height * 1e-6
        self.weights_streamed = config.cell_model == "lightbulb"
        cycle_s = 1.0 / (config.bit_rate_gbps * 1e9)
        e = config.energy
        self.actions = MappingProxyType({
            "modulate": Action(e.activation_modulation_fj_per_bit * 1e-15, cycle_s, "modulation"),
            "program_weight": Action(e.weight_program_fj_per_ring * 1e-15,
                                     0.0 if self.weights_streamed else config.tuning.eo_settle_ns * 1e-9,
                                     "weight_programming"),
        })

    def _coefficients(self, act_residual_nm, weight_residual_nm, kappa2_in=None, kappa2_drop=None) -> np.ndarray:
        couplings = {}
        for port, k2 in (("in", kappa2_in), ("drop", kappa2_drop)):
            if k2 is not None:
                couplings[f"act_kappa2_{port}"] = k2[..., 0]
                couplings[f"weight_kappa2_{port}"] = k2[..., 1]
        levels = xnor.bank_levels(self.activation_ring, self.weight_ring, channels_nm=self.channels_nm,
                                  act_residual_nm=act_residual_nm, weight_residual_nm=weight_residual_nm,
                                  modulation_nm=self.modulation_nm, park_nm=self.park_nm, **couplings)
        return xnor.coefficients(levels)

    def coefficients(self, chip_state) -> np.ndarray:
        """Raw (uncalibrated) α, β, γ, δ of every cell, shape (..., N, 4), from a chip state with
        ``act_residual_nm`` and ``weight_residual_nm`` of shape (..., N) (e.g. an
        ``accel.chip.ChipSample``): each ring's residual detuning, κ² and loss, neighbour
        channels included (``photonics.xnor.bank_levels``). Optional ``kappa2_in`` /
        ``kappa2_drop`` of shape (..., N, 2) (role last: activation, weight; None or absent =
        the ring designs') give each ring its own couplings (coupling-gap variation)."""
        return self._coefficients(chip_state.act_residual_nm, chip_state.weight_residual_nm,
                                  getattr(chip_state, "kappa2_in", None), getattr(chip_state, "kappa2_drop", None))

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
        out[..., 2] -= nominal[:, 2]
        return out / nominal[:, 3:4]
