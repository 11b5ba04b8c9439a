"""Back-of-envelope tuning power: closed forms to set beside the simulated tuner.

Shifts are in nm (positive = red); the heater gives red shift only at ``fsr_nm / p_fsr_w`` nm
per W. Three estimates, from coarse to less coarse:

* :func:`symmetric_excess_nm` — the textbook one: a Gaussian shift Δ of σ that EO cancels within
  ±w and a heater takes beyond it, whichever the sign: E[(|Δ| − w)+] =
  2[σ·φ(w/σ) − w·(1 − Φ(w/σ))].
* :func:`red_only_cost_nm` — a ring whose heater only red-shifts: x = its shift relative to the
  channel grid (after the grid offset); x <= 0 is heated by −x (EO red window first, if any),
  0 < x <= w_blue is cancelled by blue EO, and x > w_blue is locked on the next resonance order
  at FSR − x of heat. Returns E[heat] over a Gaussian x in nm.
* :func:`common_mode_excess_nm` — what the grid's tracking range leaves: a chip whose grid must
  move by o ~ N(μ, σ) beyond −R heats every ring by the excess, E[(−R − o)+].

EO power is neglected in all three (it is µW per ring against mW of heat). The Gaussian partial
expectations are closed forms in φ and Φ.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from photonics.validation import check_scalar

__all__ = ["partial_below", "symmetric_excess_nm", "red_only_cost_nm", "common_mode_excess_nm"]


def partial_below(a, mu, sigma):
    """E[(a − x)·1(x < a)] for x ~ N(mu, sigma) (sigma > 0): (a − μ)·Φ(z) + σ·φ(z), z = (a − μ)/σ."""
    z = (np.asarray(a, dtype=float) - mu) / sigma
    return (np.asarray(a) - mu) * norm.cdf(z) + sigma * norm.pdf(z)


def _prob_between(lo, hi, mu, sigma):
    return norm.cdf((hi - mu) / sigma) - norm.cdf((lo - mu) / sigma)


def _mean_between(lo, hi, mu, sigma):
    """E[x·1(lo < x <= hi)]."""
    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    return mu * (norm.cdf(b) - norm.cdf(a)) + sigma * (norm.pdf(a) - norm.pdf(b))


def symmetric_excess_nm(*, sigma_nm, window_nm):
    """E[(|Δ| − w)+] for Δ ~ N(0, σ): 2[σ·φ(w/σ) − w·(1 − Φ(w/σ))] (nm)."""
    s = check_scalar("sigma_nm", sigma_nm, "(0, inf)", unit="nm")
    w = check_scalar("window_nm", window_nm, "[0, inf)", unit="nm")
    return float(2.0 * (s * norm.pdf(w / s) - w * (1.0 - norm.cdf(w / s))))


def red_only_cost_nm(*, mean_nm, sigma_nm, fsr_nm, eo_blue_nm=0.0, eo_red_nm=0.0):
    """E[heat] (nm) of a red-only heater for a ring shift x ~ N(mean, σ) relative to the grid
    (module docstring): heat max(0, −x − eo_red) for x <= 0, 0 for 0 < x <= eo_blue, FSR − x beyond."""
    mu = check_scalar("mean_nm", mean_nm, "(-inf, inf)", unit="nm")
    s = check_scalar("sigma_nm", sigma_nm, "(0, inf)", unit="nm")
    fsr = check_scalar("fsr_nm", fsr_nm, "(0, inf)", unit="nm")
    wb = check_scalar("eo_blue_nm", eo_blue_nm, "[0, inf)", unit="nm")
    wr = check_scalar("eo_red_nm", eo_red_nm, "[0, inf)", unit="nm")
    below = partial_below(-wr, mu, s)  # E[(−wr − x)+]
    wrap = fsr * _prob_between(wb, np.inf, mu, s) - _mean_between(wb, np.inf, mu, s)
    return float(below + wrap)


def common_mode_excess_nm(*, mean_nm, sigma_nm, range_nm):
    """E[(−R − o)+] for a required grid offset o ~ N(mean, σ) and tracking range ±R (nm)."""
    mu = check_scalar("mean_nm", mean_nm, "(-inf, inf)", unit="nm")
    s = check_scalar("sigma_nm", sigma_nm, "(0, inf)", unit="nm")
    r = check_scalar("range_nm", range_nm, "[0, inf)", unit="nm")
    return float(partial_below(-r, mu, s))
