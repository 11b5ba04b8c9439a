"""Accelerator architecture: configuration (TOML presets), components, floorplan, chip
sampling and published baselines.

``Accelerator(presets.load("robin-eo"))``; submodules ``config``, ``presets``, ``accelerator``,
``components`` (laser, tuner, XNOR cell, receiver, converters, buffer, electronics),
``floorplan``, ``conditions``, ``chip`` and ``baselines`` (the last loads on first access);
for edge-cloud hybrid networks ``cloud`` (:class:`CloudProcessor`, ``load_cloud("gpu-a100")``)
and ``link`` (:class:`Link`, ``load_link("wifi")``), one-table presets in
``presets/cloud/`` and ``presets/link/``. This package never imports ``mapping`` or ``studies``.
"""
import importlib

from accel import cloud, components, link, presets
from accel.accelerator import Accelerator, Inventory
from accel.chip import ChipSample
from accel.cloud import DEFAULT_CLOUD, CloudConfig, CloudProcessor, cloud_names, load_cloud
from accel.conditions import Conditions, NoiseSettings, VariationSettings
from accel.config import AcceleratorConfig
from accel.floorplan import Floorplan
from accel.link import DEFAULT_LINK, Link, LinkConfig, link_names, load_link

__all__ = ["Accelerator", "AcceleratorConfig", "ChipSample", "Conditions", "Floorplan", "Inventory", "NoiseSettings",
           "VariationSettings", "components", "presets", "baselines", "cloud", "link", "CloudConfig", "CloudProcessor",
           "DEFAULT_CLOUD", "cloud_names", "load_cloud", "LinkConfig", "Link", "DEFAULT_LINK", "link_names", "load_link"]


def __getattr__(name):
    if name == "baselines":
        return importlib.import_module("accel.baselines")
    raise AttributeError(f"module 'accel' has no attribute {name!r}")
