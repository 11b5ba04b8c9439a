"""The edge-to-cloud link of an edge-cloud hybrid network: the uplink that carries a sample's
intermediate activations from the edge device to the cloud.

``Link(load_link("wifi"))``: a component (:mod:`accel.components.component`) with one action,
``transmit_bit``, and the cost of sending ``bits`` bits: :meth:`Link.energy_j` =
``bits * energy_per_bit_nj`` (spent at the edge device), :meth:`Link.latency_s` =
``latency_ms + bits / bandwidth_mbps``. Presets are TOML files in ``accel/presets/link/``
(:mod:`accel.table_presets`); :func:`link_names` lists them.
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

__all__ = ["LinkConfig", "Link", "DEFAULT_LINK", "link_names", "load_link"]

DEFAULT_LINK = "wifi"
"""The shipped link preset studies use unless told otherwise."""


@dataclass(frozen=True)
class LinkConfig(Parameters):
    """An uplink. ``energy_per_bit_nj``: energy per transmitted bit at the edge device (the slope
    of its radio's power against uplink throughput); ``bandwidth_mbps``: uplink throughput;
    ``latency_ms``: one-way fixed latency. ``sources`` maps ``"link.<field>"`` to where the
    value came from."""

    key_prefix: ClassVar[str] = "link"
    name: str
    description: str
    energy_per_bit_nj: float = param("[0, 1e6]", unit="nJ", doc="uplink energy per transmitted bit at the edge device")
    bandwidth_mbps: float = param("(0, 1e6]", unit="Mb/s", doc="uplink throughput")
    latency_ms: float = param("[0, 1e5]", unit="ms", doc="one-way fixed latency")
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        super().__post_init__()
        table_presets.check_header(self)

    def source(self, key: str) -> str | None:
        """The source of ``"link.<field>"``, or None."""
        return dict(self.sources).get(key)


class Link(Component):
    """One edge-to-cloud uplink (``count`` 1, no chip area). Action ``transmit_bit``: one bit,
    ``energy_per_bit_nj`` and 1 / ``bandwidth_mbps``, category ``"link"``."""

    name = "link"

    def __init__(self, config: LinkConfig):
        if not isinstance(config, LinkConfig):
            raise TypeError(f"config must be an accel.link.LinkConfig, got {type(config).__name__}")
        self.config = config
        self.count = 1
        self.area_mm2 = 0.0
        self.actions = MappingProxyType({
            "transmit_bit": Action(config.energy_per_bit_nj * 1e-9, 1.0 / (config.bandwidth_mbps * 1e6), "link"),
        })

    def energy_j(self, bits) -> float | np.ndarray:
        """Energy (J) of sending ``bits`` bits (an int >= 0 or an array of them): ``bits * E_bit``."""
        return table_presets.check_count("bits", bits) * self.actions["transmit_bit"].energy_j

    def latency_s(self, bits) -> float | np.ndarray:
        """Latency (s) of sending ``bits`` bits: ``latency_ms + bits / bandwidth_mbps`` (the fixed
        latency is charged even at 0 bits: leave out the samples that send nothing)."""
        n = table_presets.check_count("bits", bits)
        return self.config.latency_ms * 1e-3 + n / (self.config.bandwidth_mbps * 1e6)


def link_names() -> list[str]:
    """Names of the shipped link presets, sorted."""
    return table_presets.names_in(LinkConfig.key_prefix)


def load_link(name_or_path: str | PathLike = DEFAULT_LINK) -> LinkConfig:
    """A shipped link preset by name (:func:`link_names`) or a TOML file by path."""
    return table_presets.load(LinkConfig, name_or_path)
