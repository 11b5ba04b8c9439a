"""The converged nominal tuning power (accel.components.Tuner.nominal, issue #11 item 7).

Independent references: the full-die chip pipeline (``accel.chip.sample_chip``, one chip at a
time) on dies small enough that every bank is sampled; ``photonics.variation.sample_chip`` at
the sampled rings; the floorplan's own ring positions (``accel.floorplan.build_floorplan``); and
NumPy's sample standard deviation for the standard error.
"""
import dataclasses
import math

import numpy as np
import pytest

import accel.components.tuner as tuner_module
from accel import Conditions, presets
from accel.chip import sample_banks, sample_chip, stratified_banks
from accel.components.tuner import Tuner
from accel.components.xnor_cell import XnorCell
from accel.floorplan import build_floorplan
from photonics import variation


def _small(**changes):
    """robin-eo on 2 units x 3 VDUs x 4 channels: 6 banks, fewer than the preset's 16 sampled
    banks, so the nominal samples the whole die."""
    values = {"architecture.units": 2, "architecture.vdus_per_unit": 3, "architecture.wavelengths_per_vdu": 4,
              "tuning.variation_chips": 12, "tuning.variation_chip_block": 4}
    values.update(changes)
    return presets.load("robin-eo").with_values(values)


def _full_die_means(cfg, chips):
    """Per-chip EO + TO tuning power per ring (W) of the full-die pipeline, chip by chip."""
    fp = build_floorplan(cfg)
    tuner, cell = Tuner(cfg), XnorCell(cfg)
    return np.array([sample_chip(cfg, fp, tuner, cell, seed=cfg.tuning.variation_seed, chip=k,
                                 coefficients=False).tuning_power_w for k in range(chips)]) / fp.n_rings


def test_standard_error_equals_the_numpy_oracle_on_the_full_die_chips():
    cfg = _small(**{"tuning.variation_target_rel_se": 1e-6})  # unreachable: runs to the cap of 12
    nominal = Tuner(cfg).nominal()
    assert nominal.chips == 12 and len(nominal.banks) == 6 and nominal.rings_per_chip == build_floorplan(cfg).n_rings
    per_chip = _full_die_means(cfg, 12)  # all banks sampled: each chip is the full-die chip
    np.testing.assert_array_equal(np.array(nominal.per_chip_power_per_ring_w), per_chip)
    se = np.std(per_chip, ddof=1) / np.sqrt(per_chip.size)
    assert nominal.power_per_ring_w == pytest.approx(per_chip.mean(), rel=1e-14)
    assert nominal.se_power_per_ring_w == pytest.approx(se, rel=1e-12)
    assert nominal.rel_se == pytest.approx(se / per_chip.mean(), rel=1e-12)
    tuner = Tuner(cfg)
    assert (tuner.nominal_chips, tuner.nominal_rel_se) == (12, nominal.rel_se)
    assert tuner.nominal_power_w() == pytest.approx(per_chip.mean() * cfg.N * cfg.M * cfg.units * 2, rel=1e-14)


def test_stopping_rule_first_block_cap_and_first_block_meeting_the_target():
    loose = Tuner(_small(**{"tuning.variation_target_rel_se": 1.0})).nominal()
    assert loose.chips == 4 and loose.rel_se <= 1.0  # the first block of 4 already meets it
    capped = Tuner(_small(**{"tuning.variation_target_rel_se": 1e-6, "tuning.variation_chips": 10})).nominal()
    assert capped.chips == 10 and len(capped.per_chip_power_per_ring_w) == 10  # blocks 4 + 4 + 2, stopped at the cap
    # A middling target: the first multiple of the block whose oracle relative SE meets it (chips
    # are the same in every run, so the prefixes of the capped run are those runs' chips).
    per_chip = _full_die_means(_small(), 12)
    rel = {n: np.std(per_chip[:n], ddof=1) / np.sqrt(n) / per_chip[:n].mean() for n in (4, 8, 12)}
    target = float(rel[12]) * (1 + 1e-9)
    expected = min(n for n in (4, 8, 12) if rel[n] <= target)
    mid = Tuner(_small(**{"tuning.variation_target_rel_se": target})).nominal()
    assert mid.chips == expected and mid.rel_se == pytest.approx(rel[expected], rel=1e-12)


def test_sampled_banks_span_the_die_and_keep_its_corners():
    cfg = presets.load("robin-eo")
    fp = build_floorplan(cfg)
    banks = stratified_banks(fp, cfg.tuning.variation_banks)
    assert banks.size == 16 and np.unique(banks).size == 16
    rings = (banks[:, None] * 2 * cfg.N + np.arange(2 * cfg.N)).ravel()
    xy, sub = fp.xy_um, fp.xy_um[rings]
    # the sampled rings' bounding box is the die's: both corners (lower left, upper right) are seen
    np.testing.assert_array_equal(sub.min(axis=0), xy.min(axis=0))
    np.testing.assert_array_equal(sub.max(axis=0), xy.max(axis=0))
    centre = 0.5 * (xy.min(axis=0) + xy.max(axis=0))
    # and the middle of the die: some sampled bank within a sixth of the die of its centre
    assert np.min(np.max(np.abs(sub - centre) / np.ptp(xy, axis=0), axis=1)) < 1 / 6
    # every bank is 2N rings along one VDU bus (one unit, one VDU, one y)
    for b in banks:
        ring = slice(b * 2 * cfg.N, (b + 1) * 2 * cfg.N)
        assert np.unique(fp.unit[ring]).size == 1 and np.unique(fp.vdu[ring]).size == 1 and np.ptp(fp.y_um[ring]) == 0
    assert np.array_equal(stratified_banks(fp, 16), banks)  # deterministic
    assert np.array_equal(stratified_banks(fp, 10**5), np.arange(fp.n_rings // (2 * cfg.N)))  # small die: all
    # a partial last row of units (183 units on a 13-column grid) still gives distinct banks, at
    # most the number asked for (a gx x gy lattice: 6 x 6 of 40)
    forty = stratified_banks(fp, 40)
    assert np.unique(forty).size == forty.size == 36


def test_bank_samples_reproduce_the_full_die_chip():
    """Position-dependent terms are the full-die chip's exactly at the sampled rings (per-ring σ 0
    isolates them); with all banks sampled, every value and the tuning power are the chip's."""
    cfg = presets.load("robin-eo").with_values({"architecture.units": 12, "architecture.vdus_per_unit": 4,
                                                "architecture.wavelengths_per_vdu": 4})
    fp = build_floorplan(cfg)
    banks = stratified_banks(fp, 6)
    assert banks.size == 6 < fp.n_rings // 8
    rings = (banks[:, None] * 8 + np.arange(8)).ravel()
    smooth = dataclasses.replace(cfg.variation, sigma_w_ring_nm=0.0, sigma_t_ring_nm=0.0)
    cond = Conditions(variation=dataclasses.replace(Conditions().resolve(cfg).variation, fab=smooth))
    got = sample_banks(cfg, fp, Tuner(cfg), seed=7, chips=[0, 3], banks=banks, conditions=cond)
    cell, tuner = XnorCell(cfg), Tuner(cfg)
    for row, k in enumerate((0, 3)):
        full = sample_chip(cfg, fp, tuner, cell, seed=7, chip=k, conditions=cond, coefficients=False)
        np.testing.assert_array_equal(got.shift_nm[row], full.shift_nm.reshape(-1)[rings])
        cv = variation.sample_chip(fp.xy_um, seed=7, chip=k, fab=smooth, thermal=cfg.thermal)
        np.testing.assert_array_equal(variation.sample_chip(fp.xy_um[rings], seed=7, chip=k, fab=smooth,
                                                            thermal=cfg.thermal).dT_K, cv.dT_K[rings])
    # whole die (small config): shifts, tuning power, out-of-range rings and TEC ΔT are the chip's
    small = _small()
    fp = build_floorplan(small)
    every = stratified_banks(fp, small.tuning.variation_banks)
    got = sample_banks(small, fp, Tuner(small), seed=2, chips=range(3), banks=every)
    for k in range(3):
        full = sample_chip(small, fp, Tuner(small), XnorCell(small), seed=2, chip=k, coefficients=False)
        np.testing.assert_array_equal(got.shift_nm[k], full.shift_nm.reshape(-1))
        assert got.tuning_power_w[k] == full.tuning_power_w
        assert got.rings_out_of_range[k] == full.rings_out_of_range
        assert got.common_mode_dt_k[k] == full.common_mode_dt_k


def test_no_variation_gives_zero_power_without_looping():
    cfg = _small(**{"tuning.variation_target_rel_se": 1e-6})
    off = Tuner(cfg).nominal(Conditions(variation=False))
    assert (off.power_per_ring_w, off.se_power_per_ring_w, off.rel_se, off.chips) == (0.0, 0.0, 0.0, 1)
    zero = {f"variation.sigma_{q}_{level}_nm": 0.0 for q in "wt" for level in ("wafer", "die", "field", "ring")}
    zero.update({"thermal.ambient_sigma_K": 0.0, "thermal.gradient_sigma_K_per_mm": 0.0,
                 "wavelength.ring_blue_bias_nm": 0.0})
    flat = Tuner(_small(**{"tuning.variation_target_rel_se": 1e-6}, **zero)).nominal()
    # every chip on its channels: no power, no spread, the first block only (not the cap of 12)
    assert (flat.power_per_ring_w, flat.se_power_per_ring_w, flat.rel_se, flat.chips) == (0.0, 0.0, 0.0, 4)
    fixed = Tuner(_small(**{"tuning.fixed_power_per_ring_mw": 0.5})).nominal()
    assert (fixed.power_per_ring_w, fixed.chips, fixed.rel_se) == (0.5e-3, 0, 0.0)


def test_same_chips_across_configurations_and_the_cache_skips_tuning_irrelevant_fields(monkeypatch):
    cfg = _small(**{"tuning.variation_seed": 424242, "tuning.variation_target_rel_se": 1e-6, "tuning.variation_chips": 8})
    calls = []
    real = tuner_module.sample_banks

    def counting(*args, **kwargs):
        calls.append(tuple(kwargs["chips"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(tuner_module, "sample_banks", counting)
    first = Tuner(cfg).nominal()
    assert calls == [(0, 1, 2, 3), (4, 5, 6, 7)]  # chips 0..7 in blocks of 4
    # bit rate, converter energy: not read by variation, shift or tuning -> the same object, no sampling
    other = cfg.with_values({"architecture.bit_rate_gbps": 10.0, "converters.dac_energy_pj_per_conversion": 2.0})
    assert Tuner(other).nominal() is first and len(calls) == 2
    # a tuning field: sampled again, on the same chips (same seed, same k -> same shifts)
    budget = cfg.with_values({"tuning.to_max_power_mw": 25.0})
    again = Tuner(budget).nominal()
    assert len(calls) == 4 and again is not first
    fp = build_floorplan(cfg)
    banks = np.array(first.banks)
    a = real(cfg, fp, Tuner(cfg), seed=424242, chips=range(8), banks=banks)
    b = real(budget, build_floorplan(budget), Tuner(budget), seed=424242, chips=[5, 2], banks=banks)
    np.testing.assert_array_equal(b.shift_nm, a.shift_nm[[5, 2]])  # chip k's draws depend on (seed, k) only
    np.testing.assert_array_equal(a.tuning_power_w / first.rings_per_chip, first.per_chip_power_per_ring_w)
    # each chip is its own row of the joint solve: chip 5 alone gives the same power
    alone = real(cfg, fp, Tuner(cfg), seed=424242, chips=[5], banks=banks)
    assert alone.tuning_power_w[0] == a.tuning_power_w[5]
    ss = variation.chip_seed_sequence(424242, 5)
    assert (ss.entropy, ss.spawn_key) == (424242, (5,))


def test_chip_budget_share_keeps_the_nominal_within_the_budget():
    cfg = presets.load("robin-eo").with_values({"tuning.chip_budget_w": 20.0, "tuning.variation_chips": 16})
    tuner = Tuner(cfg)
    assert tuner.nominal_power_w() <= 20.0 * (1 + 1e-9)
    nominal = tuner.nominal()
    assert max(nominal.per_chip_power_per_ring_w) * tuner.count <= 20.0 * (1 + 1e-9)


def test_bad_arguments_are_refused_by_name():
    cfg = _small()
    fp = build_floorplan(cfg)
    with pytest.raises(ValueError, match="n_banks"):
        stratified_banks(fp, 0)
    with pytest.raises(TypeError, match="floorplan"):
        stratified_banks("die", 4)
    with pytest.raises(ValueError, match=r"banks=\[6\].*\[0, 5\]"):
        sample_banks(cfg, fp, Tuner(cfg), seed=0, chips=[0], banks=[6])
    with pytest.raises(ValueError, match="chips"):
        sample_banks(cfg, fp, Tuner(cfg), seed=0, chips=[], banks=[0])
    with pytest.raises(ValueError, match="chips"):
        sample_banks(cfg, fp, Tuner(cfg), seed=0, chips=[-1], banks=[0])
    with pytest.raises(TypeError, match="conditions"):
        Tuner(cfg).nominal("preset")
    assert math.isnan(tuner_module._mean_se([1.0])[1])
