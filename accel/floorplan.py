"""Floorplan: the (x, y) position of every activation and weight ring on the die.

Pitches (centre to centre, µm) are the configuration's resolved ones
(``AcceleratorConfig.ring_pitch_um`` / ``vdu_pitch_um``): the ring outer diameter D (the larger
``2*radius + width`` of the two ring designs) plus the edge-to-edge gap ``floorplan.ring_gap_um``
along a bus / ``floorplan.vdu_gap_um`` between VDUs, unless a pitch is given explicitly (at
least D + ``floorplan.min_ring_gap_um``), so rings never overlap and area grows with ring size.

Units (micrometres) sit on a near-square grid, each ``2*margin + N*rings_per_cell*ring_pitch``
wide and ``2*margin + M*vdu_pitch`` high; VDU m is the bus pair at
``y = margin + (m + 1/2) vdu_pitch``; along it the ring centres sit at the ring pitch, the first
half a pitch from the margin, in the order
act 0, weight 0, [other rings of cell 0], act 1, weight 1, ... Ring index order of the
floorplan arrays: ``((unit*M + vdu)*N + channel)*2 + role`` (role 0 activation, 1 weight), so
the arrays reshape to (units, M, N, 2). Other rings (a third ring per cell in the LightBulb
cell) have positions on the die but are not part of the arrays.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accel.config import AcceleratorConfig

__all__ = ["Floorplan", "build_floorplan", "unit_size_um"]


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


def unit_size_um(config: AcceleratorConfig) -> tuple[float, float]:
    """(width, height) of one photonic unit (µm): ``2*margin + N*rings_per_cell*ring_pitch`` by
    ``2*margin + M*vdu_pitch`` (the resolved pitches, module docstring)."""
    fp = config.floorplan
    width = 2.0 * fp.unit_margin_um + config.N * config.architecture.rings_per_cell * config.ring_pitch_um
    height = 2.0 * fp.unit_margin_um + config.M * config.vdu_pitch_um
    return width, height


def build_floorplan(config: AcceleratorConfig) -> Floorplan:
    """Lay out every activation and weight ring (module docstring)."""
    n, m, units = config.N, config.M, config.units
    fp, per_cell = config.floorplan, config.architecture.rings_per_cell
    width, height = unit_size_um(config)
    cols = min(units, max(1, math.ceil(math.sqrt(units * height / width))))
    rows = math.ceil(units / cols)
    u, v, c, r = (a.ravel() for a in np.meshgrid(np.arange(units), np.arange(m), np.arange(n), np.arange(2), indexing="ij"))
    x = (u % cols) * width + fp.unit_margin_um + ((c * per_cell + r) + 0.5) * config.ring_pitch_um
    y = (u // cols) * height + fp.unit_margin_um + (v + 0.5) * config.vdu_pitch_um
    channels = config.channels_nm
    for arr in (x, y, u, v, c, r, channels):
        arr.setflags(write=False)
    return Floorplan(
        x_um=x, y_um=y, unit=u, vdu=v, channel=c, role=r, channels_nm=channels,
        shape=(units, m, n, 2), unit_width_um=width, unit_height_um=height, die_width_um=cols * width, die_height_um=rows * height,
    )
