"""The receiver of every VDU: a balanced photodetector (two photodiodes) and a TIA.

Energy per active VDU cycle ``(2 * pd_power + tia_power) / bit_rate``. The one place where the
``[receiver]`` configuration becomes ``photonics.receiver`` arguments (responsivity, dark
current, TIA resistance, noise temperature, bit rate, wavelength): the readout noise
(:meth:`Receiver.noise_sigma`) and the power the laser budget must deliver
(:meth:`Receiver.required_power_per_wavelength_w`).
"""
from __future__ import annotations

from functools import cached_property
from types import MappingProxyType

from accel.components.component import Action, Component
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

    @cached_property
    def _noise_args(self) -> dict:
        """The receiver configuration as ``photonics.receiver`` arguments (the one mapping)."""
        cfg = self._config
        rx = cfg.receiver
        return dict(bit_rate_gbps=cfg.bit_rate_gbps, responsivity_a_per_w=rx.responsivity_a_per_w,
                    wavelength_nm=cfg.wavelength.center_wavelength_nm, dark_current_a=rx.dark_current_na * 1e-9,
                    resistance_ohm=rx.tia_resistance_ohm, temperature_k=rx.noise_temperature_k)

    def noise_sigma(self, power_w: float, n_dot: int) -> float:
        """Std of one readout of ``n_dot`` cells in units of one cell's ±1 level, at received
        power ``power_w`` per wavelength (``photonics.receiver.popcount_noise_sigma``)."""
        return float(receiver.popcount_noise_sigma(power_w, n_dot, **self._noise_args))

    def required_power_per_wavelength_w(self, n_dot: int, q: float) -> float:
        """Received power per wavelength (W) that resolves the ``n_dot + 1`` popcount levels at
        quality factor ``q`` (``photonics.receiver.required_power_per_wavelength_w``)."""
        return float(receiver.required_power_per_wavelength_w(n_dot, q=q, **self._noise_args))
