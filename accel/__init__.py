"""Accelerator architecture: configuration (TOML presets), components, floorplan, chip
sampling and published baselines.

``Accelerator(presets.load("robin-eo"))``; submodules ``config``, ``presets``, ``accelerator``,
``components`` (laser, tuner, XNOR cell, receiver, converters, buffer, electronics),
``floorplan``, ``conditions``, ``chip`` and ``baselines`` (the last loads on first access).
This package never imports ``mapping`` or ``studies``.
"""
import importlib

from accel import components, presets
from accel.accelerator import Accelerator, Inventory
from accel.chip import ChipSample
from accel.conditions import Conditions, NoiseSettings, VariationSettings
from accel.config import AcceleratorConfig
from accel.floorplan import Floorplan

__all__ = ["Accelerator", "AcceleratorConfig", "ChipSample", "Conditions", "Floorplan", "Inventory", "NoiseSettings",
           "VariationSettings", "components", "presets", "baselines"]


def __getattr__(name):
    if name == "baselines":
        return importlib.import_module("accel.baselines")
    raise AttributeError(f"module 'accel' has no attribute {name!r}")
