"""The accelerator's components, built from its configuration: one registry.

:data:`COMPONENTS` lists every component, in order; :class:`Components` builds them for one
configuration (``Accelerator.components``). Each exposes ``count``, ``area_mm2``,
``static_power_w`` and its actions (energy in J, latency in s, breakdown category);
see :mod:`accel.components.component`. :data:`CATEGORIES` are the energy-breakdown
categories in report order. A new component is one module plus one entry here.

Modules: ``laser`` (:class:`Laser`, link budget), ``tuner`` (:class:`Tuner`), ``xnor_cell``
(:class:`XnorCell`), ``common_mode`` (:class:`CommonModeTracker`, laser or die TEC), ``receiver`` (:class:`Receiver`), ``converters`` (:class:`Adc`, the
comparator as a 1-bit ADC, :class:`Dac`), ``buffer`` (:class:`Buffer`), ``accumulator``
(:class:`Accumulator`, the partial-sum adders), ``electronics`` (:class:`Electronics`).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from accel.components.accumulator import Accumulator
from accel.components.buffer import Buffer
from accel.components.common_mode import CommonModeTracker
from accel.components.component import Action, Component
from accel.components.converters import Adc, Dac, adc_bits
from accel.components.electronics import Electronics
from accel.components.laser import Laser, LaserBudget, laser_budget, worst_path_loss_db, worst_path_loss_terms_db
from accel.components.receiver import Receiver
from accel.components.tuner import Tuner
from accel.components.xnor_cell import XnorCell
from accel.config import AcceleratorConfig
from photonics.validation import check_range

__all__ = [
    "COMPONENTS", "CATEGORIES", "Components", "Action", "Component", "Laser", "LaserBudget", "laser_budget",
    "worst_path_loss_terms_db", "worst_path_loss_db", "Tuner", "CommonModeTracker", "XnorCell", "Receiver",
    "Adc", "Dac", "adc_bits", "Buffer", "Accumulator", "Electronics",
]

#: Every component, as its builder ``config -> Component``, in order. Within a breakdown
#: category, energies add up in this order. Names: laser, tuner, common_mode, xnor_cell, receiver,
#: comparator, adc, dac, buffer, accumulator, electronics.
COMPONENTS = (Laser, Tuner, CommonModeTracker, XnorCell, Receiver, Adc.comparator, Adc, Dac, Buffer, Accumulator, Electronics)

#: Energy-breakdown categories, in report order; ``laser``, ``tuning`` and ``common_mode``
#: (common-mode tracking, outside the tuning budget) hold static power x run time, the rest
#: action energies.
CATEGORIES = ("laser", "tuning", "common_mode", "modulation", "weight_programming", "receiver", "adc_dac", "accumulation", "memory",
              "electronic")


class Components(Mapping):
    """The components of one configuration in :data:`COMPONENTS` order: a mapping name ->
    component, with each also an attribute (``components.laser``)."""

    def __init__(self, config: AcceleratorConfig):
        if not isinstance(config, AcceleratorConfig):
            raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
        items = {}
        for build in COMPONENTS:
            component = build(config)
            categories = [a.category for a in component.actions.values()] + [component.static_category]
            unknown = [c for c in categories if c is not None and c not in CATEGORIES]
            if unknown or component.name in items:
                raise ValueError(f"component {component.name!r}: categories {unknown} not in CATEGORIES or name repeated; "
                                 f"allowed: unique names, categories in {list(CATEGORIES)}")
            items[component.name] = component
        self._items = items
        self._action_keys = tuple(f"{name}.{action}" for name, c in items.items() for action in c.actions)
        # Energy terms per category, in registry order: (static category, None) or (action key, energy).
        self._terms = {cat: [] for cat in CATEGORIES}
        for c in items.values():
            if c.static_category is not None:
                self._terms[c.static_category].append((c.static_category, None))
            for action_name, action in c.actions.items():
                self._terms[action.category].append((f"{c.name}.{action_name}", action.energy_j))

    def __getitem__(self, name: str) -> Component:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getattr__(self, name: str) -> Component:
        try:
            return self.__dict__["_items"][name]
        except KeyError:
            raise AttributeError(f"no component {name!r}; components: {list(self.__dict__.get('_items', ()))}") from None

    def __repr__(self) -> str:
        return f"Components({', '.join(self._items)})"

    @property
    def action_keys(self) -> tuple[str, ...]:
        """``"component.action"`` of every action, in order (the keys of an action-count table)."""
        return self._action_keys

    def action(self, key: str) -> Action:
        """The :class:`Action` named ``"component.action"``."""
        name, _, action = key.partition(".")
        try:
            return self._items[name].actions[action]
        except KeyError:
            raise KeyError(f"unknown action {key!r}; allowed: {list(self.action_keys)}") from None

    def static_power_w(self, tuning_power_w: float | None = None) -> dict[str, float]:
        """Static power by category (W): ``{"laser": W, "tuning": W, "common_mode": W}``; ``tuning_power_w``
        (e.g. one chip's) replaces the tuner's nominal value."""
        if tuning_power_w is not None:
            tuning_power_w = float(check_range("tuning_power_w", tuning_power_w, 0.0, None, unit="W"))
        out = {}
        for c in self._items.values():
            if c.static_category is not None:
                override = c.static_category == "tuning" and tuning_power_w is not None
                out[c.static_category] = tuning_power_w if override else float(c.static_power_w)
        return out

    def energy_j(self, counts: Mapping[str, np.ndarray], latency_s: np.ndarray,
                 static_power_w: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Energy by category (J): static power x ``latency_s`` plus, for every action, its count
        (``counts["component.action"]``, one entry per :attr:`action_keys`) x its energy, added
        in :data:`COMPONENTS` order."""
        if counts.keys() != set(self._action_keys):
            missing = [k for k in self._action_keys if k not in counts]
            extra = [k for k in counts if k not in self._action_keys]
            raise ValueError(f"action counts: missing {missing}, unknown {extra}; allowed: exactly {list(self._action_keys)}")
        out = {}
        for cat, terms in self._terms.items():
            total = None
            for key, energy_j in terms:
                part = static_power_w[key] * latency_s if energy_j is None else counts[key] * energy_j
                total = part if total is None else total + part
            out[cat] = np.zeros_like(latency_s, dtype=np.float64) if total is None else total
        return out
