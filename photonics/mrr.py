"""Microring resonators: exact (Airy) transfer functions and the ``RingDesign`` figure-of-merit object.

Formulas: Bogaerts et al., Laser Photonics Rev. 6(1) 47 (2012), as listed in docs/references.md §1.
Symbols: ``r``, ``r1``, ``r2`` field self-coupling (``kappa2 = 1 - r**2``), ``a`` single-pass
(one round trip) field amplitude, ``phi`` round-trip phase. The kernels evaluate the Airy forms
with ``1 - cos(phi) = 2 sin^2(phi/2)``, e.g. the add-drop drop power::

    T_d = (1 - r1^2)(1 - r2^2) a / ((1 - r1 r2 a)^2 + 4 r1 r2 a sin^2(phi/2))

which equals the textbook ``... / (1 - 2 r1 r2 a cos(phi) + (r1 r2 a)^2)`` but keeps full
precision near resonance. ``sin^2(phi/2)`` uses a Cody-Waite reduction and a degree-21 odd
Taylor polynomial (within a few ulp of ``np.sin``), which LLVM vectorises.

Field conventions (power = ``|field|^2``)::

    all-pass through  (r - a e^{i phi}) / (1 - r a e^{i phi})
    add-drop through  (r1 - r2 a e^{i phi}) / (1 - r1 r2 a e^{i phi})
    add-drop drop     -k1 k2 sqrt(a) e^{i phi/2} / (1 - r1 r2 a e^{i phi}),   k = sqrt(1 - r^2)

Wavelength model of ``RingDesign``: first-order dispersion
``n_eff(lam) = n_eff0 - (n_g - n_eff0)(lam - lam0)/lam0`` gives the round-trip phase
``phi0(lam) = 2 pi L (n_g/lam - (n_g - n_eff0)/lam0)``; a ring detuned by ``d`` nm has
``phi(lam) = phi0(lam - d)``, i.e. every resonance moves by exactly ``d`` (positive = red).
"""
from __future__ import annotations

import math
import types
from dataclasses import KW_ONLY, dataclass

import numba as nb
import numpy as np

from photonics import waveguide
from photonics.validation import as_float_array, check_positive, check_range, to_float_array

__all__ = [
    "allpass_through",
    "adddrop_through",
    "adddrop_drop",
    "allpass_through_field",
    "adddrop_through_field",
    "adddrop_drop_field",
    "RingDesign",
]

# 2*pi split into three parts (the first two with 25 significant bits, so k*P1 and k*P2 are
# exact for |k| < 2**28); their sum equals 2*pi to about 1e-32.
_P1 = 6.283185243606567
_P2 = 6.357301884918343e-08
_P3 = 2.4492935982947064e-16
_INV_TWO_PI = 1.0 / (2.0 * math.pi)
# Taylor coefficients of sin(h)/h in powers of h^2 (|h| <= pi/2: truncation error < 2e-18).
_S0, _S1, _S2, _S3, _S4, _S5, _S6, _S7, _S8, _S9, _S10 = (
    (-1.0) ** k / math.factorial(2 * k + 1) for k in range(11)
)


# Below this many inner iterations a kernel runs serially: a parallel launch costs ~10 us on an
# idle machine and milliseconds when the cores are oversubscribed.
PARALLEL_MIN_WORK = 32_768


class _DualKernel:
    """A loop compiled twice with ``cache=True``: serial for small work, ``prange``-parallel for large."""

    def __init__(self, fn, flags):
        serial = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
        serial.__qualname__ = fn.__qualname__ + "_serial"  # its own cache file
        self.serial = nb.njit(cache=True, **flags)(serial)
        self.parallel = nb.njit(cache=True, parallel=True, **flags)(fn)
        self.__doc__ = fn.__doc__

    def __call__(self, work, *args):
        return (self.parallel if work >= PARALLEL_MIN_WORK else self.serial)(*args)


def dual_kernel(**flags):
    """Decorator: ``kernel(work, *args)`` runs the serial or the parallel build by ``work``."""
    return lambda fn: _DualKernel(fn, flags)


@nb.njit(cache=True, fastmath={"contract"}, inline="always")
def _sin2_half(phi):
    """sin(phi/2)**2 for any finite phi (argument reduced to [-pi, pi] first)."""
    k = np.rint(phi * _INV_TWO_PI)
    h = 0.5 * (((phi - k * _P1) - k * _P2) - k * _P3)
    z = h * h
    p = _S10
    p = p * z + _S9
    p = p * z + _S8
    p = p * z + _S7
    p = p * z + _S6
    p = p * z + _S5
    p = p * z + _S4
    p = p * z + _S3
    p = p * z + _S2
    p = p * z + _S1
    p = p * z + _S0
    s = h * p
    return s * s


@nb.njit(cache=True, fastmath={"contract"}, inline="always")
def _airy(s, r1, r2, a):
    """(through from bus 1, through from bus 2, drop) powers of an add-drop ring at sin^2(phi/2) = s."""
    rho = r1 * r2 * a
    four_rho_s = 4.0 * rho * s
    inv = 1.0 / ((1.0 - rho) * (1.0 - rho) + four_rho_s)
    t1 = ((r1 - r2 * a) * (r1 - r2 * a) + four_rho_s) * inv
    t2 = ((r2 - r1 * a) * (r2 - r1 * a) + four_rho_s) * inv
    d = (1.0 - r1 * r1) * (1.0 - r2 * r2) * a * inv
    return t1, t2, d


_CHUNK = 4096  # elements of a row per parallel task in the kernels below


@nb.njit(cache=True, inline="always")
def _chunk(task, n_chunks, n_cols):
    """(row, lo, hi) of parallel task ``task`` when every row of ``n_cols`` is cut into ``n_chunks`` chunks."""
    i = task // n_chunks
    lo = (task - i * n_chunks) * _CHUNK
    return i, lo, min(n_cols, lo + _CHUNK)


@nb.njit(cache=True, inline="always")
def _segment(x, i, lo, hi):
    """Columns lo:hi of row ``i`` of a (R or 1, C or 1) operand (row 0 when it is broadcast over rows),
    or the whole size-1 row when it is broadcast over columns.

    The kernels index a segment from 0: the index is then known non-negative and the loop loads
    contiguous vectors (indexing the row from ``lo`` keeps Numba's negative-index wraparound in the
    loop, which LLVM vectorises only with gathers, measured ~5x slower)."""
    row = x[i if x.shape[0] > 1 else 0]
    return row[lo:hi] if row.size > 1 else row


@nb.njit(cache=True, inline="always")
def _invalid(phi, r1, r2, a):
    """1 unless phi is finite, r1, r2, a lie in [0, 1] and r1 r2 a < 1 (the checks of :func:`_check_inputs`)."""
    ok = (abs(phi) < math.inf) & (0.0 <= r1) & (r1 <= 1.0) & (0.0 <= r2) & (r2 <= 1.0) & (0.0 <= a) & (a <= 1.0)
    return 0 if ok & (r1 * r2 * a < 1.0) else 1


@dual_kernel(fastmath={"contract"}, error_model="numpy")
def _power_kernel(phi, r1, r2, a, drop_port, out):
    """Through (bus 1) or drop power over ``out`` (R, C); each input is (R or 1, C or 1), broadcast
    operands unexpanded (e.g. one coupling per ring (R, 1) against phases (R, C), or everything flat (1, n)).

    Returns how many elements are invalid (non-finite ``phi``, a coupling outside [0, 1] or
    ``r1 r2 a >= 1``, :func:`_invalid`), counted in the same pass: the caller discards ``out``
    unless that is 0. ``error_model="numpy"``: an invalid element gives inf/nan, not an exception.
    Whether an operand is broadcast is fixed within a chunk, so LLVM unswitches those selects and
    vectorises each variant of the loop.
    """
    n_rows, n_cols = out.shape
    n_chunks = (n_cols + _CHUNK - 1) // _CHUNK
    n_bad = 0
    for task in nb.prange(n_rows * n_chunks):
        i, lo, hi = _chunk(task, n_chunks, n_cols)
        p_s, r1_s, r2_s, a_s = _segment(phi, i, lo, hi), _segment(r1, i, lo, hi), _segment(r2, i, lo, hi), _segment(a, i, lo, hi)
        f_p, f_1, f_2, f_a = p_s.size > 1, r1_s.size > 1, r2_s.size > 1, a_s.size > 1
        p0, r10, r20, a0 = p_s[0], r1_s[0], r2_s[0], a_s[0]
        out_s = out[i, lo:hi]
        bad = 0
        for j in range(hi - lo):
            p = p_s[j] if f_p else p0
            x1, x2, xa = r1_s[j] if f_1 else r10, r2_s[j] if f_2 else r20, a_s[j] if f_a else a0
            t1, _, d = _airy(_sin2_half(p), x1, x2, xa)
            out_s[j] = d if drop_port else t1
            bad += _invalid(p, x1, x2, xa)
        n_bad += bad
    return n_bad


@dual_kernel()
def _field_kernel(phi, r1, r2, a, drop_port, out):
    """Complex through (bus 1) or drop field; inputs, output and return as in :func:`_power_kernel`
    (an invalid element is skipped: Numba's complex division raises on a zero denominator)."""
    n_rows, n_cols = out.shape
    n_chunks = (n_cols + _CHUNK - 1) // _CHUNK
    n_bad = 0
    for task in nb.prange(n_rows * n_chunks):
        i, lo, hi = _chunk(task, n_chunks, n_cols)
        p_s, r1_s, r2_s, a_s = _segment(phi, i, lo, hi), _segment(r1, i, lo, hi), _segment(r2, i, lo, hi), _segment(a, i, lo, hi)
        f_p, f_1, f_2, f_a = p_s.size > 1, r1_s.size > 1, r2_s.size > 1, a_s.size > 1
        out_s = out[i, lo:hi]
        bad = 0
        for j in range(hi - lo):
            p = p_s[j] if f_p else p_s[0]
            x1, x2, xa = r1_s[j] if f_1 else r1_s[0], r2_s[j] if f_2 else r2_s[0], a_s[j] if f_a else a_s[0]
            invalid = _invalid(p, x1, x2, xa)
            bad += invalid
            if invalid:
                out_s[j] = 0.0
            elif drop_port:
                den = 1.0 - x1 * x2 * xa * complex(math.cos(p), math.sin(p))
                k1k2 = math.sqrt((1.0 - x1 * x1) * (1.0 - x2 * x2) * xa)
                out_s[j] = -k1k2 * complex(math.cos(0.5 * p), math.sin(0.5 * p)) / den
            else:
                den = 1.0 - x1 * x2 * xa * complex(math.cos(p), math.sin(p))
                out_s[j] = (x1 - x2 * xa * complex(math.cos(p), math.sin(p))) / den
        n_bad += bad
    return n_bad


@dual_kernel(fastmath={"contract"})
def _ring_spectrum_kernel(lam, det, k_nm, c, r1, r2, a, through, drop):
    """Through/drop of one ring design at phase k/(lam - det) - c, out shape (R, C).

    ``lam`` and ``det`` are 2-D with shape (R or 1, C or 1) (broadcast operands).
    """
    n_rows, n_cols = through.shape
    n_chunks = (n_cols + _CHUNK - 1) // _CHUNK
    for task in nb.prange(n_rows * n_chunks):
        i, lo, hi = _chunk(task, n_chunks, n_cols)
        lam_s, det_s = _segment(lam, i, lo, hi), _segment(det, i, lo, hi)
        x = np.empty(hi - lo)  # shifted wavelengths of this chunk (keeps the main loop vectorisable)
        if lam_s.size > 1:
            x[:] = lam_s
        else:
            x[:] = lam_s[0]
        if det_s.size > 1:
            x -= det_s
        else:
            x -= det_s[0]
        through_s, drop_s = through[i, lo:hi], drop[i, lo:hi]
        for j in range(hi - lo):
            t1, _, d = _airy(_sin2_half(k_nm / x[j] - c), r1, r2, a)
            through_s[j] = t1
            drop_s[j] = d


def _evaluate(kernel, dtype, drop_port, phi, couplings: dict):
    """Run ``kernel`` over the broadcast of phase and couplings (scalars stay scalars).

    The kernel counts invalid elements in its own pass (no extra passes or temporaries over the
    inputs); if it finds any, :func:`_check_inputs` raises the named error before anything is returned.
    """
    arrays = {"phi": to_float_array("phi", phi)}
    arrays.update((name, to_float_array(name, value)) for name, value in couplings.items())
    try:
        shape = np.broadcast_shapes(*(x.shape for x in arrays.values()))
    except ValueError:
        _check_elements(arrays)
        shapes = ", ".join(f"{name} shape {x.shape}" for name, x in arrays.items())
        raise ValueError(f"{shapes} do not broadcast; allowed: shapes that broadcast together") from None
    operands = list(arrays.values())
    if len(operands) == 3:  # all-pass ring = add-drop ring with r2 = 1
        operands.insert(2, np.ones(()))
    n = math.prod(shape)
    if all(x.size in (1, n) for x in operands):  # no partial broadcast: flat (1, n) or (1, 1) views
        out = np.empty((1, n), dtype=dtype)
        operands = [np.ascontiguousarray(x).reshape(1, x.size) for x in operands]
    else:  # operands (R or 1, C or 1); only an operand broadcast over some leading axes is copied
        out = np.empty(_rows_cols(shape), dtype=dtype)
        operands = [_as_rows(x, shape) for x in operands]
    if n == 0:
        _check_inputs(arrays)
    elif kernel(n, *operands, drop_port, out):
        _check_inputs(arrays)
        raise AssertionError("the kernel found an invalid input that _check_inputs accepts")
    return _finish(out, shape)


def _index_text(x: np.ndarray, flat_index: int) -> str:
    idx = np.unravel_index(flat_index, x.shape)
    return f" at index {int(idx[0]) if len(idx) == 1 else tuple(int(i) for i in idx)}"


def _check_elements(arrays: dict) -> None:
    """Raise the named ValueError for the first non-finite element (``phi`` and couplings) or the first
    coupling outside [0, 1], checking the arguments in order; naming argument, index, value and range."""
    for name, x in arrays.items():
        bad = ~np.isfinite(x)
        if bad.any():
            i = int(np.argmax(bad.ravel()))
            where = _index_text(x, i) if x.ndim else ""
            raise ValueError(f"{name} contains a non-finite value ({x.ravel()[i]}){where}; allowed: finite real numbers")
        if name == "phi":
            continue
        bad = (x < 0.0) | (x > 1.0)
        if bad.any():
            i = int(np.argmax(bad.ravel()))
            where = f"{_index_text(x, i)} (in array(shape={x.shape}, min={x.min()}, max={x.max()}))" if x.ndim else ""
            raise ValueError(f"{name}={float(x.ravel()[i])!r}{where} is out of range; allowed: >= 0.0 and <= 1.0")


def _check_inputs(arrays: dict) -> None:
    """:func:`_check_elements`, then ``r1 r2 a < 1`` (``r a`` for an all-pass ring) over the couplings' broadcast."""
    _check_elements(arrays)
    names = list(arrays)[1:]
    rho = np.prod(np.broadcast_arrays(*(arrays[n] for n in names)), axis=0)
    bad = rho >= 1.0
    if bad.any():
        i = int(np.argmax(bad.ravel()))
        where = _index_text(rho, i) + " of the couplings' broadcast" if rho.ndim else ""
        product = "*".join(names)
        raise ValueError(f"{product}={float(rho.ravel()[i])!r}{where} is a lossless uncoupled ring (degenerate); "
                         f"allowed: {product} < 1")


def _finish(out, shape):
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def allpass_through(phi, r, a):
    """All-pass through power ``(a^2 - 2ra cos phi + r^2) / (1 - 2ra cos phi + (ra)^2)`` (broadcasting)."""
    return _evaluate(_power_kernel, np.float64, False, phi, {"r": r, "a": a})


def adddrop_through(phi, r1, r2, a):
    """Add-drop through power ``(r2^2 a^2 - 2 r1 r2 a cos phi + r1^2) / (1 - 2 r1 r2 a cos phi + (r1 r2 a)^2)``."""
    return _evaluate(_power_kernel, np.float64, False, phi, {"r1": r1, "r2": r2, "a": a})


def adddrop_drop(phi, r1, r2, a):
    """Add-drop drop power ``(1 - r1^2)(1 - r2^2) a / (1 - 2 r1 r2 a cos phi + (r1 r2 a)^2)``."""
    return _evaluate(_power_kernel, np.float64, True, phi, {"r1": r1, "r2": r2, "a": a})


def allpass_through_field(phi, r, a):
    """Complex all-pass through field ``(r - a e^{i phi}) / (1 - r a e^{i phi})``."""
    return _evaluate(_field_kernel, np.complex128, False, phi, {"r": r, "a": a})


def adddrop_through_field(phi, r1, r2, a):
    """Complex add-drop through field ``(r1 - r2 a e^{i phi}) / (1 - r1 r2 a e^{i phi})``."""
    return _evaluate(_field_kernel, np.complex128, False, phi, {"r1": r1, "r2": r2, "a": a})


def adddrop_drop_field(phi, r1, r2, a):
    """Complex add-drop drop field ``-k1 k2 sqrt(a) e^{i phi/2} / (1 - r1 r2 a e^{i phi})``."""
    return _evaluate(_field_kernel, np.complex128, True, phi, {"r1": r1, "r2": r2, "a": a})


def _waveguide_indices(width_nm, thickness_nm, wavelength_nm):
    n_eff, n_g = waveguide.strip_indices_fast(width_nm, thickness_nm, wavelength_nm)
    return float(n_eff), float(n_g)


@dataclass(frozen=True)
class RingDesign:
    """A circular microring (all-pass when ``kappa2_drop`` is None, else add-drop).

    ``kappa2_in`` is the power cross-coupling to the input bus, ``kappa2_drop`` to the drop
    bus. ``n_eff``/``n_g`` at ``wavelength_nm`` default to the strip-waveguide model
    (``photonics.waveguide``); after construction the fields hold the resolved indices, so
    pass ``n_eff=None, n_g=None`` to ``dataclasses.replace`` when changing the geometry.
    """

    radius_um: float
    width_nm: float = 500.0
    thickness_nm: float = 220.0
    _: KW_ONLY
    kappa2_in: float
    kappa2_drop: float | None = None
    loss_db_per_cm: float = 2.0
    wavelength_nm: float = 1550.0
    n_eff: float | None = None
    n_g: float | None = None

    def __post_init__(self):
        def set_(name, value):  # the dataclass is frozen
            object.__setattr__(self, name, value)

        set_("radius_um", check_positive("radius_um", self.radius_um, "um"))
        set_("width_nm", check_positive("width_nm", self.width_nm, "nm"))
        set_("thickness_nm", check_positive("thickness_nm", self.thickness_nm, "nm"))
        set_("kappa2_in", check_range("kappa2_in", self.kappa2_in, 0.0, 1.0, lo_inclusive=False, hi_inclusive=False))
        if self.kappa2_drop is not None:
            set_("kappa2_drop", check_range("kappa2_drop", self.kappa2_drop, 0.0, 1.0, lo_inclusive=False, hi_inclusive=False))
        set_("loss_db_per_cm", check_range("loss_db_per_cm", self.loss_db_per_cm, 0.0, None, unit="dB/cm"))
        set_("wavelength_nm", check_positive("wavelength_nm", self.wavelength_nm, "nm"))
        for name in ("n_eff", "n_g"):
            if getattr(self, name) is not None:
                set_(name, check_range(name, getattr(self, name), 1.0, None))
        if self.n_eff is None or self.n_g is None:
            n_eff, n_g = _waveguide_indices(self.width_nm, self.thickness_nm, self.wavelength_nm)
            set_("n_eff", n_eff if self.n_eff is None else self.n_eff)
            set_("n_g", n_g if self.n_g is None else self.n_g)
        if self.a == 0.0:
            raise ValueError(
                f"loss_db_per_cm={self.loss_db_per_cm} leaves no light after one round trip of "
                f"{self.circumference_um:.4g} um; allowed: a finite round-trip loss"
            )

    # --- geometry and coupling -------------------------------------------------------------
    @property
    def circumference_um(self) -> float:
        return 2.0 * math.pi * self.radius_um

    @property
    def is_adddrop(self) -> bool:
        return self.kappa2_drop is not None

    @property
    def r1(self) -> float:
        """Field self-coupling of the input coupler."""
        return math.sqrt(1.0 - self.kappa2_in)

    @property
    def r2(self) -> float:
        """Field self-coupling of the drop coupler (1 for an all-pass ring)."""
        return math.sqrt(1.0 - self.kappa2_drop) if self.is_adddrop else 1.0

    @property
    def a(self) -> float:
        """Single-pass field amplitude: a^2 = 10^(-loss_dB_per_cm * L_cm / 10)."""
        return 10.0 ** (-self.loss_db_per_cm * self.circumference_um * 1e-4 / 20.0)

    @property
    def _rho(self) -> float:
        return self.r1 * self.r2 * self.a

    # --- figures of merit (docs/references.md §1) -------------------------------------------------
    @property
    def fsr_nm(self) -> float:
        """FSR = lam^2 / (n_g L)."""
        return self.wavelength_nm**2 / (self.n_g * self.circumference_um * 1e3)

    @property
    def fwhm_nm(self) -> float:
        """FWHM = (1 - rho) lam^2 / (pi n_g L sqrt(rho)), rho = r1 r2 a."""
        rho = self._rho
        return (1.0 - rho) * self.fsr_nm / (math.pi * math.sqrt(rho))

    @property
    def finesse(self) -> float:
        return self.fsr_nm / self.fwhm_nm

    @property
    def q_loaded(self) -> float:
        return self.wavelength_nm / self.fwhm_nm

    @property
    def q_intrinsic(self) -> float:
        """2 pi n_g / (lam alpha), alpha the power loss per metre (inf for a lossless ring)."""
        alpha_per_m = self.loss_db_per_cm * 100.0 * math.log(10.0) / 10.0
        if alpha_per_m == 0.0:
            return math.inf
        return 2.0 * math.pi * self.n_g / (self.wavelength_nm * 1e-9 * alpha_per_m)

    @property
    def extinction_ratio_db(self) -> float:
        """Through-port extinction: off-resonance (phi = pi) over on-resonance power, dB (inf at critical coupling)."""
        r1, r2a, rho = self.r1, self.r2 * self.a, self._rho
        t_max = (r1 + r2a) ** 2 / (1.0 + rho) ** 2
        t_min = (r1 - r2a) ** 2 / (1.0 - rho) ** 2
        return math.inf if t_min == 0.0 else 10.0 * math.log10(t_max / t_min)

    @property
    def peak_drop(self) -> float:
        """Drop power on resonance, (1 - r1^2)(1 - r2^2) a / (1 - r1 r2 a)^2 (0 for all-pass)."""
        if not self.is_adddrop:
            return 0.0
        return self.kappa2_in * self.kappa2_drop * self.a / (1.0 - self._rho) ** 2

    @property
    def critical_kappa2(self) -> float:
        """Input-coupler kappa^2 for critical coupling: r = a (all-pass), r1 = r2 a (add-drop)."""
        return 1.0 - (self.r2 * self.a) ** 2

    # --- wavelength response -----------------------------------------------------------------
    @property
    def _phase_coeffs(self) -> tuple[float, float]:
        """(k, c) with phi0(lam) = k / lam - c, lam in nm."""
        length_nm = self.circumference_um * 1e3
        k = 2.0 * math.pi * length_nm * self.n_g
        c = 2.0 * math.pi * length_nm * (self.n_g - self.n_eff) / self.wavelength_nm
        return k, c

    def resonances_nm(self, band) -> np.ndarray:
        """Resonances of the undetuned ring in ``band = (lo_nm, hi_nm)``, ascending.

        Solves ``m lam = n_eff(lam) L`` with first-order dispersion:
        ``lam_m = n_g L / (m + L (n_g - n_eff0) / lam0)``.
        """
        lo, hi = _check_band(band)
        k, c = self._phase_coeffs
        m_lo = max(1, math.ceil((k / hi - c) / (2.0 * math.pi)))
        m_hi = math.floor((k / lo - c) / (2.0 * math.pi))
        m = np.arange(m_lo, m_hi + 1, dtype=np.float64)
        lam = k / (2.0 * math.pi * m + c)
        return np.sort(lam[(lam >= lo) & (lam <= hi)])

    def nearest_resonance_nm(self, wavelengths_nm):
        """Resonance of the undetuned ring nearest (in phase) to each wavelength."""
        lam = check_positive("wavelengths_nm", wavelengths_nm, "nm")
        k, c = self._phase_coeffs
        m = np.maximum(np.rint((k / lam - c) / (2.0 * math.pi)), 1.0)
        return k / (2.0 * math.pi * m + c)

    def phase(self, wavelengths_nm, detuning_nm=0.0):
        """Round-trip phase ``phi0(lam - detuning)`` (rad); inputs broadcast."""
        x = _shifted_wavelengths(wavelengths_nm, detuning_nm)
        k, c = self._phase_coeffs
        return k / x - c

    def spectrum(self, wavelengths_nm, detuning_nm=0.0):
        """(through, drop) power at ``wavelengths_nm`` with resonances moved by ``detuning_nm``.

        Inputs broadcast (e.g. detuning of shape (n_rings, 1) against wavelengths (n,));
        ``drop`` is zeros for an all-pass ring.
        """
        lam, det = _check_shift(wavelengths_nm, detuning_nm)
        shape = np.broadcast_shapes(lam.shape, det.shape)
        rows, cols = _rows_cols(shape)
        through = np.empty((rows, cols))
        drop = np.empty((rows, cols))
        k, c = self._phase_coeffs
        _ring_spectrum_kernel(
            through.size, _as_rows(lam, shape), _as_rows(det, shape), k, c, self.r1, self.r2, self.a, through, drop
        )
        return _finish(through, shape), _finish(drop, shape)


def _check_band(band) -> tuple[float, float]:
    arr = check_positive("band", band, "nm")
    if np.ndim(arr) != 1 or len(arr) != 2 or not arr[0] < arr[1]:
        raise ValueError(f"band={band!r} must be (lo_nm, hi_nm) with 0 < lo_nm < hi_nm")
    return float(arr[0]), float(arr[1])


def _check_shift(wavelengths_nm, detuning_nm):
    """Validated float arrays ``lam`` (> 0) and ``det`` with ``lam - det > 0`` wherever they broadcast."""
    lam = np.asarray(check_positive("wavelengths_nm", wavelengths_nm, "nm"))
    det = np.asarray(as_float_array("detuning_nm", detuning_nm))
    try:
        np.broadcast_shapes(lam.shape, det.shape)
    except ValueError:
        raise ValueError(
            f"wavelengths_nm shape {lam.shape} and detuning_nm shape {det.shape} do not broadcast"
        ) from None
    if lam.size and det.size and lam.min() <= det.max():  # cheap sufficient test failed: check exactly
        x = np.subtract(lam, det)
        if np.any(x <= 0.0):
            worst = np.broadcast_to(det, x.shape).ravel()[np.argmin(x.ravel())]
            raise ValueError(
                f"detuning_nm={worst} moves a resonance to or below 0 nm; allowed: detuning_nm < wavelengths_nm"
            )
    return lam, det


def _shifted_wavelengths(wavelengths_nm, detuning_nm) -> np.ndarray:
    """``wavelengths_nm - detuning_nm`` (broadcast, validated, > 0)."""
    lam, det = _check_shift(wavelengths_nm, detuning_nm)
    return np.subtract(lam, det)


def _rows_cols(shape) -> tuple[int, int]:
    cols = shape[-1] if shape else 1
    return (int(np.prod(shape[:-1])) if shape else 1), cols


def _as_rows(x: np.ndarray, shape) -> np.ndarray:
    """``x`` broadcast to ``shape`` viewed as (rows, cols), keeping size-1 rows/cols unexpanded."""
    x = x.reshape((1,) * (len(shape) - x.ndim) + x.shape) if shape else x.reshape(1)
    cols = x.shape[-1]
    if all(d == 1 for d in x.shape[:-1]):
        return np.ascontiguousarray(x.reshape(1, cols))
    rows = _rows_cols(shape)[0]
    return np.ascontiguousarray(np.broadcast_to(x, tuple(shape[:-1]) + (cols,))).reshape(rows, cols)
