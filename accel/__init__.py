"""Accelerator architecture: configuration (TOML presets), component inventory, floorplan,
power/energy/area model and published baselines.

``Accelerator(presets.load("robin-eo"))``; submodules ``config``, ``presets``, ``accelerator``,
``energy``, ``baselines`` (the last two load on first access). This package never imports
``mapping`` or ``studies``.
"""
import importlib

from accel import presets
from accel.accelerator import Accelerator, Floorplan, Inventory
from accel.config import AcceleratorConfig

__all__ = ["Accelerator", "AcceleratorConfig", "Floorplan", "Inventory", "presets", "energy", "baselines"]


def __getattr__(name):
    if name in ("energy", "baselines"):
        return importlib.import_module(f"accel.{name}")
    raise AttributeError(f"module 'accel' has no attribute {name!r}")
