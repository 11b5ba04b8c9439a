"""photonics.xnor: two-ring XNOR bank against a NumPy matrix-cascade oracle and closed forms."""
import itertools
import math

import numpy as np
import pytest

from photonics import mrr, xnor
from photonics.mrr import RingDesign

# docs/references.md §2 indices: 500 nm (activation ring) and 800 nm (variation-tolerant weight ring).
ACT = dict(radius_um=5.0, n_eff=2.4455, n_g=4.191)
WEIGHT = dict(radius_um=6.0, width_nm=800.0, n_eff=2.6885, n_g=3.904)
XNOR_TABLE = np.array([[1.0, -1.0], [-1.0, 1.0]])  # [a01, w01] -> a*w in ±1 form


def make(geometry, kappa2_in, kappa2_drop=None, loss_db_per_cm=0.0):
    return RingDesign(**geometry, kappa2_in=kappa2_in,
                      kappa2_drop=kappa2_in if kappa2_drop is None else kappa2_drop,
                      loss_db_per_cm=loss_db_per_cm)


# --- NumPy oracle: explicit 2x2 power matrices along the bus --------------------------------------
def ring_matrix(rg, resonance_nm, extra_shift_nm, lam):
    """[[T_A, D], [D, T_B]] of ``rg`` with its comb moved so a resonance sits at ``resonance_nm``,
    then moved by ``extra_shift_nm``; textbook cos-form Airy with first-order dispersion."""
    comb = rg.resonances_nm((1400.0, 1700.0))
    shift = resonance_nm - comb[np.argmin(np.abs(1 / comb - 1 / resonance_nm))] + extra_shift_nm
    x = lam - shift
    n_eff = rg.n_eff - (rg.n_g - rg.n_eff) * (x - rg.wavelength_nm) / rg.wavelength_nm
    c = math.cos(2 * math.pi * n_eff * rg.circumference_um * 1e3 / x)
    r1, r2, a = math.sqrt(1 - rg.kappa2_in), math.sqrt(1 - rg.kappa2_drop), rg.a
    den = 1 - 2 * r1 * r2 * a * c + (r1 * r2 * a) ** 2
    t_a = (r2**2 * a**2 - 2 * r1 * r2 * a * c + r1**2) / den
    t_b = (r1**2 * a**2 - 2 * r1 * r2 * a * c + r2**2) / den
    d = (1 - r1**2) * (1 - r2**2) * a / den
    return np.array([[t_a, d], [d, t_b]])


def oracle_powers(act, weight, channels, act_res, weight_res, modulation, park, neighbours):
    """Powers on buses A and B of each cell's channel, [a01, w01], by multiplying the 2x2 ring matrices."""
    n = len(channels)
    return oracle_powers_per_ring([act] * n, [weight] * n, channels, act_res, weight_res, modulation, park, neighbours)


def levels(act, weight, channels, act_res, weight_res, modulation, park, neighbours=True):
    return xnor.bank_levels(act, weight, channels_nm=channels, act_residual_nm=act_res,
                            weight_residual_nm=weight_res, modulation_nm=modulation, park_nm=park,
                            neighbours=neighbours)


@pytest.mark.parametrize("neighbours", [True, False])
def test_bank_equals_matrix_cascade_oracle(neighbours):
    # heterogeneous, lossy, asymmetric rings; channels 3 linewidths apart so neighbours matter
    act = make(ACT, 0.03, 0.02, loss_db_per_cm=3.0)
    weight = make(WEIGHT, 0.02, 0.025, loss_db_per_cm=1.0)
    channels = 1550.0 + 0.25 * np.arange(5)
    rng = np.random.default_rng(7)
    act_res, weight_res = rng.normal(0, 0.03, 5), rng.normal(0, 0.03, 5)
    p_a, p_b = xnor.bank_output_powers(act, weight, channels_nm=channels, act_residual_nm=act_res,
                                       weight_residual_nm=weight_res, modulation_nm=0.12, park_nm=-0.2,
                                       neighbours=neighbours)
    o_a, o_b = oracle_powers(act, weight, channels, act_res, weight_res, 0.12, -0.2, neighbours)
    np.testing.assert_allclose(p_a, o_a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(p_b, o_b, rtol=0, atol=1e-10)
    lv = levels(act, weight, channels, act_res, weight_res, 0.12, -0.2, neighbours)
    np.testing.assert_allclose(lv, o_a - o_b, rtol=0, atol=1e-10)


def test_large_batch_parallel_build_matches_oracle():
    act = make(ACT, 0.03, 0.02, loss_db_per_cm=3.0)
    weight = make(WEIGHT, 0.02, 0.025, loss_db_per_cm=1.0)
    n, n_banks = 12, 60
    assert n_banks * n * n * 4 >= mrr.PARALLEL_MIN_WORK  # runs the prange build
    channels = 1550.0 + 0.3 * np.arange(n)
    rng = np.random.default_rng(8)
    act_res, weight_res = rng.normal(0, 0.03, (2, n_banks, n))
    p_a, p_b = xnor.bank_output_powers(act, weight, channels_nm=channels, act_residual_nm=act_res,
                                       weight_residual_nm=weight_res, modulation_nm=0.15, park_nm=0.2)
    for b in (0, n_banks - 1):
        o_a, o_b = oracle_powers(act, weight, channels, act_res[b], weight_res[b], 0.15, 0.2, True)
        np.testing.assert_allclose(p_a[b], o_a, rtol=0, atol=1e-10)
        np.testing.assert_allclose(p_b[b], o_b, rtol=0, atol=1e-10)


def test_single_cell_closed_form_product_of_t_minus_d():
    # symmetric rings: [1, -1] is a left eigenvector of [[T, D], [D, T]] with eigenvalue T - D, so
    # c(a, w) = (T - D)_act(a) * (T - D)_weight(w)
    act = make(ACT, 0.04, loss_db_per_cm=2.0)
    weight = make(WEIGHT, 0.03, loss_db_per_cm=2.0)
    ch = np.array([1551.0])
    res_a, res_w, mod, park = 0.02, -0.015, 0.1, 0.3
    m_a = [ring_matrix(act, ch[0] + res_a, s, ch[0]) for s in (mod, 0.0)]
    m_w = [ring_matrix(weight, ch[0] + res_w, s, ch[0]) for s in (park, 0.0)]
    expected = np.array([[(ma[0, 0] - ma[0, 1]) * (mw[0, 0] - mw[0, 1]) for mw in m_w] for ma in m_a])
    lv = levels(act, weight, ch, res_a, res_w, mod, park)
    # the oracle forms the ~600 rad phase in a different operation order (~1e-13 rad apart),
    # and dT/dphi reaches ~1/(1 - r1 r2 a) ~ 50 on the resonance flank
    np.testing.assert_allclose(lv[0], expected, rtol=0, atol=1e-10)


def test_ideal_rings_give_xnor_table():
    # lossless symmetric rings, no residual, bit-0 shift 50 linewidths: on resonance T - D = -1
    # exactly, off it T - D = 1 - 2 D_off with D_off <= (pi^2/4) / (1 + (2*50)^2) (Lorentzian
    # times the pi^2/4 worst-case Airy/Lorentzian ratio, docs/references.md §1).
    act = make(ACT, 0.02)
    weight = make(WEIGHT, 0.02)
    shift = 50 * max(act.fwhm_nm, weight.fwhm_nm)
    assert shift < min(act.fsr_nm, weight.fsr_nm) / 2
    d_off = (math.pi**2 / 4) / (1 + 100**2)
    channels = np.array([1550.0])
    lv = levels(act, weight, channels, 0.0, 0.0, shift, shift)
    assert np.max(np.abs(lv[0] - XNOR_TABLE)) <= 4 * d_off
    alpha, beta, gamma, delta = xnor.coefficients(lv)[0]
    assert max(abs(alpha), abs(beta), abs(gamma)) <= 2 * d_off and abs(delta - 1) <= 2 * d_off
    # the error vanishes as the bit-0 shift grows (the ideal table is the limit)
    errs = [np.max(np.abs(levels(act, weight, channels, 0.0, 0.0, f * act.fwhm_nm, f * weight.fwhm_nm)[0]
                          - XNOR_TABLE)) for f in (2, 5, 20, 60)]
    assert all(e1 > e2 for e1, e2 in zip(errs, errs[1:]))


def test_coefficients_invert_four_level_system():
    rng = np.random.default_rng(11)
    lv = rng.uniform(-1, 1, (7, 5, 2, 2))
    coef = xnor.coefficients(lv)
    assert coef.shape == (7, 5, 4)
    # c(a, w) = alpha + beta a + gamma w + delta a w for (a01, w01) in row-major order
    rows = np.array([[1, 2 * i - 1, 2 * k - 1, (2 * i - 1) * (2 * k - 1)] for i in (0, 1) for k in (0, 1)], float)
    solved = np.linalg.solve(rows, lv.reshape(-1, 4).T).T.reshape(7, 5, 4)
    np.testing.assert_allclose(coef, solved, rtol=0, atol=1e-12)


@pytest.mark.parametrize("role", ["act", "weight"])
def test_detuning_reduces_delta_monotonically(role):
    act = make(ACT, 0.02, loss_db_per_cm=2.0)
    weight = make(WEIGHT, 0.02, loss_db_per_cm=2.0)
    channels = np.array([1550.0])
    fwhm = act.fwhm_nm if role == "act" else weight.fwhm_nm
    residual = np.linspace(0.0, 3.0, 13) * fwhm
    res = residual[:, None]  # batch of 13 single-cell banks
    args = (res, 0.0) if role == "act" else (0.0, res)
    delta = xnor.coefficients(levels(act, weight, channels, *args, 1.5, 1.5))[:, 0, 3]
    assert np.all(np.diff(np.abs(delta)) < 0)


def test_passivity_and_batch_shapes():
    act = make(ACT, 0.03, 0.02, loss_db_per_cm=4.0)
    weight = make(WEIGHT, 0.02, 0.03, loss_db_per_cm=2.0)
    n = 12
    channels = 1550.0 + 0.15 * np.arange(n)  # dense grid: strong neighbour leakage
    rng = np.random.default_rng(5)
    act_res = rng.normal(0, 0.05, (3, 2, n))
    weight_res = rng.normal(0, 0.05, (2, n))
    p_a, p_b = xnor.bank_output_powers(act, weight, channels_nm=channels, act_residual_nm=act_res,
                                       weight_residual_nm=weight_res, modulation_nm=0.1, park_nm=0.2)
    assert p_a.shape == p_b.shape == (3, 2, n, 2, 2)
    assert np.all(p_a >= 0) and np.all(p_b >= 0) and np.all(p_a + p_b <= 1 + 1e-12)
    lv = levels(act, weight, channels, act_res, weight_res, 0.1, 0.2)
    single = levels(act, weight, channels, act_res[2, 1], weight_res[1], 0.1, 0.2)
    np.testing.assert_allclose(lv[2, 1], single, rtol=0, atol=1e-14)


def test_all_levels_equal_with_scalar_residuals():
    act, weight = make(ACT, 0.02), make(WEIGHT, 0.02)
    ch = 1550.0 + np.arange(3.0)
    np.testing.assert_array_equal(levels(act, weight, ch, 0.01, 0.0, 0.5, 0.5),
                                  levels(act, weight, ch, np.full(3, 0.01), np.zeros(3), 0.5, 0.5))


def _call(**over):
    kw = dict(act_ring=make(ACT, 0.02), weight_ring=make(WEIGHT, 0.02), channels_nm=[1550.0, 1551.0],
              act_residual_nm=0.0, weight_residual_nm=0.0, modulation_nm=0.5, park_nm=0.5)
    kw.update(over)
    return xnor.bank_levels(kw.pop("act_ring"), kw.pop("weight_ring"), **kw)


@pytest.mark.parametrize(
    "over, exc, name",
    [
        (dict(act_ring=RingDesign(**ACT, kappa2_in=0.02)), ValueError, "act_ring"),
        (dict(weight_ring="ring"), TypeError, "weight_ring"),
        (dict(channels_nm=[[1550.0, 1551.0]]), ValueError, "channels_nm"),
        (dict(channels_nm=[1550.0, 0.0]), ValueError, "channels_nm"),
        (dict(act_residual_nm=np.zeros(3)), ValueError, "act_residual_nm"),
        (dict(weight_residual_nm=[0.0, np.nan]), ValueError, "weight_residual_nm"),
        (dict(modulation_nm=0.0), ValueError, "modulation_nm"),
        (dict(park_nm=np.inf), ValueError, "park_nm"),
        (dict(park_nm=[0.1, 0.2]), ValueError, "park_nm"),
        (dict(neighbours="yes"), TypeError, "neighbours"),
    ],
)
def test_bank_levels_bad_input(over, exc, name, rejected):
    with rejected(exc, name):
        _call(**over)


def test_coefficients_bad_input():
    with pytest.raises(ValueError, match="levels"):
        xnor.coefficients(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="levels"):
        xnor.coefficients(np.full((1, 2, 2), np.nan))


# --- per-ring couplings (coupling-gap variation) ----------------------------------------------
def oracle_powers_per_ring(acts, weights, channels, act_res, weight_res, modulation, park, neighbours):
    """Ring k of each role is its own RingDesign (own κ²): matrix product along the bus, the other
    cells' rings at the mean of their two states when ``neighbours``."""
    n = len(channels)
    out = np.empty((n, 2, 2, 2))
    for j, lam in enumerate(channels):
        mats = {}
        for k in range(n):
            for role, (rg, res, shift) in enumerate(((acts[k], act_res, modulation), (weights[k], weight_res, park))):
                mats[k, role] = (ring_matrix(rg, channels[k] + res[k], shift, lam),
                                 ring_matrix(rg, channels[k] + res[k], 0.0, lam))
        for bit_a, bit_w in itertools.product((0, 1), (0, 1)):
            v = np.array([1.0, 0.0])
            for k in range(n):
                for role, bit in ((0, bit_a), (1, bit_w)):
                    if k == j:
                        v = mats[k, role][bit] @ v
                    elif neighbours:
                        v = 0.5 * (mats[k, role][0] + mats[k, role][1]) @ v
            out[j, bit_a, bit_w] = v
    return out[..., 0], out[..., 1]


@pytest.mark.parametrize("neighbours", [True, False])
def test_per_ring_couplings_equal_the_oracle_with_one_design_per_ring(neighbours):
    import dataclasses

    act = make(ACT, 0.03, 0.02, loss_db_per_cm=3.0)
    weight = make(WEIGHT, 0.02, 0.025, loss_db_per_cm=1.0)
    channels = 1550.0 + 0.25 * np.arange(5)
    rng = np.random.default_rng(11)
    act_res, weight_res = rng.normal(0, 0.03, 5), rng.normal(0, 0.03, 5)
    k2 = {name: base * (1 + rng.normal(0, 0.2, 5)) for name, base in
          (("act_kappa2_in", 0.03), ("act_kappa2_drop", 0.02), ("weight_kappa2_in", 0.02), ("weight_kappa2_drop", 0.025))}
    acts = [dataclasses.replace(act, kappa2_in=k2["act_kappa2_in"][i], kappa2_drop=k2["act_kappa2_drop"][i]) for i in range(5)]
    weights = [dataclasses.replace(weight, kappa2_in=k2["weight_kappa2_in"][i], kappa2_drop=k2["weight_kappa2_drop"][i])
               for i in range(5)]
    p_a, p_b = xnor.bank_output_powers(act, weight, channels_nm=channels, act_residual_nm=act_res,
                                       weight_residual_nm=weight_res, modulation_nm=0.12, park_nm=-0.2,
                                       neighbours=neighbours, **k2)
    o_a, o_b = oracle_powers_per_ring(acts, weights, channels, act_res, weight_res, 0.12, -0.2, neighbours)
    np.testing.assert_allclose(p_a, o_a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(p_b, o_b, rtol=0, atol=1e-10)
    # and they differ from the design's couplings by far more than the tolerance
    d_a, _ = xnor.bank_output_powers(act, weight, channels_nm=channels, act_residual_nm=act_res,
                                     weight_residual_nm=weight_res, modulation_nm=0.12, park_nm=-0.2,
                                     neighbours=neighbours)
    assert np.max(np.abs(d_a - p_a)) > 1e-3


@pytest.mark.parametrize("banks", [(), (3,), (2, 700)])  # (2, 700): the parallel build
def test_constant_couplings_reproduce_the_scalar_result_exactly(banks):
    act = make(ACT, 0.03, 0.02, loss_db_per_cm=3.0)
    weight = make(WEIGHT, 0.02, 0.025, loss_db_per_cm=1.0)
    channels = 1550.0 + 0.4 * np.arange(6)
    rng = np.random.default_rng(3)
    act_res, weight_res = rng.normal(0, 0.03, banks + (6,)), rng.normal(0, 0.03, banks + (6,))
    kw = dict(channels_nm=channels, act_residual_nm=act_res, weight_residual_nm=weight_res, modulation_nm=-0.2,
              park_nm=-0.2)
    scalar = xnor.bank_levels(act, weight, **kw)
    const = xnor.bank_levels(act, weight, act_kappa2_in=np.full(banks + (6,), 0.03), act_kappa2_drop=0.02,
                             weight_kappa2_in=np.full(6, 0.02), weight_kappa2_drop=np.full(banks + (6,), 0.025), **kw)
    np.testing.assert_array_equal(const, scalar)


def test_per_bank_couplings_match_bank_by_bank():
    act = make(ACT, 0.03)
    weight = make(WEIGHT, 0.02)
    channels = 1550.0 + 0.4 * np.arange(4)
    rng = np.random.default_rng(5)
    res = rng.normal(0, 0.02, (3, 4))
    k2 = 0.03 * (1 + rng.normal(0, 0.1, (3, 4)))
    kw = dict(channels_nm=channels, weight_residual_nm=0.0, modulation_nm=-0.2, park_nm=-0.2)
    batch = xnor.bank_levels(act, weight, act_residual_nm=res, act_kappa2_in=k2, **kw)
    for b in range(3):
        np.testing.assert_array_equal(batch[b], xnor.bank_levels(act, weight, act_residual_nm=res[b],
                                                                 act_kappa2_in=k2[b], **kw))


def test_weaker_drop_coupling_lowers_the_gain():
    # δ of an on-resonance cell falls when a ring's drop coupling is weakened (less peak drop)
    act, weight = make(ACT, 0.03), make(WEIGHT, 0.03)
    kw = dict(channels_nm=[1550.0], act_residual_nm=0.0, weight_residual_nm=0.0, modulation_nm=-0.4,
              park_nm=-0.4, neighbours=False)
    deltas = [xnor.coefficients(xnor.bank_levels(act, weight, act_kappa2_drop=k, **kw))[0, 3]
              for k in (0.03, 0.02, 0.01)]
    assert deltas[0] > deltas[1] > deltas[2]


@pytest.mark.parametrize("name", ["act_kappa2_in", "act_kappa2_drop", "weight_kappa2_in", "weight_kappa2_drop"])
def test_bad_per_ring_couplings(name, rejected):
    with rejected(ValueError, name, "1.0"):
        _call(**{name: [0.02, 1.0]})
    with rejected(ValueError, name, "0.0"):
        _call(**{name: 0.0})
    with rejected(ValueError, "must broadcast"):
        _call(**{name: np.full(3, 0.02)})
