"""On-chip buffers: one activation and one weight buffer per unit."""
from __future__ import annotations

from types import MappingProxyType

from accel.components.component import Action, Component
from accel.config import AcceleratorConfig

__all__ = ["Buffer"]


class Buffer(Component):
    """Two buffers per unit (``count`` = 2 * units): ``activation_kib`` and ``weight_kib`` each;
    area ``area.buffer_mm2`` per buffer.

    Actions ``read`` and ``write``: one bit (``memory.read_energy_fj_per_bit``,
    ``memory.write_energy_fj_per_bit``), pipelined with the optical cycles (latency 0).
    """

    name = "buffer"

    def __init__(self, config: AcceleratorConfig):
        mem = config.memory
        self.count = 2 * config.units
        self.activation_kib = mem.activation_buffer_kib
        self.weight_kib = mem.weight_buffer_kib
        self.area_mm2 = self.count * config.area.buffer_mm2
        self.actions = MappingProxyType({
            "read": Action(mem.read_energy_fj_per_bit * 1e-15, 0.0, "memory"),
            "write": Action(mem.write_energy_fj_per_bit * 1e-15, 0.0, "memory"),
        })
