"""Strip SOI waveguide, TE0 mode, SiO2 cladding: a full-vectorial mode solver and a fast surrogate.

Solver (``solve_mode``, ``strip_indices``, ``solver_sensitivities``): finite differences on a
Yee grid for the transverse fields (Zhu & Brown, Opt. Express 10, 853, 2002), one quarter of
the cross-section with an electric wall on the vertical and a magnetic wall on the horizontal
symmetry plane (the TE0 parities), metal walls 1.5 µm outside the core. Core edges lie on grid
lines; permittivity is averaged over each field component's dual cell. The TE0 eigenvalue
comes from shift-invert Arnoldi (scipy); n_eff is Richardson-extrapolated from two grids
(second-order convergence). n_g = n_eff − λ·dn_eff/dλ and dn_eff/dT are exact derivatives
of the discrete eigenvalue (first-order perturbation theory with the left eigenvector, which
for this scheme is the transverse magnetic field weighted by cell area), including the
material dispersion and thermo-optic coefficients of ``photonics.materials``.

Surrogate (``strip_indices_fast``, ``sensitivities``): tensor-product cubic B-spline through
the solver's values on a grid over the validity box, shipped as ``photonics/data/strip_te0.npz``
(built by ``scripts/build_waveguide_table.py``), evaluated by a Numba kernel.

Resonance sensitivities: Δλ = λ·Δn_eff/n_g (docs/references.md §1).
Validity: width 350–2500 nm, thickness 180–260 nm, wavelength 1450–1650 nm.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.interpolate import make_interp_spline
from scipy.optimize import brentq

from photonics import materials
from photonics.validation import as_float_array, check_range

__all__ = [
    "WIDTH_RANGE_NM",
    "THICKNESS_RANGE_NM",
    "WAVELENGTH_RANGE_NM",
    "ModeSolution",
    "Sensitivities",
    "solve_mode",
    "strip_indices",
    "solver_sensitivities",
    "strip_indices_fast",
    "sensitivities",
]

WIDTH_RANGE_NM = (350.0, 2500.0)
THICKNESS_RANGE_NM = (180.0, 260.0)
WAVELENGTH_RANGE_NM = (1450.0, 1650.0)

_MARGIN_NM = 1500.0  # cladding between core edge and the metal wall, each direction
# Cells per quarter cross-section on the coarse grid: core x, cladding x, core y, cladding y.
# The fine grid doubles every count.
_CELLS = (15, 15, 8, 15)
_STEP_W_NM = 2.0  # finite-difference steps of solver_sensitivities
_STEP_T_NM = 1.0
_TABLE = "strip_te0.npz"


@dataclass(frozen=True)
class ModeSolution:
    """TE0 mode of one cross-section: effective and group index, and dn_eff/dT (1/K)."""

    n_eff: float
    n_g: float
    dneff_dT_per_K: float


@dataclass(frozen=True)
class Sensitivities:
    """Resonance shifts per unit change of width, thickness (nm/nm) and temperature (nm/K).

    Fields are floats for scalar input and arrays when inputs broadcast.
    """

    dlambda_dw_nm_per_nm: float | np.ndarray
    dlambda_dt_nm_per_nm: float | np.ndarray
    dlambda_dT_nm_per_K: float | np.ndarray
    n_eff: float | np.ndarray
    n_g: float | np.ndarray


def _check_scalar(name: str, value, lo: float, hi: float) -> float:
    arr = as_float_array(name, value)
    if arr.ndim != 0:
        raise TypeError(f"{name} must be a scalar for the mode solver, got shape {arr.shape}; use the *_fast surrogate for arrays")
    return check_range(name, arr, lo, hi, unit="nm")


def _check_geometry(width_nm, thickness_nm, wavelength_nm):
    return (
        _check_scalar("width_nm", width_nm, *WIDTH_RANGE_NM),
        _check_scalar("thickness_nm", thickness_nm, *THICKNESS_RANGE_NM),
        _check_scalar("wavelength_nm", wavelength_nm, *WAVELENGTH_RANGE_NM),
    )


# --------------------------------------------------------------------------- mode solver


def _axis_nodes(half_core_nm: float, n_core: int, n_clad: int) -> np.ndarray:
    """Grid lines from the symmetry plane (0): uniform in the core, geometric in the cladding."""
    core = np.linspace(0.0, half_core_nm, n_core + 1)
    h0 = core[1]
    powers = np.arange(n_clad)
    ratio = brentq(lambda r: h0 * np.sum(r**powers) - _MARGIN_NM, 0.2, 3.0, xtol=1e-14)
    return np.concatenate([core, half_core_nm + h0 * np.cumsum(ratio**powers)])


def _diff_int_to_half(nodes: np.ndarray, keep_first: bool) -> sp.csr_matrix:
    """d/dx from grid-line values to cell-centre values; the last grid line is a metal wall (0)."""
    n = len(nodes) - 1
    h = np.diff(nodes)
    d = sp.diags([-1.0 / h, 1.0 / h], [0, 1], shape=(n, n + 1), format="csr")
    return d[:, 0 if keep_first else 1 : n]


def _dual_operator(d_ih: sp.csr_matrix, nodes: np.ndarray, keep_first: bool):
    """Cell-centre -> grid-line derivative (the negative adjoint of ``d_ih``) and dual lengths."""
    h = np.diff(nodes)
    mid = 0.5 * (nodes[:-1] + nodes[1:])
    dual = np.diff(mid)
    if keep_first:  # magnetic wall at 0: mirror cell, half a dual cell inside the domain
        dual = np.concatenate([[mid[0]], dual])
    return (-sp.diags(1.0 / dual) @ d_ih.T @ sp.diags(h)).tocsr(), dual


def _fill_fraction(lo: np.ndarray, hi: np.ndarray, edge: float) -> np.ndarray:
    return np.clip((np.minimum(hi, edge) - lo) / (hi - lo), 0.0, 1.0)


class _Operators:
    """Sparse Yee-grid operators of one cross-section (physical lengths in nm)."""

    def __init__(self, width_nm: float, thickness_nm: float, refine: int):
        ncx, nox, ncy, noy = (c * refine for c in _CELLS)
        xs = _axis_nodes(0.5 * width_nm, ncx, nox)
        ys = _axis_nodes(0.5 * thickness_nm, ncy, noy)
        # x: electric wall at 0 (grid-line unknowns start at node 1); y: magnetic wall at 0.
        dx_ih = _diff_int_to_half(xs, keep_first=False)
        dy_ih = _diff_int_to_half(ys, keep_first=True)
        dx_hi, dual_x = _dual_operator(dx_ih, xs, keep_first=False)
        dy_hi, dual_y = _dual_operator(dy_ih, ys, keep_first=True)
        hx, hy = np.diff(xs), np.diff(ys)
        nxh, nxi, ny = len(hx), len(dual_x), len(hy)
        ixh, ixi, iy = sp.identity(nxh), sp.identity(nxi), sp.identity(ny)
        kron = lambda a, b: sp.kron(a, b, format="csr")  # noqa: E731
        # Component grids: Ex, Hy at (x-centre, y-line); Ey, Hx at (x-line, y-centre);
        # Ez at (x-line, y-line); Hz at (x-centre, y-centre).
        self.dxf, self.dyf = kron(dx_ih, iy), kron(ixh, dy_ih)  # E_t -> Hz grid
        self.dxb, self.dyb = kron(dx_hi, iy), kron(ixi, dy_hi)  # H_t -> Ez grid
        self.dxe, self.dye = kron(dx_ih, iy), kron(ixi, dy_ih)  # Ez grid -> Ex, Ey grids
        self.dxh, self.dyh = kron(dx_hi, iy), kron(ixh, dy_hi)  # Hz grid -> Hx, Hy grids
        # Core fraction of each component's dual cell (core edges lie on grid lines).
        xmid, ymid = 0.5 * (xs[:-1] + xs[1:]), 0.5 * (ys[:-1] + ys[1:])
        fx_c = (xmid < 0.5 * width_nm).astype(float)
        fx_l = _fill_fraction(xmid[:-1], xmid[1:], 0.5 * width_nm)
        fy_c = (ymid < 0.5 * thickness_nm).astype(float)
        fy_l = _fill_fraction(np.concatenate([[0.0], ymid[:-1]]), ymid, 0.5 * thickness_nm)
        self.fill_x = np.outer(fx_c, fy_l).ravel()
        self.fill_y = np.outer(fx_l, fy_c).ravel()
        self.fill_z = np.outer(fx_l, fy_l).ravel()
        self.area_x = np.outer(hx, dual_y).ravel()
        self.area_y = np.outer(dual_x, hy).ravel()
        self.n_ex, self.n_ey = nxh * ny, nxi * ny  # sizes of Ex (= Hy) and Ey (= Hx)

    def eps(self, eps_core: float, eps_clad: float):
        d = eps_core - eps_clad
        return eps_clad + d * self.fill_x, eps_clad + d * self.fill_y, eps_clad + d * self.fill_z

    def curl_e(self, e):
        return self.dxf @ e[self.n_ex :] - self.dyf @ e[: self.n_ex]

    def curl_h(self, h):
        return self.dxb @ h[self.n_ey :] - self.dyb @ h[: self.n_ey]

    def apply_q2(self, inv_ez, h):
        c = inv_ez * self.curl_h(h)
        return np.concatenate([self.dxe @ c, self.dye @ c])

    def apply_p2(self, e):
        c = self.curl_e(e)
        return np.concatenate([-(self.dxh @ c), -(self.dyh @ c)])

    def apply_ep(self, ex, ey, e):
        return np.concatenate([-ey * e[self.n_ex :], ex * e[: self.n_ex]])

    def matrices(self, ex, ey, ez, s):
        """P (E_t -> H_t) and Q (H_t -> E_t) with s = 1/k0² (nm²); eigenproblem Q P e = n_eff² e."""
        iz = sp.diags(1.0 / ez)
        ex_, ey_ = sp.diags(ex), sp.diags(ey)
        cxb, cyb = iz @ self.dxb, iz @ self.dyb
        p = sp.bmat(
            [
                [s * (self.dxh @ self.dyf), -ey_ - s * (self.dxh @ self.dxf)],
                [ex_ + s * (self.dyh @ self.dyf), -s * (self.dyh @ self.dxf)],
            ]
        )
        q = sp.bmat(
            [
                [-s * (self.dxe @ cyb), sp.identity(self.n_ex) + s * (self.dxe @ cxb)],
                [-sp.identity(self.n_ey) - s * (self.dye @ cyb), s * (self.dye @ cxb)],
            ]
        )
        return p.tocsr(), q.tocsr()


def _material_eps(wavelength_nm: float):
    """Permittivities of Si and SiO2 and their derivatives in wavelength (1/nm) and temperature (1/K)."""
    step = 0.01
    out = []
    for n_fun, dn_dt in ((materials.n_si, materials.DN_DT_SI_PER_K), (materials.n_sio2, materials.DN_DT_SIO2_PER_K)):
        n = n_fun(wavelength_nm)
        dn_dl = (n_fun(wavelength_nm + step) - n_fun(wavelength_nm - step)) / (2 * step)
        out.append((n * n, 2 * n * dn_dl, 2 * n * dn_dt))
    return out


def _solve_grid(width_nm, thickness_nm, wavelength_nm, refine):
    """(n_eff, dn_eff/dλ in 1/nm, dn_eff/dT in 1/K) on one grid."""
    ops = _Operators(width_nm, thickness_nm, refine)
    (e_si, de_si_dl, de_si_dT), (e_ox, de_ox_dl, de_ox_dT) = _material_eps(wavelength_nm)
    ex, ey, ez = ops.eps(e_si, e_ox)
    s = (wavelength_nm / (2 * np.pi)) ** 2
    p, q = ops.matrices(ex, ey, ez, s)
    a = (q @ p).tocsc()
    v0 = np.ones(a.shape[0])
    vals, vecs = sla.eigs(a, k=1, sigma=e_si, which="LM", v0=v0)
    n2 = vals[0].real
    e = vecs[:, 0].real
    n_eff = np.sqrt(n2)
    pe = p @ e  # = n_eff * H_t
    u = np.concatenate([ops.area_x * pe[ops.n_ey :], -ops.area_y * pe[: ops.n_ey]])  # left eigenvector
    qtu = q.T @ u
    norm = u @ e

    def derivative(de_core, de_clad, ds):
        """dn_eff/dp from dε/dp of core and cladding and ds/dp: (u·dA e)/(u·e)/(2 n_eff)."""
        dex, dey, dez = ops.eps(de_core, de_clad)
        dq_pe = ds * ops.apply_q2(1.0 / ez, pe) + s * ops.apply_q2(-dez / ez**2, pe)
        dp_e = ops.apply_ep(dex, dey, e) + ds * ops.apply_p2(e)
        return (u @ dq_pe + qtu @ dp_e) / norm / (2 * n_eff)

    dn_dl = derivative(de_si_dl, de_ox_dl, 2 * s / wavelength_nm)
    dn_dT = derivative(de_si_dT, de_ox_dT, 0.0)
    return n_eff, dn_dl, dn_dT


def _richardson(width_nm, thickness_nm, wavelength_nm) -> np.ndarray:
    """(n_eff, dn_eff/dλ, dn_eff/dT) extrapolated from two grids (error ∝ h², so X_f + (X_f − X_c)/3)."""
    coarse = np.array(_solve_grid(width_nm, thickness_nm, wavelength_nm, 1))
    fine = np.array(_solve_grid(width_nm, thickness_nm, wavelength_nm, 2))
    return fine + (fine - coarse) / 3.0


def solve_mode(width_nm, thickness_nm=220.0, wavelength_nm=1550.0) -> ModeSolution:
    """Solve the TE0 mode of a strip waveguide (scalar inputs) and return n_eff, n_g, dn_eff/dT."""
    w, t, lam = _check_geometry(width_nm, thickness_nm, wavelength_nm)
    n_eff, dn_dl, dn_dT = _richardson(w, t, lam)
    return ModeSolution(float(n_eff), float(n_eff - lam * dn_dl), float(dn_dT))


def strip_indices(width_nm, thickness_nm=220.0, wavelength_nm=1550.0) -> tuple[float, float]:
    """(n_eff, n_g) of the TE0 mode from the mode solver (scalar inputs, ~0.3 s per call)."""
    mode = solve_mode(width_nm, thickness_nm, wavelength_nm)
    return mode.n_eff, mode.n_g


def solver_sensitivities(width_nm, thickness_nm=220.0, wavelength_nm=1550.0) -> Sensitivities:
    """Resonance sensitivities straight from the solver (central differences in width and thickness).

    The reference for the surrogate ``sensitivities``; scalar inputs, about 1.5 s per call.
    Steps ±2 nm in width and ±1 nm in thickness (possibly just outside the validity box).
    """
    w, t, lam = _check_geometry(width_nm, thickness_nm, wavelength_nm)
    mode = solve_mode(w, t, lam)
    n_at = lambda ww, tt: _richardson(ww, tt, lam)[0]  # noqa: E731
    dn_dw = (n_at(w + _STEP_W_NM, t) - n_at(w - _STEP_W_NM, t)) / (2 * _STEP_W_NM)
    dn_dt = (n_at(w, t + _STEP_T_NM) - n_at(w, t - _STEP_T_NM)) / (2 * _STEP_T_NM)
    scale = lam / mode.n_g
    return Sensitivities(scale * dn_dw, scale * dn_dt, scale * mode.dneff_dT_per_K, mode.n_eff, mode.n_g)


# --------------------------------------------------------------------------- surrogate

# Channels stored in the table, in this order, on the grid (width, thickness, wavelength).
TABLE_CHANNELS = ("n_eff", "n_g", "dneff_dT_per_K")


class _Surrogate:
    """Tensor-product cubic (not-a-knot) B-spline through the solver table."""

    def __init__(self, path):
        with np.load(path) as data:
            axes = [np.asarray(data[k], dtype=np.float64) for k in ("width_nm", "thickness_nm", "wavelength_nm")]
            values = np.asarray(data["values"], dtype=np.float64)
            channels = tuple(str(c) for c in data["channels"])
        if channels != TABLE_CHANNELS or values.shape != tuple(len(a) for a in axes) + (len(channels),):
            raise ValueError(f"waveguide table {path} has channels {channels} and shape {values.shape}; rebuild it with scripts/build_waveguide_table.py")
        for axis, (lo, hi) in zip(axes, (WIDTH_RANGE_NM, THICKNESS_RANGE_NM, WAVELENGTH_RANGE_NM)):
            if axis.size < 4 or axis[0] > lo or axis[-1] < hi:
                raise ValueError(f"waveguide table {path} axis {axis} must have >= 4 nodes covering [{lo}, {hi}]")
        coef, knots = values, []
        for dim, axis in enumerate(axes):
            spline = make_interp_spline(axis, coef, k=3, axis=dim)
            coef = np.moveaxis(spline.c, 0, dim)
            knots.append(np.ascontiguousarray(spline.t))
        self.axes = axes
        self.values = values
        self.knots = tuple(knots)
        self.coef = np.ascontiguousarray(coef)

    def evaluate(self, w, t, lam) -> np.ndarray:
        """Columns n_eff, n_g, dn_eff/dT, dn_eff/dw (1/nm), dn_eff/dt (1/nm) for flat arrays."""
        out = np.empty((w.size, 5))
        _spline_kernel(*self.knots, self.coef, w, t, lam, out)
        return out


_SURROGATE: _Surrogate | None = None
_SURROGATE_LOCK = threading.Lock()


def _surrogate() -> _Surrogate:
    """The shipped table, loaded once on first use."""
    global _SURROGATE
    if _SURROGATE is None:
        with _SURROGATE_LOCK:
            if _SURROGATE is None:
                with resources.as_file(resources.files("photonics") / "data" / _TABLE) as path:
                    _SURROGATE = _Surrogate(path)
    return _SURROGATE


@numba.njit(cache=True)
def _cubic_basis(knots, x, b, db, scratch):
    """First coefficient index of x's span; fills the 4 non-zero cubic basis values b and slopes db.

    Cox–de Boor recursion (Piegl & Tiller, The NURBS Book, algorithms A2.2/A2.3); ``scratch``
    holds 11 floats of workspace.
    """
    n = knots.size - 4  # number of coefficients
    i = min(max(np.searchsorted(knots, x, side="right") - 1, 3), n - 1)
    left, right, quad = scratch[0:4], scratch[4:8], scratch[8:11]
    b[0] = 1.0
    for j in range(1, 4):
        left[j] = x - knots[i + 1 - j]
        right[j] = knots[i + j] - x
        saved = 0.0
        for r in range(j):
            tmp = b[r] / (right[r + 1] + left[j - r])
            b[r] = saved + right[r + 1] * tmp
            saved = left[j - r] * tmp
        b[j] = saved
        if j == 2:
            quad[0], quad[1], quad[2] = b[0], b[1], b[2]
    for r in range(4):
        lo = quad[r - 1] / (knots[i + r] - knots[i - 3 + r]) if r >= 1 else 0.0
        hi = quad[r] / (knots[i + r + 1] - knots[i - 2 + r]) if r <= 2 else 0.0
        db[r] = 3.0 * (lo - hi)
    return i - 3


@numba.njit(cache=True)
def _spline_kernel(kw, kt, kl, coef, w, t, lam, out):
    """out[p] = (channels..., d channel0/dw, d channel0/dt) of the tensor B-spline at point p."""
    basis = np.empty((6, 4))
    scratch = np.empty(11)
    bw, dbw, bt, dbt, bl, dbl = basis[0], basis[1], basis[2], basis[3], basis[4], basis[5]
    n_ch = coef.shape[3]
    acc = np.empty(n_ch)
    line = np.empty(n_ch)
    for p in range(w.size):
        iw = _cubic_basis(kw, w[p], bw, dbw, scratch)
        it = _cubic_basis(kt, t[p], bt, dbt, scratch)
        il = _cubic_basis(kl, lam[p], bl, dbl, scratch)
        acc[:] = 0.0
        d_w = 0.0
        d_t = 0.0
        for a in range(4):
            for b in range(4):
                for ch in range(n_ch):  # contract the wavelength axis first
                    line[ch] = 0.0
                    for c in range(4):
                        line[ch] += bl[c] * coef[iw + a, it + b, il + c, ch]
                wv = bw[a] * bt[b]
                for ch in range(n_ch):
                    acc[ch] += wv * line[ch]
                d_w += dbw[a] * bt[b] * line[0]
                d_t += bw[a] * dbt[b] * line[0]
        for ch in range(n_ch):
            out[p, ch] = acc[ch]
        out[p, n_ch] = d_w
        out[p, n_ch + 1] = d_t


def _fast(width_nm, thickness_nm, wavelength_nm):
    w = check_range("width_nm", width_nm, *WIDTH_RANGE_NM, unit="nm")
    t = check_range("thickness_nm", thickness_nm, *THICKNESS_RANGE_NM, unit="nm")
    lam = check_range("wavelength_nm", wavelength_nm, *WAVELENGTH_RANGE_NM, unit="nm")
    shape = np.broadcast_shapes(np.shape(w), np.shape(t), np.shape(lam))
    flat = [np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64).ravel() for v in (w, t, lam)]
    cols = _surrogate().evaluate(*flat)
    lam_flat = flat[2]
    if shape == ():
        return [float(c[0]) for c in cols.T], float(lam_flat[0])
    return [c.reshape(shape) for c in cols.T], lam_flat.reshape(shape)


def strip_indices_fast(width_nm, thickness_nm=220.0, wavelength_nm=1550.0):
    """(n_eff, n_g) from the solver table; inputs broadcast, floats for scalar input."""
    (n_eff, n_g, _, _, _), _ = _fast(width_nm, thickness_nm, wavelength_nm)
    return n_eff, n_g


def sensitivities(width_nm, thickness_nm=220.0, wavelength_nm=1550.0) -> Sensitivities:
    """Resonance sensitivities dλ/dw, dλ/dt (nm/nm), dλ/dT (nm/K) from the solver table.

    Δλ = λ·Δn_eff/n_g; dn_eff/dw and dn_eff/dt are derivatives of the table's spline,
    dn_eff/dT is tabulated (Si 1.86e-4 /K and SiO2 8.5e-6 /K weighted by the mode).
    Inputs broadcast; fields are floats for scalar input.
    """
    (n_eff, n_g, dn_dT, dn_dw, dn_dt), lam = _fast(width_nm, thickness_nm, wavelength_nm)
    scale = lam / n_g
    return Sensitivities(scale * dn_dw, scale * dn_dt, scale * dn_dT, n_eff, n_g)
