"""accel.chip and accel.conditions: the one chip pipeline (variation -> shift -> tuning -> drift ->
residuals -> cell coefficients) and the conditions it runs under.

Reference: the batched NumPy path (all chips drawn by ``photonics.variation.sample_chips`` and
tuned in one ``photonics.tuning.tune`` call), which the per-chip pipeline must reproduce
exactly (``photonics.variation``: chip k is reproducible alone).
"""
import dataclasses

import numpy as np
import pytest

from accel import Accelerator, ChipSample, Conditions, NoiseSettings, VariationSettings, presets
from mapping import functional
from photonics import tuning, variation, waveguide
from studies.report import bank_spectra


@pytest.fixture(scope="module")
def small():
    return Accelerator(presets.load("robin-eo").with_values({"architecture.units": 2, "architecture.vdus_per_unit": 3}))


def batched_reference(acc, seed, chips, model):
    """Shift and tuning of chips 0..chips-1 in one batch (rows = chips)."""
    cfg, fp = acc.config, acc.floorplan
    lam = cfg.wavelength.center_wavelength_nm
    act, wt = cfg.activation_ring, cfg.weight_ring
    is_act = fp.role == 0
    cv = variation.sample_chips(fp.xy_um, range(chips), seed)
    shift = variation.resonance_shift_nm(np.where(is_act, act.width_nm, wt.width_nm),
                                         np.where(is_act, act.thickness_nm, wt.thickness_nm),
                                         cv.dw_nm, cv.dt_nm, cv.dT_K, fp.channels_nm[fp.channel])
    shift = shift - cfg.wavelength.ring_blue_bias_nm  # the layout's blue bias (applied with fabrication variation)
    fsr = np.where(is_act, act.design(lam).fsr_nm, wt.design(lam).fsr_nm)
    res = tuning.tune(shift, fsr_nm=fsr, bank_size=2 * cfg.N, pitch_um=cfg.ring_pitch_um,
                      ring_outer_diameter_um=cfg.ring_outer_diameter_um, model=model)
    return shift, res


@pytest.fixture(scope="module")
def locked():
    """``small`` without the post-lock terms (level 0 of post_lock_drift_k and laser_drift_pm):
    its residuals are the tuner's."""
    return Accelerator(presets.load("robin-eo").with_values({"architecture.units": 2, "architecture.vdus_per_unit": 3,
                                                             "post_lock_drift_k": 0.0, "laser_drift_pm": 0.0}))


@pytest.mark.parametrize("mode", ["ideal", "none", "laser"])
def test_each_chip_equals_its_row_of_the_batched_draw(locked, mode):
    small = locked
    model = tuning.TuningModel(common_mode=mode)
    shift, res = batched_reference(small, seed=4, chips=3, model=model)
    for k in range(3):
        chip = small.sample_chip(4, k, Conditions(tuning=model), coefficients=False)
        np.testing.assert_array_equal(chip.shift_nm.reshape(-1), shift[k])
        residual = np.asarray(res.residual_nm[k]).reshape(small.floorplan.shape)
        np.testing.assert_array_equal(chip.act_residual_nm, residual[..., 0])
        np.testing.assert_array_equal(chip.weight_residual_nm, residual[..., 1])
        assert chip.tuning_power_w == res.total_power_w[k]
        assert chip.grid_offset_nm == res.grid_offset_nm[k]
        assert chip.common_mode_dt_k == res.common_mode_dt_k[k]
        assert chip.common_mode_power_w == res.common_mode_power_w[k]
        assert chip.rings_out_of_range == int(res.unreachable[k].sum())
        assert chip.coefficients is None


def test_coefficients_come_from_the_cell(small):
    chip = small.sample_chip(1, 0)
    assert chip.coefficients.shape == small.floorplan.shape[:3] + (4,)
    np.testing.assert_array_equal(chip.coefficients, small.components.xnor_cell.coefficients(chip))
    again = small.sample_chip(1, 0)
    np.testing.assert_array_equal(again.coefficients, chip.coefficients)
    assert functional.ChipSample is ChipSample
    legacy = functional.sample_chip_state(small, seed=1, chip=0)
    np.testing.assert_array_equal(legacy.coefficients, chip.coefficients)


def test_variation_off_and_tuning_off(locked):
    small = locked
    off = small.sample_chip(0, 0, Conditions(variation=False))
    assert not off.shift_nm.any() and not off.act_residual_nm.any() and not off.weight_residual_nm.any()
    assert off.tuning_power_w == 0.0 and off.rings_out_of_range == 0
    untuned = small.sample_chip(0, 0, Conditions(tuning=False), coefficients=False)
    fp = small.floorplan
    lam = small.config.wavelength.center_wavelength_nm
    fsr = np.where(fp.role == 0, small.config.activation_ring.design(lam).fsr_nm,
                   small.config.weight_ring.design(lam).fsr_nm).reshape(fp.shape)
    wrapped = untuned.shift_nm - fsr * np.round(untuned.shift_nm / fsr)
    np.testing.assert_array_equal(untuned.act_residual_nm, wrapped[..., 0])
    assert untuned.tuning_power_w == 0.0 and untuned.lock_time_s == 0.0 and untuned.grid_offset_nm == 0.0


def test_drift_adds_the_thermal_shift_of_each_ring(locked):
    small = locked
    cfg, fp = small.config, small.floorplan
    still = small.sample_chip(2, 0, coefficients=False)
    one_kelvin = variation.ThermalModel(ambient_mean_K=1.0, ambient_sigma_K=0.0, gradient_sigma_K_per_mm=0.0)
    drifted = small.sample_chip(2, 0, Conditions(variation=VariationSettings(drift=one_kelvin)), coefficients=False)
    # A uniform 1 K change after locking moves every ring by its own dλ/dT (photonics.waveguide).
    is_act = (fp.role == 0).reshape(fp.shape)
    width = np.where(is_act, cfg.activation_ring.width_nm, cfg.weight_ring.width_nm)
    thickness = np.where(is_act, cfg.activation_ring.thickness_nm, cfg.weight_ring.thickness_nm)
    wavelength = fp.channels_nm[fp.channel].reshape(fp.shape)
    dl_dT = waveguide.sensitivities(width, thickness, wavelength).dlambda_dT_nm_per_K
    np.testing.assert_allclose(drifted.act_residual_nm - still.act_residual_nm, dl_dT[..., 0], rtol=1e-9)
    np.testing.assert_allclose(drifted.weight_residual_nm - still.weight_residual_nm, dl_dT[..., 1], rtol=1e-9)
    assert drifted.tuning_power_w == still.tuning_power_w


def test_conditions_resolve_against_the_preset(robin_eo_config):
    resolved = Conditions().resolve(robin_eo_config)
    assert resolved.variation == VariationSettings(fab=variation.FabricationModel(), thermal=variation.ThermalModel(),
                                                   drift=False)
    assert resolved.tuning == robin_eo_config.tuning.model()  # the preset now sets more than the TuningModel defaults
    assert resolved.noise == NoiseSettings()
    assert resolved.resolve(robin_eo_config) == resolved
    fixed = tuning.TuningModel(eo_blue_range_nm=0.5, eo_red_range_nm=0.5)
    off = Conditions(variation=VariationSettings(fab=False), tuning=fixed, noise=False).resolve(robin_eo_config)
    assert off.variation.fab is False and off.variation.thermal == variation.ThermalModel()
    assert off.tuning is fixed and off.noise is False
    assert Conditions(variation=False).resolve(robin_eo_config).variation is False
    assert hash(resolved) == hash(Conditions().resolve(robin_eo_config))


def test_conditions_reject_bad_parts(robin_eo_config, rejected):
    with rejected(TypeError, "variation", "None (defaults)", "False (off)", "VariationSettings", "dict"):
        Conditions(variation={"fab": None})
    with rejected(TypeError, "noise", "NoiseSettings", "float"):
        Conditions(noise=1.0)
    with rejected(ValueError, "conditions=", "noise="):
        Conditions.of(Conditions(), noise=False)
    with rejected(TypeError, "conditions", "tuple"):
        Conditions.of((None, None, None))
    with rejected(TypeError, "config", "AcceleratorConfig"):
        Conditions().resolve("robin-eo")
    assert Conditions.of(None, tuning=False) == Conditions(tuning=False)


def test_sample_chip_rejects_bad_arguments(small, rejected, mlp, mnist_test):
    with rejected(ValueError, "chip", "-1"):
        small.sample_chip(0, -1)
    with rejected(TypeError, "seed", "float"):
        small.sample_chip(0.5, 0)
    with rejected(TypeError, "conditions", "dict"):
        small.sample_chip(0, 0, {"tuning": False})
    with rejected(ValueError, "chip_sample", "coefficients=False"):
        functional.predict(mlp, small, mnist_test[0][:2], small.sample_chip(0, 0, coefficients=False))


def test_bank_spectra_uses_the_chip_pipeline(small):
    table, meta = bank_spectra(small, seed=3, chip=1, unit=1, vdu=2, points=50)
    chip = small.sample_chip(3, 1, coefficients=False)
    assert meta["grid_offset_nm"] == chip.grid_offset_nm
    np.testing.assert_array_equal(meta["offset_before_nm"], chip.shift_nm[1, 2].reshape(-1))
    after = np.stack([chip.act_residual_nm[1, 2], chip.weight_residual_nm[1, 2]], axis=-1)
    np.testing.assert_array_equal(meta["offset_after_nm"], after.reshape(-1))
    assert len(table) == 50 and table.shape[1] == 1 + 2 * 2 * small.N


def test_chip_sample_is_frozen(small):
    chip = small.sample_chip(0, 0, coefficients=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        chip.tuning_power_w = 0.0


# --- what tuning leaves behind: coupling gaps, post-lock drift, laser wander ----------------------
from photonics import coupler as _coupler  # noqa: E402


def _with(**values):
    base = {"architecture.units": 2, "architecture.vdus_per_unit": 3}
    return Accelerator(presets.load("robin-eo").with_values({**base, **values}))


@pytest.fixture(scope="module")
def level0():
    """Every new parameter at level 0: the pipeline as it was before them."""
    return _with(gap_sigma_nm=0.0, post_lock_drift_k=0.0, laser_drift_pm=0.0)


def test_level_zero_of_the_new_parameters_is_the_old_pipeline(level0):
    chip = level0.sample_chip(3, 1)
    assert chip.kappa2_in is None and chip.kappa2_drop is None
    cell = level0.components.xnor_cell
    np.testing.assert_array_equal(chip.coefficients,
                                  cell._coefficients(chip.act_residual_nm, chip.weight_residual_nm,
                                                     eo_shift_nm=chip.eo_shift_nm))
    # residuals are the tuner's (no post-lock terms): the pipeline with the tuner called directly
    fp, cfg = level0.floorplan, level0.config
    lam = cfg.wavelength.center_wavelength_nm
    fsr = np.where(fp.role == 0, cfg.activation_ring.design(lam).fsr_nm, cfg.weight_ring.design(lam).fsr_nm)
    res = level0.components.tuner.tune(chip.shift_nm.reshape(-1), fsr_nm=fsr, model=cfg.tuning.model())
    np.testing.assert_array_equal(chip.act_residual_nm, np.asarray(res.residual_nm).reshape(fp.shape)[..., 0])


def test_gap_variation_sets_per_ring_couplings_and_leaves_residuals_alone(level0):
    gapped = _with(gap_sigma_nm=5.0, post_lock_drift_k=0.0, laser_drift_pm=0.0)
    a, b = level0.sample_chip(3, 1), gapped.sample_chip(3, 1)
    np.testing.assert_array_equal(a.act_residual_nm, b.act_residual_nm)
    np.testing.assert_array_equal(a.weight_residual_nm, b.weight_residual_nm)
    assert a.tuning_power_w == b.tuning_power_w
    # independent recomputation: the gap draws of photonics.variation through the coupler model
    cfg, fp = gapped.config, gapped.floorplan
    cv = variation.sample_chip(fp.xy_um, seed=3, chip=1, fab=cfg.variation, thermal=cfg.thermal)
    for port, dgap, got in (("kappa2_in", cv.dgap_in_nm, b.kappa2_in), ("kappa2_drop", cv.dgap_drop_nm, b.kappa2_drop)):
        for role, ring in enumerate((cfg.activation_ring, cfg.weight_ring)):
            c = _coupler.RingBusCoupler(ring.radius_um, cfg.wavelength.center_wavelength_nm)
            g0 = c.gap_nm(getattr(ring, port))
            want = getattr(ring, port) * np.sin(c.theta(g0 + dgap.reshape(fp.shape)[..., role])) ** 2 / np.sin(c.theta(g0)) ** 2
            np.testing.assert_allclose(got[..., role], want, rtol=1e-12)
    # 5 nm of gap moves κ² by ≈ 2*5/120 ≈ 8 % (1 σ): the coefficients move, the calibration cannot undo it
    assert 0.05 < np.std(np.log(b.kappa2_in / 0.04)) < 0.12
    assert np.max(np.abs(b.coefficients - a.coefficients)) > 1e-3


def test_post_lock_drift_from_the_preset_is_one_ambient_change_per_chip(level0):
    still = level0.sample_chip(2, 0, coefficients=False)
    drifts = [_with(gap_sigma_nm=0.0, post_lock_drift_k=s, laser_drift_pm=0.0).sample_chip(2, 0, coefficients=False)
              for s in (2.0, 4.0)]
    cfg, fp = level0.config, level0.floorplan
    is_act = (fp.role == 0).reshape(fp.shape)
    dl_dT = waveguide.sensitivities(np.where(is_act, cfg.activation_ring.width_nm, cfg.weight_ring.width_nm),
                                    np.where(is_act, cfg.activation_ring.thickness_nm, cfg.weight_ring.thickness_nm),
                                    fp.channels_nm[fp.channel].reshape(fp.shape)).dlambda_dT_nm_per_K
    d_t = []
    for drifted in drifts:
        moved = np.stack([drifted.act_residual_nm - still.act_residual_nm,
                          drifted.weight_residual_nm - still.weight_residual_nm], axis=-1) / dl_dT
        np.testing.assert_allclose(moved, moved.flat[0], rtol=1e-9)  # uniform over the die
        d_t.append(moved.flat[0])
        assert drifted.tuning_power_w == still.tuning_power_w
    assert d_t[1] == pytest.approx(2.0 * d_t[0], rel=1e-12) and d_t[0] != 0.0
    # an explicit VariationSettings.drift replaces the preset's σ
    one_kelvin = variation.ThermalModel(ambient_mean_K=1.0, ambient_sigma_K=0.0, gradient_sigma_K_per_mm=0.0)
    api = _with(gap_sigma_nm=0.0, post_lock_drift_k=2.0, laser_drift_pm=0.0).sample_chip(
        2, 0, Conditions(variation=VariationSettings(drift=one_kelvin)), coefficients=False)
    np.testing.assert_allclose(api.act_residual_nm - still.act_residual_nm, dl_dT[..., 0], rtol=1e-9)


def test_laser_wander_is_one_offset_per_channel_for_every_ring_on_it(level0):
    still = level0.sample_chip(5, 2, coefficients=False)
    wander = [_with(gap_sigma_nm=0.0, post_lock_drift_k=0.0, laser_drift_pm=s).sample_chip(5, 2, coefficients=False)
              for s in (3.0, 6.0)]
    offsets = []
    for w in wander:
        moved = np.stack([w.act_residual_nm - still.act_residual_nm, w.weight_residual_nm - still.weight_residual_nm], -1)
        per_channel = moved[0, 0, :, 0]
        np.testing.assert_allclose(moved, np.broadcast_to(per_channel[:, None], moved.shape), rtol=0, atol=1e-15)
        offsets.append(per_channel)
    np.testing.assert_allclose(offsets[1], 2.0 * offsets[0], rtol=1e-12, atol=1e-18)
    assert len(set(np.round(offsets[0], 12))) == offsets[0].size  # independent channels
    assert np.all(np.abs(offsets[0]) < 5 * 3e-3)


def test_closed_loop_lock_residual_is_a_fresh_gaussian_per_ring(level0):
    """tuning.lock_residual_pm adds an N(0, σ) error to every tuned ring (its own stream; the tuning
    itself unchanged); the sample σ of those errors is σ within its chi-square error."""
    still = level0.sample_chip(2, 0, coefficients=False)
    held = _with(gap_sigma_nm=0.0, post_lock_drift_k=0.0, laser_drift_pm=0.0,
                 lock_residual_pm=20.0).sample_chip(2, 0, coefficients=False)
    err = np.concatenate([(held.act_residual_nm - still.act_residual_nm).ravel(),
                          (held.weight_residual_nm - still.weight_residual_nm).ravel()])
    n = err.size
    assert abs(np.std(err) - 0.020) <= 4 * 0.020 / np.sqrt(2 * n)
    assert abs(np.mean(err)) <= 4 * 0.020 / np.sqrt(n)
    assert held.tuning_power_w == still.tuning_power_w and np.array_equal(held.shift_nm, still.shift_nm)
    again = _with(gap_sigma_nm=0.0, post_lock_drift_k=0.0, laser_drift_pm=0.0,
                  lock_residual_pm=20.0).sample_chip(2, 0, coefficients=False)
    assert np.array_equal(again.act_residual_nm, held.act_residual_nm)
    # no tuning, no lock: the residual is the varied resonance alone
    off = Conditions(tuning=False)
    assert np.array_equal(level0.sample_chip(2, 0, off, coefficients=False).act_residual_nm,
                          _with(gap_sigma_nm=0.0, post_lock_drift_k=0.0, laser_drift_pm=0.0, lock_residual_pm=20.0)
                          .sample_chip(2, 0, off, coefficients=False).act_residual_nm)
