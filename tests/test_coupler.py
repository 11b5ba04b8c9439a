"""photonics.coupler: ring-bus evanescent coupler against closed forms, a numerical overlap
integral over the exact circular gap profile, and the published fit's numbers worked by hand."""
import math

import numpy as np
import pytest
from scipy import integrate

from photonics import coupler
from photonics.coupler import BAHADORI_400X220, RingBusCoupler, SupermodeFit, perturbed_kappa2


def test_single_exponential_is_the_point_coupler_closed_form():
    # one supermode term: θ(g) = (π/λ)(a/γ) sqrt(2πγR) e^{-γg}, κ² = sin²θ
    fit = SupermodeFit(a_even=0.2, gamma_even_per_nm=0.01, a_odd=0.0, gamma_odd_per_nm=0.005)
    c = RingBusCoupler(5.0, 1550.0, fit)
    g = np.array([100.0, 200.0, 300.0])
    theta = math.pi / 1550.0 * 0.2 / 0.01 * math.sqrt(2 * math.pi * 0.01 * 5000.0) * np.exp(-0.01 * g)
    np.testing.assert_allclose(c.theta(g), theta, rtol=1e-13)
    np.testing.assert_allclose(c.kappa2(g), np.sin(theta) ** 2, rtol=1e-13)
    # exponential field coupling: θ(g + Δ)/θ(g) = exp(-γΔ), decay length 1/γ
    np.testing.assert_allclose(c.theta(g + 7.0) / c.theta(g), math.exp(-0.07), rtol=1e-13)
    assert c.decay_length_nm(150.0) == pytest.approx(100.0, rel=1e-12)


def test_bahadori_fit_worked_by_hand():
    # 5 um ring, 200 nm gap, 1550 nm (Bahadori et al., JLT 2018 coefficients):
    # even 22.684 nm * 18.322 * e^-2.1374 = 49.0 nm, odd 12.649 nm * 13.874 * e^-1.2258 = 51.5 nm,
    # θ = π/1550 * 100.5 = 0.2037 rad, κ² = sin² θ = 0.0410
    c = RingBusCoupler(5.0)
    assert float(c.theta(200.0)) == pytest.approx(0.2037, abs=2e-4)
    assert float(c.kappa2(200.0)) == pytest.approx(0.0410, abs=3e-4)


def test_gaussian_gap_profile_matches_the_exact_circle():
    # θ = (π/λ) ∫ Δn(d(z)) dz with the exact ring-bus separation d(z) = g + R - sqrt(R² - z²)
    radius_nm, g = 5000.0, 200.0
    f = BAHADORI_400X220

    def dn(z):
        d = g + radius_nm - math.sqrt(radius_nm**2 - z**2)
        return f.a_even * math.exp(-f.gamma_even_per_nm * d) + f.a_odd * math.exp(-f.gamma_odd_per_nm * d)

    integral, _ = integrate.quad(dn, -radius_nm, radius_nm, points=[0.0], limit=200)
    exact = math.pi / 1550.0 * integral
    assert float(RingBusCoupler(5.0).theta(g)) == pytest.approx(exact, rel=0.02)


def test_decay_length_is_the_evanescent_tail_of_a_strip():
    # field decay 1/(k0 sqrt(n_eff² - n_clad²)) of the 500 x 220 nm strip (n_eff 2.4455, docs/references.md §2)
    k0 = 2 * math.pi / 1550.0
    tail = 1.0 / (k0 * math.sqrt(2.4455**2 - 1.444**2))
    assert tail == pytest.approx(125.4, abs=0.5)
    for radius, kappa2 in ((5.0, 0.04), (3.0, 0.01), (1.6, 0.03)):
        c = RingBusCoupler(radius)
        assert c.decay_length_nm(c.gap_nm(kappa2)) == pytest.approx(tail, rel=0.1)


@pytest.mark.parametrize("radius", [1.6, 3.0, 5.0, 20.0])
def test_gap_inverts_kappa2(radius):
    c = RingBusCoupler(radius)
    for g in (60.0, 150.0, 250.0, 400.0):
        k2 = float(c.kappa2(g))
        assert c.gap_nm(k2) == pytest.approx(g, rel=1e-10)


def test_nominal_gaps_of_the_presets_are_printable():
    # robin-eo 5 um / 0.04, robin-po 3 um / 0.01, lightbulb 1.6 um / 0.03: gaps 100-300 nm
    for radius, kappa2 in ((5.0, 0.04), (3.0, 0.01), (1.6, 0.03)):
        assert 100.0 < RingBusCoupler(radius).gap_nm(kappa2) < 300.0


def test_perturbed_kappa2_zero_deviation_is_exact_and_slope_is_the_decay():
    c = RingBusCoupler(5.0)
    dg = np.array([0.0, -0.01, 0.01, 0.0])
    out = perturbed_kappa2(c, 0.04, dg)
    assert out[0] == 0.04 and out[3] == 0.04
    # d ln κ² / dg = -2/ℓ (ℓ the field decay length) in the weak-coupling limit, up to the sin² term
    ell = c.decay_length_nm(c.gap_nm(0.04))
    slope = (math.log(out[2]) - math.log(out[1])) / 0.02
    theta = math.asin(math.sqrt(0.04))
    assert slope == pytest.approx(-2.0 / ell * theta / math.tan(theta), rel=1e-5)
    # wider gap -> weaker coupling, monotone
    wide = perturbed_kappa2(c, 0.04, np.linspace(-20, 20, 41))
    assert np.all(np.diff(wide) < 0)


def test_errors_name_argument_value_and_bounds(rejected):
    c = RingBusCoupler(5.0)
    with rejected(ValueError, "kappa2", "0.9999", "allowed"):
        c.gap_nm(0.9999)
    with rejected(ValueError, "kappa2", "1.5"):
        c.gap_nm(1.5)
    with rejected(ValueError, "dgap_nm", "allowed"):
        perturbed_kappa2(c, 0.04, np.array([-1000.0]))
    with rejected(ValueError, "radius_um"):
        RingBusCoupler(-1.0)
    with rejected(TypeError, "fit", "SupermodeFit"):
        RingBusCoupler(5.0, fit=(0.1, 0.01, 0.1, 0.01))
    assert coupler.__all__
