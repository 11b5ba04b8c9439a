"""photonics.eo wired into the presets, the tuning model and the XNOR cell (issue 10, item 1).

Independent references: ``photonics.eo`` called directly on the preset's ring designs, the Airy
add-drop formula written out here, the solver's sign convention, and the papers' model as it
was typed into the presets before (Pockels 4 µW/nm, ±1 nm, 20 ns; half-channel blue shift in
bit 0 at 50 fJ per bit and per weight write).
"""
import math

import numpy as np
import pytest

from accel import Accelerator, presets
from accel.components.xnor_cell import ring_states
from photonics import eo, tuning, xnor
from photonics.mrr import RingDesign

PRESETS = ["robin-eo", "robin-po", "lightbulb"]

PAPER = {  # the papers' model as preset overrides (what a robin-eo-paper preset sets)
    "tuning.eo_mechanism": "pockels", "eo.platform": "BaTiO3-on-silicon",
    "eo.activation_mechanism": "assumed", "eo.weight_mechanism": "assumed",
    "wavelength.bit0_shift_fraction_of_spacing": 0.5,
    "energy.activation_modulation_fj_per_bit": 50.0, "energy.weight_program_fj_per_ring": 50.0,
}


def _paper(cfg):
    """PAPER for ``cfg``: a weight-stationary cell also takes the papers' 20 ns reload (CrossLight's EO settle)."""
    return {**PAPER, "tuning.eo_settle_ns": 20.0} if cfg.cell_model == "robin" else PAPER


def _rings(cfg):
    lam = cfg.wavelength.center_wavelength_nm
    return cfg.activation_ring.design(lam), cfg.weight_ring.design(lam)


def _airy_add_drop(ring: RingDesign, detuning_nm: float, extra_loss_db_per_cm: float, wavelength_nm: float):
    """(through, drop) power at ``wavelength_nm`` of an add-drop ring whose resonance sits ``detuning_nm``
    from it, by hand: a² = 10^(−(loss + extra)·L/10), r_i = √(1 − κ_i²), and the round-trip phase of the
    ring's own dispersion model evaluated where its nearest design resonance r0 sees the light, r0 − detuning."""
    a = 10.0 ** (-(ring.loss_db_per_cm + extra_loss_db_per_cm) * ring.circumference_um * 1e-4 / 20.0)
    r1, r2 = math.sqrt(1.0 - ring.kappa2_in), math.sqrt(1.0 - ring.kappa2_drop)
    r0 = float(ring.nearest_resonance_nm(wavelength_nm + detuning_nm))
    phi = float(ring.phase(np.array([r0 - detuning_nm]))[0])
    den = 1.0 - 2.0 * r1 * r2 * a * math.cos(phi) + (r1 * r2 * a) ** 2
    through = (r2**2 * a**2 - 2.0 * r1 * r2 * a * math.cos(phi) + r1**2) / den
    drop = (1.0 - r1**2) * (1.0 - r2**2) * a / den
    return through, drop


# ---------------------------------------------------------------- tuning window
@pytest.mark.parametrize("name", PRESETS)
def test_preset_eo_window_is_the_mechanisms_actuator_on_its_ring_designs(name):
    cfg = presets.load(name)
    tuner = getattr(cfg, f"eo_{cfg.tuning.eo_mechanism}")
    figs = [eo.actuator(tuner, ring) for ring in _rings(cfg)]
    m = cfg.tuning.model()
    assert m.eo_blue_range_nm == min(f.blue_range_nm for f in figs) > 0
    assert m.eo_red_range_nm == min(f.red_range_nm for f in figs)
    assert m.eo_blue_w_per_nm == max(f.blue_w_per_nm for f in figs)
    assert m.eo_hold_power_w == max(f.hold_power_w for f in figs)
    assert m.eo_lock_time_s == max(f.settle_time_s for f in figs)
    # injection (the silicon presets' tuner): blue only, loss-limited to ~0.1-0.6 nm, 0.1-1 mW/nm
    assert cfg.tuning.eo_mechanism == "injection" and m.eo_red_range_nm == 0.0 and m.eo_red_w_per_nm == 0.0
    # (~0.1-0.3 nm quoted for low-loss rings, docs/references.md §7; LightBulb's doped 74 dB/cm disks lose
    # relatively less drop to the same carrier loss before the 1 dB limit: ~0.74 nm)
    assert 0.1 <= m.eo_blue_range_nm <= (0.8 if name == "lightbulb" else 0.65) and 0.1e-3 <= m.eo_blue_w_per_nm <= 1e-3


def test_injection_never_red_tunes_in_the_solver():
    cfg = presets.load("robin-eo")
    m = cfg.tuning.model()
    rng = np.random.default_rng(5)
    shift = rng.normal(0.0, 2.0, (6, 40)) + rng.normal(0.0, 3.0, (6, 1))
    fsr = np.where(np.arange(40) % 2 == 0, 18.28, 19.64)
    for model in (m, tuning.TuningModel(**{**{k: getattr(m, k) for k in ("eo_blue_range_nm", "eo_red_range_nm",
                                                                       "eo_blue_w_per_nm", "eo_red_w_per_nm")},
                                          "chip_budget_w": 0.05})):
        r = tuning.tune(shift, fsr_nm=fsr, bank_size=20, pitch_um=15.8, ring_outer_diameter_um=10.8, model=model)  # robin-eo
        assert np.all(r.eo_shift_nm <= 0.0) and np.any(r.eo_shift_nm < 0.0)
        assert np.all(r.eo_shift_nm >= -m.eo_blue_range_nm - 1e-12)
        # EO power is the blue correction at the injection chord's W/nm (no hold power)
        np.testing.assert_allclose(r.eo_power_w, -r.eo_shift_nm * m.eo_blue_w_per_nm, rtol=1e-12, atol=0.0)


def test_hold_power_is_drawn_by_every_ring_and_costs_no_lock_time():
    m = tuning.TuningModel(eo_blue_range_nm=0.02, eo_red_range_nm=0.06, eo_blue_w_per_nm=0.0, eo_red_w_per_nm=6.7e-8,
                           eo_hold_power_w=1e-9)
    r = tuning.tune(np.zeros(8), fsr_nm=18.0, bank_size=4, pitch_um=15.5, ring_outer_diameter_um=10.5, model=m)
    np.testing.assert_array_equal(r.eo_power_w, 1e-9)
    assert r.total_power_w == pytest.approx(8e-9, rel=1e-12) and r.lock_time_s == 0.0


def test_with_actuator_copies_the_figures_and_zeroes_the_cost_of_an_empty_direction():
    ring = RingDesign(5.0, 500, kappa2_in=0.04, kappa2_drop=0.04)
    fig = eo.actuator(eo.InjectionTuner(), ring)
    m = tuning.TuningModel().with_actuator(fig)
    assert (m.eo_blue_range_nm, m.eo_red_range_nm, m.eo_blue_w_per_nm, m.eo_red_w_per_nm, m.eo_hold_power_w,
            m.eo_lock_time_s) == (fig.blue_range_nm, 0.0, fig.blue_w_per_nm, 0.0, 0.0, fig.settle_time_s)
    assert math.isnan(fig.red_w_per_nm)


# ---------------------------------------------------------------- platform and the papers' model
def test_silicon_presets_cannot_borrow_the_bto_pockels_tuner(rejected):
    cfg = presets.load("robin-eo")
    with rejected(ValueError, "tuning.eo_mechanism", "BaTiO3-on-silicon", "platform='silicon'", "eo.platform"):
        cfg.with_values({"tuning.eo_mechanism": "pockels"})
    with rejected(ValueError, "eo.activation_mechanism", "pockels"):
        cfg.with_values({"eo.activation_mechanism": "pockels"})
    with rejected(ValueError, "eo.platform='chalcogenide' is not allowed", "silicon"):
        cfg.with_values({"eo.platform": "chalcogenide"})


def test_assumed_figures_are_required_by_an_assumed_modulator(rejected):
    cfg = presets.load("robin-eo")
    with rejected(ValueError, "wavelength.bit0_shift_fraction_of_spacing=0.5 is not allowed", "'assumed'"):
        cfg.with_values({"wavelength.bit0_shift_fraction_of_spacing": 0.5})
    with rejected(ValueError, "energy.activation_modulation_fj_per_bit=None is not allowed"):
        cfg.with_values({**_paper(cfg), "energy.activation_modulation_fj_per_bit": None})
    # with a physical modulator a typed-in energy replaces the model's (a study's override)
    typed = Accelerator(cfg.with_values({"energy.activation_modulation_fj_per_bit": 7.0})).components.xnor_cell
    assert typed.actions["modulate"].energy_j == 7e-15
    assert typed.modulation_nm == Accelerator(cfg).components.xnor_cell.modulation_nm


@pytest.mark.parametrize("name", PRESETS)
def test_paper_overrides_reproduce_the_papers_model(name):
    base = presets.load(name)
    paper = base.with_values(_paper(base))
    # the EO window of CrossLight's Pockels tuner: the TuningModel defaults, which are that device's
    assert paper.tuning.model() == tuning.TuningModel(common_mode=base.tuning.common_mode,
                                                      chip_budget_w=base.tuning.chip_budget_w)
    cell = Accelerator(paper).components.xnor_cell
    half = -0.5 * paper.wavelength.channel_spacing_nm
    assert cell.modulation_nm == half and cell.park_nm == half
    assert cell.actions["modulate"].energy_j == 50e-15 and cell.actions["program_weight"].energy_j == 50e-15
    assert cell.actions["program_weight"].latency_s == (20e-9 if base.cell_model == "robin" else 0.0)
    # no extra loss in either state: the levels are those of the bare ring designs
    act, weight = _rings(paper)
    zero = np.zeros(paper.N)
    bare = xnor.coefficients(xnor.bank_levels(act, weight, channels_nm=paper.channels_nm, act_residual_nm=zero,
                                              weight_residual_nm=zero, modulation_nm=half, park_nm=half))
    np.testing.assert_array_equal(cell.nominal_coefficients, bare)


# ---------------------------------------------------------------- modulator states in the XNOR cell
@pytest.mark.parametrize("name", PRESETS)
def test_cell_states_are_the_modulators_with_the_low_loss_state_on(name):
    cfg = presets.load(name)
    act, weight = _rings(cfg)
    fig = eo.modulator(cfg.eo_depletion, act, bit_rate_gbps=cfg.bit_rate_gbps)
    st = ring_states(cfg, "activation")
    assert st.mechanism == "depletion" and st.energy_j == fig.energy_per_bit_j
    # depletion: the more-reverse (red) state has fewer carriers and less loss -> "on"; "off" is blue of it
    assert st.shift_nm == pytest.approx(fig.shift_nm[1] - fig.shift_nm[0], rel=1e-12) and st.shift_nm < 0
    assert st.extra_loss_db_per_cm == (fig.extra_loss_db_per_cm[1], fig.extra_loss_db_per_cm[0])
    assert st.extra_loss_db_per_cm[0] > 0 > st.extra_loss_db_per_cm[1]
    cell = Accelerator(cfg).components.xnor_cell
    assert cell.actions["modulate"].energy_j == fig.energy_per_bit_j
    w = ring_states(cfg, "weight")
    assert cell.actions["program_weight"].energy_j == w.energy_j
    if cfg.cell_model == "lightbulb":  # streamed weights: modulated every cycle at the bit rate
        assert w.figures.bit_rate_gbps == cfg.bit_rate_gbps
    else:  # weight-stationary: switched once per reload (its settle time), parked half a channel blue
        park = -cfg.eo.weight_park_fraction_of_spacing * cfg.wavelength.channel_spacing_nm
        # Soref-Bennett by hand: the density n whose shift λ·Γ·f·Δn(n)/n_g is the park; its loss Γ·f·Δα(n)
        tuner = cfg.eo_injection
        gamma = tuner.overlap * tuner.junction_fraction

        def sb_shift(n):
            return 1550.0 * gamma * -(8.8e-22 * n + 8.5e-18 * n**0.8) / weight.n_g

        lo, hi = 0.0, 1e19
        for _ in range(200):
            n = 0.5 * (lo + hi)
            lo, hi = (n, hi) if sb_shift(n) > park else (lo, n)
        # switched once per reload T = τ·ln(1/tol) + τ_ph, the density relaxes with τ + τ_ph towards n or 0: the
        # worst-case states are n·(1 − d) (driven, bit 0) and n·d with d = exp(−T/(τ + τ_ph))
        tau, tau_ph = tuner.carrier_lifetime_ns * 1e-9, weight.q_loaded * 1550e-9 / (2 * math.pi * 299792458.0)
        d = math.exp(-(tau * math.log(1 / tuner.settle_tolerance) + tau_ph) / (tau + tau_ph))
        assert w.mechanism == "injection" and w.shift_nm == pytest.approx(sb_shift(n * (1 - d)) - sb_shift(n * d), rel=1e-6)
        assert park < w.shift_nm < 0.95 * park  # within a few % of the park point
        assert w.extra_loss_db_per_cm[0] == pytest.approx(10 / math.log(10) * gamma * 14.5e-18 * n * (1 - d), rel=1e-6)
        # its hold power: half the rings (random weights) carry q·n·V_junction/τ at V_f
        volume_cm3 = weight.circumference_um * 1e-4 * tuner.junction_fraction * 500e-7 * 220e-7
        hold = 0.5 * 1.602176634e-19 * n * volume_cm3 / 1e-9 * tuner.forward_voltage_v
        assert w.hold_power_w == pytest.approx(hold, rel=1e-6)
        assert cell.static_power_w == pytest.approx(cfg.N * cfg.M * cfg.units * hold, rel=1e-6)
        assert cell.actions["program_weight"].energy_j == pytest.approx(hold * 1e-9, rel=1e-6)  # ½·P·τ per write


def test_single_cell_levels_with_modulator_states_equal_the_airy_product_by_hand():
    cfg = presets.load("robin-eo")
    act, weight = _rings(cfg)
    a_st, w_st = ring_states(cfg, "activation"), ring_states(cfg, "weight")
    lam = cfg.wavelength.center_wavelength_nm
    res_a, res_w = 0.013, -0.021  # residual detunings of the "on" states (nm)
    levels = xnor.bank_levels(act, weight, channels_nm=np.array([lam]), act_residual_nm=np.array([res_a]),
                              weight_residual_nm=np.array([res_w]), modulation_nm=a_st.shift_nm, park_nm=w_st.shift_nm,
                              neighbours=False, act_extra_loss_db_per_cm=np.array(a_st.extra_loss_db_per_cm),
                              weight_extra_loss_db_per_cm=np.array(w_st.extra_loss_db_per_cm))[0]
    for bit_a in (0, 1):
        det_a = res_a + (a_st.shift_nm if bit_a == 0 else 0.0)
        t_a, d_a = _airy_add_drop(act, det_a, a_st.extra_loss_db_per_cm[bit_a], lam)
        for bit_w in (0, 1):
            det_w = res_w + (w_st.shift_nm if bit_w == 0 else 0.0)
            t_w, d_w = _airy_add_drop(weight, det_w, w_st.extra_loss_db_per_cm[bit_w], lam)
            p_a, p_b = t_w * t_a + d_w * d_a, d_w * t_a + t_w * d_a  # light enters on bus A
            assert levels[bit_a, bit_w] == pytest.approx(p_a - p_b, abs=1e-12)
    # the weak depletion swing (40 pm against a 0.24 nm linewidth) leaves the off state dropping most of its
    # light: extinction of the activation ring's drop, by the Lorentzian D(δ) = D0/(1 + (2δ/FWHM)²)
    d_on = _airy_add_drop(act, 0.0, a_st.extra_loss_db_per_cm[1], lam)[1]
    d_off = _airy_add_drop(act, a_st.shift_nm, a_st.extra_loss_db_per_cm[0], lam)[1]
    on_ring, off_ring = (eo.ring_with_extra_loss(act, extra_loss_db_per_cm=x) for x in a_st.extra_loss_db_per_cm[::-1])
    lorentz = off_ring.peak_drop / on_ring.peak_drop / (1.0 + (2.0 * a_st.shift_nm / off_ring.fwhm_nm) ** 2)
    assert d_off / d_on == pytest.approx(lorentz, rel=0.01)
    assert 10 * math.log10(d_on / d_off) < 1.0  # ~0.6 dB of extinction at 40 pm: the physics the report shows


def test_a_state_independent_extra_loss_equals_the_lossier_ring_design():
    # invariant: the same extra loss in both states is a ring design with that much more loss
    cfg = presets.load("robin-eo")
    act, weight = _rings(cfg)
    rng = np.random.default_rng(2)
    res = rng.normal(0.0, 0.02, (3, cfg.N))
    kw = dict(channels_nm=cfg.channels_nm, act_residual_nm=res, weight_residual_nm=-res, modulation_nm=-0.3,
              park_nm=-0.25)
    per_state = xnor.bank_levels(act, weight, **kw, act_extra_loss_db_per_cm=np.array([5.0, 5.0]),
                                 weight_extra_loss_db_per_cm=np.array([[1.5, 1.5]]))
    lossier = xnor.bank_levels(eo.ring_with_extra_loss(act, extra_loss_db_per_cm=5.0),
                               eo.ring_with_extra_loss(weight, extra_loss_db_per_cm=1.5), **kw)
    np.testing.assert_allclose(per_state, lossier, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match=r"act_extra_loss_db_per_cm.*\(\.\.\., N, 2\)"):
        xnor.bank_levels(act, weight, **kw, act_extra_loss_db_per_cm=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"weight_extra_loss_db_per_cm.*>= -2.0 dB/cm"):
        xnor.bank_levels(act, weight, **kw, weight_extra_loss_db_per_cm=np.array([-3.0, 0.0]))


def test_a_closed_eye_is_an_error_naming_the_mechanism_and_rate(rejected):
    # carrier injection (1 ns lifetime) cannot modulate the activation ring at 5 Gb/s: no open eye
    cfg = presets.load("robin-eo").with_values({"eo.activation_mechanism": "injection"})
    with rejected(ValueError, "eo.activation_mechanism='injection'", "eye is closed", "bit_rate_gbps=5.0"):
        Accelerator(cfg).components


def test_the_tuners_operating_point_loss_reaches_the_cell():
    # a chip state with every activation ring EO-tuned to the end of the injection window: its rings carry the
    # free-carrier loss the actuator reports at that limit (an independent photonics.eo call) in both states
    from types import SimpleNamespace

    cfg = presets.load("robin-eo")
    cell = Accelerator(cfg).components.xnor_cell
    act, weight = _rings(cfg)
    limit = eo.actuator(cfg.eo_injection, act)
    blue = cfg.tuning.model().eo_blue_range_nm
    assert blue == limit.blue_range_nm  # the activation ring sets the conservative window
    zero = np.zeros((2, cfg.N))
    eo_shift = np.stack([np.full((2, cfg.N), -blue), np.zeros((2, cfg.N))], axis=-1)
    eo_shift[1] = 0.0
    loss = cell.tuning_loss_db_per_cm(eo_shift)
    np.testing.assert_allclose(loss[0, :, 0], limit.blue_limit_extra_loss_db_per_cm, rtol=1e-6)
    assert np.all(loss[..., 1] == 0.0) and np.all(loss[1] == 0.0)
    tuned = cell.coefficients(SimpleNamespace(act_residual_nm=zero, weight_residual_nm=zero, eo_shift_nm=eo_shift))
    a_st, w_st = cell.activation_states, cell.weight_states
    by_hand = xnor.coefficients(xnor.bank_levels(
        act, weight, channels_nm=cfg.channels_nm, act_residual_nm=zero, weight_residual_nm=zero,
        modulation_nm=a_st.shift_nm, park_nm=w_st.shift_nm,
        act_extra_loss_db_per_cm=np.array(a_st.extra_loss_db_per_cm) + loss[..., 0, None],
        weight_extra_loss_db_per_cm=np.array(w_st.extra_loss_db_per_cm)))
    np.testing.assert_array_equal(tuned, by_hand)
    untuned = cell.coefficients(SimpleNamespace(act_residual_nm=zero, weight_residual_nm=zero))
    np.testing.assert_array_equal(tuned[1], untuned[1])
    # the 1 dB peak-drop penalty of the tuned ring costs the cell gain: δ falls by about that much
    assert np.all(tuned[0, :, 3] < untuned[0, :, 3])


# ---------------------------------------------------------------- weight reload time from the actuator (issue 11, item 5)
C_LIGHT = 299792458.0


def _photon_lifetime_s(ring):
    return ring.q_loaded * ring.wavelength_nm * 1e-9 / (2 * math.pi * C_LIGHT)


@pytest.mark.parametrize("name", ["robin-eo", "robin-po"])
def test_injection_weight_reload_is_the_carrier_lifetime_settle(name):
    # a weight ring driven by injection settles as 1 - exp(-t/τ): to 1 % in τ·ln(100), then the cavity
    # follows in its photon lifetime Q_L·λ/(2πc); every weight ring of a round switches at once
    cfg = presets.load(name)
    tau = cfg.eo_injection.carrier_lifetime_ns * 1e-9
    expected = tau * math.log(1 / cfg.eo_injection.settle_tolerance) + _photon_lifetime_s(_rings(cfg)[1])
    cell = Accelerator(cfg).components.xnor_cell
    assert cell.actions["program_weight"].latency_s == pytest.approx(expected, rel=1e-12)
    assert 4e-9 < expected < 5e-9  # ns, not the 20 ns CrossLight typed in for its Pockels device
    # the weight ring's states are those of one switch per reload: a full (settled) swing
    w = ring_states(cfg, "weight")
    assert w.figures.bit_rate_gbps == pytest.approx(1e-9 / expected, rel=1e-12)


def test_depletion_and_pockels_weight_rings_reload_in_their_own_settle_times():
    cfg = presets.load("robin-eo")
    weight = _rings(cfg)[1]
    dep = cfg.with_values({"eo.weight_mechanism": "depletion"})
    t = dep.eo_depletion
    rc_s = t.series_resistance_ohm * t.capacitance_ff * 1e-15
    expected = rc_s * math.log(1 / t.settle_tolerance) + _photon_lifetime_s(weight)
    assert Accelerator(dep).components.xnor_cell.actions["program_weight"].latency_s == pytest.approx(expected, rel=1e-12)
    bto = cfg.with_values({"eo.platform": "BaTiO3-on-silicon", "tuning.eo_mechanism": "pockels",
                           "eo.activation_mechanism": "assumed", "wavelength.bit0_shift_fraction_of_spacing": 0.5,
                           "energy.activation_modulation_fj_per_bit": 50.0, "eo.weight_mechanism": "pockels"})
    assert (Accelerator(bto).components.xnor_cell.actions["program_weight"].latency_s
            == pytest.approx(bto.eo_pockels.settle_time_ns * 1e-9, rel=1e-12))


def test_streamed_weights_have_no_reload():
    assert Accelerator(presets.load("lightbulb")).components.xnor_cell.actions["program_weight"].latency_s == 0.0


def test_typed_reload_time_only_with_an_assumed_weight_modulator(rejected):
    cfg = presets.load("robin-eo")
    with rejected(ValueError, "tuning.eo_settle_ns=20.0 is not allowed", "eo.weight_mechanism='injection'"):
        cfg.with_values({"tuning.eo_settle_ns": 20.0})
    with rejected(ValueError, "tuning.eo_settle_ns=None is not allowed", "'assumed'"):
        cfg.with_values(PAPER)
    with rejected(ValueError, "tuning.eo_settle_ns=20.0 is not allowed", "cell_model='lightbulb'"):
        presets.load("lightbulb").with_values({"tuning.eo_settle_ns": 20.0})
    assert presets.load("robin-eo-paper").tuning.eo_settle_ns == 20.0
