"""Balanced-photodetector receiver: noise, bit-error rate and the laser power budget per wavelength.

Receiver model (used by :func:`required_power_per_wavelength_w` and
:func:`popcount_noise_sigma`). A VDU of ``n_dot`` XNOR cells puts each channel's power P on bus
A or bus B; a balanced photodiode pair with responsivity R gives ``I_A - I_B = R P sum(c_i)``
with c_i = ±1, i.e. ``R P (2 popcount - N)``. Adjacent popcount levels are ``2 R P`` apart, so
a decision half-way between them errs with probability ``1/2 erfc(Q / sqrt 2)`` when
``R P = Q sigma``. Noise (docs/references.md §5), in the bandwidth ``B = bit_rate / 2`` (Nyquist; it
makes the shot-noise formula equal Poisson counting over one bit period):

* shot: ``2 q (I_A + I_B + 2 I_dark) B`` with ``I_A + I_B = R P N`` (all light reaches one of
  the two diodes, whatever the popcount);
* amplifier: the TIA's input-referred noise current density i_n (A/√Hz, which includes its
  feedback resistor), ``i_n^2 B``; or, without it, the feedback/load resistance alone,
  ``4 k T B / R_f`` (an ideal noiseless amplifier, an optimistic floor).

Shot-noise limited, this needs ``Q^2 N`` photoelectrons per channel per bit; a single-ended
popcount (one diode, levels ``R P`` apart, worst case at the top level) needs ``4 Q^2 N``, the
"about 1.6 fJ per '1' at N = 64, Q = 7" of docs/references.md §5.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc, erfcinv

from photonics.validation import check_int, check_positive, check_range

__all__ = [
    "Q_E",
    "K_B",
    "H_PLANCK",
    "C_LIGHT",
    "photon_energy_j",
    "shot_noise_a",
    "thermal_noise_a",
    "amplifier_noise_a",
    "ber_from_q",
    "q_from_ber",
    "photoelectrons_per_one",
    "required_power_per_wavelength_w",
    "laser_power_per_wavelength_w",
    "popcount_noise_sigma",
]

# Exact SI values (2019 redefinition).
Q_E = 1.602176634e-19  # C
K_B = 1.380649e-23  # J/K
H_PLANCK = 6.62607015e-34  # J s
C_LIGHT = 299_792_458.0  # m/s

# Receiver defaults. Assumed typical values, not from a cited source: 10 nA Ge-photodiode dark
# current, 1 kOhm transimpedance (thermal-noise) resistance. Presets should pass their own.
DEFAULT_DARK_CURRENT_A = 10e-9
DEFAULT_RESISTANCE_OHM = 1e3


def _scalar_or_array(x):
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def photon_energy_j(wavelength_nm):
    """h c / lambda (1.2816e-19 J at 1550 nm)."""
    lam = check_positive("wavelength_nm", wavelength_nm, "nm")
    return H_PLANCK * C_LIGHT / (np.asarray(lam) * 1e-9)[()]


def shot_noise_a(current_a, bandwidth_hz, dark_current_a=0.0):
    """RMS shot-noise current sqrt(2 q (I + I_dark) B)."""
    i = check_range("current_a", current_a, 0.0, None, unit="A")
    b = check_positive("bandwidth_hz", bandwidth_hz, "Hz")
    i_d = check_range("dark_current_a", dark_current_a, 0.0, None, unit="A")
    return _scalar_or_array(np.sqrt(2.0 * Q_E * (np.add(i, i_d)) * b))


def thermal_noise_a(bandwidth_hz, resistance_ohm, temperature_k=300.0):
    """RMS thermal (Johnson) noise current sqrt(4 k T B / R)."""
    b = check_positive("bandwidth_hz", bandwidth_hz, "Hz")
    r = check_positive("resistance_ohm", resistance_ohm, "ohm")
    t = check_range("temperature_k", temperature_k, 0.0, None, unit="K")
    return _scalar_or_array(np.sqrt(4.0 * K_B * np.multiply(t, b) / r))


def amplifier_noise_a(bandwidth_hz, noise_density_a_per_rthz):
    """RMS input-referred amplifier noise current i_n · sqrt(B)."""
    b = check_positive("bandwidth_hz", bandwidth_hz, "Hz")
    i_n = check_range("noise_density_a_per_rthz", noise_density_a_per_rthz, 0.0, None, unit="A/sqrt(Hz)")
    return _scalar_or_array(np.multiply(i_n, np.sqrt(b)))


def ber_from_q(q):
    """On-off keying bit-error rate 1/2 erfc(Q / sqrt 2)."""
    qv = check_range("q", q, 0.0, None)
    return _scalar_or_array(0.5 * erfc(np.asarray(qv) / math.sqrt(2.0)))


def q_from_ber(ber):
    """Inverse of :func:`ber_from_q`: Q = sqrt 2 erfcinv(2 BER) (Q ~ 7.03 at 1e-12)."""
    b = check_range("ber", ber, 0.0, 0.5, lo_inclusive=False, hi_inclusive=True)
    return _scalar_or_array(math.sqrt(2.0) * erfcinv(2.0 * np.asarray(b)))


def photoelectrons_per_one(n_dot, q, *, balanced=False):
    """Photoelectrons per '1' per bit to resolve the N+1 popcount levels at quality factor Q.

    Shot-noise limited (Poisson) counting. Single-ended (default, docs/references.md §5): levels one
    '1' (n) apart, variance up to N n at the top level, n / 2 >= Q sqrt(N n) gives 4 Q^2 N.
    Balanced (``balanced=True``): levels 2n apart, variance N n always, gives Q^2 N.
    """
    n = check_int("n_dot", n_dot, lo=1)
    qv = check_positive("q", q)
    return (1.0 if balanced else 4.0) * np.square(qv) * n


def _check_receiver(n_dot, bit_rate_gbps, responsivity_a_per_w, wavelength_nm,
                    dark_current_a, resistance_ohm, temperature_k, input_noise_a_per_rthz=None):
    n = check_int("n_dot", n_dot, lo=1)
    bandwidth_hz = 0.5 * check_positive("bit_rate_gbps", bit_rate_gbps, "Gb/s") * 1e9
    ideal = Q_E / photon_energy_j(wavelength_nm)
    resp = check_range("responsivity_a_per_w", responsivity_a_per_w, 0.0, ideal,
                       lo_inclusive=False, unit=f"A/W (quantum efficiency 1 at {wavelength_nm} nm)")
    dark = check_range("dark_current_a", dark_current_a, 0.0, None, unit="A")
    if input_noise_a_per_rthz is None:
        sigma_th = thermal_noise_a(bandwidth_hz, resistance_ohm, temperature_k)
    else:
        sigma_th = amplifier_noise_a(bandwidth_hz, input_noise_a_per_rthz)
    return n, bandwidth_hz, resp, dark, sigma_th


def required_power_per_wavelength_w(n_dot, bit_rate_gbps, q, responsivity_a_per_w, wavelength_nm=1550.0,
                                    *, dark_current_a=DEFAULT_DARK_CURRENT_A,
                                    resistance_ohm=DEFAULT_RESISTANCE_OHM, temperature_k=300.0,
                                    input_noise_a_per_rthz=None, cell_gain=1.0):
    """Received optical power per wavelength (W, at the detector) resolving N+1 popcount levels.

    ``cell_gain`` g in (0, 1]: a cell's ±1 step is g·R·P while all of the channel's light still
    reaches the two diodes (an XNOR cell whose rings do not fully switch), so
    ``g R P = Q sigma(P)``: ``x = R P = [Q^2 q B N + sqrt((Q^2 q B N)^2 + g^2 Q^2 (4 q B I_dark +
    sigma_amp^2))] / g^2`` (g = 1 below).

    Solves ``R P = Q sigma(P)`` with ``sigma^2 = 2 q (R P N + 2 I_dark) B + sigma_amp^2`` (``sigma_amp^2``
    = ``i_n^2 B`` with ``input_noise_a_per_rthz``, else ``4 k T B / R_f``) and
    ``B = bit_rate / 2`` (module docstring): with x = R P,
    ``x = q B Q^2 N + sqrt((q B Q^2 N)^2 + Q^2 (4 q B I_dark + sigma_th^2))``.
    """
    n, bw, resp, dark, sigma_th = _check_receiver(
        n_dot, bit_rate_gbps, responsivity_a_per_w, wavelength_nm, dark_current_a, resistance_ohm, temperature_k,
        input_noise_a_per_rthz,
    )
    qv = check_positive("q", q)
    g = check_range("cell_gain", cell_gain, 0.0, 1.0, lo_inclusive=False)
    half = Q_E * bw * np.square(qv) * n
    x = (half + np.sqrt(half**2 + np.square(g * qv) * (4.0 * Q_E * bw * dark + np.square(sigma_th)))) / np.square(g)
    return _scalar_or_array(np.asarray(x / resp))


def popcount_noise_sigma(p_channel_w, n_dot, bit_rate_gbps, responsivity_a_per_w, wavelength_nm=1550.0,
                         *, dark_current_a=DEFAULT_DARK_CURRENT_A,
                         resistance_ohm=DEFAULT_RESISTANCE_OHM, temperature_k=300.0, input_noise_a_per_rthz=None,
                         cell_gain=1.0):
    """Std of the balanced-PD output in units of one cell's ±1 level (``cell_gain`` · R P).

    ``p_channel_w``: received power per wavelength (W). Same noise model as
    :func:`required_power_per_wavelength_w`, so at that power the result is 1/Q.
    """
    n, bw, resp, dark, sigma_th = _check_receiver(
        n_dot, bit_rate_gbps, responsivity_a_per_w, wavelength_nm, dark_current_a, resistance_ohm, temperature_k,
        input_noise_a_per_rthz,
    )
    p = check_positive("p_channel_w", p_channel_w, "W")
    g = check_range("cell_gain", cell_gain, 0.0, 1.0, lo_inclusive=False)
    signal = resp * np.asarray(p)
    sigma = np.sqrt(2.0 * Q_E * (signal * n + 2.0 * dark) * bw + np.square(sigma_th))
    return _scalar_or_array(sigma / (g * signal))


def laser_power_per_wavelength_w(received_w, path_loss_db, wall_plug_efficiency):
    """(optical_w, electrical_w) a laser line must supply: received * 10^(loss/10), / efficiency."""
    rec = check_range("received_w", received_w, 0.0, None, unit="W")
    loss = check_range("path_loss_db", path_loss_db, 0.0, None, unit="dB")
    eff = check_range("wall_plug_efficiency", wall_plug_efficiency, 0.0, 1.0, lo_inclusive=False)
    optical = np.asarray(rec) * 10.0 ** (np.asarray(loss) / 10.0)
    return _scalar_or_array(optical), _scalar_or_array(optical / eff)
