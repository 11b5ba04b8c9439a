"""accel.components: the laser budget, every component's count, area, static power and action
energies against closed forms and published values, the one registry, and the scheduler's
energy as action counts x action energies."""
import math

import numpy as np
import pytest
from scipy.special import erfcinv

from accel import Accelerator, Conditions, presets
from accel.components import (CATEGORIES, COMPONENTS, Accumulator, Adc, CommonModeTracker, Buffer, Components, Dac, Electronics, Laser, Receiver, Tuner,
                              XnorCell, adc_bits, laser_budget, worst_path_loss_terms_db)
from mapping.performance import shape_zoo
from mapping.performance.schedule import COMPONENTS as SCHEDULE_CATEGORIES
from mapping.performance.schedule import map_model
from photonics import tuning, xnor
from studies import plots

Q_E = 1.602176634e-19


def peak_drop(kappa2_in, kappa2_drop, loss_db_per_cm, radius_um):
    """docs/references.md §1: T_d = (1-r1^2)(1-r2^2) a / (1 - r1 r2 a)^2, a^2 = 10^(-loss L/10)."""
    a = math.sqrt(10 ** (-loss_db_per_cm * 2 * math.pi * radius_um * 1e-4 / 10))
    r1, r2 = math.sqrt(1 - kappa2_in), math.sqrt(1 - kappa2_drop)
    return kappa2_in * kappa2_drop * a / (1 - r1 * r2 * a) ** 2


def rings(cfg) -> int:
    return cfg.N * cfg.M * cfg.units * cfg.architecture.rings_per_cell


# ------------------------------------------------------------------------------ laser
def test_worst_path_loss_by_hand():
    cfg = presets.load("robin-eo")
    terms = worst_path_loss_terms_db(cfg)
    # robin-eo: edge coupler 1.5, combiner 0.9, 1:10 split = 10 dB + 4 stages x 0.13 dB,
    # path 2*100 + 9*25 + 10*2*15.8 = 741 um at 1 dB/cm (ring pitch 15.8 um: outer diameter 2*5 + 0.8 um of the
    # 800 nm weight ring + 5 um edge-to-edge gap; VDU pitch 10.8 + 14.2 um), 2*10 - 2 = 18 rings x 0.02 dB off resonance,
    # own activation + weight ring drops (kappa2 0.04/0.04, 2 dB/cm, R = 5 um), modulator 0.72 dB.
    drop_db = -2 * 10 * math.log10(peak_drop(0.04, 0.04, 2.0, 5.0))
    expected = {"coupler": 1.5, "combiner": 0.9, "splitter_fanout": 10.0 + 4 * 0.13, "propagation": 741e-4,
                "ring_through": 18 * 0.02, "drop": drop_db, "modulation": 0.72, "margin": 0.0}
    assert terms.keys() == expected.keys()
    for key, value in expected.items():
        assert terms[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_received_power_reaches_the_shot_noise_limit():
    # No dark current, negligible thermal noise: a balanced detector needs Q^2 N photoelectrons
    # per channel per bit (photonics.receiver docstring; docs/references.md §5 gives 4 Q^2 N single-ended).
    cfg = presets.load("robin-eo").with_values({"receiver.dark_current_na": 0.0, "receiver.tia_noise_pa_per_rthz": 1e-6})
    budget = laser_budget(cfg)
    q = math.sqrt(2) * erfcinv(2 * 1e-12)
    assert q == pytest.approx(7.034, abs=1e-3)
    electrons = budget.received_power_per_wavelength_w * cfg.receiver.responsivity_a_per_w / Q_E / (cfg.bit_rate_gbps * 1e9)
    # a cell's step is delta0 of the line's power while all of it reaches the diodes: Q^2 N / delta0^2
    gain = Receiver(cfg).cell_gain
    assert 0 < gain <= 1
    assert electrons == pytest.approx(q**2 * cfg.N / gain**2, rel=1e-3)


def test_laser_power_is_received_times_loss_over_efficiency():
    cfg = presets.load("robin-po")
    b = laser_budget(cfg)
    optical = b.received_power_per_wavelength_w * 10 ** (b.path_loss_db / 10)
    assert b.optical_power_per_wavelength_w == pytest.approx(optical, rel=1e-12)
    assert b.electrical_power_per_wavelength_w == pytest.approx(optical / 0.2, rel=1e-12)
    assert b.laser_wavelengths == cfg.N * cfg.units  # one laser line per channel per unit
    assert b.total_electrical_power_w == pytest.approx(optical / 0.2 * cfg.N * cfg.units, rel=1e-12)
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


def test_laser_component_counts_lines_and_splitters(robin_eo_config):
    cfg = robin_eo_config
    laser = Laser(cfg)
    # One line per channel per unit; a 1:M tree has M - 1 splitters per unit; lasers are off chip.
    assert laser.count == cfg.N * cfg.units and laser.splitters == (cfg.M - 1) * cfg.units
    assert laser.area_mm2 == pytest.approx(laser.splitters * cfg.area.splitter_mm2, rel=1e-12)
    assert laser.static_power_w == pytest.approx(laser.budget.electrical_power_per_wavelength_w * cfg.N * cfg.units,
                                                 rel=1e-12)
    assert laser.static_category == "laser" and not laser.actions


# ------------------------------------------------------------------------------ converters
@pytest.mark.parametrize("n,bits", [(1, 1), (2, 2), (3, 2), (7, 3), (8, 4), (10, 4), (15, 4), (16, 5), (50, 6)])
def test_adc_bits_resolve_n_plus_one_levels(n, bits):
    assert adc_bits(n) == bits
    assert 2**bits >= n + 1 > 2 ** (bits - 1)


def test_action_energies_by_hand():
    cfg = presets.load("robin-po")
    c = Components(cfg)
    assert c.adc.bits == 6
    # Walden: FOM * 2^bits, the FOM at 5 GS/s: 13.2 fJ * (5 / 0.5)^0.45 (tests/test_converters.py)
    assert c.adc.actions["convert"].energy_j == pytest.approx(13.2e-15 * 10**0.45 * 64, rel=1e-12, abs=0.0)
    assert dict(c.receiver.actions) == {}  # the receiver spends only its static bias
    assert c.xnor_cell.actions["modulate"].latency_s == pytest.approx(0.2e-9, rel=1e-12)
    # a weight reload: the injection weight ring's settle, τ·ln(1/tol) + the photon lifetime Q_L·λ/(2πc)
    inj, wr = cfg.eo_injection, cfg.weight_ring.design(cfg.wavelength.center_wavelength_nm)
    reload_s = (inj.carrier_lifetime_ns * 1e-9 * math.log(1 / inj.settle_tolerance)
                + wr.q_loaded * wr.wavelength_nm * 1e-9 / (2 * math.pi * 299792458.0))
    assert c.xnor_cell.actions["program_weight"].latency_s == pytest.approx(reload_s, rel=1e-12)
    assert not c.xnor_cell.weights_streamed
    lb = Components(presets.load("lightbulb"))
    assert lb.xnor_cell.weights_streamed and lb.xnor_cell.actions["program_weight"].latency_s == 0.0 and lb.adc.bits == 5


def test_configured_adc_bits_set_the_converter_energy():
    """``converters.adc_bits`` overrides ceil(log2(N+1)); the Walden energy follows 2^bits."""
    cfg = presets.load("robin-po").with_values({"converters.adc_bits": 3})
    adc = Adc(cfg)
    assert adc.bits == 3
    assert adc.actions["convert"].energy_j == pytest.approx(13.2e-15 * 10**0.45 * 8, rel=1e-12, abs=0.0)  # at 5 GS/s
    for bad in (0, 17):
        with pytest.raises(ValueError, match=r"converters\.adc_bits"):
            presets.load("robin-po").with_values({"converters.adc_bits": bad})
    with pytest.raises(TypeError, match=r"converters\.adc_bits"):
        presets.load("robin-po").with_values({"converters.adc_bits": 4.5})


def test_walden_figure_of_merit_from_the_published_adc(robin_eo_config):
    # SONIC Table 2 (docs/references.md §5): a 16-bit ADC at 62 mW and 14 ns per conversion,
    # FOM = P t / 2^16 = 13.24 fJ per step; the presets round it to 13.2 fJ.
    published_fom_j = 62e-3 * 14e-9 / 2**16
    fom_j = robin_eo_config.converters.adc_fom_fj_per_step * 1e-15
    assert fom_j == pytest.approx(published_fom_j, rel=5e-3)
    # robin-eo, N = 10: 11 popcount levels need 4 bits; at 5 GS/s, above the 0.5 GS/s corner, the
    # FOM rises as (5 / 0.5)^0.45 (tests/test_converters.py): 2^4 * 13.2 fJ * 10^0.45 = 595.2 fJ.
    adc = Adc(robin_eo_config)
    assert adc.bits == 4
    assert adc.actions["convert"].energy_j == pytest.approx(16 * 13.2e-15 * 10**0.45, rel=1e-12, abs=0.0)
    assert adc.actions["convert"].energy_j == pytest.approx(595.2e-15, rel=1e-4, abs=0.0)
    assert adc.count == robin_eo_config.M * robin_eo_config.units


@pytest.mark.parametrize("name", ["robin-eo", "robin-po", "lightbulb"])
def test_comparator_is_a_one_bit_adc(name):
    cfg = presets.load(name)
    comparator = Adc.comparator(cfg)
    assert comparator.name == "comparator" and comparator.bits == 1
    # A 1-bit ADC at the rate-aware FOM: 2 * 13.2 fJ * (bit rate / 0.5 GS/s)^0.45, one decision per
    # VDU cycle: 74.4 fJ at 5 Gb/s (robin-eo, robin-po), 209.7 fJ at 50 Gb/s (lightbulb).
    by_hand = 2 * 13.2e-15 * (cfg.bit_rate_gbps / 0.5) ** 0.45
    assert comparator.actions["convert"].energy_j == pytest.approx(by_hand, rel=1e-12, abs=0.0)
    assert comparator.actions["convert"].energy_j == pytest.approx({5.0: 74.4e-15, 50.0: 209.7e-15}[cfg.bit_rate_gbps], rel=1e-3, abs=0.0)
    assert comparator.actions["convert"].category == "receiver" and comparator.area_mm2 == 0.0


def test_dac_buffer_electronics_by_hand(robin_eo_config):
    cfg = robin_eo_config
    dac, buf, el = Dac(cfg), Buffer(cfg), Electronics(cfg)
    assert dac.actions["convert"].energy_j == pytest.approx(0.75e-12, rel=1e-12)  # SONIC: 3 mW x 0.25 ns
    assert dac.count == cfg.M * cfg.units and dac.area_mm2 == pytest.approx(dac.count * cfg.area.dac_mm2, rel=1e-12)
    # Horowitz (ISSCC 2014): 10 pJ per 64-bit read of an 8 KB SRAM -> 156 fJ per bit.
    assert buf.actions["read"].energy_j == pytest.approx(10e-12 / 64, rel=2e-3)
    assert buf.count == 2 * cfg.units and buf.area_mm2 == pytest.approx(2 * cfg.units * cfg.area.buffer_mm2, rel=1e-12)
    acc = Accumulator(cfg)  # five 16-bit adders + registers per VDU (5 Gb/s over 1 add/ns), 50 fJ per add (preset)
    assert acc.actions["accumulate"].energy_j == pytest.approx(50e-15, rel=1e-12)
    assert acc.actions["accumulate"].latency_s == pytest.approx(1e-9, rel=1e-12)
    assert acc.actions["accumulate"].category == "accumulation" and "accumulate" not in el.actions
    assert acc.count == 5 * cfg.M * cfg.units and acc.area_mm2 == pytest.approx(acc.count * 0.0005, rel=1e-12)
    assert acc.adds_per_s_per_vdu == pytest.approx(5e9, rel=1e-12) and acc.max_popcount == 65535  # 5 x 1 add/ns
    assert el.actions["compare"].energy_j == el.actions["op"].energy_j == pytest.approx(30e-15, rel=1e-12)
    assert el.actions["mac"].energy_j == pytest.approx(230e-15, rel=1e-12)
    assert el.actions["op"].latency_s == pytest.approx(1 / 1024e9, rel=1e-12)
    assert el.ops_per_s == pytest.approx(1024e9, rel=1e-12) and el.value_bits == 8


# ------------------------------------------------------------------------------ receiver
def test_receiver_energy_and_noise(robin_eo_config):
    cfg = robin_eo_config
    rx = Receiver(cfg)
    assert rx.count == cfg.M * cfg.units and rx.area_mm2 == pytest.approx(rx.count * 2 * cfg.area.pd_mm2, rel=1e-12)
    # At the power the link budget delivers, one readout of N cells has std 1/Q (photonics.receiver).
    budget = laser_budget(cfg)
    assert budget.power_at_detector_per_wavelength_w == pytest.approx(budget.received_power_per_wavelength_w, rel=1e-12)
    assert rx.required_power_per_wavelength_w(cfg.N, budget.q) == budget.received_power_per_wavelength_w
    q = math.sqrt(2) * erfcinv(2 * cfg.receiver.target_popcount_error_rate)
    assert rx.noise_sigma(budget.received_power_per_wavelength_w, cfg.N) == pytest.approx(1 / q, rel=1e-9)
    # Noise std relative to the signal falls with power; shot-noise limited as 1/sqrt(P).
    assert rx.noise_sigma(1e-3, cfg.N) < rx.noise_sigma(1e-5, cfg.N)


def test_receiver_bias_is_static_and_counts_each_photodiode_once(robin_eo_config):
    """Per VDU: the TIA's 7.2 mW and two photodiodes at 1 V x (R x P x N/2 + 10 nA), written out."""
    cfg = robin_eo_config
    rx = Receiver(cfg)
    budget = laser_budget(cfg)
    diode_a = 0.9 * budget.received_power_per_wavelength_w * cfg.N / 2 + 10e-9
    by_hand = cfg.M * cfg.units * (7.2e-3 + 2 * 1.0 * diode_a)
    assert rx.static_power_w == pytest.approx(by_hand, rel=1e-12)
    assert 2 * diode_a < 0.1 * 7.2e-3  # a photodiode dissipates bias x current, far below a receiver front end
    assert rx.static_category == "receiver" and Components(cfg).static_power_w()["receiver"] == rx.static_power_w


def test_tia_noise_density_sets_the_amplifier_noise(robin_eo_config):
    """i_n sqrt(B) with B = bit_rate / 2: the readout std at a power where shot noise is negligible."""
    cfg = robin_eo_config.with_values({"receiver.dark_current_na": 0.0})
    rx = Receiver(cfg)
    power = 1e-9  # 0.9 nA per channel: shot noise sqrt(2 q I N B) << i_n sqrt(B)
    i_n = cfg.receiver.tia_noise_pa_per_rthz * 1e-12
    expected = i_n * math.sqrt(cfg.bit_rate_gbps * 1e9 / 2) / (rx.cell_gain * 0.9 * power)  # in units of a cell's step
    assert rx.noise_sigma(power, cfg.N) == pytest.approx(expected, rel=1e-3)


# ------------------------------------------------------------------------------ tuner, cell
def test_static_power_and_tuning_override():
    cfg = presets.load("robin-eo").with_values({"tuning.fixed_power_per_ring_mw": 0.5})
    acc = Accelerator(cfg)
    static = acc.components.static_power_w()
    assert static["tuning"] == pytest.approx(0.5e-3 * rings(cfg), rel=1e-12)
    assert static["laser"] == acc.components.laser.budget.total_electrical_power_w
    assert acc.components.static_power_w(tuning_power_w=1.25)["tuning"] == 1.25
    with pytest.raises(ValueError, match="tuning_power_w=-1"):
        acc.components.static_power_w(tuning_power_w=-1.0)


def test_nominal_tuning_power_from_variation_scales_with_ring_count(rejected):
    cfg = presets.load("robin-eo").with_values({"architecture.units": 4, "tuning.variation_chips": 2,
                                                "tuning.variation_banks": 40})
    one = Tuner(cfg).nominal_power_w()
    assert math.isfinite(one) and one > 0
    # Mean power per ring over the sampled chips times the ring count: 4 units x 10 VDUs = 40 banks,
    # all sampled, so the mean per ring is the full-die chips' (chip pipeline, chip by chip).
    acc = Accelerator(cfg)
    chips = [acc.sample_chip(cfg.tuning.variation_seed, k, coefficients=False) for k in range(2)]
    per_ring = sum(c.tuning_power_w for c in chips) / (2 * acc.floorplan.n_rings)
    assert one == pytest.approx(per_ring * rings(cfg), rel=1e-12)
    # Per ring it stays below the heater ceiling implied by a full FSR of thermal tuning
    # (27.5 mW per FSR, CrossLight Table II, docs/references.md §4).
    assert one / (4 * 10 * 10 * 2) < 27.5e-3
    with rejected(TypeError, "tuning", "track"):
        Conditions(tuning="track")
    with rejected(TypeError, "conditions", "str"):
        Tuner(cfg).nominal_power_w("track")


def test_tuner_tunes_banks_of_2n_rings_at_the_ring_pitch(robin_eo):
    cfg, fp = robin_eo.config, robin_eo.floorplan
    tuner = robin_eo.components.tuner
    assert tuner.count == rings(cfg) and tuner.bank_size == 2 * cfg.N and tuner.area_mm2 == 0.0
    shift = np.random.default_rng(3).normal(0.0, 2.0, 4 * tuner.bank_size)
    model = tuning.TuningModel()
    got = tuner.tune(shift, fsr_nm=18.0, model=model)
    # robin-eo: pitch 15.8 um = outer diameter 10.8 um (2*5 um + 800 nm weight ring) + 5 um edge-to-edge gap
    assert (tuner.pitch_um, tuner.ring_outer_diameter_um) == pytest.approx((15.8, 10.8), rel=1e-12)
    want = tuning.tune(shift, fsr_nm=18.0, bank_size=2 * cfg.N, pitch_um=15.8, ring_outer_diameter_um=10.8, model=model)
    np.testing.assert_array_equal(got.residual_nm, want.residual_nm)
    assert got.total_power_w == want.total_power_w
    assert fp.n_rings % tuner.bank_size == 0


def test_xnor_cell_levels_and_calibration(robin_eo):
    cfg = robin_eo.config
    cell = robin_eo.components.xnor_cell
    assert cell.count == cfg.N * cfg.M * cfg.units and cell.rings_per_cell == 2
    # Bit states from photonics.eo (accel.components.xnor_cell): the activation ring's depletion modulator at
    # the bit rate, the weight ring parked half a channel blue by injection; each state's extra loss.
    a, w = cell.activation_states, cell.weight_states
    assert (a.mechanism, w.mechanism) == ("depletion", "injection") and a.shift_nm < 0 and cell.park_nm == w.shift_nm
    # switched once per reload, the weight ring reaches its park point to within a few % (by hand: test_eo_wiring)
    assert cell.park_nm == pytest.approx(-0.5 * cfg.wavelength.channel_spacing_nm, rel=0.05)
    lam = cfg.wavelength.center_wavelength_nm
    zero = np.zeros(cfg.N)
    levels = xnor.bank_levels(cfg.activation_ring.design(lam), cfg.weight_ring.design(lam), channels_nm=cfg.channels_nm,
                              act_residual_nm=zero, weight_residual_nm=zero, modulation_nm=a.shift_nm, park_nm=w.shift_nm,
                              act_extra_loss_db_per_cm=np.array(a.extra_loss_db_per_cm),
                              weight_extra_loss_db_per_cm=np.array(w.extra_loss_db_per_cm))
    np.testing.assert_array_equal(cell.nominal_coefficients, xnor.coefficients(levels))
    # Calibration removes the nominal cell's alpha, beta, gamma (digitally, from the known bits) and
    # its gain: the nominal cell becomes alpha = beta = gamma = 0, delta = 1.
    nominal = cell.nominal_coefficients
    cal = cell.calibrated(np.broadcast_to(nominal, (2, 3, cfg.N, 4)))
    np.testing.assert_allclose(cal[..., 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(cal[..., 2], 0.0, atol=1e-15)
    np.testing.assert_allclose(cal[..., 3], 1.0, rtol=1e-15)
    np.testing.assert_allclose(cal[..., 1], 0.0, atol=1e-15)
    # Area: the photonic units of the floorplan, (2*margin + N*2*pitch) x (2*margin + M*vdu pitch) each; pitches =
    # outer diameter (the wider ring, 2*radius + width) + edge-to-edge gap.
    f = cfg.floorplan
    outer = max(2 * r.radius_um + r.width_nm / 1e3 for r in (cfg.activation_ring, cfg.weight_ring))
    unit_um2 = ((2 * f.unit_margin_um + cfg.N * 2 * (outer + f.ring_gap_um))
                * (2 * f.unit_margin_um + cfg.M * (outer + f.vdu_gap_um)))
    assert cell.area_mm2 == pytest.approx(cfg.units * unit_um2 * 1e-6, rel=1e-12)


# ------------------------------------------------------------------------------ registry
def test_one_registry_of_components_and_categories(robin_eo, lightbulb):
    c = robin_eo.components
    assert list(c) == ["laser", "tuner", "common_mode", "xnor_cell", "receiver", "comparator", "adc", "dac", "buffer",
                       "accumulator", "electronics"]
    assert len(COMPONENTS) == len(c)
    assert [type(comp) for comp in c.values()] == [Laser, Tuner, CommonModeTracker, XnorCell, Receiver, Adc, Adc, Dac,
                                                   Buffer, Accumulator, Electronics]
    used = {a.category for comp in c.values() for a in comp.actions.values()} | {
        comp.static_category for comp in c.values() if comp.static_category}
    assert used == set(CATEGORIES)
    assert SCHEDULE_CATEGORIES is CATEGORIES
    assert list(plots.BREAKDOWN_COMPONENTS) == list(CATEGORIES)
    assert set(plots._CATEGORY_COLORS) == set(CATEGORIES) and set(plots._COMPONENT_LABELS) <= set(CATEGORIES)
    assert c.laser is c["laser"]
    with pytest.raises(AttributeError, match="no component 'heater'"):
        c.heater
    # Area: every component's area, summing to the accelerator's.
    assert list(robin_eo.area_breakdown_mm2) == list(c)
    assert robin_eo.area_mm2 == pytest.approx(sum(comp.area_mm2 for comp in c.values()), rel=1e-12)
    # The inventory is a view of the components' counts.
    inv = lightbulb.inventory
    assert inv.comparators == inv.adcs == inv.dacs == inv.balanced_pds == lightbulb.vdus
    assert inv.total_rings == lightbulb.components.tuner.count


def test_energy_needs_a_count_for_every_action(robin_eo, rejected):
    c = robin_eo.components
    counts = {k: np.zeros(1) for k in c.action_keys}
    static = c.static_power_w(tuning_power_w=0.0)
    energy = c.energy_j(counts, np.zeros(1), static)
    assert list(energy) == list(CATEGORIES) and all(float(v.sum()) == 0.0 for v in energy.values())
    with rejected(ValueError, "missing", "buffer.read"):
        c.energy_j({k: v for k, v in counts.items() if k != "buffer.read"}, np.zeros(1), static)
    with rejected(ValueError, "unknown", "heater.lock"):
        c.energy_j({**counts, "heater.lock": np.zeros(1)}, np.zeros(1), static)


@pytest.mark.parametrize("preset,model,electronic_ends", [("robin-eo", "resnet18", False), ("robin-po", "vgg-small", False),
                                                          ("lightbulb", "resnet18", True), ("robin-eo", "zoo-mnist-cnn", True)])
def test_report_energy_is_counts_times_action_energies(preset, model, electronic_ends):
    """Sum, from the layer table alone, every action count x its component's action energy plus
    static power x latency, by category; it equals the report's breakdown and total."""
    acc = Accelerator(presets.load(preset))
    rep = map_model(shape_zoo.build(model, electronic_ends=electronic_ends), acc, shape_zoo.input_shape(model))
    layers = rep.layers
    comps = acc.components
    by_category = dict.fromkeys(CATEGORIES, 0.0)
    for category, power_w in rep.static_power_w.items():
        by_category[category] += power_w * float(layers["latency_s"].sum())
    action_columns = [col for col in layers.columns if "." in col]
    assert sorted(action_columns) == sorted(comps.action_keys)
    for col in action_columns:
        name, action = col.split(".")
        a = comps[name].actions[action]
        by_category[a.category] += float((layers[col].to_numpy(dtype=np.float64) * a.energy_j).sum())
    assert rep.static_power_w["tuning"] == comps.tuner.static_power_w
    assert rep.static_power_w["laser"] == comps.laser.static_power_w
    for category, energy_j in by_category.items():
        assert rep.breakdown[category] == pytest.approx(energy_j / rep.batch, rel=1e-12, abs=0.0), category
    assert rep.energy_j == pytest.approx(sum(by_category.values()) / rep.batch, rel=1e-12, abs=0.0)
    assert layers["electronics.mac"].sum() == layers["electronic_macs"][layers["runs_on"] == "electronic"].sum()


@pytest.mark.parametrize("name", ["robin-eo", "lightbulb"])  # lightbulb: a third, untuned-sampled ring per cell
def test_nominal_tuning_power_respects_a_chip_budget_shared_out_to_the_block(name):
    # The nominal power is sampled on a block of the chip; a binding chip budget must still bind there,
    # and a budget above every chip's need must change nothing.
    cfg = presets.load(name).with_values({"tuning.common_mode": "none"})
    unlimited = Tuner(cfg.with_values({"tuning.chip_budget_w": None})).nominal_power_w()
    tight_w = 0.3 * unlimited
    tight = Tuner(cfg.with_values({"tuning.chip_budget_w": tight_w})).nominal_power_w()
    assert tight <= tight_w * (1 + 1e-9)
    loose = Tuner(cfg.with_values({"tuning.chip_budget_w": 1e5})).nominal_power_w()
    assert loose == unlimited


# ------------------------------------------------------------------------------ common-mode tracking
def _cop_by_hand(dt_k, t_h=300.0, zt=0.7):
    """Optimum-COP Peltier formula (Goldsmid eq. 2.21), written out independently of photonics.common_mode."""
    m, t_c = np.sqrt(1.0 + zt), t_h - dt_k
    return t_c / dt_k * (m - t_h / t_c) / (m + 1.0)


def test_common_mode_tracker_is_its_own_static_term():
    # robin-eo with the laser comb tracking: the tracker's static power is the mean over the sampled chips of
    # 1 W / COP(|dT|), computed by hand, and it appears as its own breakdown category.
    cfg = presets.load("robin-eo").with_values({"tuning.variation_chips": 3, "tuning.common_mode": "laser"})
    acc = Accelerator(cfg)
    dt = np.abs(np.array(acc.components.tuner.common_mode_dt_k()))
    assert dt.size == 3 and np.all(dt <= cfg.tuning.laser_tec_max_dt_k)
    by_hand = np.mean([0.0 if d == 0 else cfg.tuning.laser_heat_load_w / _cop_by_hand(d) for d in dt])
    assert acc.components.common_mode.static_power_w == pytest.approx(by_hand, rel=1e-12)
    static = acc.components.static_power_w()
    assert static["common_mode"] == acc.components.common_mode.static_power_w
    for mode in ("ideal", "none"):
        other = Accelerator(cfg.with_values({"tuning.common_mode": mode}))
        assert other.components.common_mode.static_power_w == 0.0 and other.components.common_mode.count == 0


def test_die_tec_pumps_the_chip_tuning_power():
    cfg = presets.load("robin-eo").with_values({"tuning.variation_chips": 2, "tuning.common_mode": "tec",
                                                "tuning.die_heat_load_w": 5.0})
    acc = Accelerator(cfg)
    dt = np.abs(np.array(acc.components.tuner.common_mode_dt_k()))
    assert np.all(dt <= cfg.tuning.die_tec_max_dt_k) and np.any(dt > 0)
    load = 5.0 + acc.components.tuner.static_power_w
    by_hand = np.mean([0.0 if d == 0 else load / _cop_by_hand(d) for d in dt])
    assert acc.components.common_mode.static_power_w == pytest.approx(by_hand, rel=1e-12)
