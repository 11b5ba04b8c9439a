"""Analytic estimate of a preset's tuning power per ring, to set beside the simulated tuner.

:func:`estimate` decomposes each ring's resonance shift with first-order sensitivities
(``photonics.waveguide.sensitivities``) of the preset's ``[variation]`` and ``[thermal]``
sigmas into

* the chip's common mode c (wafer term at the die centre, die-to-die term, ambient), which the
  grid tracking (``tuning.common_mode``) follows within its range;
* the differential between the two ring designs, Δ_d = (dλ/dw_act − dλ/dw_wt)·W + (dλ/dt_act −
  dλ/dt_wt)·T + (dλ/dT_act − dλ/dT_wt)·θ for the chip's width, thickness and temperature
  offsets (0 when both designs are alike): each design sits ±Δ_d/2 about the chip's mean;
* the within-die spread of each design: intra-die field (variance σ²·(1 − E[ρ]) with E[ρ] the
  field correlation over ring pairs of the floorplan), per-ring term, the wafer surface's slope
  across the die (mean squared gradient of bowl and tilt over the wafer disk) and the on-chip
  temperature gradient.

Per chip the grid offset o is the one that minimises the mean red-only heater cost of the
two designs (``photonics.tuning_estimate.red_only_cost_nm``, the EO windows of the preset's
tuning model with half the blue window, as the tuner places its grid: the other half is the
margin for the red shift the neighbours' heaters lend); the common mode beyond the tracking
range is heated on every ring
(``common_mode_excess_nm``, with the layout's blue bias); Δ_d is integrated by Gauss–Hermite
quadrature. Left out: thermal crosstalk (neighbours' heat lends a few % at the 5 µm edge gap, so this
over-estimates), the chip budget and the heater limit (chips beyond them are yield loss, not
power), EO power (µW per ring), and chips whose rings come out red of the tracking range
(they wrap or fail to lock). :func:`estimate` also returns the textbook
``symmetric_excess_nm`` figure for the within-chip σ (Δ_d/2 and the within-die spread).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import minimize_scalar

from accel.config import AcceleratorConfig
from accel.floorplan import build_floorplan
from photonics import tuning_estimate as te
from photonics import waveguide

__all__ = ["ShiftSigmas", "TuningEstimate", "shift_sigmas", "tracking_range_nm", "estimate"]


@dataclass(frozen=True)
class TuningEstimate:
    """Estimated tuning power per ring (W) and the sigmas (nm) it comes from."""

    common_sigma_nm: float
    differential_sigma_nm: float
    within_sigma_nm: tuple[float, ...]
    tracking_range_nm: float
    symmetric_w: float
    red_only_w: float
    common_mode_w: float

    @property
    def total_w(self) -> float:
        return self.red_only_w + self.common_mode_w


def _field_decorrelation(fp, corr_length_um: float, pairs: int = 4000) -> float:
    """1 − E[ρ(d)] over ``pairs`` ring pairs of the floorplan (a fixed draw, so the figure is reproducible)."""
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, fp.n_rings, (2, pairs))
    d = np.hypot(*(fp.xy_um[i] - fp.xy_um[j]).T)
    return float(1.0 - np.mean(np.exp(-0.5 * (d / corr_length_um) ** 2)))


@dataclass(frozen=True)
class ShiftSigmas:
    """The decomposition of a preset's ring shifts (module docstring), nm; per ring design
    (activation, weight): ``within_nm``, ``fsr_nm``, ``share`` (of the rings), ``dlambda_dT_nm_per_K``."""

    common_nm: float
    differential_nm: float
    within_nm: tuple[float, float]
    fsr_nm: tuple[float, float]
    share: tuple[float, float]
    dlambda_dT_nm_per_K: tuple[float, float]


def shift_sigmas(config: AcceleratorConfig) -> ShiftSigmas:
    """The σ of the chip's common mode, of the design-to-design difference and of the within-die
    spread per design, from the preset's ``[variation]`` and ``[thermal]`` (module docstring)."""
    if not isinstance(config, AcceleratorConfig):
        raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
    lam = config.wavelength.center_wavelength_nm
    fab, th = config.variation, config.thermal
    fp = build_floorplan(config)
    rings = (config.activation_ring, config.weight_ring)
    sens = [waveguide.sensitivities(r.width_nm, r.thickness_nm, lam) for r in rings]
    share = [float(np.mean(fp.role == k)) for k in (0, 1)]
    sw_chip = math.hypot(fab.sigma_w_wafer_nm, fab.sigma_w_die_nm)
    st_chip = math.hypot(fab.sigma_t_wafer_nm, fab.sigma_t_die_nm)
    a = [(s.dlambda_dw_nm_per_nm, s.dlambda_dt_nm_per_nm, s.dlambda_dT_nm_per_K) for s in sens]
    mean_a = [share[0] * a[0][k] + share[1] * a[1][k] for k in range(3)]
    common = math.sqrt((mean_a[0] * sw_chip) ** 2 + (mean_a[1] * st_chip) ** 2 + (mean_a[2] * th.ambient_sigma_K) ** 2)
    diff = math.sqrt(((a[0][0] - a[1][0]) * sw_chip) ** 2 + ((a[0][1] - a[1][1]) * st_chip) ** 2
                     + ((a[0][2] - a[1][2]) * th.ambient_sigma_K) ** 2)
    xy = fp.xy_um / 1e3  # mm
    pos_var_mm2 = float(np.var(xy[:, 0]) + np.var(xy[:, 1]))
    radius_mm = fab.wafer_diameter_mm / 2
    f = fab.wafer_bowl_fraction
    slope_var = (24.0 * f + 4.0 * (1.0 - f)) / radius_mm**2 * pos_var_mm2 / 2.0  # per nm² of wafer σ²
    decor = _field_decorrelation(fp, fab.corr_length_um)
    within = []
    for aw, at, aT in a:
        var = (aw * fab.sigma_w_field_nm) ** 2 * decor + (at * fab.sigma_t_field_nm) ** 2 * decor
        var += (aw * fab.sigma_w_ring_nm) ** 2 + (at * fab.sigma_t_ring_nm) ** 2
        var += slope_var * ((aw * fab.sigma_w_wafer_nm) ** 2 + (at * fab.sigma_t_wafer_nm) ** 2)
        var += (aT * th.gradient_sigma_K_per_mm) ** 2 * pos_var_mm2
        within.append(math.sqrt(var))
    return ShiftSigmas(common, diff, tuple(within), tuple(r.design(lam).fsr_nm for r in rings), tuple(share),
                       tuple(x[2] for x in a))


def tracking_range_nm(config: AcceleratorConfig, sigmas: ShiftSigmas) -> float:
    """How far (±nm) the preset's ``tuning.common_mode`` option moves the grid relative to the rings:
    0 for "none", the laser's nm/K x its TEC range, the die TEC's range x the rings' smaller dλ/dT,
    inf for "ideal"."""
    t = config.tuning
    return {"none": 0.0, "ideal": math.inf, "laser": t.laser_nm_per_k * t.laser_tec_max_dt_k,
            "tec": min(sigmas.dlambda_dT_nm_per_K) * t.die_tec_max_dt_k}[t.common_mode]


def estimate(config: AcceleratorConfig, *, quadrature_points: int = 24) -> TuningEstimate:
    """The analytic tuning power per ring of ``config`` (module docstring)."""
    if not isinstance(config, AcceleratorConfig):
        raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
    tun = config.tuning
    model = tun.model()
    sig = shift_sigmas(config)
    common, diff, within, fsr, share = sig.common_nm, sig.differential_nm, sig.within_nm, sig.fsr_nm, sig.share
    w_per_nm = [1.0 / float(model.to_efficiency_nm_per_w(f)) for f in fsr]

    reach = tracking_range_nm(config, sig)
    blue, red = model.eo_blue_range_nm, model.eo_red_range_nm
    bias = config.wavelength.ring_blue_bias_nm

    def chip_cost(d_diff):
        means = (share[1] * d_diff, -share[0] * d_diff)  # each design about the chip's mean shift

        def cost(o):
            return sum(share[k] * w_per_nm[k] * te.red_only_cost_nm(mean_nm=means[k] - o, sigma_nm=within[k],
                                                                      fsr_nm=fsr[k], eo_blue_nm=0.5 * blue, eo_red_nm=red)
                       for k in (0, 1) if share[k] > 0)
        span = abs(d_diff) + 6 * max(within)
        best = minimize_scalar(cost, bounds=(-span, span), method="bounded", options={"xatol": 1e-6})
        return best.fun, best.x

    nodes, weights = hermegauss(quadrature_points)
    weights = weights / weights.sum()
    red_only = cm_w = 0.0
    mean_w_per_nm = share[0] * w_per_nm[0] + share[1] * w_per_nm[1]
    for z, wq in zip(nodes, weights):
        c, o = chip_cost(z * diff) if diff > 0 else chip_cost(0.0)
        red_only += wq * c
        # grid offset the chip needs, relative to the design grid: its common mode less the bias, plus o
        if not math.isinf(reach):
            cm_w += wq * mean_w_per_nm * te.common_mode_excess_nm(mean_nm=o - bias, sigma_nm=common, range_nm=reach)
    sigma_sym = math.sqrt((diff / 2) ** 2 + sum(share[k] * within[k] ** 2 for k in (0, 1)))
    symmetric = mean_w_per_nm * te.symmetric_excess_nm(sigma_nm=sigma_sym, window_nm=max(blue, red))
    return TuningEstimate(common, diff, tuple(within), reach, symmetric, float(red_only), float(cm_w))
