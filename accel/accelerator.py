"""The accelerator built from a configuration: components, inventory, floorplan, area, chip sampling.

Organisation: ``units`` identical units; a unit has M VDUs; a VDU has N XNOR cells along a
pair of buses, cell j on wavelength channel j. Each unit has its own N laser lines, combined
onto one waveguide and split M ways to its VDUs. Each VDU ends in a balanced photodetector,
a TIA, a comparator (dot products with K <= N), and an ADC and ``electronics.accumulators_per_vdu``
accumulators (partial sums when K > N); one DAC per VDU sets the comparator threshold. Each
unit has an activation and a weight buffer.
Every component is an ``accel.components`` object (``Accelerator.components``); the ring
layout is ``accel.floorplan``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from os import PathLike

import numpy as np

from accel import chip as _chip
from accel import memory as _memory
from accel.components import Components
from accel.conditions import Conditions
from accel.config import AcceleratorConfig
from accel.floorplan import Floorplan, build_floorplan

__all__ = ["Inventory", "Accelerator"]


@dataclass(frozen=True)
class Inventory:
    """Component counts of the whole accelerator (a view of ``Accelerator.components``)."""

    activation_rings: int
    weight_rings: int
    other_rings: int
    laser_wavelengths: int
    balanced_pds: int
    tias: int
    comparators: int
    adcs: int
    dacs: int
    splitters: int
    buffers: int
    accumulators: int

    @property
    def total_rings(self) -> int:
        return self.activation_rings + self.weight_rings + self.other_rings

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Accelerator:
    """An accelerator instance: ``Accelerator(presets.load("robin-eo"))``.

    Derived quantities (components, floorplan, nominal tuning power) are computed on first
    use and cached; the object is immutable. ``source``: the preset name or file the
    configuration came from, recorded by studies (``accel.presets.provenance``).
    """

    def __init__(self, config: AcceleratorConfig, *, source=None):
        if not isinstance(config, AcceleratorConfig):
            raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
        if source is not None and not isinstance(source, (str, PathLike)):
            raise TypeError(f"source must be None or the preset name or path config was loaded from, got "
                            f"{type(source).__name__} {source!r}")
        self._config = config
        self._source = source

    @property
    def source(self):
        """The preset name or file this accelerator's configuration was loaded from (None: built in Python)."""
        return self._source

    def __repr__(self) -> str:
        c = self._config
        return f"Accelerator({c.name!r}, N={c.N}, M={c.M}, units={c.units}, bit_rate_gbps={c.bit_rate_gbps})"

    @property
    def config(self) -> AcceleratorConfig:
        return self._config

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def N(self) -> int:
        return self._config.N

    @property
    def M(self) -> int:
        return self._config.M

    @property
    def units(self) -> int:
        return self._config.units

    @property
    def vdus(self) -> int:
        """Total VDUs, M * units."""
        return self._config.M * self._config.units

    @property
    def channels_nm(self) -> np.ndarray:
        return self._config.channels_nm

    @property
    def peak_binary_macs_per_s(self) -> float:
        """Roofline: N * M * units * bit rate."""
        c = self._config
        return c.N * c.M * c.units * c.bit_rate_gbps * 1e9

    @cached_property
    def components(self) -> Components:
        """Every component (``accel.components``), e.g. ``components.laser.static_power_w``."""
        return Components(self._config)

    @cached_property
    def inventory(self) -> Inventory:
        c = self.components
        cells = c.xnor_cell.count
        return Inventory(
            activation_rings=cells,
            weight_rings=cells,
            other_rings=cells * (c.xnor_cell.rings_per_cell - 2),
            laser_wavelengths=c.laser.count,
            balanced_pds=c.receiver.count,
            tias=c.receiver.count,
            comparators=c.comparator.count,
            adcs=c.adc.count,
            dacs=c.dac.count,
            splitters=c.laser.splitters,
            buffers=c.buffer.count,
            accumulators=c.accumulator.count,
        )

    @cached_property
    def floorplan(self) -> Floorplan:
        """Ring coordinates (``accel.floorplan``); refused with ``accel.memory.MemoryLimitError`` when its
        estimated memory exceeds what the process can get."""
        _memory.check_fits({"floorplan": _memory.floorplan_bytes(self._config)}, f"the floorplan of {self._config.name!r}", self._config)
        return build_floorplan(self._config)

    @cached_property
    def area_breakdown_mm2(self) -> dict[str, float]:
        """Area by component (mm²), ``{name: area_mm2}`` in component order (see each component
        for what its area covers; the photonic units of the floorplan are the XNOR cells')."""
        return {name: float(c.area_mm2) for name, c in self.components.items()}

    @property
    def area_mm2(self) -> float:
        return float(sum(self.area_breakdown_mm2.values()))

    def sample_chip(self, seed: int, chip: int, conditions: Conditions | None = None, *,
                    coefficients: bool = True) -> _chip.ChipSample:
        """Chip ``chip`` of run ``seed`` under ``conditions`` (None: the preset's), through the
        chip pipeline ``accel.chip.sample_chip``; ``coefficients=False`` skips the cell
        coefficients (tuning-only callers)."""
        c = self.components
        return _chip.sample_chip(self._config, self.floorplan, c.tuner, c.xnor_cell, seed=seed, chip=chip,
                                 conditions=conditions, coefficients=coefficients)
