"""Inter-channel crosstalk of WDM ring banks with the exact (Airy) ring response.

Ring ``i`` of a bank is the design ``ring`` with its resonance comb moved rigidly so that one
resonance sits at ``resonances_nm[..., i]``; its response at every channel (including the
channels one or more FSRs away) comes from the exact transfer function. The Lorentzian forms
here are labelled approximations: they under-state the leakage far from resonance by up to
pi^2/4 (3.9 dB) at half an FSR (docs/references.md §1), so crosstalk budgets should use the exact
functions.
"""
from __future__ import annotations

import numpy as np

from photonics.validation import as_float_array, check_positive
from photonics.mrr import RingDesign

__all__ = [
    "check_channels_nm",
    "drop_matrix",
    "through_matrix",
    "adjacent_crosstalk_db",
    "lorentzian_drop_approx",
    "adjacent_crosstalk_db_lorentzian_approx",
]


def _check_ring(ring) -> RingDesign:
    if not isinstance(ring, RingDesign):
        raise TypeError(f"ring must be a photonics.mrr.RingDesign, got {type(ring).__name__}")
    return ring


def check_channels_nm(channels_nm) -> np.ndarray:
    """Channel grid: a non-empty 1-D array of positive wavelengths in nm."""
    ch = np.atleast_1d(check_positive("channels_nm", channels_nm, "nm"))
    if ch.ndim != 1:
        raise ValueError(f"channels_nm must be 1-D (n_channels,), got shape {ch.shape}")
    return ch


def _bank_response(ring, channels_nm, resonances_nm):
    ring = _check_ring(ring)
    ch = check_channels_nm(channels_nm)
    res = check_positive("resonances_nm", resonances_nm, "nm")
    if np.ndim(res) < 1:
        raise ValueError(f"resonances_nm must have shape (..., n_rings), got a scalar {res}")
    detuning = res - ring.nearest_resonance_nm(res)
    return ring.spectrum(ch, detuning[..., None])


def drop_matrix(ring, channels_nm, resonances_nm) -> np.ndarray:
    """Drop power of ring i at channel j, shape (..., n_rings, n_channels) (exact Airy form).

    ``resonances_nm`` has shape (..., n_rings); leading batch dimensions are kept.
    """
    return _bank_response(ring, channels_nm, resonances_nm)[1]


def through_matrix(ring, channels_nm, resonances_nm) -> np.ndarray:
    """Through power of ring i at channel j, shape (..., n_rings, n_channels) (exact Airy form)."""
    return _bank_response(ring, channels_nm, resonances_nm)[0]


def _extracted(ring, detuning_nm):
    """Power the ring takes from its input bus ``detuning_nm`` from its resonance nearest
    ``ring.wavelength_nm``: drop (add-drop) or 1 - through (all-pass)."""
    lam_r = ring.nearest_resonance_nm(ring.wavelength_nm)
    through, drop = ring.spectrum(lam_r + detuning_nm)
    return drop if ring.is_adddrop else 1.0 - through


def adjacent_crosstalk_db(ring, spacing_nm):
    """Leakage of a channel ``spacing_nm`` away relative to the ring's own channel, dB (<= 0).

    10 log10(X(spacing) / X(0)) with X the power the ring takes from the bus: its drop port
    for an add-drop ring, 1 - through for an all-pass ring. Exact Airy form; vectorised.
    """
    ring = _check_ring(ring)
    spacing = check_positive("spacing_nm", spacing_nm, "nm")
    return 10.0 * np.log10(_extracted(ring, spacing) / _extracted(ring, 0.0))


def lorentzian_drop_approx(ring, detuning_nm):
    """APPROXIMATION: Lorentzian ``X0 / (1 + (2 detuning / FWHM)^2)`` of the extracted power.

    X0 is the exact on-resonance value (drop for add-drop, 1 - through for all-pass) and FWHM
    the linewidth at the resonance nearest ``ring.wavelength_nm``. Valid near resonance only;
    under-states the leakage far from it (see module docstring).
    """
    ring = _check_ring(ring)
    det = as_float_array("detuning_nm", detuning_nm)
    return _extracted(ring, 0.0) / (1.0 + (2.0 * det / _local_fwhm_nm(ring)) ** 2)


def adjacent_crosstalk_db_lorentzian_approx(ring, spacing_nm):
    """APPROXIMATION: ``-10 log10(1 + (2 spacing / FWHM)^2)``; use :func:`adjacent_crosstalk_db` for budgets."""
    ring = _check_ring(ring)
    spacing = check_positive("spacing_nm", spacing_nm, "nm")
    return -10.0 * np.log10(1.0 + (2.0 * spacing / _local_fwhm_nm(ring)) ** 2)


def _local_fwhm_nm(ring):
    """FWHM at the resonance nearest ``ring.wavelength_nm`` (the FWHM scales as lambda^2)."""
    return ring.fwhm_nm * (ring.nearest_resonance_nm(ring.wavelength_nm) / ring.wavelength_nm) ** 2
