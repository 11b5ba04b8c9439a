"""What every component exposes: count, area, static power and actions with their energies.

In the spirit of hwcomponents (Accelergy): a component is built from its configuration
section(s) and reports, for all its instances together, ``count``, ``area_mm2`` and
``static_power_w``, and per action (one event on one instance) an :class:`Action` with the
energy in J, the latency in s and the energy-breakdown category it is reported under.
Static power is reported under ``static_category`` (None: the component draws none).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["Action", "Component"]


@dataclass(frozen=True)
class Action:
    """One action of one component instance.

    ``energy_j``: energy per action (J). ``latency_s``: how long one action takes (s); 0 where
    the model hides it behind another action (buffer accesses and the digital threshold compare
    run pipelined with the optical cycles; partial-sum adds bound a layer through the
    accumulator's throughput, ``mapping.performance.schedule``). ``category``: the energy-breakdown category
    (``accel.components.CATEGORIES``).
    """

    energy_j: float
    latency_s: float
    category: str


class Component:
    """Base of the components: ``name``, ``count``, ``area_mm2`` and ``static_power_w`` (all
    instances together), ``static_category`` and ``actions`` (name -> :class:`Action`)."""

    name: str
    count: int
    area_mm2: float
    static_category: ClassVar[str | None] = None
    actions: Mapping[str, Action]

    @property
    def static_power_w(self) -> float:
        """Static power of all instances (W); 0 unless the component has a ``static_category``."""
        return 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, count={self.count})"
