"""The accelerator built from a configuration: component inventory, floorplan, area, power model.

Organisation: ``units`` identical units; a unit has M VDUs; a VDU has N XNOR cells along a
pair of buses, cell j on wavelength channel j. Each unit has its own N laser lines, combined
onto one waveguide and split M ways to its VDUs. Each VDU ends in a balanced photodetector,
a TIA, a comparator (dot products with K <= N) and an ADC (partial sums when K > N); one DAC
per VDU sets the comparator threshold. Each unit has an activation and a weight buffer.

Floorplan (micrometres): units on a near-square grid, each ``2*margin + N*rings_per_cell*
ring_pitch`` wide and ``2*margin + M*vdu_pitch`` high; VDU m is the bus pair at
``y = margin + (m + 1/2) vdu_pitch``; along it the rings sit at the ring pitch in the order
act 0, weight 0, [other rings of cell 0], act 1, weight 1, ... Ring index order of the
floorplan arrays: ``((unit*M + vdu)*N + channel)*2 + role`` (role 0 activation, 1 weight), so
the arrays reshape to (units, M, N, 2). Other rings (a third ring per cell in the LightBulb
cell) have positions on the die but are not part of the arrays.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

from accel.config import AcceleratorConfig

__all__ = ["Inventory", "Floorplan", "Accelerator"]


@dataclass(frozen=True)
class Inventory:
    """Component counts of the whole accelerator."""

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

    @property
    def total_rings(self) -> int:
        return self.activation_rings + self.weight_rings + self.other_rings

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Floorplan:
    """Ring coordinates (µm) and indices; arrays of length ``units*M*N*2`` (see module docstring)."""

    x_um: np.ndarray
    y_um: np.ndarray
    unit: np.ndarray
    vdu: np.ndarray
    channel: np.ndarray
    role: np.ndarray
    channels_nm: np.ndarray
    shape: tuple[int, int, int, int]
    unit_width_um: float
    unit_height_um: float
    die_width_um: float
    die_height_um: float

    @property
    def xy_um(self) -> np.ndarray:
        """(n_rings, 2) array of (x, y)."""
        return np.column_stack([self.x_um, self.y_um])

    @property
    def n_rings(self) -> int:
        return self.x_um.size


def build_floorplan(config: AcceleratorConfig) -> Floorplan:
    """Lay out every activation and weight ring (module docstring)."""
    n, m, units = config.N, config.M, config.units
    fp, per_cell = config.floorplan, config.architecture.rings_per_cell
    width = 2.0 * fp.unit_margin_um + n * per_cell * fp.ring_pitch_um
    height = 2.0 * fp.unit_margin_um + m * fp.vdu_pitch_um
    cols = min(units, max(1, math.ceil(math.sqrt(units * height / width))))
    rows = math.ceil(units / cols)
    u, v, c, r = (a.ravel() for a in np.meshgrid(np.arange(units), np.arange(m), np.arange(n), np.arange(2), indexing="ij"))
    x = (u % cols) * width + fp.unit_margin_um + ((c * per_cell + r) + 0.5) * fp.ring_pitch_um
    y = (u // cols) * height + fp.unit_margin_um + (v + 0.5) * fp.vdu_pitch_um
    channels = config.channels_nm
    for arr in (x, y, u, v, c, r, channels):
        arr.setflags(write=False)
    return Floorplan(
        x_um=x, y_um=y, unit=u, vdu=v, channel=c, role=r, channels_nm=channels,
        shape=(units, m, n, 2), unit_width_um=width, unit_height_um=height, die_width_um=cols * width, die_height_um=rows * height,
    )


class Accelerator:
    """An accelerator instance: ``Accelerator(presets.load("robin-eo"))``.

    Derived quantities (floorplan, power model, nominal tuning power) are computed on first
    use and cached; the object is immutable.
    """

    def __init__(self, config: AcceleratorConfig):
        if not isinstance(config, AcceleratorConfig):
            raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
        self._config = config

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
    def inventory(self) -> Inventory:
        c = self._config
        cells = c.N * c.M * c.units
        vdus = c.M * c.units
        return Inventory(
            activation_rings=cells,
            weight_rings=cells,
            other_rings=cells * (c.architecture.rings_per_cell - 2),
            laser_wavelengths=c.N * c.units,
            balanced_pds=vdus,
            tias=vdus,
            comparators=vdus,
            adcs=vdus,
            dacs=vdus,
            splitters=(c.M - 1) * c.units,
            buffers=2 * c.units,
        )

    @cached_property
    def floorplan(self) -> Floorplan:
        return build_floorplan(self._config)

    @cached_property
    def area_breakdown_mm2(self) -> dict[str, float]:
        """Area estimate by component (mm²): photonic units from the floorplan, electronics by count.

        TIA and comparator areas are taken as part of the photodetector and ADC entries.
        """
        c, inv, a = self._config, self.inventory, self._config.area
        fp = c.floorplan
        width = 2.0 * fp.unit_margin_um + c.N * c.architecture.rings_per_cell * fp.ring_pitch_um
        height = 2.0 * fp.unit_margin_um + c.M * fp.vdu_pitch_um
        return {
            "photonic_units": c.units * width * height * 1e-6,
            "photodetectors": inv.balanced_pds * 2 * a.pd_mm2,
            "adcs": inv.adcs * a.adc_mm2,
            "dacs": inv.dacs * a.dac_mm2,
            "splitters": inv.splitters * a.splitter_mm2,
            "buffers": inv.buffers * a.buffer_mm2,
            "electronics": a.electronics_mm2,
        }

    @property
    def area_mm2(self) -> float:
        return float(sum(self.area_breakdown_mm2.values()))

    @cached_property
    def power_model(self):
        """The :class:`accel.energy.PowerModel` (laser budget, per-event energies, tuning power)."""
        from accel.energy import PowerModel

        return PowerModel(self)
