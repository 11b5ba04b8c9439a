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
"""
from __future__ import annotations

from functools import cached_property
from types import MappingProxyType

import numpy as np

from accel.components.component import Component
from accel.components.tuner import Tuner
from accel.config import AcceleratorConfig

__all__ = ["CommonModeTracker"]


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
