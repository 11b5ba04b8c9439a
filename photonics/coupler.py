"""Evanescent ring-bus coupler: power coupling κ² as a function of the coupling gap.

Coupled-mode model of Bahadori et al., "Design space exploration of microring resonators in
silicon photonic interconnects: impact of the ring curvature", J. Lightwave Technol. 36(13),
2767 (2018). The even and odd supermodes of the two coupled strips differ from the isolated
guide by index perturbations that decay exponentially with the local edge-to-edge separation d,
``Δn_E,O(d) = a_E,O · exp(−γ_E,O · d)``. The field cross-coupling of a synchronous coupler is
``κ = sin(θ)`` with the coupling angle ``θ = (π/λ) ∫ (Δn_E + Δn_O) dz``; for a ring of radius R
against a straight bus the separation is ``d(z) ≈ g + z²/(2R)`` (Gaussian integral, γR ≫ 1), so

    θ(g) = (π/λ) Σ_{E,O} (a/γ) · sqrt(2π γ R) · exp(−γ g),        κ² = sin²(θ(g)).

Each term is the exponential field coupling κ(g) = κ0·exp(−g/γ) of the textbook point-coupler
model (Bogaerts et al., Laser Photonics Rev. 6(1) 47, 2012; Chrostowski & Hochberg, Silicon
Photonics Design, ch. 4), and sin² covers the long-coupler (over-coupled) limit. The fitted
coefficients (:data:`BAHADORI_400X220`) are Bahadori's for a 400 nm x 220 nm strip at 1550 nm;
they give κ² = 0.041 for a 5 µm ring at a 200 nm gap, and a field decay length of ≈120 nm
(κ² falls ≈1.7 % per nm of gap) near there, matching the evanescent decay length
1/(k0·sqrt(n_eff² − n_clad²)) ≈ 125 nm of a 500 nm x 220 nm strip. Assumption: the same fit is
used for every ring of the presets (500 nm and 800 nm bodies, 1.6-5 µm radii); the bus guide
sets most of the evanescent overlap, and only the relative change of κ² with the gap enters the
variation model (:func:`perturbed_kappa2`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from photonics.validation import as_float_array, check_positive, check_range

__all__ = ["SupermodeFit", "BAHADORI_400X220", "RingBusCoupler", "perturbed_kappa2"]


@dataclass(frozen=True)
class SupermodeFit:
    """Supermode index perturbations ``a·exp(−γ·d)`` (a dimensionless, γ in 1/nm), even and odd."""

    a_even: float
    gamma_even_per_nm: float
    a_odd: float
    gamma_odd_per_nm: float


#: Bahadori et al., JLT 36(13) 2767 (2018): 400 nm x 220 nm silicon strip in SiO2, TE, 1550 nm.
BAHADORI_400X220 = SupermodeFit(a_even=0.242422, gamma_even_per_nm=0.010687, a_odd=0.077526, gamma_odd_per_nm=0.006129)


@dataclass(frozen=True)
class RingBusCoupler:
    """The coupler of a ring of ``radius_um`` to a straight bus at ``wavelength_nm`` (module docstring)."""

    radius_um: float
    wavelength_nm: float = 1550.0
    fit: SupermodeFit = BAHADORI_400X220

    def __post_init__(self):
        object.__setattr__(self, "radius_um", check_positive("radius_um", self.radius_um, "um"))
        object.__setattr__(self, "wavelength_nm", check_positive("wavelength_nm", self.wavelength_nm, "nm"))
        if not isinstance(self.fit, SupermodeFit):
            raise TypeError(f"fit must be a photonics.coupler.SupermodeFit, got {type(self.fit).__name__}")

    @property
    def _terms(self) -> tuple[tuple[float, float], ...]:
        """((amplitude of θ in rad, γ in 1/nm), ...) of the even and odd terms."""
        r_nm = self.radius_um * 1e3
        f = self.fit
        out = []
        for a, g in ((f.a_even, f.gamma_even_per_nm), (f.a_odd, f.gamma_odd_per_nm)):
            out.append((math.pi / self.wavelength_nm * a / g * math.sqrt(2.0 * math.pi * g * r_nm), g))
        return tuple(out)

    def theta(self, gap_nm):
        """Coupling angle θ(g) (rad); κ = sin θ."""
        g = as_float_array("gap_nm", gap_nm)
        return sum(amp * np.exp(-gamma * g) for amp, gamma in self._terms)

    def kappa2(self, gap_nm):
        """Power cross-coupling κ²(g) = sin²θ(g)."""
        return np.sin(self.theta(gap_nm)) ** 2

    def decay_length_nm(self, gap_nm) -> float:
        """Local field decay length −θ/(dθ/dg) at ``gap_nm`` (nm)."""
        g = float(as_float_array("gap_nm", gap_nm))
        theta = sum(amp * math.exp(-gamma * g) for amp, gamma in self._terms)
        slope = sum(amp * gamma * math.exp(-gamma * g) for amp, gamma in self._terms)
        return theta / slope

    def gap_nm(self, kappa2) -> float:
        """The gap that gives power coupling ``kappa2`` (inverse of :meth:`kappa2`, branch θ <= π/2)."""
        k2 = float(check_range("kappa2", kappa2, 0.0, 1.0, lo_inclusive=False, hi_inclusive=False))
        target = math.asin(math.sqrt(k2))
        theta0 = sum(amp for amp, _ in self._terms)
        if target >= theta0:
            raise ValueError(f"kappa2={k2} needs a coupling angle {target:.4g} rad above the zero-gap "
                             f"{theta0:.4g} rad of a {self.radius_um} um ring; allowed: kappa2 < "
                             f"{math.sin(theta0) ** 2:.4g}")
        # θ(g) is positive, decreasing and convex: Newton on log θ from g = 0 converges monotonically
        g = 0.0
        for _ in range(100):
            theta = sum(amp * math.exp(-gamma * g) for amp, gamma in self._terms)
            slope = sum(amp * gamma * math.exp(-gamma * g) for amp, gamma in self._terms)
            step = math.log(theta / target) * theta / slope
            g += step
            if abs(step) < 1e-12 * max(1.0, g):
                break
        return g


def perturbed_kappa2(coupler: RingBusCoupler, kappa2_nominal: float, dgap_nm):
    """κ² of couplers designed for ``kappa2_nominal`` whose gap is off by ``dgap_nm`` (array).

    The nominal gap is ``coupler.gap_nm(kappa2_nominal)``; the result is
    ``kappa2_nominal · κ²(g0 + dg) / κ²(g0)``, so a zero deviation returns ``kappa2_nominal``
    exactly (the model sets the relative change, the preset the nominal value).
    """
    g0 = coupler.gap_nm(kappa2_nominal)
    dg = as_float_array("dgap_nm", dgap_nm)
    if np.any(g0 + dg <= 0.0):
        raise ValueError(f"dgap_nm down to {float(np.min(dg)):.4g} nm closes the {g0:.4g} nm gap; "
                         f"allowed: dgap_nm > {-g0:.4g} nm")
    ratio = coupler.kappa2(g0 + dg) / float(coupler.kappa2(g0))
    out = kappa2_nominal * ratio
    return np.minimum(out, np.nextafter(1.0, 0.0))
