"""Rate-aware converters and receiver (issue #11 item 4): the Walden figure of merit against
published ADCs below and above its corner, the TIA power against published TIAs at three bit
rates, closed forms of both, and LightBulb at 50 Gb/s paying 50 Gb/s costs.

Every reference value is written out here with its source (docs/references.md §5); the model
is called with the presets' parameters (robin-eo: FOM0 13.2 fJ/step, corner 0.5 GS/s, slope
0.45; TIA 7.2 mW at 5 Gb/s, exponent 1)."""
import functools
import math

import numpy as np
import pytest

from accel import Accelerator, presets
from accel.components import Adc, Components, Receiver
from accel.components.converters import adc_energy_j, walden_fom_fj_per_step
from accel.components.receiver import tia_power_w


@pytest.fixture(scope="module")
def robin_eo():
    return presets.load("robin-eo")


@pytest.fixture(scope="module")
def lightbulb():
    return presets.load("lightbulb")


# pytest.approx's default abs tolerance (1e-12) would pass any fJ-scale energy in J: none here.
approx = functools.partial(pytest.approx, abs=0.0)


def fom_args(cfg) -> dict:
    c = cfg.converters
    return dict(fom_fj_per_step=c.adc_fom_fj_per_step, corner_gsps=c.adc_fom_corner_gsps, slope=c.adc_fom_slope)


def tia_args(cfg) -> dict:
    r = cfg.receiver
    return dict(power_mw=r.tia_power_mw, reference_rate_gbps=r.tia_reference_rate_gbps, rate_exponent=r.tia_rate_exponent)


# --- ADC against published converters -------------------------------------------------------

def test_sonic_16_bit_adc_below_the_corner(robin_eo):
    # SONIC Table 2: 16-bit ADC, 62 mW, 14 ns per conversion -> 1/14 ns = 71.4 MS/s, below the
    # 0.5 GS/s corner; energy per conversion 62 mW x 14 ns = 868 pJ. Tolerance 1 %.
    fs_gsps = 1.0 / 14.0
    published_j = 62e-3 * 14e-9
    assert adc_energy_j(16, fs_gsps, **fom_args(robin_eo)) == approx(published_j, rel=0.01)


@pytest.mark.parametrize("fs_gsps, published_pj", [(24.0, 2.0), (72.0, 3.3)])
def test_kull_2018_time_interleaved_sar_adc(robin_eo, fs_gsps, published_pj):
    # Kull et al., IEEE JSSC 53(12), 3508 (2018): 8-b TI-SAR ADC, 24-72 GS/s, 2.0 pJ/conversion at
    # 24 GS/s and 3.3 pJ at 72 GS/s, > 30 dB SNDR at Nyquist -> ENOB = (30 - 1.76)/6.02 = 4.69 bits.
    # Tolerance 25 %: the ENOB is read from a lower bound on the SNDR, and the SNDR falls with rate.
    enob = (30.0 - 1.76) / 6.02
    assert enob == approx(4.69, abs=0.01)
    model_pj = adc_energy_j(enob, fs_gsps, **fom_args(robin_eo)) * 1e12
    assert model_pj == approx(published_pj, rel=0.25)


def test_published_adcs_span_an_order_of_magnitude_in_fom(robin_eo):
    # The published FOMs themselves: SONIC 62 mW x 14 ns / 2^16 = 13.2 fJ/step at 71 MS/s;
    # Kull 2018 2.0 pJ / 2^4.69 = 77 fJ/step at 24 GS/s. The model follows both (25 %).
    enob = (30.0 - 1.76) / 6.02
    sonic = 62e-3 * 14e-9 / 2**16 * 1e15
    kull = 2.0e-12 / 2**enob * 1e15
    assert walden_fom_fj_per_step(1 / 14, **fom_args(robin_eo)) == approx(sonic, rel=0.01)
    assert walden_fom_fj_per_step(24.0, **fom_args(robin_eo)) == approx(kull, rel=0.25)
    assert kull > 5 * sonic


# --- TIA against published amplifiers --------------------------------------------------------

@pytest.mark.parametrize("label, bit_rate_gbps, published_mw", [
    # Atef & Zimmermann, IEEE TCAS-I 60(7), 1929 (2013): 4.1 mW at 1.5 GHz bandwidth, read as a
    # 1.5 / 0.7 = 2.14 Gb/s NRZ receiver (bandwidth ~0.7 x bit rate): 1.9 pJ/bit.
    ("Atef & Zimmermann 2013", 1.5 / 0.7, 4.1),
    # CrossLight (Sunny et al., DAC 2021) Table II: 7.2 mW, read at ROBIN's 5 Gb/s: 1.44 pJ/bit.
    ("CrossLight Table II", 5.0, 7.2),
    # Xie et al., IEEE iWEM 2021: 38 mW at 25 Gb/s (45 nm RF-SOI, post-layout simulation): 1.52 pJ/bit.
    ("Xie et al. 2021", 25.0, 38.0),
])
def test_tia_power_within_1p5x_of_published_tias(robin_eo, label, bit_rate_gbps, published_mw):
    model_mw = tia_power_w(bit_rate_gbps, **tia_args(robin_eo)) * 1e3
    assert 1 / 1.5 <= model_mw / published_mw <= 1.5, (label, model_mw, published_mw)
    # Exponent 1: a constant 7.2 mW / 5 Gb/s = 1.44 pJ/bit (mW / (Gb/s) = pJ/bit) at every rate.
    assert model_mw / bit_rate_gbps == approx(1.44, rel=1e-12)


# --- closed forms ---------------------------------------------------------------------------

def test_fom_flat_below_the_corner_continuous_at_it_monotone_above():
    args = dict(fom_fj_per_step=13.2, corner_gsps=0.5, slope=0.45)
    below = np.array([1e-6, 1e-3, 0.07, 0.3, 0.5])
    assert np.array_equal(walden_fom_fj_per_step(below, **args), np.full(below.shape, 13.2))
    eps = 1e-9
    lo, hi = walden_fom_fj_per_step(0.5 * (1 - eps), **args), walden_fom_fj_per_step(0.5 * (1 + eps), **args)
    assert hi == approx(lo, rel=1e-8)
    above = np.geomspace(0.5, 500.0, 200)
    fom = walden_fom_fj_per_step(above, **args)
    assert np.all(np.diff(fom) > 0)
    # Closed form above the corner: 13.2 x (fs / 0.5)^0.45; at 5 GS/s, 13.2 x 10^0.45 = 37.2 fJ.
    assert walden_fom_fj_per_step(5.0, **args) == approx(13.2 * 10**0.45, rel=1e-12)
    assert walden_fom_fj_per_step(5.0, **args) == pytest.approx(37.20, abs=0.005)
    # Slope 0: the rate-independent FOM of before.
    assert walden_fom_fj_per_step(50.0, fom_fj_per_step=13.2, corner_gsps=0.5, slope=0.0) == 13.2
    # Energy = FOM x 2^bits, fractional bits allowed (ENOB).
    assert adc_energy_j(4.5, 5.0, **args) == approx(13.2e-15 * 10**0.45 * 2**4.5, rel=1e-12)


@pytest.mark.parametrize("name", ["robin-eo", "robin-po", "lightbulb"])
def test_adc_and_comparator_convert_at_the_bit_rate(name):
    cfg = presets.load(name)
    fs = cfg.bit_rate_gbps  # one conversion per VDU cycle
    fom_j = 13.2e-15 * max(1.0, fs / 0.5) ** 0.45  # the presets' FOM0, corner, slope
    adc, comparator = Adc(cfg), Adc.comparator(cfg)
    bits = math.ceil(math.log2(cfg.N + 1))
    assert adc.bits == bits and adc.sample_rate_gsps == fs
    assert adc.actions["convert"].energy_j == approx(fom_j * 2**bits, rel=1e-12)
    # The comparator is a 1-bit ADC at the same rate-aware FOM: FOM(fs) x 2.
    assert comparator.actions["convert"].energy_j == approx(fom_j * 2, rel=1e-12)
    assert comparator.actions["convert"].category == "receiver"
    assert adc.actions["convert"].latency_s == approx(1 / (fs * 1e9), rel=1e-12)


def test_tia_power_closed_form(robin_eo):
    args = dict(power_mw=7.2, reference_rate_gbps=5.0, rate_exponent=1.0)
    assert tia_power_w(5.0, **args) == approx(7.2e-3, rel=1e-12)
    assert tia_power_w(50.0, **args) == approx(72e-3, rel=1e-12)
    assert tia_power_w(10.0, power_mw=7.2, reference_rate_gbps=5.0, rate_exponent=0.5) == approx(7.2e-3 * 2**0.5, rel=1e-12)
    assert tia_power_w(50.0, power_mw=7.2, reference_rate_gbps=5.0, rate_exponent=0.0) == approx(7.2e-3, rel=1e-12)
    rates = np.array([1.0, 5.0, 25.0])
    assert np.allclose(tia_power_w(rates, **args), 7.2e-3 * rates / 5.0, rtol=1e-12, atol=0)
    # robin-eo runs at the reference rate: its TIAs draw the quoted 7.2 mW each.
    assert Receiver(robin_eo).tia_power_per_vdu_w == approx(7.2e-3, rel=1e-12)


# --- LightBulb at 50 Gb/s -------------------------------------------------------------------

def test_lightbulb_pays_50_gbps_costs(robin_eo, lightbulb):
    assert lightbulb.bit_rate_gbps == 50.0 and robin_eo.bit_rate_gbps == 5.0
    lb_rx, eo_rx = Receiver(lightbulb), Receiver(robin_eo)
    # TIA: 7.2 mW x (50 / 5)^1 = 72 mW per VDU, 10x robin-eo's.
    assert lb_rx.tia_power_per_vdu_w == approx(10 * eo_rx.tia_power_per_vdu_w, rel=1e-12)
    assert lb_rx.tia_power_per_vdu_w == approx(72e-3, rel=1e-12)
    # Static receiver power: every VDU's 72 mW TIA plus the photodiodes' bias dissipation.
    by_hand = lb_rx.count * 72e-3 + lb_rx.photodiodes * lb_rx.photodiode_power_w
    assert lb_rx.static_power_w == approx(by_hand, rel=1e-12)
    assert Components(lightbulb).static_power_w()["receiver"] == lb_rx.static_power_w
    # ADC: at 50 GS/s, 13.2 fJ x (50 / 0.5)^0.45 = 104.85 fJ/step, x 2^ceil(log2(N + 1)).
    adc = Accelerator(lightbulb).components.adc
    bits = math.ceil(math.log2(lightbulb.N + 1))
    assert adc.actions["convert"].energy_j == approx(13.2e-15 * 100**0.45 * 2**bits, rel=1e-12)
    assert adc.fom_fj_per_step == pytest.approx(104.85, abs=0.005)


# --- bad inputs -----------------------------------------------------------------------------

GOOD_FOM = dict(fom_fj_per_step=13.2, corner_gsps=0.5, slope=0.45)
GOOD_TIA = dict(power_mw=7.2, reference_rate_gbps=5.0, rate_exponent=1.0)


@pytest.mark.parametrize("changes, name", [
    ({"sample_rate_gsps": 0.0}, "sample_rate_gsps"),
    ({"sample_rate_gsps": -1.0}, "sample_rate_gsps"),
    ({"sample_rate_gsps": float("nan")}, "sample_rate_gsps"),
    ({"fom_fj_per_step": -1.0}, "fom_fj_per_step"),
    ({"corner_gsps": 0.0}, "corner_gsps"),
    ({"slope": -0.1}, "slope"),
    ({"slope": 3.5}, "slope"),
])
def test_walden_fom_rejects_bad_inputs(changes, name):
    kwargs = {"sample_rate_gsps": 5.0, **GOOD_FOM, **changes}
    fs = kwargs.pop("sample_rate_gsps")
    with pytest.raises(ValueError, match=name):
        walden_fom_fj_per_step(fs, **kwargs)
    with pytest.raises(ValueError, match=name):
        adc_energy_j(4, fs, **kwargs)


@pytest.mark.parametrize("bits", [0, -1, 33, float("inf")])
def test_adc_energy_rejects_bad_bits(bits):
    with pytest.raises(ValueError, match="bits"):
        adc_energy_j(bits, 5.0, **GOOD_FOM)


@pytest.mark.parametrize("changes, name", [
    ({"bit_rate_gbps": 0.0}, "bit_rate_gbps"),
    ({"bit_rate_gbps": -5.0}, "bit_rate_gbps"),
    ({"power_mw": -1.0}, "power_mw"),
    ({"reference_rate_gbps": 0.0}, "reference_rate_gbps"),
    ({"rate_exponent": -1.0}, "rate_exponent"),
    ({"rate_exponent": 4.0}, "rate_exponent"),
])
def test_tia_power_rejects_bad_inputs(changes, name):
    kwargs = {"bit_rate_gbps": 5.0, **GOOD_TIA, **changes}
    rate = kwargs.pop("bit_rate_gbps")
    with pytest.raises(ValueError, match=name):
        tia_power_w(rate, **kwargs)


@pytest.mark.parametrize("key, bad", [
    ("converters.adc_fom_corner_gsps", 0.0), ("converters.adc_fom_slope", 5.0),
    ("receiver.tia_reference_rate_gbps", 0.0), ("receiver.tia_rate_exponent", -1.0),
])
def test_config_rejects_bad_rate_parameters(robin_eo, key, bad):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        robin_eo.with_values({key: bad})
