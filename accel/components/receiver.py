"""The receiver of every VDU: a balanced photodetector (two photodiodes) and a TIA.

Static power (category ``receiver``, drawn for the whole run time: the TIA is biased, and the
photodiodes reverse-biased, whenever the laser is on): per VDU the TIA's ``tia_power_mw`` plus
each of the two photodiodes' own dissipation, ``pd_bias_v`` x (its photocurrent + dark
current), at the received power the link budget is sized for (half of the N channels' light
reaches each diode on average). No actions: nothing is spent per readout beyond the bias.

The one place where the ``[receiver]`` configuration becomes ``photonics.receiver`` arguments
(responsivity, dark current, TIA input-referred noise density, bit rate, wavelength, and the
nominal XNOR cell's gain δ0, :attr:`Receiver.cell_gain`): the
readout noise (:meth:`Receiver.noise_sigma`) and the power the laser budget must deliver
(:meth:`Receiver.required_power_per_wavelength_w`).
"""
from __future__ import annotations

from functools import cached_property
from types import MappingProxyType

import numpy as np

from accel.components.component import Component
from accel.components.xnor_cell import XnorCell
from accel.config import AcceleratorConfig
from photonics import receiver

__all__ = ["Receiver"]


class Receiver(Component):
    """One balanced photodetector + TIA per VDU (``count`` = M * units; ``photodiodes`` = 2 * count).

    Area: two photodiodes per VDU at ``area.pd_mm2`` (the TIA is taken as part of it).
    """

    name = "receiver"
    static_category = "receiver"

    def __init__(self, config: AcceleratorConfig):
        self._config = config
        self.count = config.M * config.units
        self.photodiodes = 2 * self.count
        self.area_mm2 = self.photodiodes * config.area.pd_mm2
        self.actions = MappingProxyType({})

    @cached_property
    def _noise_args(self) -> dict:
        """The receiver configuration as ``photonics.receiver`` arguments (the one mapping)."""
        cfg = self._config
        rx = cfg.receiver
        return dict(bit_rate_gbps=cfg.bit_rate_gbps, responsivity_a_per_w=rx.responsivity_a_per_w,
                    wavelength_nm=cfg.wavelength.center_wavelength_nm, dark_current_a=rx.dark_current_na * 1e-9,
                    input_noise_a_per_rthz=rx.tia_noise_pa_per_rthz * 1e-12, cell_gain=self.cell_gain)

    @cached_property
    def cell_gain(self) -> float:
        """The nominal XNOR cell's gain δ0 (its ±1 step per unit of channel power,
        ``XnorCell.nominal_coefficients``), the weakest channel's: a modulator swing short of a
        full switch leaves δ0 < 1, and every line is trimmed up to unit gain (calibration), so the
        receiver needs 1/δ0 more power per line (more still where shot noise dominates)."""
        return float(min(1.0, np.min(XnorCell(self._config).nominal_coefficients[:, 3])))

    @cached_property
    def q(self) -> float:
        """Quality factor of the popcount decision at ``receiver.target_popcount_error_rate``."""
        return float(receiver.q_from_ber(self._config.receiver.target_popcount_error_rate))

    @cached_property
    def photodiode_power_w(self) -> float:
        """One photodiode's mean dissipation (W): bias x (R x half the N channels' received power + dark current)."""
        cfg, rx = self._config, self._config.receiver
        received = self.required_power_per_wavelength_w(cfg.N, self.q)
        current = rx.responsivity_a_per_w * received * cfg.N / 2 + rx.dark_current_na * 1e-9
        return rx.pd_bias_v * current

    @property
    def static_power_w(self) -> float:
        return self.count * self._config.receiver.tia_power_mw * 1e-3 + self.photodiodes * self.photodiode_power_w

    def noise_sigma(self, power_w: float, n_dot: int) -> float:
        """Std of one readout of ``n_dot`` cells in units of one cell's ±1 level, at received
        power ``power_w`` per wavelength (``photonics.receiver.popcount_noise_sigma``)."""
        return float(receiver.popcount_noise_sigma(power_w, n_dot, **self._noise_args))

    def required_power_per_wavelength_w(self, n_dot: int, q: float) -> float:
        """Received power per wavelength (W) that resolves the ``n_dot + 1`` popcount levels at
        quality factor ``q`` (``photonics.receiver.required_power_per_wavelength_w``)."""
        return float(receiver.required_power_per_wavelength_w(n_dot, q=q, **self._noise_args))
