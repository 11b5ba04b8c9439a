"""photonics.receiver against docs/references.md §5 figures and closed forms."""
import math

import numpy as np
import pytest

from photonics import receiver as rx

H, C, Q, K = 6.62607015e-34, 299792458.0, 1.602176634e-19, 1.380649e-23  # SI exact values


def test_constants_are_si_exact():
    assert (rx.H_PLANCK, rx.C_LIGHT, rx.Q_E, rx.K_B) == (H, C, Q, K)


def test_photon_energy_at_1550_nm():
    # docs/references.md §5: 1.2816e-19 J (given to 5 significant digits)
    assert abs(rx.photon_energy_j(1550.0) - 1.2816e-19) < 0.00005e-19
    np.testing.assert_allclose(rx.photon_energy_j(np.array([775.0, 1550.0])), [2.5631e-19, 1.2816e-19], rtol=5e-5)


def test_shot_and_thermal_noise_formulas():
    # 1 mA over 1 GHz: sqrt(2 q I B); 10 nA dark current adds to I
    assert math.isclose(rx.shot_noise_a(1e-3, 1e9), math.sqrt(2 * Q * 1e-3 * 1e9), rel_tol=1e-12)
    assert math.isclose(rx.shot_noise_a(1e-3, 1e9, dark_current_a=1e-8), math.sqrt(2 * Q * (1e-3 + 1e-8) * 1e9), rel_tol=1e-12)
    # 1 kOhm at 300 K: sqrt(4 k T / R) = 4.07 pA/sqrt(Hz), sqrt(4 k T B / R) over 1 GHz
    assert abs(rx.thermal_noise_a(1.0, 1e3) - 4.07e-12) < 0.005e-12
    assert math.isclose(rx.thermal_noise_a(1e9, 1e3), math.sqrt(4 * K * 300 * 1e9 / 1e3), rel_tol=1e-12)


def test_ber_and_q():
    # docs/references.md §5: Q ~ 7 for BER 1e-12 (7.034 to 4 digits)
    assert abs(rx.q_from_ber(1e-12) - 7.034) < 1e-3
    assert math.isclose(rx.ber_from_q(7.0), 0.5 * math.erfc(7.0 / math.sqrt(2)), rel_tol=1e-12)
    assert math.isclose(rx.ber_from_q(0.0), 0.5, rel_tol=1e-15)
    bers = np.array([1e-3, 1e-9, 1e-15])
    np.testing.assert_allclose(rx.ber_from_q(rx.q_from_ber(bers)), bers, rtol=1e-10)


def test_photoelectrons_per_one_matches_parameters_figure():
    # docs/references.md §5: about 4 Q^2 N photoelectrons per "1", about 1.6 fJ at N = 64, Q = 7
    n = rx.photoelectrons_per_one(64, 7.0)
    assert n == 4 * 49 * 64
    assert abs(n * rx.photon_energy_j(1550.0) - 1.6e-15) < 0.05e-15
    assert rx.photoelectrons_per_one(64, 7.0, balanced=True) == 49 * 64


def test_required_power_shot_limited_is_q2n_photoelectrons_per_bit():
    # ideal detector (one electron per photon), no dark current, negligible thermal noise:
    # balanced detection then needs Q^2 N photoelectrons per channel per bit
    n_dot, q, bit_rate_gbps = 50, 7.0, 5.0
    ideal_resp = Q * 1550e-9 / (H * C)
    p = rx.required_power_per_wavelength_w(n_dot, bit_rate_gbps, q, ideal_resp, 1550.0,
                                           dark_current_a=0.0, resistance_ohm=1e30)
    photons_per_bit = p / (bit_rate_gbps * 1e9) / (H * C / 1550e-9)
    assert math.isclose(photons_per_bit, q**2 * n_dot, rel_tol=1e-9)
    assert math.isclose(photons_per_bit, rx.photoelectrons_per_one(n_dot, q, balanced=True), rel_tol=1e-9)


def test_required_power_thermal_limited():
    # thermal noise dominant: R P = Q sigma_th, sigma_th = sqrt(4 k T B / R_f), B = bit rate / 2
    p = rx.required_power_per_wavelength_w(1, 10.0, 7.0, 1.0, dark_current_a=0.0, resistance_ohm=1.0)
    sigma_th = math.sqrt(4 * K * 300 * 5e9 / 1.0)
    assert math.isclose(p, 7.0 * sigma_th, rel_tol=1e-3)


def test_amplifier_noise_density_replaces_the_resistor():
    # R P = Q sigma with sigma^2 = 2 q R P N B + i_n^2 B, B = bit rate / 2, solved by hand for R = 1, N = 1:
    # x = h + sqrt(h^2 + Q^2 i_n^2 B), h = q B Q^2 N; i_n = sqrt(4kT/R) is the resistor model
    i_n, q_e, b = 10e-12, 1.602176634e-19, 5e9
    h = q_e * b * 49.0
    p = rx.required_power_per_wavelength_w(1, 10.0, 7.0, 1.0, dark_current_a=0.0, input_noise_a_per_rthz=i_n)
    assert math.isclose(p, h + math.sqrt(h * h + 49.0 * i_n**2 * b), rel_tol=1e-12)
    assert math.isclose(rx.amplifier_noise_a(5e9, i_n), i_n * math.sqrt(5e9), rel_tol=1e-12)
    r_f = 1e3
    as_resistor = math.sqrt(4 * K * 300 / r_f)
    kw = dict(dark_current_a=1e-8)
    assert math.isclose(rx.required_power_per_wavelength_w(10, 5.0, 7.0, 0.9, input_noise_a_per_rthz=as_resistor, **kw),
                        rx.required_power_per_wavelength_w(10, 5.0, 7.0, 0.9, resistance_ohm=r_f, **kw), rel_tol=1e-12)


@pytest.mark.parametrize("n_dot, bit_rate_gbps, dark, r_f", [(10, 5.0, 1e-8, 1e3), (64, 50.0, 1e-7, 5e2), (1, 1.0, 0.0, 1e4)])
def test_noise_sigma_at_required_power_is_one_over_q(n_dot, bit_rate_gbps, dark, r_f):
    q = rx.q_from_ber(1e-12)
    kw = dict(dark_current_a=dark, resistance_ohm=r_f)
    p = rx.required_power_per_wavelength_w(n_dot, bit_rate_gbps, q, 0.9, **kw)
    sigma = rx.popcount_noise_sigma(p, n_dot, bit_rate_gbps, 0.9, **kw)
    assert math.isclose(sigma, 1 / q, rel_tol=1e-12)
    # the decision threshold sits one unit from each level: error rate is the target
    assert math.isclose(rx.ber_from_q(1 / sigma), 1e-12, rel_tol=1e-9)
    # sigma from the independent noise formulas
    bw = bit_rate_gbps * 1e9 / 2
    i_sig = 0.9 * p
    total = math.hypot(rx.shot_noise_a(i_sig * n_dot, bw, 2 * dark), rx.thermal_noise_a(bw, r_f))
    assert math.isclose(sigma, total / i_sig, rel_tol=1e-12)


def test_noise_sigma_falls_with_power():
    p = np.array([1e-6, 1e-5, 1e-4])
    s = rx.popcount_noise_sigma(p, 16, 5.0, 1.0)
    assert s.shape == (3,) and np.all(np.diff(s) < 0)


def test_laser_power_budget():
    optical, electrical = rx.laser_power_per_wavelength_w(1e-3, 10.0, 0.2)  # 10 dB loss, 20 % WPE
    assert math.isclose(optical, 1e-2, rel_tol=1e-12) and math.isclose(electrical, 5e-2, rel_tol=1e-12)
    optical, electrical = rx.laser_power_per_wavelength_w(np.array([1e-4, 2e-4]), 3.0, 1.0)
    np.testing.assert_allclose(optical, np.array([1e-4, 2e-4]) * 10**0.3, rtol=1e-12)
    np.testing.assert_allclose(electrical, optical, rtol=1e-15)


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: rx.photon_energy_j(0.0), ValueError, "wavelength_nm"),
        (lambda: rx.shot_noise_a(-1e-3, 1e9), ValueError, "current_a"),
        (lambda: rx.shot_noise_a(1e-3, 0.0), ValueError, "bandwidth_hz"),
        (lambda: rx.thermal_noise_a(1e9, -50.0), ValueError, "resistance_ohm"),
        (lambda: rx.thermal_noise_a(1e9, 50.0, temperature_k=np.nan), ValueError, "temperature_k"),
        (lambda: rx.ber_from_q(-1.0), ValueError, "q"),
        (lambda: rx.q_from_ber(0.0), ValueError, "ber"),
        (lambda: rx.q_from_ber(0.7), ValueError, "ber"),
        (lambda: rx.photoelectrons_per_one(0, 7.0), ValueError, "n_dot"),
        (lambda: rx.photoelectrons_per_one(2.5, 7.0), TypeError, "n_dot"),
        (lambda: rx.required_power_per_wavelength_w(16, 5.0, 7.0, 1.3, 1550.0), ValueError, "responsivity_a_per_w"),
        (lambda: rx.required_power_per_wavelength_w(16, -5.0, 7.0, 1.0), ValueError, "bit_rate_gbps"),
        (lambda: rx.popcount_noise_sigma(0.0, 16, 5.0, 1.0), ValueError, "p_channel_w"),
        (lambda: rx.laser_power_per_wavelength_w(1e-3, -1.0, 0.2), ValueError, "path_loss_db"),
        (lambda: rx.laser_power_per_wavelength_w(1e-3, 3.0, 0.0), ValueError, "wall_plug_efficiency"),
        (lambda: rx.laser_power_per_wavelength_w(1e-3, 3.0, 1.5), ValueError, "wall_plug_efficiency"),
    ],
)
def test_bad_input(call, exc, name, rejected):
    with rejected(exc, name):
        call()
