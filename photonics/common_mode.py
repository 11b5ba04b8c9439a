"""Common-mode tracking: thermoelectric-cooler (TEC) physics and the range and cost of moving
the channel grid relative to a chip's rings (``tuning.common_mode``).

Fabrication and ambient temperature move all rings of a chip together (σ ≈ 3–4 nm,
docs/references.md §3). The options (``photonics.tuning.TuningModel.common_mode``):

* ``"none"``: the laser grid is fixed at the design wavelengths; per-ring tuning takes it all.
* ``"laser"``: the laser comb is tuned thermally, ≈0.1 nm/K (DFB, docs/references.md §7), by its
  own TEC: range ±``laser_nm_per_k`` x ``laser_tec_max_dt_k``; cost the TEC input power
  ``laser_heat_load_w`` / COP(|ΔT|).
* ``"tec"``: a TEC under the photonic die moves every ring by its own dλ/dT (0.072–0.077 nm/K for
  the presets' ring designs, ``photonics.waveguide.sensitivities``): range ±``die_tec_max_dt_k``;
  cost (``die_heat_load_w`` + the chip's EO + TO tuning power) / COP(|ΔT|): the TEC pumps the
  die's own heat (the tuning power is the part robinsim computes; ``die_heat_load_w`` is the rest
  of the die's dissipation, an assumption field).
* ``"ideal"``: free and unbounded (the papers' assumption); kept only to reproduce them.

COP model (:func:`tec_cop`): a single-stage Peltier module at its optimum-COP current (Ioffe,
"Semiconductor thermoelements and thermoelectric cooling", 1957; Goldsmid, "Introduction to
Thermoelectricity", 2nd ed. 2016, eq. 2.21):

    COP(ΔT) = (T_c / ΔT) · (M − T_h / T_c) / (M + 1),   M = √(1 + ZT),  T_c = T_h − ΔT,

with the module's figure of merit ZT and hot-side temperature T_h. ZT = 0.7 (assumption:
commercial Bi2Te3 modules, effective ZT ≈ 0.6–0.8 with contacts) and T_h = 300 K give COP(40 K)
= 0.42, inside the butterfly-TEC vendor range COP 0.3–0.5 at ΔT = 40 K (docs/references.md §7).
The same COP is used for heating and cooling (assumption: heating mode has COP + 1 by energy
balance, so this over-states the heating cost; conservative). Heat leaking into the cold side
through the package (∝ ΔT) is not modelled: the load is the stated heat only. At ΔT = 0 the
module pumps nothing against a gradient and costs 0 (COP → ∞).

Layout blue bias (:func:`design_blue_bias_nm`): heaters only red-shift, so a chip whose rings
come out red of the grid beyond the tracking range would need nearly a whole FSR of heat per
ring. Rings are therefore laid out b blue of their channels. With the chip's common-mode shift
c ~ N(0, σ) (wafer, die and ambient terms), tracking range ±R, at most H nm of heat per ring
(the heater limit or the ring's share of the chip budget) and the chip's reddest ring m nm red
of its mean (no ring may come out red of its channel beyond the EO window: with coupled heaters
one ring on the next order pushes its neighbours there too), a chip reaches its grid when
b − R − H <= c <= b + R − m; its yield Φ((b + R − m)/σ) − Φ((b − R − H)/σ) is largest at
b = (H + m)/2, and the mean heat E[(b − R − c)+] grows with b, so the design takes the smallest
b >= 0 that meets a yield target (the largest-yield b when none does).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from photonics.validation import as_float_array, check_range, check_scalar

__all__ = ["MODES", "tec_cop", "tec_max_delta_t_k", "tec_input_power_w", "grid_yield", "design_blue_bias_nm"]

#: ``tuning.common_mode`` options.
MODES = ("none", "laser", "tec", "ideal")


def tec_max_delta_t_k(*, hot_side_k: float = 300.0, zt: float = 0.7) -> float:
    """Largest ΔT (K) the module reaches at zero load (COP = 0): T_h · (1 − 1/M), M = √(1 + ZT)."""
    hot_side_k = check_scalar("hot_side_k", hot_side_k, "(0, inf)", unit="K")
    zt = check_scalar("zt", zt, "(0, inf)")
    return hot_side_k * (1.0 - 1.0 / np.sqrt(1.0 + zt))


def tec_cop(delta_t_k, *, hot_side_k: float = 300.0, zt: float = 0.7):
    """Optimum coefficient of performance of a TEC pumping across ``delta_t_k`` (K, >= 0, below
    :func:`tec_max_delta_t_k`); module docstring. ``inf`` at ΔT = 0."""
    dt_max = tec_max_delta_t_k(hot_side_k=hot_side_k, zt=zt)
    dt = np.asarray(check_range("delta_t_k", delta_t_k, 0.0, dt_max, hi_inclusive=False, unit="K"), dtype=float)
    m = np.sqrt(1.0 + zt)
    t_c = hot_side_k - dt
    with np.errstate(divide="ignore", invalid="ignore"):
        cop = np.where(dt > 0, t_c / dt * (m - hot_side_k / t_c) / (m + 1.0), np.inf)
    return float(cop) if cop.ndim == 0 else cop


def tec_input_power_w(load_w, delta_t_k, *, hot_side_k: float = 300.0, zt: float = 0.7):
    """TEC electrical input (W) to pump ``load_w`` (W, >= 0) across ``|delta_t_k|`` (K):
    load / COP(|ΔT|) (0 at ΔT = 0)."""
    load = np.asarray(check_range("load_w", load_w, 0.0, unit="W"), dtype=float)
    dt = np.abs(as_float_array("delta_t_k", delta_t_k))
    out = load / tec_cop(dt, hot_side_k=hot_side_k, zt=zt)
    return float(out) if np.ndim(out) == 0 else out


def grid_yield(*, blue_bias_nm, common_sigma_nm, tracking_range_nm, heat_reach_nm, red_margin_nm=0.0) -> float:
    """Share of chips whose common-mode shift c ~ N(0, ``common_sigma_nm``) the grid reaches with
    the rings laid out ``blue_bias_nm`` blue and the reddest ring ``red_margin_nm`` red of the
    chip's mean: P(b − R − H <= c <= b + R − m) (module docstring)."""
    b = check_scalar("blue_bias_nm", blue_bias_nm, "[0, inf)", unit="nm")
    sigma = check_scalar("common_sigma_nm", common_sigma_nm, "(0, inf)", unit="nm")
    r = check_scalar("tracking_range_nm", tracking_range_nm, "[0, inf)", unit="nm")
    h = check_scalar("heat_reach_nm", heat_reach_nm, "[0, inf)", unit="nm")
    m = check_scalar("red_margin_nm", red_margin_nm, "[0, inf)", unit="nm")
    return float(max(0.0, norm.cdf((b + r - m) / sigma) - norm.cdf((b - r - h) / sigma)))


def design_blue_bias_nm(*, common_sigma_nm, tracking_range_nm, heat_reach_nm, yield_target,
                        red_margin_nm=0.0) -> tuple[float, float]:
    """(b, yield): the smallest layout blue bias b >= 0 (nm) whose :func:`grid_yield` reaches
    ``yield_target`` (in (0, 1)), or the largest-yield b = (H + m)/2 when no b does (module docstring)."""
    target = check_scalar("yield_target", yield_target, "(0, 1)")
    kw = dict(common_sigma_nm=common_sigma_nm, tracking_range_nm=tracking_range_nm, heat_reach_nm=heat_reach_nm,
              red_margin_nm=red_margin_nm)
    best = 0.5 * (check_scalar("heat_reach_nm", heat_reach_nm, "[0, inf)", unit="nm")
                  + check_scalar("red_margin_nm", red_margin_nm, "[0, inf)", unit="nm"))
    if grid_yield(blue_bias_nm=0.0, **kw) >= target:
        return 0.0, grid_yield(blue_bias_nm=0.0, **kw)
    if grid_yield(blue_bias_nm=best, **kw) <= target:
        return best, grid_yield(blue_bias_nm=best, **kw)
    b = brentq(lambda x: grid_yield(blue_bias_nm=x, **kw) - target, 0.0, best, xtol=1e-9)
    return float(b), grid_yield(blue_bias_nm=b, **kw)
