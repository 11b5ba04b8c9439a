"""photonics.variation: level sigmas against docs/references.md §3, the intra-die kernel, reproducibility.

Statistical tolerances are derived from the sample size n and written out per test:
* std of a Gaussian level: s/σ − 1 has standard error 1/sqrt(2(n − 1)); allowed 4.5 SE.
* std of a non-Gaussian level: SE(s²) = sqrt((m4 − s⁴)/n) with m4 the sample 4th central moment.
* correlation: Fisher z = atanh(r) ~ N(atanh(ρ), 1/(n − 3)); allowed 4.5/sqrt(n − 3).
"""
import dataclasses
import math

import numpy as np
import pytest

from photonics import variation as var

Z = 4.5  # standard errors allowed (two-sided p ≈ 7e-6 per check)
ZERO_FAB = var.FabricationModel(**{f.name: 0.0 for f in dataclasses.fields(var.FabricationModel) if f.name.startswith("sigma_")})
ELL_UM = 4500.0  # docs/references.md §3: correlation length 4.5 mm (Lu et al. 2017)
# docs/references.md §2 sensitivities (nm/nm) at 220 nm thickness
S500 = (0.58, 1.37)
S800 = (0.157, 1.38)


def only(**sigmas) -> var.FabricationModel:
    return dataclasses.replace(ZERO_FAB, **sigmas)


def gaussian_std_ok(x, sigma):
    n = x.size
    return abs(x.std(ddof=1) / sigma - 1.0) <= Z / math.sqrt(2 * (n - 1))


def any_std_ok(x, sigma):
    n = x.size
    s2 = x.var(ddof=1)
    m4 = np.mean((x - x.mean()) ** 4)
    return abs(s2 - sigma**2) <= Z * math.sqrt((m4 - s2**2) / n)


def res_sigma(model, level, sens):
    return math.hypot(sens[0] * getattr(model, f"sigma_w_{level}_nm"), sens[1] * getattr(model, f"sigma_t_{level}_nm"))


# ---------------------------------------------------------------- defaults vs docs/references.md §3

def test_default_split_matches_published_figures():
    m = var.FabricationModel()
    # Zortman 2010 extracts width and thickness spreads alike (±5 nm each): a 1:1 split, per level too
    assert m.sigma_w_total_nm == m.sigma_t_total_nm
    for level in ("wafer", "die", "field", "ring"):
        assert getattr(m, f"sigma_w_{level}_nm") == getattr(m, f"sigma_t_{level}_nm")
    # the split keeps the resonance σ of the layout-aware Monte Carlo totals σ_w 5, σ_t 2 nm at 500 nm
    # (docs/references.md §3: ≈4.0 nm; computed with the §2 table's 0.58 / 1.37 nm/nm, 1 % allowed)
    assert abs(math.hypot(0.58 * m.sigma_w_total_nm, 1.37 * m.sigma_t_total_nm) - math.hypot(0.58 * 5, 1.37 * 2)) <= 0.04
    assert m.corr_length_um == ELL_UM
    # accelerator studies: die-to-die resonance σ 0.33 nm, local σ 0.17 nm (2 % rounding allowed)
    assert abs(res_sigma(m, "die", S500) - 0.33) <= 0.02 * 0.33
    local = math.hypot(res_sigma(m, "field", S500), res_sigma(m, "ring", S500))
    assert abs(local - 0.17) <= 0.02 * 0.17
    # Zortman 2010: within-die ≈ 105 GHz ≈ 0.84 nm spread ≈ 5 local σ (10 % allowed)
    assert abs(5 * local - 0.84) <= 0.084
    # cross-wafer ±1 THz ≈ ±8 nm read as ±2σ of the wafer term (5 % allowed)
    assert abs(2 * res_sigma(m, "wafer", S500) - 8.0) <= 0.4
    # resonance σ for σ_w 5, σ_t 2: ≈4.0 nm at 500 nm and ≈2.9 nm at 800 nm width (docs/references.md §3, 3 % allowed)
    assert abs(math.hypot(S500[0] * 5, S500[1] * 2) - 4.0) <= 0.12
    assert abs(math.hypot(S800[0] * 5, S800[1] * 2) - 2.9) <= 0.09
    # the 1:1 split moves the 500 and 800 nm rings more alike: differential σ (width only, thickness
    # sensitivities nearly equal) is (0.58 - 0.157)·σ_w of the §2 table, 1.13 nm instead of 2.1 nm
    assert abs(math.hypot((S500[0] - S800[0]) * m.sigma_w_total_nm, (S500[1] - S800[1]) * m.sigma_t_total_nm)
               - (0.58 - 0.157) * m.sigma_w_total_nm) <= 0.05


def test_kernel_convention_is_exp_minus_d2_over_2l2():
    m = var.FabricationModel()
    assert math.isclose(m.correlation(ELL_UM), math.exp(-0.5), rel_tol=1e-12)
    np.testing.assert_allclose(m.correlation(np.array([0.0, 2 * ELL_UM])), [1.0, math.exp(-2.0)], rtol=1e-12)


# ---------------------------------------------------------------- reproducibility

@pytest.mark.parametrize("seed,chip", [(0, 0), (12345, 7), (2**40, 999)])
def test_chip_seed_sequence_equals_spawned_child(seed, chip):
    expected = np.random.SeedSequence(seed).spawn(chip + 1)[chip]
    got = var.chip_seed_sequence(seed, chip)
    assert np.array_equal(got.generate_state(8), expected.generate_state(8))


def test_any_subset_of_chips_reproduces_the_full_run():
    xy = np.random.default_rng(1).uniform(0, 3000, (500, 2))
    full = var.sample_chips(xy, range(6), seed=11)
    for chip in (0, 3, 5):
        one = var.sample_chip(xy, seed=11, chip=chip)
        for name in ("dw_nm", "dt_nm", "dT_K", "die_xy_mm"):
            assert getattr(one, name).tobytes() == getattr(full, name)[chip].tobytes()
    subset = var.sample_chips(xy, [4, 1], seed=11)
    assert subset.dw_nm.tobytes() == full.dw_nm[[4, 1]].tobytes()
    other = var.sample_chip(xy, seed=12, chip=3)
    assert not np.array_equal(other.dw_nm, full.dw_nm[3])
    assert not np.array_equal(full.dw_nm[0], full.dw_nm[1])


# ---------------------------------------------------------------- level sigmas

def test_per_ring_level_is_uncorrelated_with_its_sigma():
    m = only(sigma_w_ring_nm=0.7, sigma_t_ring_nm=0.3)
    xy = np.stack(np.meshgrid(np.arange(200) * 5.0, np.arange(200) * 5.0), -1).reshape(-1, 2)  # 40,000 rings
    cv = var.sample_chip(xy, seed=3, chip=0, fab=m)
    assert gaussian_std_ok(cv.dw_nm, 0.7) and gaussian_std_ok(cv.dt_nm, 0.3)
    n = cv.dw_nm.size
    # neighbouring rings 5 µm apart: correlation 0 within Fisher-z tolerance
    r = np.corrcoef(cv.dw_nm[:-1], cv.dw_nm[1:])[0, 1]
    assert abs(math.atanh(r)) <= Z / math.sqrt(n - 4)
    assert abs(math.atanh(np.corrcoef(cv.dw_nm, cv.dt_nm)[0, 1])) <= Z / math.sqrt(n - 3)


def test_die_level_is_one_offset_per_chip():
    m = only(sigma_w_die_nm=0.41, sigma_t_die_nm=0.165)
    xy = np.array([[0.0, 0.0], [2000.0, 500.0], [4000.0, 4000.0]])
    cv = var.sample_chips(xy, range(3000), seed=5, fab=m)
    assert np.all(cv.dw_nm == cv.dw_nm[:, :1]) and np.all(cv.dt_nm == cv.dt_nm[:, :1])
    assert gaussian_std_ok(cv.dw_nm[:, 0], 0.41) and gaussian_std_ok(cv.dt_nm[:, 0], 0.165)


def test_wafer_level_sigma_and_bowl_closed_form():
    m = only(sigma_w_wafer_nm=4.98, sigma_t_wafer_nm=1.99)
    xy = np.array([[0.0, 0.0]])
    cv = var.sample_chips(xy, range(4000), seed=9, fab=m)
    x, y = cv.dw_nm[:, 0], cv.dt_nm[:, 0]
    assert any_std_ok(x, 4.98) and any_std_ok(y, 1.99)
    assert abs(x.mean()) <= Z * x.std() / math.sqrt(x.size)
    # dies uniform over the 150 mm wafer disk
    r = np.hypot(*cv.die_xy_mm.T)
    assert r.max() <= 75.0
    assert abs(np.mean((r / 75.0) ** 2) - 0.5) <= Z * math.sqrt(1 / 12 / r.size)  # ρ² ~ U(0, 1)
    # die at the wafer centre: tilt vanishes, bowl = ±σ·sqrt(12 f)·(0 − 1/2), f = 0.5
    centre = var.sample_chips(xy, range(50), seed=9, fab=dataclasses.replace(m, die_xy_mm=(0.0, 0.0)))
    np.testing.assert_allclose(np.abs(centre.dw_nm), 4.98 * math.sqrt(12 * 0.5) / 2, rtol=1e-12)
    assert len(np.unique(np.sign(centre.dw_nm))) == 2  # bowl sign random per wafer


@pytest.fixture(scope="module")
def field_samples():
    """Field-only samples at rings spaced 0 ... 3ℓ from ring 0 (and one diagonal)."""
    m = only(sigma_w_field_nm=0.18, sigma_t_field_nm=0.07)
    d = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]) * ELL_UM
    xy = np.vstack([np.stack([d, np.zeros_like(d)], 1), [[ELL_UM / math.sqrt(2), ELL_UM / math.sqrt(2)]]])
    cv = var.sample_chips(xy, range(2000), seed=21, fab=m)
    return m, np.append(d, ELL_UM), cv


def test_field_marginal_sigma(field_samples):
    m, _, cv = field_samples
    for ring in (0, 2, 5):
        assert gaussian_std_ok(cv.dw_nm[:, ring], 0.18)
        assert gaussian_std_ok(cv.dt_nm[:, ring], 0.07)


def test_field_correlation_versus_distance(field_samples):
    m, dist, cv = field_samples
    n = cv.dw_nm.shape[0]
    tol = Z / math.sqrt(n - 3)
    for field in (cv.dw_nm, cv.dt_nm):
        for j in range(1, dist.size):
            rho = math.exp(-dist[j] ** 2 / (2 * ELL_UM**2))  # the documented kernel
            r = np.corrcoef(field[:, 0], field[:, j])[0, 1]
            assert abs(math.atanh(r) - math.atanh(rho)) <= tol, (dist[j], r, rho)
        # the other convention exp(−2d²/ℓ²) would give 0.135 at d = ℓ: clearly rejected
        r_ell = np.corrcoef(field[:, 0], field[:, 2])[0, 1]
        assert abs(math.atanh(r_ell) - math.atanh(math.exp(-2.0))) > tol
    # width and thickness fields are independent
    assert abs(math.atanh(np.corrcoef(cv.dw_nm[:, 0], cv.dt_nm[:, 0])[0, 1])) <= tol


def test_field_embedding_accuracy_against_kernel():
    # deterministic: covariance implied by grid + interpolation vs exp(−d²/2ℓ²) on a 6 x 3 mm die
    xy = np.random.default_rng(2).uniform([0, 0], [6000, 3000], (300, 2))
    sampler = var._FieldSampler(xy, ELL_UM)
    for i, j in [(0, 1), (5, 250), (17, 17), (100, 299), (42, 7)]:
        d = np.hypot(*(xy[i] - xy[j]))
        assert abs(sampler.implied_correlation(i, j) - math.exp(-d * d / (2 * ELL_UM**2))) <= 2e-3


def test_total_sigma_with_all_levels_matches_totals():
    xy = np.array([[0.0, 0.0], [1500.0, 800.0]])
    cv = var.sample_chips(xy, range(2000), seed=31)
    m = var.FabricationModel()
    assert any_std_ok(cv.dw_nm[:, 0], m.sigma_w_total_nm)
    assert any_std_ok(cv.dt_nm[:, 0], m.sigma_t_total_nm)
    # rings 1.7 mm apart share most of their error: difference far below the total σ
    assert np.std(cv.dw_nm[:, 0] - cv.dw_nm[:, 1]) < 0.2 * m.sigma_w_total_nm


# ---------------------------------------------------------------- thermal

def test_thermal_offset_is_linear_with_specified_statistics():
    th = var.ThermalModel(ambient_mean_K=2.0, ambient_sigma_K=1.5, gradient_sigma_K_per_mm=0.4)
    xy = np.array([[0.0, 0.0], [4000.0, 0.0], [0.0, 2000.0], [4000.0, 2000.0], [2000.0, 1000.0], [1000.0, 1500.0]])
    cv = var.sample_chips(xy, range(3000), seed=41, fab=ZERO_FAB, thermal=th)
    a = np.column_stack([np.ones(len(xy)), (xy - [2000.0, 1000.0]) * 1e-3])  # plane about the bbox centre, mm
    coef, *_ = np.linalg.lstsq(a, cv.dT_K.T, rcond=None)
    assert np.abs(a @ coef - cv.dT_K.T).max() < 1e-9  # exactly linear in (x, y)
    ambient, gx, gy = coef
    assert gaussian_std_ok(ambient, 1.5) and abs(ambient.mean() - 2.0) <= Z * 1.5 / math.sqrt(ambient.size)
    assert gaussian_std_ok(gx, 0.4) and gaussian_std_ok(gy, 0.4)
    assert abs(math.atanh(np.corrcoef(gx, gy)[0, 1])) <= Z / math.sqrt(gx.size - 3)  # isotropic direction
    assert np.all(cv.dw_nm == 0) and np.all(cv.dt_nm == 0)


# ---------------------------------------------------------------- resonance shift

def test_resonance_shift_with_explicit_sensitivities_broadcasts():
    class S:
        dlambda_dw_nm_per_nm = np.array([0.58, 0.157])
        dlambda_dt_nm_per_nm = np.array([1.37, 1.38])
        dlambda_dT_nm_per_K = 0.075

    dw = np.array([[1.0, 2.0], [-3.0, 0.5]])
    dt = np.array([[0.5, 0.0], [1.0, -1.0]])
    dT = np.array([[2.0, 2.0], [0.0, -4.0]])
    got = var.resonance_shift_nm([500.0, 800.0], 220.0, dw, dt, dT, sensitivities=S())
    expected = S.dlambda_dw_nm_per_nm * dw + S.dlambda_dt_nm_per_nm * dt + 0.075 * dT
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_resonance_shift_from_waveguide_matches_reference_table():
    # docs/references.md §2 (tolerances of issue 2: dλ/dw 20 %, dλ/dt 10 %); dλ/dT 72–77 pm/K
    assert abs(var.resonance_shift_nm(500.0, 220.0, 1.0, 0.0, 0.0) - 0.58) <= 0.2 * 0.58
    assert abs(var.resonance_shift_nm(800.0, 220.0, 1.0, 0.0, 0.0) - 0.157) <= 0.2 * 0.157
    assert abs(var.resonance_shift_nm(500.0, 220.0, 0.0, 1.0, 0.0) - 1.37) <= 0.1 * 1.37
    assert 0.072 * 0.97 <= var.resonance_shift_nm(800.0, 220.0, 0.0, 0.0, 1.0) <= 0.077 * 1.03


# ---------------------------------------------------------------- bad input

XY = np.zeros((3, 2))


@pytest.mark.parametrize("make,exc,words", [
    (lambda: var.FabricationModel(corr_length_um=0.0), ValueError, ["corr_length_um", "0.0", "> 0"]),
    (lambda: var.FabricationModel(corr_length_um=-4500.0), ValueError, ["corr_length_um", "-4500"]),
    (lambda: var.FabricationModel(sigma_w_die_nm=-1.0), ValueError, ["sigma_w_die_nm", "-1.0", ">= 0"]),
    (lambda: var.FabricationModel(sigma_t_ring_nm=float("nan")), ValueError, ["sigma_t_ring_nm", "nan"]),
    (lambda: var.FabricationModel(sigma_w_field_nm="big"), TypeError, ["sigma_w_field_nm"]),
    (lambda: var.FabricationModel(wafer_bowl_fraction=1.5), ValueError, ["wafer_bowl_fraction", "1.5", "<= 1"]),
    (lambda: var.FabricationModel(die_xy_mm=(100.0, 0.0)), ValueError, ["die_xy_mm", "75"]),
    (lambda: var.FabricationModel(wafer_diameter_mm=0.0), ValueError, ["wafer_diameter_mm"]),
    (lambda: var.ThermalModel(ambient_sigma_K=-0.1), ValueError, ["ambient_sigma_K", "-0.1"]),
    (lambda: var.ThermalModel(ambient_mean_K=float("inf")), ValueError, ["ambient_mean_K", "inf"]),
    (lambda: var.ThermalModel(gradient_sigma_K_per_mm=-1.0), ValueError, ["gradient_sigma_K_per_mm"]),
    (lambda: var.sample_chip(np.zeros((3, 3)), seed=0, chip=0), ValueError, ["xy_um", "(3, 3)"]),
    (lambda: var.sample_chip([[0.0, float("nan")]], seed=0, chip=0), ValueError, ["xy_um", "nan"]),
    (lambda: var.sample_chip(XY, seed=-1, chip=0), ValueError, ["seed", "-1", ">= 0"]),
    (lambda: var.sample_chip(XY, seed=0, chip=-2), ValueError, ["chip", "-2", ">= 0"]),
    (lambda: var.sample_chip(XY, seed=0, chip=1.5), TypeError, ["chip", "1.5"]),
    (lambda: var.sample_chip(XY, seed=0, chip=0, fab="default"), TypeError, ["fab", "FabricationModel"]),
    (lambda: var.sample_chips(XY, [], seed=0), ValueError, ["chips", "empty"]),
    (lambda: var.sample_chips(XY, [0, -1], seed=0), ValueError, ["chips", "-1"]),
    (lambda: var.chip_seed_sequence(0, True), TypeError, ["chip", "bool"]),
    (lambda: var.resonance_shift_nm(500.0, 220.0, np.zeros(3), np.zeros(4), 0.0), ValueError, ["dw_nm", "dt_nm", "broadcast"]),
    (lambda: var.resonance_shift_nm(500.0, 220.0, 0.0, 0.0, float("nan")), ValueError, ["dT_K", "nan"]),
    (lambda: var.resonance_shift_nm(100.0, 220.0, 1.0, 0.0, 0.0), ValueError, ["width_nm", "100"]),
    (lambda: var.sample_chip(np.array([[0.0, 0.0], [2e5, 0.0]]), seed=0, chip=0, fab=var.FabricationModel(corr_length_um=10.0)),
     ValueError, ["corr_length_um", "10.0"]),
])
def test_bad_input_is_rejected_with_name_value_and_range(make, exc, words, rejected):
    with rejected(exc, *words):
        make()


# --- coupling gaps ------------------------------------------------------------------------------
def _grid_xy(n_side=40, pitch_um=20.0):
    g = np.arange(n_side) * pitch_um
    return np.column_stack([np.repeat(g, n_side), np.tile(g, n_side)])


def test_gap_draws_leave_width_thickness_and_temperature_bit_identical():
    xy = _grid_xy()
    base = dataclasses.replace(var.FabricationModel(), sigma_gap_nm=0.0)
    off = var.sample_chips(xy, range(3), seed=9, fab=base)
    on = var.sample_chips(xy, range(3), seed=9, fab=dataclasses.replace(base, sigma_gap_nm=5.0))
    assert off.dgap_in_nm is None and off.dgap_drop_nm is None
    for name in ("dw_nm", "dt_nm", "dT_K", "die_xy_mm"):
        np.testing.assert_array_equal(getattr(on, name), getattr(off, name))
    assert on.dgap_in_nm.shape == on.dgap_drop_nm.shape == on.dw_nm.shape


def test_gap_deviations_are_independent_per_ring_and_coupler_with_their_sigma():
    xy = _grid_xy()  # 1600 rings
    fab = only(sigma_gap_nm=3.0)
    cv = var.sample_chips(xy, range(4), seed=2, fab=fab)
    for arr in (cv.dgap_in_nm, cv.dgap_drop_nm):
        assert gaussian_std_ok(arr.ravel(), 3.0)
        assert abs(arr.mean()) < Z * 3.0 / math.sqrt(arr.size)
    x, y = cv.dgap_in_nm.ravel(), cv.dgap_drop_nm.ravel()
    assert abs(np.corrcoef(x, y)[0, 1]) < Z / math.sqrt(x.size)
    neighbours = np.corrcoef(cv.dgap_in_nm[:, :-1].ravel(), cv.dgap_in_nm[:, 1:].ravel())[0, 1]
    assert abs(neighbours) < Z / math.sqrt(x.size)
    # one stream, scaled by σ; chip k alone equals its row
    half = var.sample_chips(xy, range(4), seed=2, fab=only(sigma_gap_nm=1.5))
    np.testing.assert_allclose(half.dgap_in_nm, 0.5 * cv.dgap_in_nm, rtol=1e-15)
    alone = var.sample_chip(xy, seed=2, chip=3, fab=fab)
    np.testing.assert_array_equal(alone.dgap_drop_nm, cv.dgap_drop_nm[3])


def test_post_lock_fields_validate(rejected):
    with rejected(ValueError, "sigma_gap_nm", "-1"):
        var.FabricationModel(sigma_gap_nm=-1.0)
    with rejected(ValueError, "post_lock_drift_sigma_K", "-0.5"):
        var.ThermalModel(post_lock_drift_sigma_K=-0.5)
    with rejected(ValueError, "laser_drift_sigma_pm", "-2"):
        var.ThermalModel(laser_drift_sigma_pm=-2.0)
