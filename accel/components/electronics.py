"""The digital back end: the digital threshold compare of long dot products and the electronic
engine (pooling, residual adds, electronic layers). The partial-sum adders are
:class:`accel.components.accumulator.Accumulator`."""
from __future__ import annotations

from types import MappingProxyType

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig

__all__ = ["Electronics"]


class Electronics(Component):
    """The electronic back end of the chip (``count`` 1, area ``area.electronics_mm2``).

    Actions: ``compare`` (one digital threshold compare of a completed partial sum, at the op
    energy) under ``accumulation``, pipelined with the optical cycles (latency 0; its throughput
    is not modelled); ``op`` and ``mac`` of the electronic engine under ``electronic``, at
    ``ops_per_s`` and ``macs_per_s``. Electronic values are ``value_bits`` wide. The partial-sum
    adds are the ``accumulator`` component's.
    """

    name = "electronics"

    def __init__(self, config: AcceleratorConfig):
        el = config.electronics
        self.count = 1
        self.area_mm2 = config.area.electronics_mm2
        self.ops_per_s = el.ops_per_ns * 1e9
        self.macs_per_s = el.macs_per_ns * 1e9
        self.value_bits = el.value_bits
        self.actions = MappingProxyType({
            "compare": Action(el.op_energy_fj * 1e-15, 0.0, "accumulation"),
            "op": Action(el.op_energy_fj * 1e-15, 1.0 / self.ops_per_s, "electronic"),
            "mac": Action(el.mac_energy_fj * 1e-15, 1.0 / self.macs_per_s, "electronic"),
        })
