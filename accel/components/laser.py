"""The laser and its distribution: link budget along the worst path, lines and splitters.

One laser line per channel per unit (``N * units`` lines), combined onto one waveguide and
split 1:M to the unit's VDUs by a tree of ``M - 1`` splitters per unit. The optical power per
line is the power the receiver needs (``photonics.receiver``) times the worst-path loss
(:func:`worst_path_loss_terms_db`); the electrical power divides it by the wall-plug
efficiency and is drawn for the whole run time (static power, category ``laser``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from accel.components.component import Component
from accel.components.receiver import Receiver
from accel.config import AcceleratorConfig
from photonics import receiver

__all__ = ["worst_path_loss_terms_db", "worst_path_loss_db", "LaserBudget", "laser_budget", "Laser"]


def worst_path_loss_terms_db(config: AcceleratorConfig) -> dict[str, float]:
    """Loss (dB) of each element on the worst laser-to-detector path of one channel.

    Laser -> coupler -> combiner (N lines onto one guide) -> 1:M splitter tree (``10 log10 M``
    plus the excess loss of ``ceil(log2 M)`` stages) -> waveguide (unit margin, trunk to the
    farthest VDU, the whole bank, margin to the detector) -> every other ring of the bank
    off resonance (``rings_per_cell*N - 2`` rings at ``ring_through_db``) -> drop through the
    channel's own activation and weight rings (both on: ``-10 log10`` of each ring's peak drop)
    -> modulator insertion loss -> system margin.
    """
    n, m = config.N, config.M
    loss, fp, per_cell = config.losses, config.floorplan, config.architecture.rings_per_cell
    lam = config.wavelength.center_wavelength_nm
    stages = math.ceil(math.log2(m)) if m > 1 else 0
    path_um = 2.0 * fp.unit_margin_um + (m - 1) * config.vdu_pitch_um + n * per_cell * config.ring_pitch_um
    drop_db = sum(-10.0 * math.log10(getattr(config, r).design(lam).peak_drop) for r in ("activation_ring", "weight_ring"))
    return {
        "coupler": loss.coupler_db,
        "combiner": loss.combiner_db,
        "splitter_fanout": 10.0 * math.log10(m) + stages * loss.splitter_excess_db,
        "propagation": loss.propagation_db_per_cm * path_um * 1e-4,
        "ring_through": loss.ring_through_db * (per_cell * n - 2),
        "drop": drop_db,
        "modulation": loss.modulation_db,
        "margin": config.laser.power_margin_db,
    }


def worst_path_loss_db(config: AcceleratorConfig) -> float:
    """Sum of :func:`worst_path_loss_terms_db`."""
    return float(sum(worst_path_loss_terms_db(config).values()))


@dataclass(frozen=True)
class LaserBudget:
    """Laser link budget; powers per laser line unless named ``total``."""

    loss_terms_db: tuple[tuple[str, float], ...]
    path_loss_db: float
    q: float
    received_power_per_wavelength_w: float
    optical_power_per_wavelength_w: float
    electrical_power_per_wavelength_w: float
    laser_wavelengths: int
    from_budget: bool

    @property
    def total_optical_power_w(self) -> float:
        return self.optical_power_per_wavelength_w * self.laser_wavelengths

    @property
    def power_at_detector_per_wavelength_w(self) -> float:
        """What the laser delivers to the detector per wavelength (W): its optical power after the
        worst-path loss (equal to ``received_power_per_wavelength_w`` unless the optical power is fixed)."""
        return self.optical_power_per_wavelength_w * 10.0 ** (-self.path_loss_db / 10.0)

    @property
    def total_electrical_power_w(self) -> float:
        return self.electrical_power_per_wavelength_w * self.laser_wavelengths


def laser_budget(config: AcceleratorConfig) -> LaserBudget:
    """Laser power per line from the worst-path loss and the receiver requirement.

    With ``laser.fixed_optical_power_per_wavelength_mw`` set, that optical power is used instead
    of the budget (``from_budget`` False).
    """
    terms = worst_path_loss_terms_db(config)
    loss_db = float(sum(terms.values()))
    las = config.laser
    rx = Receiver(config)
    q = rx.q
    received = rx.required_power_per_wavelength_w(config.N, q)
    if las.fixed_optical_power_per_wavelength_mw is None:
        optical, electrical = (float(v) for v in receiver.laser_power_per_wavelength_w(received, loss_db, las.wall_plug_efficiency))
    else:
        optical = las.fixed_optical_power_per_wavelength_mw * 1e-3
        electrical = optical / las.wall_plug_efficiency
    return LaserBudget(
        loss_terms_db=tuple(terms.items()), path_loss_db=loss_db, q=q, received_power_per_wavelength_w=received,
        optical_power_per_wavelength_w=optical, electrical_power_per_wavelength_w=electrical,
        laser_wavelengths=config.N * config.units, from_budget=las.fixed_optical_power_per_wavelength_mw is None,
    )


class Laser(Component):
    """Laser lines (``count`` = N * units) and their 1:M splitter trees (``splitters``).

    Area: the splitters (``area.splitter_mm2`` each; the lasers are off chip). Static power:
    the electrical power of every line (:attr:`budget`), category ``laser``. No actions.
    """

    name = "laser"
    static_category = "laser"

    def __init__(self, config: AcceleratorConfig):
        self._config = config
        self.count = config.N * config.units
        self.splitters = (config.M - 1) * config.units
        self.area_mm2 = self.splitters * config.area.splitter_mm2
        self.actions = MappingProxyType({})

    @cached_property
    def budget(self) -> LaserBudget:
        """The link budget (:func:`laser_budget`)."""
        return laser_budget(self._config)

    @property
    def static_power_w(self) -> float:
        return self.budget.total_electrical_power_w
