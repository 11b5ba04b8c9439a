"""The cloud processor of an edge-cloud hybrid network: runs the full-precision (FP32) layers of
the samples the edge hands over.

``CloudProcessor(load_cloud("gpu-a100"))``: a component (:mod:`accel.components.component`)
with one action, ``mac`` (one FP32 multiply-accumulate), and the cost of one request of
``macs`` MACs: :meth:`CloudProcessor.energy_j` = ``macs * energy_per_mac_pj``,
:meth:`CloudProcessor.latency_s` = ``latency_s + macs / macs_per_s``. Presets are TOML files in
``accel/presets/cloud/`` (:mod:`accel.table_presets`); :func:`cloud_names` lists them.
"""
from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from accel import table_presets
from accel.components.component import Action, Component
from photonics.validation import Parameters, param

__all__ = ["CloudConfig", "CloudProcessor", "DEFAULT_CLOUD", "cloud_names", "load_cloud"]

DEFAULT_CLOUD = "gpu-a100"
"""The shipped cloud preset studies use unless told otherwise."""


@dataclass(frozen=True)
class CloudConfig(Parameters):
    """A cloud processor. ``energy_per_mac_pj``: energy of one FP32 multiply-accumulate, all-in
    at the board (board power / MAC rate, so memory, control and static power are included);
    ``macs_per_s``: sustained FP32 MAC throughput; ``latency_s``: fixed overhead per request.
    ``sources`` maps ``"cloud.<field>"`` to where the value came from."""

    key_prefix: ClassVar[str] = "cloud"
    name: str
    description: str
    energy_per_mac_pj: float = param("(0, 1e6]", unit="pJ", doc="energy of one FP32 MAC, all-in at the board")
    macs_per_s: float = param("(0, 1e18]", unit="MAC/s", doc="sustained FP32 MAC throughput")
    latency_s: float = param("[0, 60]", unit="s", default=0.0, doc="fixed overhead per request")
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        super().__post_init__()
        table_presets.check_header(self)

    def source(self, key: str) -> str | None:
        """The source of ``"cloud.<field>"``, or None."""
        return dict(self.sources).get(key)


class CloudProcessor(Component):
    """One cloud processor (``count`` 1; off the chip, so no chip area and no static power in the
    chip's budget). Action ``mac``: one FP32 MAC, ``energy_per_mac_pj`` and 1 / ``macs_per_s``,
    category ``"cloud"``."""

    name = "cloud"

    def __init__(self, config: CloudConfig):
        if not isinstance(config, CloudConfig):
            raise TypeError(f"config must be an accel.cloud.CloudConfig, got {type(config).__name__}")
        self.config = config
        self.count = 1
        self.area_mm2 = 0.0
        self.actions = MappingProxyType({
            "mac": Action(config.energy_per_mac_pj * 1e-12, 1.0 / config.macs_per_s, "cloud"),
        })

    def energy_j(self, macs) -> float | np.ndarray:
        """Energy (J) of requests of ``macs`` MACs (an int >= 0 or an array of them): ``macs * E_mac``."""
        return table_presets.check_count("macs", macs) * self.actions["mac"].energy_j

    def latency_s(self, macs) -> float | np.ndarray:
        """Latency (s) of requests of ``macs`` MACs: ``latency_s + macs / macs_per_s`` (the fixed
        overhead is charged even at 0 MACs: leave out the samples that send no request)."""
        return self.config.latency_s + table_presets.check_count("macs", macs) / self.config.macs_per_s


def cloud_names() -> list[str]:
    """Names of the shipped cloud presets, sorted."""
    return table_presets.names_in(CloudConfig.key_prefix)


def load_cloud(name_or_path: str | PathLike = DEFAULT_CLOUD) -> CloudConfig:
    """A shipped cloud preset by name (:func:`cloud_names`) or a TOML file by path."""
    return table_presets.load(CloudConfig, name_or_path)
