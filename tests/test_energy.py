"""accel.energy: worst-path loss, laser budget, per-event energies, static power, tuning power."""
import math

import numpy as np
import pytest
from scipy.special import erfcinv

from accel import Accelerator, presets
from accel.energy import adc_bits, event_energies, laser_budget, nominal_tuning_power_w, worst_path_loss_terms_db

Q_E = 1.602176634e-19


def peak_drop(kappa2_in, kappa2_drop, loss_db_per_cm, radius_um):
    """docs/references.md §1: T_d = (1-r1^2)(1-r2^2) a / (1 - r1 r2 a)^2, a^2 = 10^(-loss L/10)."""
    a = math.sqrt(10 ** (-loss_db_per_cm * 2 * math.pi * radius_um * 1e-4 / 10))
    r1, r2 = math.sqrt(1 - kappa2_in), math.sqrt(1 - kappa2_drop)
    return kappa2_in * kappa2_drop * a / (1 - r1 * r2 * a) ** 2


def test_worst_path_loss_by_hand():
    cfg = presets.load("robin-eo")
    terms = worst_path_loss_terms_db(cfg)
    # robin-eo: edge coupler 1.5, combiner 0.9, 1:10 split = 10 dB + 4 stages x 0.13 dB,
    # path 2*100 + 9*25 + 10*2*5 = 525 um at 1 dB/cm, 2*10 - 2 = 18 rings x 0.02 dB off resonance,
    # own activation + weight ring drops (kappa2 0.04/0.04, 2 dB/cm, R = 5 um), modulator 0.72 dB.
    drop_db = -2 * 10 * math.log10(peak_drop(0.04, 0.04, 2.0, 5.0))
    expected = {"coupler": 1.5, "combiner": 0.9, "splitter_fanout": 10.0 + 4 * 0.13, "propagation": 525e-4,
                "ring_through": 18 * 0.02, "drop": drop_db, "modulation": 0.72, "margin": 0.0}
    assert terms.keys() == expected.keys()
    for key, value in expected.items():
        assert terms[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_received_power_reaches_the_shot_noise_limit():
    # No dark current, negligible thermal noise: a balanced detector needs Q^2 N photoelectrons
    # per channel per bit (photonics.receiver docstring; docs/references.md §5 gives 4 Q^2 N single-ended).
    cfg = presets.load("robin-eo").with_values({"receiver.dark_current_na": 0.0, "receiver.tia_resistance_ohm": 1e9})
    budget = laser_budget(cfg)
    q = math.sqrt(2) * erfcinv(2 * 1e-12)
    assert q == pytest.approx(7.034, abs=1e-3)
    electrons = budget.received_power_per_wavelength_w * cfg.receiver.responsivity_a_per_w / Q_E / (cfg.bit_rate_gbps * 1e9)
    assert electrons == pytest.approx(q**2 * cfg.N, rel=1e-3)


def test_laser_power_is_received_times_loss_over_efficiency():
    cfg = presets.load("robin-po")
    b = laser_budget(cfg)
    optical = b.received_power_per_wavelength_w * 10 ** (b.path_loss_db / 10)
    assert b.optical_power_per_wavelength_w == pytest.approx(optical, rel=1e-12)
    assert b.electrical_power_per_wavelength_w == pytest.approx(optical / 0.2, rel=1e-12)
    assert b.laser_wavelengths == 50 * 37
    assert b.total_electrical_power_w == pytest.approx(optical / 0.2 * 50 * 37, rel=1e-12)
    assert b.path_loss_db == pytest.approx(sum(dict(b.loss_terms_db).values()), rel=1e-12)


def test_laser_power_grows_with_n():
    base = presets.load("robin-eo").with_values({"wavelength.channel_spacing_nm": 1.0})
    per_line, total = [], []
    for n in range(1, 19):
        b = laser_budget(base.with_values({"architecture.wavelengths_per_vdu": n}))
        per_line.append(b.electrical_power_per_wavelength_w)
        total.append(b.total_electrical_power_w)
    assert np.all(np.diff(per_line) > 0) and np.all(np.diff(total) > 0)


@pytest.mark.parametrize("key,delta_db", [("losses.ring_through_db", 0.05), ("losses.coupler_db", 3.0),
                                          ("losses.propagation_db_per_cm", 10.0)])
def test_laser_power_grows_with_loss(key, delta_db):
    cfg = presets.load("robin-eo")
    b0 = laser_budget(cfg)
    section, name = key.split(".")
    b1 = laser_budget(cfg.with_values({key: getattr(getattr(cfg, section), name) + delta_db}))
    extra_db = b1.path_loss_db - b0.path_loss_db
    assert extra_db > 0
    assert b1.total_electrical_power_w / b0.total_electrical_power_w == pytest.approx(10 ** (extra_db / 10), rel=1e-12)


def test_fixed_laser_power_replaces_the_budget():
    # OXBNN simulator's 1.274 mW optical per wavelength (docs/references.md §5) at 20 % wall-plug efficiency.
    cfg = presets.load("robin-eo").with_values({"laser.fixed_optical_power_per_wavelength_mw": 1.274})
    b = laser_budget(cfg)
    assert not b.from_budget
    assert b.electrical_power_per_wavelength_w == pytest.approx(1.274e-3 / 0.2, rel=1e-12)


@pytest.mark.parametrize("n,bits", [(1, 1), (2, 2), (3, 2), (7, 3), (8, 4), (10, 4), (15, 4), (16, 5), (50, 6)])
def test_adc_bits_resolve_n_plus_one_levels(n, bits):
    assert adc_bits(n) == bits
    assert 2**bits >= n + 1 > 2 ** (bits - 1)


def test_event_energies_by_hand():
    cfg = presets.load("robin-po")
    ev = event_energies(cfg)
    assert ev.adc_bits == 6
    assert ev.adc_j_per_conversion == pytest.approx(13.2e-15 * 64, rel=1e-12)  # Walden: FOM * 2^bits
    assert ev.receiver_j_per_vdu_cycle == pytest.approx((2 * 2.8e-3 + 7.2e-3) / 5e9, rel=1e-12)
    assert ev.cycle_s == pytest.approx(0.2e-9, rel=1e-12)
    assert ev.weight_reload_s == pytest.approx(20e-9, rel=1e-12) and not ev.weights_streamed
    lb = event_energies(presets.load("lightbulb"))
    assert lb.weights_streamed and lb.weight_reload_s == 0.0 and lb.adc_bits == 5


def test_configured_adc_bits_set_the_converter_energy():
    """``converters.adc_bits`` overrides ceil(log2(N+1)); the Walden energy follows 2^bits."""
    cfg = presets.load("robin-po").with_values({"converters.adc_bits": 3})
    ev = event_energies(cfg)
    assert ev.adc_bits == 3
    assert ev.adc_j_per_conversion == pytest.approx(13.2e-15 * 8, rel=1e-12)
    for bad in (0, 17):
        with pytest.raises(ValueError, match=r"converters\.adc_bits"):
            presets.load("robin-po").with_values({"converters.adc_bits": bad})
    with pytest.raises(TypeError, match=r"converters\.adc_bits"):
        presets.load("robin-po").with_values({"converters.adc_bits": 4.5})


def test_static_power_and_tuning_override():
    acc = Accelerator(presets.load("robin-eo").with_values({"tuning.fixed_power_per_ring_mw": 0.5}))
    static = acc.power_model.static_power_w()
    assert static["tuning"] == pytest.approx(0.5e-3 * 2 * 10 * 10 * 183, rel=1e-12)
    assert static["laser"] == acc.power_model.laser.total_electrical_power_w
    assert acc.power_model.static_power_w(tuning_power_w=1.25)["tuning"] == 1.25
    with pytest.raises(ValueError, match="tuning_power_w=-1"):
        acc.power_model.static_power_w(tuning_power_w=-1.0)


def test_nominal_tuning_power_from_variation_scales_with_ring_count():
    cfg = presets.load("robin-eo").with_values({"architecture.units": 4, "tuning.variation_chips": 2})
    one = nominal_tuning_power_w(cfg)
    assert math.isfinite(one) and one > 0
    # Mean power per ring times the ring count: doubling the units doubles it exactly.
    assert nominal_tuning_power_w(cfg.with_values({"architecture.units": 8})) == pytest.approx(2 * one, rel=1e-12)
    # Per ring it stays below the heater ceiling implied by a full FSR of thermal tuning
    # (27.5 mW per FSR, CrossLight Table II, docs/references.md §4).
    assert one / (4 * 10 * 10 * 2) < 27.5e-3
    with pytest.raises(TypeError, match="tuning_model"):
        nominal_tuning_power_w(cfg, tuning_model="track")
