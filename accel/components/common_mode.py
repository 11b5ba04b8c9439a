"""Common-mode tracking: the laser TEC or die TEC that moves the channel grid relative to each
chip's rings (``tuning.common_mode``, ``photonics.common_mode``).

Static power (category ``common_mode``, drawn for the whole run time, not part of the tuning
budget): the mean over the chips that the nominal tuning power samples
(``Tuner.common_mode_dt_k``) of the tracking TEC's input power at that chip's ΔT:
``laser_heat_load_w`` / COP(|ΔT|) for ``"laser"``; (``die_heat_load_w`` + the accelerator's
nominal EO + TO tuning power) / COP(|ΔT|) for ``"tec"``; 0 for ``"none"`` and ``"ideal"``
(ideal: free by assumption, as the papers assume). 0 as well when the preset types in
``tuning.fixed_power_per_ring_mw`` (no chips are sampled). Per-chip values:
``ChipSample.common_mode_power_w``.

:func:`design_blue_bias_nm` applies the layout rule of ``photonics.common_mode`` to a preset,
from the shift decomposition of ``accel.tuning_estimate.shift_sigmas``: σ of the chip's
common-mode shift with half the design-to-design difference added (the redder design sets the
red edge), the reddest ring's margin ``RED_MARGIN_SIGMAS`` within-die σ, the tracking range of
its ``tuning.common_mode`` option, and the heat reach of one ring (its heater limit or its share
of ``tuning.chip_budget_w``, at the smaller FSR of the two designs).
"""
from __future__ import annotations

from functools import cached_property
from types import MappingProxyType

import math

import numpy as np

from accel.components.component import Component
from accel.components.tuner import Tuner
from accel.config import AcceleratorConfig
from accel.tuning_estimate import shift_sigmas, tracking_range_nm
from photonics import common_mode as _cm

__all__ = ["CommonModeTracker", "design_blue_bias_nm", "RED_MARGIN_SIGMAS"]

#: The reddest ring of a chip, in within-die σ above the chip's mean: about the largest of the
#: 1e4-1e5 rings of a preset (a Gaussian sample's maximum, sqrt(2 ln n) ≈ 4.3-4.8; 4 is taken).
RED_MARGIN_SIGMAS = 4.0


class CommonModeTracker(Component):
    """The common-mode tracking actuator of the accelerator (``count`` 1 for "laser" and "tec",
    0 otherwise; area 0: off chip or under the die). No actions."""

    name = "common_mode"
    static_category = "common_mode"

    def __init__(self, config: AcceleratorConfig):
        self._config = config
        self.mode = config.tuning.common_mode
        self.count = 1 if self.mode in ("laser", "tec") else 0
        self.area_mm2 = 0.0
        self.actions = MappingProxyType({})

    @cached_property
    def static_power_w(self) -> float:
        return self.nominal_power_w()

    def nominal_power_w(self, conditions=None) -> float:
        """Mean tracking power (W) over the sampled chips under ``conditions`` (None: the preset's)."""
        if self.count == 0:
            return 0.0
        tuner = Tuner(self._config)
        dt = np.asarray(tuner.common_mode_dt_k(conditions), dtype=float)
        if dt.size == 0:
            return 0.0
        model = self._config.tuning.model()
        die_w = tuner.nominal_power_w(conditions) if self.mode == "tec" else 0.0
        return float(np.mean(model.common_mode_power_w(dt, die_w)))


def design_blue_bias_nm(config: AcceleratorConfig, *, yield_target: float) -> tuple[float, float]:
    """(b, yield) of ``photonics.common_mode.design_blue_bias_nm`` for ``config`` (module docstring)."""
    if not isinstance(config, AcceleratorConfig):
        raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
    sig = shift_sigmas(config)
    tuning = config.tuning
    reach = tracking_range_nm(config, sig)
    if math.isinf(reach):
        return 0.0, 1.0
    n_rings = config.N * config.M * config.units * config.architecture.rings_per_cell
    heater_w = tuning.to_max_power_mw / 1e3
    if tuning.chip_budget_w is not None:
        heater_w = min(heater_w, tuning.chip_budget_w / n_rings)
    nm_per_w = float(np.min(tuning.model().to_efficiency_nm_per_w(np.array(sig.fsr_nm))))
    sigma = math.hypot(sig.common_nm, sig.differential_nm / 2)  # the redder design's mean moves by Δ_d/2 more
    margin = RED_MARGIN_SIGMAS * max(sig.within_nm)
    return _cm.design_blue_bias_nm(common_sigma_nm=sigma, tracking_range_nm=reach, heat_reach_nm=heater_w * nm_per_w,
                                   yield_target=yield_target, red_margin_nm=margin)
