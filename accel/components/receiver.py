"""The receiver of every VDU: a balanced photodetector (two photodiodes) and a TIA.

Static power (category ``receiver``, drawn for the whole run time: the TIA is biased, and the
photodiodes reverse-biased, whenever the laser is on): per VDU the TIA's power at the bit rate
(:func:`tia_power_w`, :attr:`Receiver.tia_power_per_vdu_w`) plus each of the two photodiodes'
own dissipation, ``pd_bias_v`` x (its photocurrent + dark current), at the received power the
link budget is sized for (half of the N channels' light reaches each diode on average). No
actions: nothing is spent per readout beyond the bias.

TIA power scales with the bit rate: ``tia_power_mw`` is quoted at ``tia_reference_rate_gbps``
and scaled by ``(bit_rate / tia_reference_rate_gbps)^tia_rate_exponent``. The presets' exponent
1 keeps the energy per bit constant (power ~ bandwidth at a fixed photodiode capacitance, an
assumption), 7.2 mW at 5 Gb/s = 1.44 pJ/bit, within 1.5x of published TIAs from ~2 to 25 Gb/s
(Atef & Zimmermann, IEEE TCAS-I 60(7), 1929, 2013, 4.1 mW at 1.5 GHz bandwidth read as
~2.1 Gb/s; CrossLight, Sunny et al., DAC 2021, 7.2 mW read at 5 Gb/s; Xie et al., IEEE iWEM 2021,
38 mW at 25 Gb/s, post-layout simulation; tests/test_converters.py).

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
from photonics.validation import check_range

__all__ = ["tia_power_w", "Receiver"]


def tia_power_w(bit_rate_gbps, *, power_mw: float, reference_rate_gbps: float, rate_exponent: float):
    """One TIA's power (W) at ``bit_rate_gbps``: ``power_mw`` (mW, quoted at
    ``reference_rate_gbps``) x ``(bit_rate_gbps / reference_rate_gbps)^rate_exponent``.
    Scalar or array bit rate."""
    rate = check_range("bit_rate_gbps", bit_rate_gbps, 0.0, None, lo_inclusive=False, unit="Gb/s")
    p0 = check_range("power_mw", power_mw, 0.0, 1000.0, unit="mW")
    ref = check_range("reference_rate_gbps", reference_rate_gbps, 0.0, 1000.0, lo_inclusive=False, unit="Gb/s")
    exponent = check_range("rate_exponent", rate_exponent, 0.0, 3.0)
    out = p0 * 1e-3 * (np.asarray(rate) / ref) ** exponent
    return float(out) if np.ndim(out) == 0 else out


class Receiver(Component):
    """One balanced photodetector + TIA per VDU (``count`` = M * units; ``photodiodes`` = 2 * count).

    Area: two photodiodes per VDU at ``area.pd_mm2`` (the TIA is taken as part of it). Static
    power: ``count`` x :attr:`tia_power_per_vdu_w` + ``photodiodes`` x :attr:`photodiode_power_w`.
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

    @cached_property
    def tia_power_per_vdu_w(self) -> float:
        """One VDU's TIA power (W) at ``architecture.bit_rate_gbps`` (:func:`tia_power_w`)."""
        cfg, rx = self._config, self._config.receiver
        return tia_power_w(cfg.bit_rate_gbps, power_mw=rx.tia_power_mw, reference_rate_gbps=rx.tia_reference_rate_gbps,
                           rate_exponent=rx.tia_rate_exponent)

    @property
    def static_power_w(self) -> float:
        """All VDUs' TIAs at the bit rate plus every photodiode's bias dissipation (W)."""
        return self.count * self.tia_power_per_vdu_w + self.photodiodes * self.photodiode_power_w

    def noise_sigma(self, power_w: float, n_dot: int) -> float:
        """Std of one readout of ``n_dot`` cells in units of one cell's ±1 level, at received
        power ``power_w`` per wavelength (``photonics.receiver.popcount_noise_sigma``)."""
        return float(receiver.popcount_noise_sigma(power_w, n_dot, **self._noise_args))

    def required_power_per_wavelength_w(self, n_dot: int, q: float) -> float:
        """Received power per wavelength (W) that resolves the ``n_dot + 1`` popcount levels at
        quality factor ``q`` (``photonics.receiver.required_power_per_wavelength_w``)."""
        return float(receiver.required_power_per_wavelength_w(n_dot, q=q, **self._noise_args))
