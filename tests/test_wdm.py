"""photonics.wdm: exact-Airy crosstalk matrices against a NumPy oracle and docs/references.md §1 closed forms."""
import math

import numpy as np
import pytest

from photonics import wdm
from photonics.mrr import RingDesign

N_EFF, N_G = 2.4455, 4.191  # docs/references.md §2, 500 nm strip


def ring(**kw):
    base = dict(radius_um=5.0, kappa2_in=0.03, kappa2_drop=0.03, loss_db_per_cm=3.0, n_eff=N_EFF, n_g=N_G)
    base.update(kw)
    return RingDesign(**base)


def oracle_matrices(rg, channels, resonances):
    """Plain NumPy: shift each ring's comb so its nearest resonance (found by brute force among
    the dispersion-relation solutions) sits at the requested wavelength; textbook cos-form Airy."""
    length_nm = rg.circumference_um * 1e3
    comb = rg.resonances_nm((1400.0, 1700.0))
    r1, r2, a = math.sqrt(1 - rg.kappa2_in), math.sqrt(1 - rg.kappa2_drop), rg.a
    through = np.empty(resonances.shape + channels.shape)
    drop = np.empty_like(through)
    for idx in np.ndindex(resonances.shape):
        lam_r = resonances[idx]
        shift = lam_r - comb[np.argmin(np.abs(1 / comb - 1 / lam_r))]
        lam = channels - shift
        n_eff = N_EFF - (N_G - N_EFF) * (lam - 1550.0) / 1550.0
        c = np.cos(2 * np.pi * n_eff * length_nm / lam)
        den = 1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2
        through[idx] = (r2**2 * a**2 - 2 * r1 * r2 * a * c + r1**2) / den
        drop[idx] = (1 - r1**2) * (1 - r2**2) * a / den
    return through, drop


def test_matrices_equal_numpy_oracle_with_batch_dims():
    rg = ring()
    channels = 1550.0 + 0.8 * np.arange(8)
    rng = np.random.default_rng(3)
    resonances = channels + rng.normal(0.0, 0.05, (2, 3, 8))
    through, drop = oracle_matrices(rg, channels, resonances)
    d = wdm.drop_matrix(rg, channels, resonances)
    t = wdm.through_matrix(rg, channels, resonances)
    assert d.shape == t.shape == (2, 3, 8, 8)
    np.testing.assert_allclose(d, drop, rtol=0, atol=1e-10)
    np.testing.assert_allclose(t, through, rtol=0, atol=1e-10)


def test_diagonal_is_peak_drop_and_comb_is_periodic():
    rg = ring()
    res = rg.resonances_nm((1540.0, 1575.0))[:2]  # two consecutive orders, one FSR apart
    d = wdm.drop_matrix(rg, res, res)
    np.testing.assert_allclose(d, rg.peak_drop, rtol=1e-12)  # each ring also drops the other order


def test_lossless_symmetric_bank_conserves_power():
    rg = ring(loss_db_per_cm=0.0)
    channels = 1550.0 + 0.4 * np.arange(16)
    res = channels + np.random.default_rng(1).normal(0, 0.1, 16)
    total = wdm.drop_matrix(rg, channels, res) + wdm.through_matrix(rg, channels, res)
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


def test_adjacent_crosstalk_closed_form():
    rg = ring()
    spacing = np.array([0.2, 0.8, 1.6, 3.2])
    rho = rg.r1 * rg.r2 * rg.a
    lam_r = rg.nearest_resonance_nm(1550.0)
    # phase offset of a channel s away: 2 pi n_g L (1/lam_r - 1/(lam_r + s)) (first-order dispersion)
    dphi = 2 * np.pi * N_G * rg.circumference_um * 1e3 * (1 / lam_r - 1 / (lam_r + spacing))
    expected = 10 * np.log10((1 - rho) ** 2 / ((1 - rho) ** 2 + 4 * rho * np.sin(dphi / 2) ** 2))
    np.testing.assert_allclose(wdm.adjacent_crosstalk_db(rg, spacing), expected, rtol=1e-9)
    allpass = ring(kappa2_drop=None)
    x = 1 - allpass.spectrum(lam_r + spacing)[0]
    x0 = 1 - allpass.spectrum(lam_r)[0]
    np.testing.assert_allclose(wdm.adjacent_crosstalk_db(allpass, spacing), 10 * np.log10(x / x0), rtol=1e-12)


@pytest.mark.parametrize("kappa2", [0.3, 0.05, 0.005])
def test_lorentzian_understates_leakage_at_half_fsr(kappa2):
    # Exact/Lorentzian at half an FSR = ((1-rho)^2 + pi^2 rho) / (1+rho)^2 -> pi^2/4 (3.9 dB)
    # for high finesse (docs/references.md §1).
    rg = ring(kappa2_in=kappa2, kappa2_drop=kappa2, loss_db_per_cm=0.0)
    rho = rg.r1 * rg.r2 * rg.a
    lam_r = rg.nearest_resonance_nm(1550.0)
    half = lam_r**2 / (N_G * rg.circumference_um * 1e3) / 2  # local FSR / 2
    exact = wdm.adjacent_crosstalk_db(rg, half)
    approx = wdm.adjacent_crosstalk_db_lorentzian_approx(rg, half)
    ratio_db = exact - approx
    expected_db = 10 * math.log10(((1 - rho) ** 2 + math.pi**2 * rho) / (1 + rho) ** 2)
    assert ratio_db > 0  # the Lorentzian under-states the leakage
    # the wavelength half-FSR is pi in phase only to first order in FSR/lambda
    assert abs(ratio_db - expected_db) < 1e-3
    assert ratio_db <= 10 * math.log10(math.pi**2 / 4) + 1e-3
    if rg.finesse > 100:
        assert abs(ratio_db - 10 * math.log10(math.pi**2 / 4)) < 0.01


def test_lorentzian_matches_near_resonance():
    rg = ring(kappa2_in=0.01, kappa2_drop=0.01)
    lam_r = rg.nearest_resonance_nm(1550.0)
    det = np.linspace(-2, 2, 41) * rg.fwhm_nm
    exact = rg.spectrum(lam_r + det)[1]
    approx = wdm.lorentzian_drop_approx(rg, det)
    # finesse ~ 280: sin^2(x) vs x^2 differs by x^2/3 < 2e-4 within 2 FWHM (x = 2 pi / finesse)
    assert rg.finesse > 250
    np.testing.assert_allclose(approx, exact, rtol=1e-3)


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: wdm.drop_matrix("ring", [1550.0], [1550.0]), TypeError, "ring"),
        (lambda: wdm.drop_matrix(ring(), [[1550.0, 1551.0]], [1550.0]), ValueError, "channels_nm"),
        (lambda: wdm.drop_matrix(ring(), [1550.0, -1.0], [1550.0]), ValueError, "channels_nm"),
        (lambda: wdm.through_matrix(ring(), [1550.0], 1550.0), ValueError, "resonances_nm"),
        (lambda: wdm.through_matrix(ring(), [1550.0], [np.nan]), ValueError, "resonances_nm"),
        (lambda: wdm.adjacent_crosstalk_db(ring(), 0.0), ValueError, "spacing_nm"),
        (lambda: wdm.adjacent_crosstalk_db_lorentzian_approx(ring(), -0.8), ValueError, "spacing_nm"),
        (lambda: wdm.lorentzian_drop_approx(ring(), np.inf), ValueError, "detuning_nm"),
    ],
)
def test_bad_input(call, exc, name, rejected):
    with rejected(exc, name):
        call()
