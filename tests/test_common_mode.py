"""The layout blue bias (photonics.common_mode.design_blue_bias_nm, accel.components.common_mode):
yield against a Monte Carlo of the common-mode shift, the smallest-margin rule, the presets'
margins, and the chip pipeline's share of chips that reach their grid.
"""
import math

import numpy as np
import pytest

from accel import Accelerator, presets
from accel.components.common_mode import design_blue_bias_nm as preset_bias
from photonics import common_mode as cm

KW = dict(common_sigma_nm=4.0, tracking_range_nm=4.0, heat_reach_nm=7.0)


def mc_yield(b, sigma, r, h, n=400_000, seed=3):
    """NumPy oracle: share of c ~ N(0, sigma) inside [b - r - h, b + r]."""
    c = np.random.default_rng(seed).normal(0.0, sigma, n)
    return float(np.mean((c >= b - r - h) & (c <= b + r)))


@pytest.mark.parametrize("b", [0.0, 1.5, 3.5, 6.0])
def test_grid_yield_equals_a_monte_carlo_of_the_common_mode(b):
    sigma, r, h = KW["common_sigma_nm"], KW["tracking_range_nm"], KW["heat_reach_nm"]
    got = cm.grid_yield(blue_bias_nm=b, **KW)
    assert abs(got - mc_yield(b, sigma, r, h)) <= 4 * math.sqrt(got * (1 - got) / 400_000) + 1e-12


def test_design_bias_is_the_smallest_margin_that_meets_the_target():
    b, y = cm.design_blue_bias_nm(yield_target=0.9, **KW)
    assert 0 < b < KW["heat_reach_nm"] / 2
    assert y == pytest.approx(0.9, abs=1e-9)
    assert cm.grid_yield(blue_bias_nm=b - 1e-3, **KW) < 0.9 <= cm.grid_yield(blue_bias_nm=b + 1e-3, **KW)


def test_design_bias_falls_back_to_the_largest_yield_margin():
    b, y = cm.design_blue_bias_nm(yield_target=0.999, **KW)
    scan = np.linspace(0.0, 10.0, 10_001)
    yields = [cm.grid_yield(blue_bias_nm=x, **KW) for x in scan]
    assert b == KW["heat_reach_nm"] / 2 == pytest.approx(scan[int(np.argmax(yields))], abs=1e-3)
    assert y == pytest.approx(max(yields), abs=1e-9) and y < 0.999


def test_no_bias_when_the_tracking_range_already_meets_the_target():
    assert cm.design_blue_bias_nm(common_sigma_nm=1.0, tracking_range_nm=4.0, heat_reach_nm=0.0, yield_target=0.99)[0] == 0.0


@pytest.mark.parametrize("kw, match", [
    (dict(KW, yield_target=1.0), "yield_target"),
    (dict(KW, yield_target=0.9, common_sigma_nm=0.0), "common_sigma_nm"),
    (dict(KW, yield_target=0.9, heat_reach_nm=-1.0), "heat_reach_nm"),
])
def test_design_bias_rejects_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        cm.design_blue_bias_nm(**kw)


@pytest.mark.parametrize("name", ["robin-eo", "robin-po", "lightbulb"])
def test_presets_lay_their_rings_out_by_the_rule(name):
    """The preset's bias is the rule's, with its inputs written out: the shift decomposition
    (accel.tuning_estimate.shift_sigmas, checked against sampled chips in test_tuning_estimate),
    the laser's +-4 nm, the reddest ring 4 within-die sigma red, the ring's share of the budget."""
    from accel.tuning_estimate import shift_sigmas

    cfg = presets.load(name)
    assert cfg.tuning.common_mode == "laser"
    t, sig = cfg.tuning, shift_sigmas(cfg)
    rings = cfg.N * cfg.M * cfg.units * cfg.architecture.rings_per_cell
    heat_w = min(t.to_max_power_mw / 1e3, t.chip_budget_w / rings)
    b, y = cm.design_blue_bias_nm(common_sigma_nm=math.hypot(sig.common_nm, sig.differential_nm / 2),
                                  tracking_range_nm=t.laser_nm_per_k * t.laser_tec_max_dt_k,
                                  heat_reach_nm=heat_w * min(sig.fsr_nm) / (t.to_power_per_fsr_mw / 1e3),
                                  yield_target=0.95, red_margin_nm=4.0 * max(sig.within_nm))
    assert preset_bias(cfg, yield_target=0.95) == pytest.approx((b, y), rel=1e-12)
    assert cfg.wavelength.ring_blue_bias_nm == pytest.approx(b, abs=0.006)  # two decimals in the preset
    assert y >= 0.92


def test_red_margin_narrows_the_window_from_the_red_side():
    kw = dict(common_sigma_nm=4.0, tracking_range_nm=4.0, heat_reach_nm=7.0)
    assert cm.grid_yield(blue_bias_nm=2.0, red_margin_nm=1.0, **kw) == pytest.approx(
        mc_yield(2.0 - 1.0, 4.0, 4.0, 7.0 - 1.0), abs=4 * math.sqrt(0.25 / 400_000))  # same window, shifted by m
    b0, _ = cm.design_blue_bias_nm(yield_target=0.9, **kw)
    b1, _ = cm.design_blue_bias_nm(yield_target=0.9, red_margin_nm=1.0, **kw)
    assert b1 > b0


def test_pipeline_reaches_the_grid_on_the_designed_share_of_chips():
    """robin-po chips (tuning only): the share with every ring locked is the rule's yield, within
    binomial error plus 5 points for what the rule leaves out (local spread, gradients)."""
    acc = Accelerator(presets.load("robin-po"))
    _, y = preset_bias(acc.config, yield_target=0.95)
    chips = 64
    locked = [acc.sample_chip(11, k, coefficients=False).rings_out_of_range == 0 for k in range(chips)]
    assert np.mean(locked) >= y - 3 * math.sqrt(y * (1 - y) / chips) - 0.05


def test_bias_shifts_every_ring_blue_only_with_fabrication_variation():
    from accel import Conditions, VariationSettings

    base = presets.load("robin-eo").with_values({"architecture.units": 1, "architecture.vdus_per_unit": 2})
    off = base.with_values({"wavelength.ring_blue_bias_nm": 0.0})
    a, b = Accelerator(base), Accelerator(off)
    no_tuning = Conditions(tuning=False)
    da = a.sample_chip(2, 0, no_tuning, coefficients=False).shift_nm
    db = b.sample_chip(2, 0, no_tuning, coefficients=False).shift_nm
    np.testing.assert_allclose(db - da, base.wavelength.ring_blue_bias_nm, rtol=0, atol=1e-12)
    perfect = Conditions(variation=VariationSettings(fab=False), tuning=False)
    assert np.all(a.sample_chip(2, 0, perfect, coefficients=False).shift_nm
                  == b.sample_chip(2, 0, perfect, coefficients=False).shift_nm)
