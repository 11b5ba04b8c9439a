"""The receiver of every VDU: a balanced photodetector (two photodiodes) and a TIA.

Energy per active VDU cycle ``(2 * pd_power + tia_power) / bit_rate``; readout noise from
``photonics.receiver`` (shot, dark-current and thermal noise at the configured responsivity,
dark current, TIA resistance and noise temperature).
"""
from __future__ import annotations

from functools import cached_property
from types import MappingProxyType

from accel.components.component import Action, Component
from accel.components.laser import laser_budget
from accel.config import AcceleratorConfig
from photonics import receiver

__all__ = ["Receiver"]


class Receiver(Component):
    """One balanced photodetector + TIA per VDU (``count`` = M * units).

    Area: two photodiodes per VDU at ``area.pd_mm2`` (the TIA is taken as part of it). Action
    ``detect``: one VDU cycle of the photodiodes and the TIA.
    """

    name = "receiver"

    def __init__(self, config: AcceleratorConfig):
        self._config = config
        rx = config.receiver
        self.count = config.M * config.units
        self.area_mm2 = self.count * 2 * config.area.pd_mm2
        cycle_s = 1.0 / (config.bit_rate_gbps * 1e9)
        self.actions = MappingProxyType({
            "detect": Action((2.0 * rx.pd_power_mw + rx.tia_power_mw) * 1e-3 * cycle_s, cycle_s, "receiver"),
        })

    def noise_sigma(self, power_w: float, n_dot: int) -> float:
        """Std of one readout of ``n_dot`` cells in units of one cell's ±1 level, at received
        power ``power_w`` per wavelength (``photonics.receiver.popcount_noise_sigma``)."""
        cfg = self._config
        rx = cfg.receiver
        return float(receiver.popcount_noise_sigma(
            power_w, n_dot, cfg.bit_rate_gbps, rx.responsivity_a_per_w, cfg.wavelength.center_wavelength_nm,
            dark_current_a=rx.dark_current_na * 1e-9, resistance_ohm=rx.tia_resistance_ohm,
            temperature_k=rx.noise_temperature_k))

    @cached_property
    def received_power_per_wavelength_w(self) -> float:
        """Power per wavelength at the detector (W): the laser's optical power per line after the
        worst-path loss (``accel.components.laser.laser_budget``)."""
        budget = laser_budget(self._config)
        return budget.optical_power_per_wavelength_w * 10.0 ** (-budget.path_loss_db / 10.0)
