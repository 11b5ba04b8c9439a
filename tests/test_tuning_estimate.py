"""photonics.tuning_estimate closed forms against NumPy Monte Carlo of the same rules, and
accel.tuning_estimate's pieces against direct calculations."""
import math

import numpy as np
import pytest

from photonics import tuning_estimate as te

N = 1_000_000
RNG = np.random.default_rng(7)
X = RNG.standard_normal(N)


def mc(values):
    return float(np.mean(values)), 4 * float(np.std(values)) / math.sqrt(N)


@pytest.mark.parametrize("sigma, w", [(1.0, 0.0), (0.3, 0.1), (2.0, 1.0)])
def test_symmetric_excess_is_the_mean_excess_of_the_absolute_shift(sigma, w):
    mean, tol = mc(np.maximum(np.abs(sigma * X) - w, 0.0))
    assert te.symmetric_excess_nm(sigma_nm=sigma, window_nm=w) == pytest.approx(mean, abs=tol + 1e-12)


@pytest.mark.parametrize("mu, sigma, fsr, blue, red", [(0.0, 0.3, 18.0, 0.0, 0.0), (-0.5, 0.3, 18.0, 0.2, 0.0),
                                                        (0.4, 1.0, 30.0, 0.1, 0.05), (-3.0, 0.5, 57.0, 0.0, 0.3)])
def test_red_only_cost_is_the_mean_heat_of_the_rule(mu, sigma, fsr, blue, red):
    x = mu + sigma * X
    heat = np.where(x <= 0, np.maximum(-x - red, 0.0), np.where(x <= blue, 0.0, fsr - x))
    mean, tol = mc(heat)
    got = te.red_only_cost_nm(mean_nm=mu, sigma_nm=sigma, fsr_nm=fsr, eo_blue_nm=blue, eo_red_nm=red)
    assert got == pytest.approx(mean, abs=tol + 1e-12)


@pytest.mark.parametrize("mu, sigma, r", [(0.0, 4.0, 4.0), (-3.6, 4.0, 4.0), (1.0, 2.0, 0.0)])
def test_common_mode_excess_is_the_mean_heat_beyond_the_range(mu, sigma, r):
    mean, tol = mc(np.maximum(-r - (mu + sigma * X), 0.0))
    assert te.common_mode_excess_nm(mean_nm=mu, sigma_nm=sigma, range_nm=r) == pytest.approx(mean, abs=tol + 1e-12)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="sigma_nm"):
        te.symmetric_excess_nm(sigma_nm=0.0, window_nm=0.1)
    with pytest.raises(ValueError, match="fsr_nm"):
        te.red_only_cost_nm(mean_nm=0.0, sigma_nm=1.0, fsr_nm=-1.0)


def test_shift_decomposition_matches_the_sampled_chips():
    """accel.tuning_estimate's sigmas against sampled robin-po chips (tuning off: the raw shifts):
    the chip-mean shift, the design-to-design difference and the within-die spread (64 chips; a
    sample σ of 64 is within ~25 % at 3σ)."""
    from accel import Accelerator, Conditions, presets
    from accel.tuning_estimate import estimate

    acc = Accelerator(presets.load("robin-po"))
    e = estimate(acc.config)
    role = acc.floorplan.role.reshape(acc.floorplan.shape)
    means, diffs, within = [], [], [[], []]
    for k in range(64):
        s = acc.sample_chip(5, k, Conditions(tuning=False), coefficients=False).shift_nm
        act, wt = s[role == 0], s[role == 1]
        means.append(s.mean())
        diffs.append(act.mean() - wt.mean())
        within[0].append(act.std())
        within[1].append(wt.std())
    assert np.std(means) == pytest.approx(e.common_sigma_nm, rel=0.25)
    assert np.std(diffs) == pytest.approx(e.differential_sigma_nm, rel=0.25)
    for k in (0, 1):
        assert np.sqrt(np.mean(np.square(within[k]))) == pytest.approx(e.within_sigma_nm[k], rel=0.25)
