"""photonics.mrr against closed forms (docs/references.md §1, Bogaerts 2012) and plain NumPy oracles."""
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from photonics import mrr
from photonics.mrr import RingDesign

# docs/references.md §2: 500 nm x 220 nm strip at 1550 nm.
N_EFF_500, N_G_500 = 2.4455, 4.191


# --- plain NumPy oracles (textbook cos forms, docs/references.md §1) --------------------------------
def oracle_allpass(phi, r, a):
    c = np.cos(phi)
    return (a**2 - 2 * r * a * c + r**2) / (1 - 2 * r * a * c + (r * a) ** 2)


def oracle_through(phi, r1, r2, a):
    c = np.cos(phi)
    return (r2**2 * a**2 - 2 * r1 * r2 * a * c + r1**2) / (1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2)


def oracle_drop(phi, r1, r2, a):
    c = np.cos(phi)
    return (1 - r1**2) * (1 - r2**2) * a / (1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2)


def oracle_fields(phi, r1, r2, a):
    e = np.exp(1j * phi)
    through = (r1 - r2 * a * e) / (1 - r1 * r2 * a * e)
    drop = -np.sqrt((1 - r1**2) * (1 - r2**2) * a) * np.exp(0.5j * phi) / (1 - r1 * r2 * a * e)
    return through, drop


def random_args(seed, shape=(5, 400)):
    rng = np.random.default_rng(seed)
    phi = rng.uniform(-40.0, 700.0, shape)  # includes realistic round-trip phases ~600 rad
    r1 = rng.uniform(0.3, 0.98, shape[-1])
    r2 = rng.uniform(0.3, 0.98, (shape[0], 1))
    a = rng.uniform(0.3, 0.98, shape)
    return phi, r1, r2, a


def ring(**kw):
    base = dict(radius_um=10.0, kappa2_in=0.05, kappa2_drop=0.05, n_eff=N_EFF_500, n_g=N_G_500)
    base.update(kw)
    return RingDesign(**base)


# --- kernels vs oracles ------------------------------------------------------------------------
def test_power_kernels_equal_numpy_oracle():
    phi, r1, r2, a = random_args(0)
    np.testing.assert_allclose(mrr.allpass_through(phi, r1, a), oracle_allpass(phi, r1, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_through(phi, r1, r2, a), oracle_through(phi, r1, r2, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_drop(phi, r1, r2, a), oracle_drop(phi, r1, r2, a), rtol=0, atol=1e-12)


def test_field_kernels_equal_numpy_oracle_and_power_kernels():
    phi, r1, r2, a = random_args(1)
    through, drop = oracle_fields(phi, r1, r2, a)
    allpass, _ = oracle_fields(phi, r1, 1.0, a)
    np.testing.assert_allclose(mrr.adddrop_through_field(phi, r1, r2, a), through, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_drop_field(phi, r1, r2, a), drop, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.allpass_through_field(phi, r1, a), allpass, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.abs(mrr.adddrop_through_field(phi, r1, r2, a)) ** 2,
                               mrr.adddrop_through(phi, r1, r2, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.abs(mrr.adddrop_drop_field(phi, r1, r2, a)) ** 2,
                               mrr.adddrop_drop(phi, r1, r2, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.abs(mrr.allpass_through_field(phi, r1, a)) ** 2,
                               mrr.allpass_through(phi, r1, a), rtol=0, atol=1e-12)


def test_parallel_builds_equal_numpy_oracle():
    # inputs above the serial/parallel threshold run the prange build of each kernel
    phi, r1, r2, a = random_args(2, shape=(40, 1000))
    assert phi.size >= mrr.PARALLEL_MIN_WORK
    np.testing.assert_allclose(mrr.adddrop_through(phi, r1, r2, a), oracle_through(phi, r1, r2, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_drop(phi, r1, r2, 0.9), oracle_drop(phi, r1, r2, 0.9), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.allpass_through(phi, 0.8, a), oracle_allpass(phi, 0.8, a), rtol=0, atol=1e-12)
    through, drop = oracle_fields(phi, r1, r2, a)
    np.testing.assert_allclose(mrr.adddrop_through_field(phi, r1, r2, a), through, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_drop_field(phi, r1, r2, a), drop, rtol=0, atol=1e-12)


def oracle_spectrum(rg, lam, det):
    """Textbook Airy with phase 2 pi n_eff(x) L / x at x = lam - det, first-order dispersion."""
    x = lam - det
    n_eff = rg.n_eff - (rg.n_g - rg.n_eff) * (x - rg.wavelength_nm) / rg.wavelength_nm
    phi = 2 * np.pi * n_eff * rg.circumference_um * 1e3 / x
    return oracle_through(phi, rg.r1, rg.r2, rg.a), oracle_drop(phi, rg.r1, rg.r2, rg.a)


@pytest.mark.parametrize("n_rings, n_wavelengths", [(3, 50), (7, 9000), (9000, 5)])
def test_spectrum_equals_numpy_oracle(n_rings, n_wavelengths):
    # small (serial build), and large with rows longer than one parallel chunk or many short rows
    rg = ring(kappa2_in=0.1, kappa2_drop=0.08, loss_db_per_cm=3.0)
    lam = np.linspace(1540.0, 1560.0, n_wavelengths)
    det = np.random.default_rng(4).normal(0.0, 1.0, (n_rings, 1))
    through, drop = rg.spectrum(lam, det)
    o_through, o_drop = oracle_spectrum(rg, lam, det)
    # the oracle forms the ~800 rad phase in another operation order (~1e-13 rad apart) and
    # dT/dphi reaches ~1 / (1 - r1 r2 a) ~ 10 on the resonance flanks
    np.testing.assert_allclose(through, o_through, rtol=0, atol=1e-10)
    np.testing.assert_allclose(drop, o_drop, rtol=0, atol=1e-10)
    t_col, d_col = rg.spectrum(lam[:, None], det[:, 0])  # transposed broadcast
    np.testing.assert_allclose(t_col, o_through.T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(d_col, o_drop.T, rtol=0, atol=1e-10)


def test_kernels_broadcast_and_return_scalars():
    phi = np.linspace(0, 2 * np.pi, 7)
    out = mrr.adddrop_drop(phi[None, :], 0.9, np.array([[0.9], [0.8], [0.7]]), 0.99)
    assert out.shape == (3, 7)
    np.testing.assert_allclose(out[1], oracle_drop(phi, 0.9, 0.8, 0.99), rtol=0, atol=1e-12)
    scalar = mrr.allpass_through(0.3, 0.9, 0.95)
    assert np.ndim(scalar) == 0 and math.isclose(scalar, oracle_allpass(0.3, 0.9, 0.95), abs_tol=1e-12)


def test_lossless_symmetric_adddrop_conserves_power():
    phi = np.linspace(-3 * np.pi, 3 * np.pi, 2001)
    for r in (0.2, 0.7, 0.95, 0.999):
        total = mrr.adddrop_through(phi, r, r, 1.0) + mrr.adddrop_drop(phi, r, r, 1.0)
        np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(phi=st.floats(-1e3, 1e3, allow_nan=False), r1=unit, r2=unit, a=unit)
def test_passivity(phi, r1, r2, a):
    assume(r1 * r2 * a < 1.0)  # the lossless uncoupled ring is rejected (tested below)
    t = mrr.adddrop_through(phi, r1, r2, a)
    d = mrr.adddrop_drop(phi, r1, r2, a)
    assert 0.0 <= t and 0.0 <= d and t + d <= 1.0 + 1e-12
    if r1 * a < 1.0:
        assert 0.0 <= mrr.allpass_through(phi, r1, a) <= 1.0 + 1e-12


# --- RingDesign: closed forms --------------------------------------------------------------------
def test_fsr_closed_form_and_dispersion_relation():
    rg = ring(radius_um=8.0)
    length_nm = 2 * math.pi * 8.0e3
    assert math.isclose(rg.fsr_nm, 1550.0**2 / (N_G_500 * length_nm), rel_tol=1e-12)
    res = rg.resonances_nm((1500.0, 1600.0))
    # every resonance solves m*lam = n_eff(lam)*L with first-order dispersion (docs/references.md §1)
    n_eff = N_EFF_500 - (N_G_500 - N_EFF_500) * (res - 1550.0) / 1550.0
    m = n_eff * length_nm / res
    np.testing.assert_allclose(m, np.round(m), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.diff(np.round(m)), -1.0)  # consecutive orders, none missed
    # the spacing of the two resonances around 1550 nm is the FSR to first order in FSR/lambda
    i = np.searchsorted(res, 1550.0)
    spacing = res[i] - res[i - 1]
    assert abs(spacing / rg.fsr_nm - 1) < 2 * rg.fsr_nm / 1550.0


def test_index_change_shifts_resonance_by_lambda_dn_over_ng():
    dn = 2e-4
    base = ring().resonances_nm((1545.0, 1555.0))
    moved = ring(n_eff=N_EFF_500 + dn).resonances_nm((1545.0, 1555.0))
    expected = base * dn / N_G_500  # docs/references.md §1: d(lambda) = lambda dn_eff / n_g
    np.testing.assert_allclose(moved - base, expected, rtol=1e-3)


@pytest.mark.parametrize("loss_db_per_cm", [1.0, 3.0, 10.0])
def test_critical_coupling_allpass(loss_db_per_cm):
    probe = ring(kappa2_drop=None, loss_db_per_cm=loss_db_per_cm)
    rg = ring(kappa2_drop=None, loss_db_per_cm=loss_db_per_cm, kappa2_in=probe.critical_kappa2)
    assert math.isclose(rg.r1, rg.a, rel_tol=1e-12)
    res = rg.resonances_nm((1540.0, 1560.0))
    through, drop = rg.spectrum(res)
    np.testing.assert_allclose(through, 0.0, atol=1e-12)
    np.testing.assert_array_equal(drop, 0.0)
    # Q_L / (Q_i / 2) = (x/2) / sinh(x/2) with x = alpha L (exact for these formulas), ~1 - x^2/24
    x = loss_db_per_cm * math.log(10) / 10 * rg.circumference_um * 1e-4
    assert abs(rg.q_loaded / (rg.q_intrinsic / 2) - 1) <= x**2 / 12
    assert rg.extinction_ratio_db == math.inf


def test_critical_coupling_adddrop_zero_through():
    probe = ring(kappa2_drop=0.03, loss_db_per_cm=5.0)
    rg = ring(kappa2_drop=0.03, loss_db_per_cm=5.0, kappa2_in=probe.critical_kappa2)
    assert math.isclose(rg.r1, rg.r2 * rg.a, rel_tol=1e-12)
    through, _ = rg.spectrum(rg.resonances_nm((1540.0, 1560.0)))
    np.testing.assert_allclose(through, 0.0, atol=1e-12)


def _measured_drop_fwhm(rg):
    lam_r = rg.nearest_resonance_nm(1550.0)
    peak = rg.spectrum(lam_r)[1]
    f = lambda lam: rg.spectrum(lam)[1] - peak / 2  # noqa: E731
    hi = brentq(f, lam_r, lam_r + rg.fsr_nm / 2, xtol=1e-13)
    lo = brentq(f, lam_r - rg.fsr_nm / 2, lam_r, xtol=1e-13)
    return lo, lam_r, hi


@pytest.mark.parametrize("kappa2", [0.01, 0.05, 0.2, 0.5])
def test_fwhm_matches_measured_width(kappa2):
    rg = ring(kappa2_in=kappa2, kappa2_drop=kappa2)
    lo, lam_r, hi = _measured_drop_fwhm(rg)
    # exact Airy half-width in phase: 2 arcsin((1 - rho) / (2 sqrt(rho))); phase = 2 pi n_g L / lam + const
    rho = rg.r1 * rg.r2 * rg.a
    half = 2 * math.asin((1 - rho) / (2 * math.sqrt(rho)))
    k = 2 * math.pi * N_G_500 * rg.circumference_um * 1e3
    assert math.isclose(hi - lo, k / (k / lam_r - half) - k / (k / lam_r + half), rel_tol=1e-8)
    # the closed-form FWHM is within 0.5 % for finesse >= 10 (docs/references.md §1)
    if rg.finesse >= 10:
        assert abs(rg.fwhm_nm / (hi - lo) - 1) < 5e-3
    assert math.isclose(rg.q_loaded, 1550.0 / rg.fwhm_nm, rel_tol=1e-12)
    assert math.isclose(rg.finesse, rg.fsr_nm / rg.fwhm_nm, rel_tol=1e-12)


def test_peak_drop_and_extinction_match_spectrum():
    rg = ring(kappa2_in=0.08, kappa2_drop=0.05, loss_db_per_cm=4.0)
    res = rg.resonances_nm((1540.0, 1565.0))
    through, drop = rg.spectrum(res)
    np.testing.assert_allclose(drop, rg.peak_drop, rtol=1e-12)
    # off resonance = half way in phase between two resonances (phase is linear in 1/lambda)
    mid = 2.0 / (1.0 / res[0] + 1.0 / res[1])
    t_off, _ = rg.spectrum(mid)
    assert math.isclose(rg.extinction_ratio_db, 10 * math.log10(t_off / through[0]), rel_tol=1e-9)
    lossless = ring(kappa2_in=0.05, kappa2_drop=0.05, loss_db_per_cm=0.0)
    assert math.isclose(lossless.peak_drop, 1.0, rel_tol=1e-12)
    assert lossless.q_intrinsic == math.inf


def test_circumference_coupling_and_loss():
    rg = ring(radius_um=5.0, kappa2_in=0.19, kappa2_drop=0.36, loss_db_per_cm=3.0)
    assert math.isclose(rg.circumference_um, 10 * math.pi, rel_tol=1e-15)
    assert math.isclose(rg.r1, 0.9, rel_tol=1e-15) and math.isclose(rg.r2, 0.8, rel_tol=1e-15)
    # a^2 = 10^(-loss_dB/cm * L_cm / 10)
    assert math.isclose(rg.a**2, 10 ** (-3.0 * 10 * math.pi * 1e-4 / 10), rel_tol=1e-12)
    assert rg.is_adddrop and not ring(kappa2_drop=None).is_adddrop
    assert ring(kappa2_drop=None).r2 == 1.0 and ring(kappa2_drop=None).peak_drop == 0.0


def test_detuning_moves_spectrum_rigidly():
    rg = ring(kappa2_in=0.02, kappa2_drop=0.02)
    lam = np.linspace(1548.0, 1552.0, 4001)
    det = np.array([[-0.3], [0.0], [0.45]])
    through, drop = rg.spectrum(lam, det)
    assert through.shape == drop.shape == (3, 4001)
    for row, d in zip(drop, det[:, 0]):
        np.testing.assert_allclose(row, rg.spectrum(lam - d)[1], rtol=1e-12)
    peaks = lam[np.argmax(drop, axis=1)]
    lam_r = rg.nearest_resonance_nm(1550.0)
    np.testing.assert_allclose(peaks - lam_r, det[:, 0], atol=1e-3)  # grid step 1 pm
    phase = rg.phase(lam_r + det[:, 0], det[:, 0])
    np.testing.assert_allclose(np.cos(phase), 1.0, atol=1e-12)


def test_allpass_spectrum_has_zero_drop_and_dip():
    rg = ring(kappa2_drop=None, kappa2_in=0.05)
    lam = np.linspace(1549, 1551, 11)
    through, drop = rg.spectrum(lam)
    np.testing.assert_array_equal(drop, 0.0)
    np.testing.assert_allclose(through, oracle_allpass(rg.phase(lam), rg.r1, rg.a), atol=1e-12)


def test_replace_keeps_resolved_indices():
    rg = ring()
    assert dataclasses.replace(rg, kappa2_in=0.1).n_g == N_G_500


def test_default_indices_come_from_waveguide_model():
    # docs/references.md §2, 500 nm x 220 nm: n_eff 2.4455, n_g 4.191; issue 2 tolerances 1 % / 3 %
    rg = RingDesign(10.0, 500.0, 220.0, kappa2_in=0.1)
    assert abs(rg.n_eff / N_EFF_500 - 1) < 0.01
    assert abs(rg.n_g / N_G_500 - 1) < 0.03
    wide = dataclasses.replace(rg, width_nm=800.0, n_eff=None, n_g=None)
    assert abs(wide.n_eff / 2.6885 - 1) < 0.01 and abs(wide.n_g / 3.904 - 1) < 0.03


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw, name, value",
    [
        (dict(radius_um=0.0), "radius_um", "0.0"),
        (dict(radius_um=-3.0), "radius_um", "-3.0"),
        (dict(radius_um=float("nan")), "radius_um", "nan"),
        (dict(width_nm=float("inf")), "width_nm", "inf"),
        (dict(kappa2_in=0.0), "kappa2_in", "0.0"),
        (dict(kappa2_in=1.0), "kappa2_in", "1.0"),
        (dict(kappa2_in=1.5), "kappa2_in", "1.5"),
        (dict(kappa2_drop=-0.1), "kappa2_drop", "-0.1"),
        (dict(loss_db_per_cm=-1.0), "loss_db_per_cm", "-1.0"),
        (dict(n_g=0.5), "n_g", "0.5"),
        (dict(wavelength_nm=-1550.0), "wavelength_nm", "-1550.0"),
        (dict(loss_db_per_cm=1e9), "loss_db_per_cm", "1000000000.0"),
    ],
)
def test_ring_design_rejects_bad_input(kw, name, value, rejected):
    with rejected(ValueError, name, value):
        ring(**kw)


def test_ring_design_rejects_non_numbers():
    with pytest.raises(TypeError, match="radius_um"):
        ring(radius_um="ten")
    with pytest.raises(TypeError):
        RingDesign(10.0, n_eff=2.4, n_g=4.2)  # kappa2_in is required


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: mrr.allpass_through(np.nan, 0.9, 0.9), "phi"),
        (lambda: mrr.allpass_through(0.0, 1.2, 0.9), "r"),
        (lambda: mrr.adddrop_drop(0.0, 0.9, 0.9, -0.1), "a"),
        (lambda: mrr.adddrop_through(0.0, 0.9, [0.9, np.inf], 0.9), "r2"),
        (lambda: mrr.adddrop_drop_field(0.0, 1.0, 1.0, 1.0), "r1*r2*a"),
        (lambda: mrr.allpass_through_field([0.0, 1.0], [0.9, 1.0], 1.0), "r*a"),
        (lambda: ring().resonances_nm((1560.0, 1540.0)), "band"),
        (lambda: ring().resonances_nm((-1.0, 1540.0)), "band"),
        (lambda: ring().spectrum([1550.0, -2.0]), "wavelengths_nm"),
        (lambda: ring().spectrum(1550.0, 1600.0), "detuning_nm"),
        (lambda: ring().phase(1550.0, np.nan), "detuning_nm"),
    ],
)
def test_functions_reject_bad_input(call, name, rejected):
    with rejected(ValueError, name):
        call()


# --- per-ring arrays (the Monte Carlo case): fused validation, same results -------------------------
def per_ring_args(seed, n):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-40.0, 700.0, n), rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 1.0, n),
            rng.uniform(0.0, 1.0, n))


@pytest.mark.parametrize("n", [7, 3 * mrr.PARALLEL_MIN_WORK + 5])  # serial and parallel builds
def test_per_ring_arrays_equal_numpy_oracle(n):
    phi, r1, r2, a = per_ring_args(5, n)
    r1[:3], r2[:3], a[:3] = (0.0, 1.0, 0.5), (1.0, 0.0, 1.0), (0.5, 0.9, 0.0)  # the ends of [0, 1]
    np.testing.assert_allclose(mrr.adddrop_through(phi, r1, r2, a), oracle_through(phi, r1, r2, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_drop(phi, r1, r2, a), oracle_drop(phi, r1, r2, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.allpass_through(phi, r1, a), oracle_allpass(phi, r1, a), rtol=0, atol=1e-12)
    through, drop = oracle_fields(phi, r1, r2, a)
    np.testing.assert_allclose(mrr.adddrop_through_field(phi, r1, r2, a), through, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_drop_field(phi, r1, r2, a), drop, rtol=0, atol=1e-12)
    # one coupling per ring (rows) against a phase per ring and wavelength, and one phase for all
    rows = min(n, 40)
    cols = n // rows
    p2, c1, c2, ca = phi[: rows * cols].reshape(rows, cols), r1[:rows, None], r2[:rows, None], a[:rows, None]
    np.testing.assert_allclose(mrr.adddrop_drop(p2, c1, c2, ca), oracle_drop(p2, c1, c2, ca), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mrr.adddrop_through(0.7, r1, r2, a), oracle_through(0.7, r1, r2, a), rtol=0, atol=1e-12)


def test_per_ring_arrays_equal_one_ring_at_a_time():
    # the vectorised kernel paths (a coupling per element, per row, scalars) give the very same
    # bits as evaluating each ring alone
    phi, r1, r2, a = per_ring_args(6, 2 * mrr.PARALLEL_MIN_WORK)
    idx = np.random.default_rng(7).choice(phi.size, 40, replace=False)
    for fn in (mrr.adddrop_through, mrr.adddrop_drop, mrr.adddrop_through_field, mrr.adddrop_drop_field):
        full = fn(phi, r1, r2, a)
        rows = fn(phi.reshape(-1, 64), r1[::64, None], r2[::64, None], a[::64, None])
        for i in idx:
            assert full[i] == fn(phi[i], r1[i], r2[i], a[i]), (fn.__name__, i)
            row, col = divmod(int(i), 64)
            assert rows[row, col] == fn(phi[i], r1[row * 64], r2[row * 64], a[row * 64]), (fn.__name__, i)


_ALL_FUNCTIONS = [mrr.allpass_through, mrr.adddrop_through, mrr.adddrop_drop,
                  mrr.allpass_through_field, mrr.adddrop_through_field, mrr.adddrop_drop_field]


@pytest.mark.parametrize("fn", _ALL_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [9, 2 * mrr.PARALLEL_MIN_WORK + 3])
def test_per_ring_arrays_refuse_each_bad_element_by_name(fn, n, rejected):
    allpass = fn.__name__.startswith("allpass")
    names = ["phi", "r", "a"] if allpass else ["phi", "r1", "r2", "a"]
    for arg in range(len(names)):
        for pos in (0, n // 2, n - 1):
            for bad in ([np.nan, np.inf, -np.inf] if arg == 0 else [np.nan, np.inf, -0.25, 1.5]):
                args = list(per_ring_args(8, n))
                if allpass:
                    del args[2]
                args[arg] = args[arg].copy()
                args[arg][pos] = bad
                words = (names[arg], repr(float(bad)) if np.isfinite(bad) else str(bad), f"at index {pos}", "allowed")
                with rejected(ValueError, *words):
                    fn(*args)


_ORACLES = {
    "allpass_through": oracle_allpass,
    "adddrop_through": oracle_through,
    "adddrop_drop": oracle_drop,
    "allpass_through_field": lambda phi, r, a: oracle_fields(phi, r, 1.0, a)[0],
    "adddrop_through_field": lambda *args: oracle_fields(*args)[0],
    "adddrop_drop_field": lambda *args: oracle_fields(*args)[1],
}


@pytest.mark.parametrize("fn", _ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_per_ring_arrays_across_chunk_boundaries(fn, rejected):
    # rows of two parallel chunks and one element (the last chunk one element long), flat (n,) and
    # (3, n) with per-ring couplings (3, n) and (3, 1): results equal the oracle, and a bad element on
    # either side of a chunk boundary or in the one-element chunk is refused with its argument and index
    allpass = fn.__name__.startswith("allpass")
    names = ["phi", "r", "a"] if allpass else ["phi", "r1", "r2", "a"]
    chunk = mrr._CHUNK
    n = 2 * chunk + 1
    phi, r1, r2, a = per_ring_args(11, (3, n))
    layouts = {"flat": (phi[0], r1[0], r2[0], a[0]), "rows": (phi, r1, r2, a),
               "rows, one coupling per ring": (phi, r1[:, :1], r2[:, :1], a[:, :1])}
    for layout, args in layouts.items():
        args = [args[0], args[1], args[3]] if allpass else list(args)
        np.testing.assert_allclose(fn(*args), _ORACLES[fn.__name__](*args), rtol=0, atol=1e-12, err_msg=layout)
        for arg, name in enumerate(names):
            if layout.endswith("per ring") and arg > 0:
                continue  # a (3, 1) coupling has no column boundary
            for col, bad in ((chunk - 1, np.nan), (chunk, 1.5 if arg else np.inf), (n - 1, -0.25 if arg else -np.inf)):
                bad_args = [x.copy() for x in args]
                where = (col,) if layout == "flat" else (2, col)
                bad_args[arg][where] = bad
                index = f"at index {col}" if layout == "flat" else f"at index (2, {col})"
                with rejected(ValueError, name, repr(float(bad)) if np.isfinite(bad) else str(bad), index, "allowed"):
                    fn(*bad_args)


@pytest.mark.parametrize("fn", _ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_lossless_uncoupled_element_refused_with_its_index(fn, rejected):
    allpass = fn.__name__.startswith("allpass")
    phi, r1, r2, a = per_ring_args(9, (3, 5))
    r1[2, 4] = r2[2, 4] = a[2, 4] = 1.0
    phi[2, 4] = 0.0  # the zero denominator: refused, never evaluated
    args = (phi, r1, a) if allpass else (phi, r1, r2, a)
    with rejected(ValueError, "r*a" if allpass else "r1*r2*a", "at index (2, 4)", "< 1"):
        fn(*args)


def test_bad_input_reported_in_argument_order_and_shapes_named(rejected):
    phi, r1, r2, a = per_ring_args(10, 6)
    phi[4], r1[1], a[0] = np.nan, 2.0, -1.0
    with rejected(ValueError, "phi", "nan", "index 4"):
        mrr.adddrop_drop(phi, r1, r2, a)
    phi[4] = 0.0
    with rejected(ValueError, "r1=2.0", "index 1", ">= 0.0 and <= 1.0"):
        mrr.adddrop_drop(phi, r1, r2, a)
    r1[1] = 0.5
    r1[3] = np.nan  # non-finite before out of range within one argument, as the other checks
    with rejected(ValueError, "r1", "non-finite", "nan", "index 3"):
        mrr.adddrop_drop(phi, r1, r2, a)
    r1[3] = 0.5
    with rejected(ValueError, "a=-1.0", "index 0"):
        mrr.adddrop_drop(phi, r1, r2, a)
    a[0] = 0.5
    with rejected(ValueError, "phi shape (6,)", "r2 shape (4,)", "broadcast"):
        mrr.adddrop_drop(phi, r1, r2[:4], a)
    with rejected(ValueError, "r2=1.5"):  # a bad value is named before a shape mismatch
        mrr.adddrop_drop(phi, r1, np.full(4, 1.5), a)
    with rejected(ValueError, "r1=1.2", "allowed"):  # empty broadcast: still checked
        mrr.adddrop_drop(np.empty(0), 1.2, 0.9, 0.9)
    with pytest.raises(TypeError, match="r2"):
        mrr.adddrop_drop(phi, r1, "x", a)
