"""Accelerator architecture: configuration (TOML presets), component inventory, floorplan,
power/energy/area model and published baselines.

``Accelerator(presets.load("robin-eo"))``; submodules ``config``, ``presets``, ``accelerator``,
``energy``, ``baselines``. This package never imports ``mapping`` or ``studies``.
"""
from accel import presets
from accel.accelerator import Accelerator, Floorplan, Inventory
from accel.config import AcceleratorConfig

__all__ = ["Accelerator", "AcceleratorConfig", "Floorplan", "Inventory", "presets"]
