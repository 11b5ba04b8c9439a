"""Refractive indices of crystalline Si and fused SiO2 near 1.55 µm, and their thermo-optic coefficients.

* Si: Sellmeier fit of D. F. Edwards, "Silicon (Si)", in E. D. Palik (ed.), *Handbook of
  Optical Constants of Solids* (Academic Press, 1985), p. 547 (room temperature,
  used for 1.2–14 µm; data of Li, J. Phys. Chem. Ref. Data 9, 561, 1980 and others):
  n² = 11.6858 + 0.939816/λ² + 8.10461e-3·λ1²/(λ² − λ1²), λ1 = 1.1071 µm, λ in µm.
  n(1550 nm) = 3.4764.
* SiO2: three-term Sellmeier of I. H. Malitson, J. Opt. Soc. Am. 55, 1205 (1965), fused
  silica at 20 °C, 0.21–3.71 µm. n(1550 nm) = 1.4440.
* Thermo-optic coefficients at 1550 nm, room temperature (docs/references.md §2):
  Si 1.86e-4 /K (Cocorullo et al., Appl. Phys. Lett. 74, 3338, 1999), SiO2 8.5e-6 /K.
"""
from __future__ import annotations

import numpy as np

from photonics.validation import check_range

__all__ = ["n_si", "n_sio2", "DN_DT_SI_PER_K", "DN_DT_SIO2_PER_K", "SI_RANGE_NM", "SIO2_RANGE_NM"]

DN_DT_SI_PER_K = 1.86e-4
DN_DT_SIO2_PER_K = 8.5e-6

# Wavelength ranges (nm) of the two fits.
SI_RANGE_NM = (1200.0, 14000.0)
SIO2_RANGE_NM = (210.0, 3710.0)

_SI_EPS = 11.6858
_SI_A_UM2 = 0.939816
_SI_B = 8.10461e-3
_SI_L1_UM = 1.1071

_SIO2_B = (0.6961663, 0.4079426, 0.8974794)
_SIO2_C_UM = (0.0684043, 0.1162414, 9.896161)


def _lambda_um(wavelength_nm, valid_nm):
    lam = check_range("wavelength_nm", wavelength_nm, *valid_nm, unit="nm")
    return np.asarray(lam, dtype=np.float64) * 1e-3


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def n_si(wavelength_nm):
    """Refractive index of crystalline silicon at room temperature (Edwards/Palik Sellmeier)."""
    lam2 = _lambda_um(wavelength_nm, SI_RANGE_NM) ** 2
    l12 = _SI_L1_UM**2
    return _out(np.sqrt(_SI_EPS + _SI_A_UM2 / lam2 + _SI_B * l12 / (lam2 - l12)))


def n_sio2(wavelength_nm):
    """Refractive index of fused silica at 20 °C (Malitson 1965 Sellmeier)."""
    lam2 = _lambda_um(wavelength_nm, SIO2_RANGE_NM) ** 2
    n2 = 1.0 + sum(b * lam2 / (lam2 - c * c) for b, c in zip(_SIO2_B, _SIO2_C_UM))
    return _out(np.sqrt(n2))
