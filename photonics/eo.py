"""Electro-optic (EO) actuation and modulation of a microring: carrier injection, carrier depletion, Pockels.

Each mechanism is a frozen parameter class (:class:`InjectionTuner`, :class:`DepletionTuner`,
:class:`PockelsTuner`) with two questions answered from its physics, never typed in:

* :func:`actuator` — what a tuning solver needs: blue and red range (nm), W per nm in each
  direction, the power of holding the zero-shift bias, the settle time, and the extra ring loss
  at the range limits;
* :func:`modulator` — what an XNOR cell needs at a bit rate: the steady-state swing, the
  worst-case eye swing (nm of resonance shift between the two bit states), the energy per bit,
  and the resonance shift and extra loss (dB/cm, added to the ring's round-trip loss) in each
  bit state.

Sign convention as in ``photonics.tuning``: a positive shift is red (longer wavelength).

Physics (docs/references.md §1, §4, §7):

* Soref–Bennett at 1550 nm (Soref & Bennett, IEEE J. Quantum Electron. QE-23, 123, 1987; the
  1550 nm fit as quoted by Lipson, IEEE JSTQE 12(6), 1520, 2006, eq. 1 and Reed et al., Nat.
  Photonics 4, 518, 2010)::

      Δn = −(8.8e-22·ΔN + 8.5e-18·ΔP^0.8),   Δα = 8.5e-18·ΔN + 6.0e-18·ΔP   (cm⁻³ -> cm⁻¹)

  at ΔN = ΔP = 1e18 cm⁻³: Δn = −3.0e-3, Δα = 14.5 cm⁻¹ (63 dB/cm).
* Resonance shift Δλ = λ·Δn_eff/n_g, with Δn_eff = Γ·f·Δn (Γ the mode's overlap with the doped
  region, f the share of the circumference the junction covers); the modal power loss is
  Γ·f·Δα, i.e. 10·log10(e)·Γ·f·Δα dB/cm on top of the ring's own ``loss_db_per_cm``.
* Injection (forward-biased p-i-n, ΔN = ΔP in the intrinsic region): steady state needs the
  recombination current I = q·ΔN·V_j/τ (V_j the junction volume, τ the carrier lifetime) at the
  forward voltage V_f, so P = I·V_f. The free-carrier loss lowers Q_i, extinction and peak
  drop; the usable range is the largest blue shift at which the peak drop stays within
  ``max_drop_penalty_db`` of the untuned ring's (and Q_i above ``min_q_intrinsic`` if set).
  Because Δn ∝ ΔP^0.8 and Δα ∝ ΔP, the ratio of shift to loss is set by silicon, not by the
  design: Γ and f barely move the loss-limited range, only its power.
* Depletion (reverse-biased pn): Δλ = −η·(V − V_bias) (more reverse bias removes carriers:
  red), linear in the drive, within the bias window [reverse limit, forward limit] around the
  pre-bias V_bias, so the blue and red ranges differ. Holding V costs I_leak·|V|; changing it
  by ΔV costs C·ΔV² from the supply; NRZ modulation with swing V_pp costs C·V_pp²/4 per bit
  (a 0->1 transition on a quarter of the bits) plus the leakage. The loss change follows the
  removed carriers by the Soref–Bennett slope dα/dn at the junction doping.
* Pockels (BaTiO3 on silicon): CrossLight's EO tuner, 4 µW/nm, 20 ns, ≲1 nm range, both
  directions, no free-carrier loss but the platform's EO tuning loss.

Speed: each mechanism is a first-order response with time constant τ_drive (injection: the
carrier lifetime; depletion: R·C; Pockels: settle time / ln(1/tolerance)) plus the cavity
photon lifetime Q_L·λ/(2πc). The worst-case NRZ eye at bit period T (an isolated 1 after
many 0s against an isolated 0 after many 1s) opens the drive variable by 1 − 2·exp(−T/τ) of
its full swing, and closes (swing 0) for T < τ·ln 2. No pre-emphasis is modelled.

Wiring: a preset names its tuning mechanism (``tuning.eo_mechanism``), its platform and each
ring's modulator (``[eo]``) and every mechanism's parameters (``[eo_injection]``,
``[eo_depletion]``, ``[eo_pockels]``, these classes). ``accel.config`` derives the tuning
window from :func:`actuator` on the preset's ring designs
(``photonics.tuning.TuningModel.with_actuator``); ``accel.components.XnorCell`` takes each
ring's bit states, extra loss and energy per bit from :func:`modulator`, and the EO tuner's
loss at each ring's operating point from the injected density (or bias) that gives its
correction.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from photonics.mrr import RingDesign
from photonics.validation import Parameters, as_float_array, check_range, check_scalar, param

__all__ = [
    "SB_ELECTRON_INDEX",
    "SB_HOLE_INDEX",
    "SB_HOLE_EXPONENT",
    "SB_ELECTRON_ABSORPTION",
    "SB_HOLE_ABSORPTION",
    "SILICON",
    "BTO_ON_SILICON",
    "soref_bennett_1550",
    "alpha_per_cm_to_db_per_cm",
    "resonance_shift_nm",
    "photon_lifetime_s",
    "ring_with_extra_loss",
    "drop_penalty_db",
    "eye_fraction",
    "state_rings",
    "InjectionTuner",
    "DepletionTuner",
    "PockelsTuner",
    "ActuatorFigures",
    "ModulatorFigures",
    "injection_shift_nm",
    "injection_current_a",
    "injection_power_w",
    "injection_extra_loss_db_per_cm",
    "injection_density_for_shift",
    "injection_max_density_cm3",
    "depletion_shift_nm",
    "depletion_extra_loss_db_per_cm",
    "actuator",
    "modulator",
    "check_platform",
    "MECHANISMS",
]

# Soref–Bennett 1550 nm coefficients (cm³ per carrier for index; cm² for absorption):
# Soref & Bennett 1987, as quoted by Lipson, IEEE JSTQE 12, 1520 (2006), eq. 1 — docs/references.md §4.
SB_ELECTRON_INDEX = 8.8e-22
SB_HOLE_INDEX = 8.5e-18
SB_HOLE_EXPONENT = 0.8
SB_ELECTRON_ABSORPTION = 8.5e-18
SB_HOLE_ABSORPTION = 6.0e-18

Q_ELECTRON_C = 1.602176634e-19  # elementary charge (SI, exact)
C_LIGHT_M_PER_S = 299_792_458.0  # speed of light (SI, exact)
DB_PER_NEPER_POWER = 10.0 / math.log(10.0)  # 10·log10(e) = 4.343 dB per unit of power attenuation

SILICON = "silicon"
BTO_ON_SILICON = "BaTiO3-on-silicon"


# ------------------------------------------------------------------------------ closed forms
def soref_bennett_1550(*, delta_n_cm3, delta_p_cm3):
    """(Δn, Δα in cm⁻¹) of silicon at 1550 nm for electron and hole density changes (cm⁻³, >= 0).

    Δn = −(8.8e-22·ΔN + 8.5e-18·ΔP^0.8), Δα = 8.5e-18·ΔN + 6.0e-18·ΔP (inputs broadcast).
    """
    dn_e = check_range("delta_n_cm3", delta_n_cm3, 0.0, 1e20, unit="cm^-3")
    dp = check_range("delta_p_cm3", delta_p_cm3, 0.0, 1e20, unit="cm^-3")
    delta_index = -(SB_ELECTRON_INDEX * np.asarray(dn_e) + SB_HOLE_INDEX * np.asarray(dp) ** SB_HOLE_EXPONENT)
    delta_alpha = SB_ELECTRON_ABSORPTION * np.asarray(dn_e) + SB_HOLE_ABSORPTION * np.asarray(dp)
    return _out(delta_index), _out(delta_alpha)


def alpha_per_cm_to_db_per_cm(alpha_per_cm):
    """Power attenuation coefficient (cm⁻¹) in dB/cm: 10·log10(e)·α."""
    a = as_float_array("alpha_per_cm", alpha_per_cm)
    return _out(DB_PER_NEPER_POWER * a)


def resonance_shift_nm(*, delta_n_eff, wavelength_nm, n_g):
    """Resonance shift Δλ = λ·Δn_eff/n_g (nm; negative = blue)."""
    dn = as_float_array("delta_n_eff", delta_n_eff)
    lam = check_range("wavelength_nm", wavelength_nm, 0.0, None, lo_inclusive=False, unit="nm")
    ng = check_range("n_g", n_g, 1.0, None)
    return _out(np.asarray(lam) * dn / np.asarray(ng))


def photon_lifetime_s(ring: RingDesign) -> float:
    """Cavity photon (energy) lifetime Q_L·λ/(2πc) of ``ring``."""
    _check_ring(ring)
    return ring.q_loaded * ring.wavelength_nm * 1e-9 / (2.0 * math.pi * C_LIGHT_M_PER_S)


def ring_with_extra_loss(ring: RingDesign, *, extra_loss_db_per_cm: float) -> RingDesign:
    """``ring`` with ``extra_loss_db_per_cm`` added to its round-trip loss (same indices and coupling).

    Negative extra loss (carriers removed by depletion) is allowed down to the ring's own loss.
    """
    _check_ring(ring)
    extra = check_scalar("extra_loss_db_per_cm", extra_loss_db_per_cm, f"[{-ring.loss_db_per_cm!r}, inf)", unit="dB/cm")
    return dataclasses.replace(ring, loss_db_per_cm=ring.loss_db_per_cm + extra)


def drop_penalty_db(ring: RingDesign, *, extra_loss_db_per_cm: float) -> float:
    """Peak-drop loss (dB, >= 0 for added loss) of an add-drop ring when its loss rises by ``extra_loss_db_per_cm``."""
    _check_ring(ring)
    if not ring.is_adddrop:
        raise ValueError("ring is all-pass (kappa2_drop=None): it has no drop port; allowed: an add-drop ring")
    tuned = ring_with_extra_loss(ring, extra_loss_db_per_cm=extra_loss_db_per_cm)
    return 10.0 * math.log10(ring.peak_drop / tuned.peak_drop)


def eye_fraction(*, bit_period_s, time_constant_s):
    """Worst-case NRZ eye opening of a first-order drive, as a share of its full swing: max(0, 1 − 2·exp(−T/τ))."""
    t = check_range("bit_period_s", bit_period_s, 0.0, None, lo_inclusive=False, unit="s")
    tau = check_range("time_constant_s", time_constant_s, 0.0, None, unit="s")
    with np.errstate(divide="ignore"):
        x = np.where(np.asarray(tau) > 0, np.asarray(t) / np.maximum(tau, 1e-300), np.inf)
    return _out(np.maximum(0.0, 1.0 - 2.0 * np.exp(-x)))


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class ActuatorFigures:
    """What the tuning solver needs from an EO mechanism on one ring design.

    Ranges are magnitudes (nm). ``blue_w_per_nm``/``red_w_per_nm``: power held at the end of the
    range in that direction divided by the range (a chord: for injection, whose power grows
    faster than its shift, an upper bound on the cost of smaller shifts; nan where the range is
    0); ``hold_power_w``: power at zero shift (a depletion pre-bias); ``settle_time_s``: to
    within the tuner's tolerance;
    ``*_limit_extra_loss_db_per_cm``: extra ring loss at each range end; ``limited_by``: what
    sets the range.
    """

    mechanism: str
    platform: str
    blue_range_nm: float
    red_range_nm: float
    blue_w_per_nm: float
    red_w_per_nm: float
    hold_power_w: float
    settle_time_s: float
    blue_limit_extra_loss_db_per_cm: float
    red_limit_extra_loss_db_per_cm: float
    limited_by: str


@dataclass(frozen=True)
class ModulatorFigures:
    """What an XNOR cell needs from an EO modulator at a bit rate (states: (bit 0, bit 1) = (undriven, driven)).

    ``full_swing_nm``: steady-state shift between the states (signed); ``swing_nm``: worst-case
    eye (isolated bits, first-order response, signed like the full swing; 0 when the eye is
    closed, both states then at the mean drive). ``shift_nm``/``extra_loss_db_per_cm``: per
    state, at the inner edges of that eye (:func:`state_rings` builds the two rings).
    ``energy_per_bit_j``: average over random NRZ data. ``response_time_s``: drive + photon lifetime.
    """

    mechanism: str
    platform: str
    bit_rate_gbps: float
    full_swing_nm: float
    swing_nm: float
    energy_per_bit_j: float
    shift_nm: tuple[float, float]
    extra_loss_db_per_cm: tuple[float, float]
    response_time_s: float


# ------------------------------------------------------------------------------ injection
@dataclass(frozen=True)
class InjectionTuner(Parameters):
    """Carrier injection into a forward-biased p-i-n junction around the ring (silicon; blue shift only).

    Defaults: ``overlap`` 0.8 (assumption: "well-overlapped mode" of docs/references.md §7, the
    TE0 of a 500 × 220 nm strip with the intrinsic region spanning the core);
    ``junction_fraction`` 0.9 (assumption: contacts leave ~10 % of the circumference undoped,
    as in ring modulators with a gap at the coupler); junction cross-section
    ``junction_width_nm`` × ``junction_thickness_nm`` = 500 × 220 nm (assumption: the intrinsic
    region is the waveguide core); ``carrier_lifetime_ns`` 1 ns (docs/references.md §7, "~1 ns");
    ``forward_voltage_v`` 0.9 V (assumption: silicon p-i-n turn-on 0.8–1 V);
    ``max_drop_penalty_db`` 1 dB (assumption: the tuned ring may give up 1 dB of peak drop,
    of the order of CrossLight's 0.72 dB ring-modulation loss, docs/references.md §5);
    ``min_q_intrinsic`` None (no floor; set it to limit all-pass rings); ``max_density_cm3``
    1e19 (assumption: upper end where the Soref–Bennett fit is used); ``settle_tolerance``
    1 % (assumption).
    """

    key_prefix: ClassVar[str] = "injection"
    mechanism: ClassVar[str] = "injection"
    platform: ClassVar[str] = SILICON

    overlap: float = param("(0, 1]", default=0.8, doc="Γ: mode power overlap with the injected region")
    junction_fraction: float = param("(0, 1]", default=0.9, doc="share of the circumference the junction covers")
    junction_width_nm: float = param("(0, 1e5]", unit="nm", default=500.0, doc="width of the injected (intrinsic) region")
    junction_thickness_nm: float = param("(0, 1e4]", unit="nm", default=220.0, doc="thickness of the injected region")
    carrier_lifetime_ns: float = param("(0, 1e6]", unit="ns", default=1.0, doc="τ: free-carrier lifetime")
    forward_voltage_v: float = param("(0, 5]", unit="V", default=0.9, doc="V_f: diode forward voltage")
    max_drop_penalty_db: float | None = param("(0, 60]", unit="dB", default=1.0, doc="largest peak-drop loss at the tuned point")
    min_q_intrinsic: float | None = param("(0, inf)", default=None, doc="smallest Q_i at the tuned point (None: no floor)")
    max_density_cm3: float = param("(0, 1e20]", unit="cm^-3", default=1e19, doc="largest injected density considered")
    settle_tolerance: float = param("(0, 1)", default=0.01, doc="settled when within this share of the final shift")

    def __post_init__(self):
        super().__post_init__()
        if self.max_drop_penalty_db is None and self.min_q_intrinsic is None:
            raise ValueError(
                "injection.max_drop_penalty_db and injection.min_q_intrinsic are both None; allowed: at least one "
                "loss limit (the usable range is where the free-carrier loss stays within it)"
            )

    def actuator(self, ring: RingDesign) -> ActuatorFigures:
        return _injection_actuator(self, ring)

    def modulator(self, ring: RingDesign, *, bit_rate_gbps: float, density_cm3: float | None = None) -> ModulatorFigures:
        return _injection_modulator(self, ring, bit_rate_gbps=bit_rate_gbps, density_cm3=density_cm3)


def _effective_overlap(tuner: InjectionTuner) -> float:
    return tuner.overlap * tuner.junction_fraction


def _junction_volume_cm3(tuner: InjectionTuner, ring: RingDesign) -> float:
    length_cm = ring.circumference_um * 1e-4 * tuner.junction_fraction
    return length_cm * tuner.junction_width_nm * 1e-7 * tuner.junction_thickness_nm * 1e-7


def _check_density(density_cm3, tuner: InjectionTuner):
    return check_range("density_cm3", density_cm3, 0.0, tuner.max_density_cm3, unit="cm^-3")


def injection_shift_nm(tuner: InjectionTuner, ring: RingDesign, *, density_cm3):
    """Resonance shift (nm, <= 0) at injected density ΔN = ΔP = ``density_cm3``: λ·Γ·f·Δn/n_g."""
    _check_tuner(tuner, InjectionTuner)
    _check_ring(ring)
    n = _check_density(density_cm3, tuner)
    dn, _ = soref_bennett_1550(delta_n_cm3=n, delta_p_cm3=n)
    return resonance_shift_nm(delta_n_eff=_effective_overlap(tuner) * np.asarray(dn), wavelength_nm=ring.wavelength_nm, n_g=ring.n_g)


def injection_current_a(tuner: InjectionTuner, ring: RingDesign, *, density_cm3):
    """Steady-state diode current q·ΔN·V_junction/τ (A)."""
    _check_tuner(tuner, InjectionTuner)
    _check_ring(ring)
    n = np.asarray(_check_density(density_cm3, tuner))
    return _out(Q_ELECTRON_C * n * _junction_volume_cm3(tuner, ring) / (tuner.carrier_lifetime_ns * 1e-9))


def injection_power_w(tuner: InjectionTuner, ring: RingDesign, *, density_cm3):
    """Steady-state electrical power q·ΔN·V_junction/τ·V_f (W)."""
    return _out(np.asarray(injection_current_a(tuner, ring, density_cm3=density_cm3)) * tuner.forward_voltage_v)


def injection_extra_loss_db_per_cm(tuner: InjectionTuner, *, density_cm3):
    """Extra modal loss 10·log10(e)·Γ·f·Δα (dB/cm, >= 0) at injected density ``density_cm3``."""
    _check_tuner(tuner, InjectionTuner)
    n = _check_density(density_cm3, tuner)
    _, da = soref_bennett_1550(delta_n_cm3=n, delta_p_cm3=n)
    return _out(DB_PER_NEPER_POWER * _effective_overlap(tuner) * np.asarray(da))


def _loss_ok(tuner: InjectionTuner, ring: RingDesign, density: float) -> bool:
    tuned = ring_with_extra_loss(ring, extra_loss_db_per_cm=float(injection_extra_loss_db_per_cm(tuner, density_cm3=density)))
    if tuner.min_q_intrinsic is not None and tuned.q_intrinsic < tuner.min_q_intrinsic:
        return False
    if tuner.max_drop_penalty_db is not None and ring.is_adddrop:
        return 10.0 * math.log10(ring.peak_drop / tuned.peak_drop) <= tuner.max_drop_penalty_db
    return True


def injection_max_density_cm3(tuner: InjectionTuner, ring: RingDesign) -> tuple[float, str]:
    """Largest injected density whose free-carrier loss stays within the tuner's limits, and what limits it.

    Bisection (the penalty grows monotonically with density) to a relative 1e-9.
    """
    _check_tuner(tuner, InjectionTuner)
    _check_ring(ring)
    if tuner.min_q_intrinsic is None and not ring.is_adddrop:
        raise ValueError(
            "injection.min_q_intrinsic=None with an all-pass ring (no drop port for max_drop_penalty_db); "
            "allowed: an add-drop ring or a Q_i floor"
        )
    if not _loss_ok(tuner, ring, 0.0):
        return 0.0, "min_q_intrinsic (the untuned ring is already below it)"
    hi = tuner.max_density_cm3
    if _loss_ok(tuner, ring, hi):
        return hi, "max_density_cm3"
    lo = 0.0
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _loss_ok(tuner, ring, mid) else (lo, mid)
    tuned = ring_with_extra_loss(ring, extra_loss_db_per_cm=float(injection_extra_loss_db_per_cm(tuner, density_cm3=lo)))
    q_bound = tuner.min_q_intrinsic is not None and tuned.q_intrinsic <= tuner.min_q_intrinsic * (1 + 1e-6)
    return lo, ("min_q_intrinsic" if q_bound else "max_drop_penalty_db")


def injection_density_for_shift(tuner: InjectionTuner, ring: RingDesign, *, shift_nm):
    """Injected density (cm⁻³) giving a blue shift of ``shift_nm`` (<= 0), by bisection on the monotone
    Soref–Bennett shift; shifts beyond what ``max_density_cm3`` gives are rejected."""
    _check_tuner(tuner, InjectionTuner)
    _check_ring(ring)
    deepest = float(injection_shift_nm(tuner, ring, density_cm3=tuner.max_density_cm3))
    target = np.asarray(check_range("shift_nm", shift_nm, deepest, 0.0, unit="nm (injection only blue-shifts)"))
    hi = np.full(target.shape, tuner.max_density_cm3)
    _bisect_density(np.ascontiguousarray(target, dtype=np.float64).reshape(-1), _effective_overlap(tuner),
                    float(ring.wavelength_nm), float(ring.n_g), float(tuner.max_density_cm3), hi.reshape(-1))
    return _out(hi)


@numba.njit(cache=True, parallel=True)
def _bisect_density(target, overlap, wavelength_nm, n_g, max_density, hi):
    """:func:`injection_density_for_shift`'s bisection, every element in lockstep (the same
    operations as :func:`injection_shift_nm` on arrays, so the same bits; elements in
    parallel): ``hi`` (starting at ``max_density``) ends where the shift first reaches
    ``target``, to 1e-12·max_density."""
    lo = np.zeros(target.size)
    for _ in range(200):
        open_ = 0  # elements not yet within the tolerance
        for i in numba.prange(target.size):
            mid = 0.5 * (lo[i] + hi[i])
            dn = -(SB_ELECTRON_INDEX * mid + SB_HOLE_INDEX * mid ** SB_HOLE_EXPONENT)
            if wavelength_nm * (overlap * dn) / n_g <= target[i]:  # mid reaches the target
                hi[i] = mid
            else:
                lo[i] = mid
            open_ += hi[i] - lo[i] > 1e-12 * max_density
        if open_ == 0:
            break


# memoised: a pure function of two frozen parameter objects, and its loss-limit bisection builds ~40 rings; every
# configuration (each sweep point) derives its EO window from it
@functools.lru_cache(maxsize=256)
def _injection_actuator(tuner: InjectionTuner, ring: RingDesign) -> ActuatorFigures:
    n_max, limited_by = injection_max_density_cm3(tuner, ring)
    blue = -float(injection_shift_nm(tuner, ring, density_cm3=n_max))
    power = float(injection_power_w(tuner, ring, density_cm3=n_max))
    tau = tuner.carrier_lifetime_ns * 1e-9
    return ActuatorFigures(
        mechanism=tuner.mechanism,
        platform=tuner.platform,
        blue_range_nm=blue,
        red_range_nm=0.0,
        blue_w_per_nm=power / blue if blue > 0 else math.nan,
        red_w_per_nm=math.nan,
        hold_power_w=0.0,
        settle_time_s=tau * math.log(1.0 / tuner.settle_tolerance) + photon_lifetime_s(ring),
        blue_limit_extra_loss_db_per_cm=float(injection_extra_loss_db_per_cm(tuner, density_cm3=n_max)),
        red_limit_extra_loss_db_per_cm=0.0,
        limited_by=limited_by,
    )


def _injection_modulator(tuner, ring, *, bit_rate_gbps, density_cm3=None) -> ModulatorFigures:
    _check_tuner(tuner, InjectionTuner)
    _check_ring(ring)
    rate = _check_rate(bit_rate_gbps)
    n_full = injection_max_density_cm3(tuner, ring)[0] if density_cm3 is None else float(_check_density(density_cm3, tuner))
    period = 1.0 / (rate * 1e9)
    tau = tuner.carrier_lifetime_ns * 1e-9
    response = tau + photon_lifetime_s(ring)
    # Constant-current drive: the density relaxes with τ towards n_full ("1") or 0 ("0").
    decay = math.exp(-period / response)
    n_one, n_zero = n_full * (1.0 - decay), n_full * decay  # isolated 1 after 0s, isolated 0 after 1s
    if n_one <= n_zero:
        n_one = n_zero = 0.5 * n_full  # eye closed: both states at the mean density
    shift = [float(injection_shift_nm(tuner, ring, density_cm3=n)) for n in (n_zero, n_one)]
    loss = [float(injection_extra_loss_db_per_cm(tuner, density_cm3=n)) for n in (n_zero, n_one)]
    full = float(injection_shift_nm(tuner, ring, density_cm3=n_full))
    # Half the bits draw the drive current I·V_f for a bit period (random NRZ data).
    energy = 0.5 * float(injection_power_w(tuner, ring, density_cm3=n_full)) * period
    return ModulatorFigures(
        mechanism=tuner.mechanism, platform=tuner.platform, bit_rate_gbps=rate,
        full_swing_nm=full, swing_nm=shift[1] - shift[0], energy_per_bit_j=energy,
        shift_nm=(shift[0], shift[1]), extra_loss_db_per_cm=(loss[0], loss[1]), response_time_s=response,
    )


# ------------------------------------------------------------------------------ depletion
@dataclass(frozen=True)
class DepletionTuner(Parameters):
    """Carrier depletion of a reverse-biased pn junction in the ring (silicon), about a pre-bias.

    Voltages are signed (forward positive). Defaults: ``efficiency_pm_per_v`` 20 pm/V
    (assumption within the "tens of pm/V" of docs/references.md §7); ``bias_v`` −1 V
    (assumption: pre-bias in reverse so both directions are available); ``forward_limit_v`` 0 V
    (docs/references.md §7: beyond ~0 V the diode conducts and injects); ``reverse_limit_v``
    −4 V (assumption: a CMOS-driver-compatible limit below typical lateral-pn breakdown of
    −6 to −10 V); ``leakage_current_na`` 1 nA (assumption: reverse leakage of a µm-scale
    silicon diode, pA–nA); ``capacitance_ff`` 10 fF (assumption: ~0.3 fF/µm of lateral pn
    junction over the ~28 µm of a 5 µm ring); ``series_resistance_ohm`` 300 Ω (assumption:
    contact + slab resistance of a ring junction, RC = 3 ps); ``drive_vpp_v`` 1 V
    (assumption: CMOS-compatible swing; Baehr-Jones et al. 2012 drive 0.63 Vpp);
    ``doping_cm3`` 5e17 (assumption: ring pn doping 1e17–1e18) sets the Soref–Bennett loss slope;
    ``settle_tolerance`` 1 % (assumption).
    """

    key_prefix: ClassVar[str] = "depletion"
    mechanism: ClassVar[str] = "depletion"
    platform: ClassVar[str] = SILICON

    efficiency_pm_per_v: float = param("(0, 1e4]", unit="pm/V", default=20.0, doc="η: red shift per volt of reverse bias")
    bias_v: float = param("[-100, 5]", unit="V", default=-1.0, doc="pre-bias (zero-shift) voltage, forward positive")
    forward_limit_v: float = param("[-100, 5]", unit="V", default=0.0, doc="most forward allowed voltage")
    reverse_limit_v: float = param("[-100, 5]", unit="V", default=-4.0, doc="most reverse allowed voltage")
    leakage_current_na: float = param("[0, 1e6]", unit="nA", default=1.0, doc="reverse leakage current")
    capacitance_ff: float = param("(0, 1e6]", unit="fF", default=10.0, doc="junction capacitance C")
    series_resistance_ohm: float = param("[0, 1e7]", unit="ohm", default=300.0, doc="series resistance R of the junction")
    drive_vpp_v: float = param("(0, 100]", unit="V", default=1.0, doc="modulation swing V_pp about the pre-bias")
    doping_cm3: float = param("(0, 1e20]", unit="cm^-3", default=5e17, doc="junction doping (sets the loss per shift)")
    settle_tolerance: float = param("(0, 1)", default=0.01, doc="settled when within this share of the final shift")

    def __post_init__(self):
        super().__post_init__()
        if not self.reverse_limit_v <= self.bias_v <= self.forward_limit_v:
            raise ValueError(
                f"depletion.bias_v={self.bias_v!r} is out of range; allowed: >= reverse_limit_v "
                f"{self.reverse_limit_v!r} V and <= forward_limit_v {self.forward_limit_v!r} V"
            )

    def actuator(self, ring: RingDesign) -> ActuatorFigures:
        return _depletion_actuator(self, ring)

    def modulator(self, ring: RingDesign, *, bit_rate_gbps: float) -> ModulatorFigures:
        return _depletion_modulator(self, ring, bit_rate_gbps=bit_rate_gbps)


def _check_voltage(tuner: DepletionTuner, voltage_v):
    return check_range("voltage_v", voltage_v, tuner.reverse_limit_v, tuner.forward_limit_v, unit="V")


def depletion_shift_nm(tuner: DepletionTuner, *, voltage_v):
    """Resonance shift −η·(V − V_bias) (nm; reverse of the pre-bias = red) within the bias window."""
    _check_tuner(tuner, DepletionTuner)
    v = np.asarray(_check_voltage(tuner, voltage_v))
    return _out(-tuner.efficiency_pm_per_v * 1e-3 * (v - tuner.bias_v))


def _depletion_loss_per_index(doping_cm3: float) -> float:
    """Soref–Bennett dα/d|Δn| (cm⁻¹ per unit index) for equal electron and hole changes at ``doping_cm3``."""
    dn_dN = SB_ELECTRON_INDEX + SB_HOLE_EXPONENT * SB_HOLE_INDEX * doping_cm3 ** (SB_HOLE_EXPONENT - 1.0)
    return (SB_ELECTRON_ABSORPTION + SB_HOLE_ABSORPTION) / dn_dN


def depletion_extra_loss_db_per_cm(tuner: DepletionTuner, ring: RingDesign, *, voltage_v):
    """Loss change (dB/cm) relative to the pre-bias: carriers removed (red) lower it, added (blue) raise it.

    Δn_eff = Δλ·n_g/λ; Δα = −(dα/dn)·Δn_eff with the Soref–Bennett slope at ``doping_cm3``.
    """
    _check_ring(ring)
    shift = np.asarray(depletion_shift_nm(tuner, voltage_v=voltage_v))
    dn_eff = shift * ring.n_g / ring.wavelength_nm
    return _out(-DB_PER_NEPER_POWER * _depletion_loss_per_index(tuner.doping_cm3) * dn_eff)


def _rc_s(tuner: DepletionTuner) -> float:
    return tuner.series_resistance_ohm * tuner.capacitance_ff * 1e-15


def _depletion_actuator(tuner: DepletionTuner, ring: RingDesign) -> ActuatorFigures:
    _check_tuner(tuner, DepletionTuner)
    _check_ring(ring)
    eta_nm_per_v = tuner.efficiency_pm_per_v * 1e-3
    blue = eta_nm_per_v * (tuner.forward_limit_v - tuner.bias_v)
    red = eta_nm_per_v * (tuner.bias_v - tuner.reverse_limit_v)
    leak = tuner.leakage_current_na * 1e-9

    def chord(v_end, rng):  # power held at the range end (leakage x |V|) per nm of range
        return leak * abs(v_end) / rng if rng > 0 else math.nan

    return ActuatorFigures(
        mechanism=tuner.mechanism,
        platform=tuner.platform,
        blue_range_nm=blue,
        red_range_nm=red,
        blue_w_per_nm=chord(tuner.forward_limit_v, blue),
        red_w_per_nm=chord(tuner.reverse_limit_v, red),
        hold_power_w=leak * abs(tuner.bias_v),
        settle_time_s=_rc_s(tuner) * math.log(1.0 / tuner.settle_tolerance) + photon_lifetime_s(ring),
        blue_limit_extra_loss_db_per_cm=float(depletion_extra_loss_db_per_cm(tuner, ring, voltage_v=tuner.forward_limit_v)),
        red_limit_extra_loss_db_per_cm=float(depletion_extra_loss_db_per_cm(tuner, ring, voltage_v=tuner.reverse_limit_v)),
        limited_by="bias window (forward_limit_v, reverse_limit_v)",
    )


def _depletion_modulator(tuner: DepletionTuner, ring: RingDesign, *, bit_rate_gbps) -> ModulatorFigures:
    _check_tuner(tuner, DepletionTuner)
    _check_ring(ring)
    rate = _check_rate(bit_rate_gbps)
    v_hi, v_lo = tuner.bias_v + 0.5 * tuner.drive_vpp_v, tuner.bias_v - 0.5 * tuner.drive_vpp_v
    if v_hi > tuner.forward_limit_v or v_lo < tuner.reverse_limit_v:
        room = 2.0 * min(tuner.forward_limit_v - tuner.bias_v, tuner.bias_v - tuner.reverse_limit_v)
        raise ValueError(
            f"depletion.drive_vpp_v={tuner.drive_vpp_v!r} is out of range; allowed: <= {room!r} V "
            f"(the swing about bias_v {tuner.bias_v!r} V must stay within [{tuner.reverse_limit_v!r}, {tuner.forward_limit_v!r}] V)"
        )
    period = 1.0 / (rate * 1e9)
    response = _rc_s(tuner) + photon_lifetime_s(ring)
    half_eye = 0.5 * tuner.drive_vpp_v * float(eye_fraction(bit_period_s=period, time_constant_s=response))
    # bit 0 = undriven side (more reverse: red), bit 1 = driven towards forward (blue).
    v_states = (tuner.bias_v - half_eye, tuner.bias_v + half_eye)
    shift = tuple(float(depletion_shift_nm(tuner, voltage_v=v)) for v in v_states)
    loss = tuple(float(depletion_extra_loss_db_per_cm(tuner, ring, voltage_v=v)) for v in v_states)
    full = -tuner.efficiency_pm_per_v * 1e-3 * tuner.drive_vpp_v
    # C·Vpp² drawn per 0->1 transition (a quarter of random NRZ bits) + leakage at the mean bias.
    energy = 0.25 * tuner.capacitance_ff * 1e-15 * tuner.drive_vpp_v**2 + tuner.leakage_current_na * 1e-9 * abs(tuner.bias_v) * period
    return ModulatorFigures(
        mechanism=tuner.mechanism, platform=tuner.platform, bit_rate_gbps=rate,
        full_swing_nm=full, swing_nm=shift[1] - shift[0], energy_per_bit_j=energy,
        shift_nm=shift, extra_loss_db_per_cm=loss, response_time_s=response,
    )


# ------------------------------------------------------------------------------ Pockels
@dataclass(frozen=True)
class PockelsTuner(Parameters):
    """CrossLight's EO tuner: a BaTiO3-on-silicon Pockels device (``platform``), not silicon carriers.

    Defaults, all CrossLight (Sunny et al., DAC 2021) Table II / docs/references.md §4, §5, §7:
    ``efficiency_uw_per_nm`` 4 µW/nm, ``settle_time_ns`` 20 ns, ``range_nm`` 1 nm in each
    direction ("small range, ≲1 nm before loss grows"), ``tuning_loss_db_per_cm`` 6 dB/cm
    ("EO tuning loss", applied in every state: the Pockels ring's own extra loss);
    ``settle_tolerance`` 1 % (assumption: the 20 ns is read as a 1 % settle). Silicon
    presets must not use it: :func:`check_platform`.
    """

    key_prefix: ClassVar[str] = "pockels"
    mechanism: ClassVar[str] = "pockels"
    platform: ClassVar[str] = BTO_ON_SILICON

    efficiency_uw_per_nm: float = param("(0, 1e6]", unit="uW/nm", default=4.0, doc="power per nm of shift")
    settle_time_ns: float = param("(0, 1e9]", unit="ns", default=20.0, doc="settle time")
    range_nm: float = param("[0, 100]", unit="nm", default=1.0, doc="largest shift in each direction")
    tuning_loss_db_per_cm: float = param("[0, 1000]", unit="dB/cm", default=6.0, doc="extra loss of the EO-tuned ring")
    settle_tolerance: float = param("(0, 1)", default=0.01, doc="share of the final shift the settle time reaches")

    def actuator(self, ring: RingDesign) -> ActuatorFigures:
        return _pockels_actuator(self, ring)

    def modulator(self, ring: RingDesign, *, bit_rate_gbps: float, swing_nm: float | None = None) -> ModulatorFigures:
        return _pockels_modulator(self, ring, bit_rate_gbps=bit_rate_gbps, swing_nm=swing_nm)


def _pockels_actuator(tuner: PockelsTuner, ring: RingDesign) -> ActuatorFigures:
    _check_tuner(tuner, PockelsTuner)
    _check_ring(ring)
    w = tuner.efficiency_uw_per_nm * 1e-6
    return ActuatorFigures(
        mechanism=tuner.mechanism, platform=tuner.platform,
        blue_range_nm=tuner.range_nm, red_range_nm=tuner.range_nm,
        blue_w_per_nm=w if tuner.range_nm > 0 else math.nan, red_w_per_nm=w if tuner.range_nm > 0 else math.nan,
        hold_power_w=0.0, settle_time_s=tuner.settle_time_ns * 1e-9,
        blue_limit_extra_loss_db_per_cm=tuner.tuning_loss_db_per_cm, red_limit_extra_loss_db_per_cm=tuner.tuning_loss_db_per_cm,
        limited_by="range_nm (CrossLight Table II)",
    )


def _pockels_modulator(tuner: PockelsTuner, ring: RingDesign, *, bit_rate_gbps, swing_nm=None) -> ModulatorFigures:
    _check_tuner(tuner, PockelsTuner)
    _check_ring(ring)
    rate = _check_rate(bit_rate_gbps)
    full = tuner.range_nm if swing_nm is None else check_scalar("swing_nm", swing_nm, f"[0, {tuner.range_nm!r}]", unit="nm")
    period = 1.0 / (rate * 1e9)
    response = tuner.settle_time_ns * 1e-9 / math.log(1.0 / tuner.settle_tolerance) + photon_lifetime_s(ring)
    half_eye = 0.5 * full * float(eye_fraction(bit_period_s=period, time_constant_s=response))
    shift = (half_eye + 0.0, -half_eye + 0.0)  # (bit 0, bit 1): bit 1 driven blue of the midpoint (symmetric drive)
    loss = (tuner.tuning_loss_db_per_cm, tuner.tuning_loss_db_per_cm)
    # Only a static power per nm is published: the driven half of the bits holds the full swing (assumption).
    energy = 0.5 * tuner.efficiency_uw_per_nm * 1e-6 * full * period
    return ModulatorFigures(
        mechanism=tuner.mechanism, platform=tuner.platform, bit_rate_gbps=rate,
        full_swing_nm=-full, swing_nm=shift[1] - shift[0], energy_per_bit_j=energy,
        shift_nm=shift, extra_loss_db_per_cm=loss, response_time_s=response,
    )


def state_rings(ring: RingDesign, figures: ModulatorFigures) -> tuple[RingDesign, RingDesign]:
    """(bit 0, bit 1) copies of ``ring`` with each state's extra loss (for the XNOR cell's on/off levels;
    each state's resonance offset is ``figures.shift_nm``)."""
    if not isinstance(figures, ModulatorFigures):
        raise TypeError(f"figures must be a ModulatorFigures, got {type(figures).__name__} {figures!r}")
    zero, one = (ring_with_extra_loss(ring, extra_loss_db_per_cm=x) for x in figures.extra_loss_db_per_cm)
    return zero, one


# ------------------------------------------------------------------------------ dispatch
MECHANISMS: dict[str, type] = {"injection": InjectionTuner, "depletion": DepletionTuner, "pockels": PockelsTuner}


def actuator(tuner, ring: RingDesign) -> ActuatorFigures:
    """:class:`ActuatorFigures` of any mechanism's parameter object on ``ring``."""
    _check_tuner(tuner, tuple(MECHANISMS.values()))
    return tuner.actuator(ring)


def modulator(tuner, ring: RingDesign, *, bit_rate_gbps: float) -> ModulatorFigures:
    """:class:`ModulatorFigures` of any mechanism at ``bit_rate_gbps`` with its default drive."""
    _check_tuner(tuner, tuple(MECHANISMS.values()))
    return tuner.modulator(ring, bit_rate_gbps=bit_rate_gbps)


def check_platform(tuner, platform: str):
    """``tuner`` if its mechanism exists on ``platform`` (e.g. a silicon preset), else ValueError naming both."""
    _check_tuner(tuner, tuple(MECHANISMS.values()))
    if tuner.platform != platform:
        allowed = sorted(name for name, cls in MECHANISMS.items() if cls.platform == platform)
        raise ValueError(
            f"eo_mechanism={tuner.mechanism!r} is a {tuner.platform} device, not available on platform={platform!r}; "
            f"allowed on {platform}: {allowed}"
        )
    return tuner


# ------------------------------------------------------------------------------ helpers
def _out(x):
    arr = np.asarray(x, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def _check_ring(ring) -> None:
    if not isinstance(ring, RingDesign):
        raise TypeError(f"ring must be a photonics.mrr.RingDesign, got {type(ring).__name__} {ring!r}")


def _check_tuner(tuner, cls) -> None:
    if not isinstance(tuner, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"tuner must be a {names}, got {type(tuner).__name__} {tuner!r}")


def _check_rate(bit_rate_gbps) -> float:
    return check_scalar("bit_rate_gbps", bit_rate_gbps, "(0, 1e4]", unit="Gb/s")
