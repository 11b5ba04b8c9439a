"""Locking rings to their channels: electro-optic (EO) fine and thermo-optic (TO) coarse tuning.

Sign convention: ``shift_nm`` = resonance − assigned channel (positive = red). A correction
moves the resonance by −shift. TO heaters only red-shift; EO carrier tuning moves both ways
(``eo_bidirectional``) or, when unidirectional, only blue (carrier injection, Δn < 0 by
Soref–Bennett, docs/references.md §4), within ``eo_range_nm``.

Per ring (vectorised over all banks of all chips):

1. EO alone if it can cancel the shift (or, with ``reassign_order``, the shift to the
   nearest resonance order, shift − k·FSR).
2. Otherwise a TO target τ >= 0 of red shift: −shift for a blue-shifted ring; with
   ``reassign_order`` the smallest τ = (−shift) mod FSR (a red-shifted ring beyond EO range is
   heated by FSR − shift and locks on the next order). Without re-assignment a red-shifted
   ring beyond EO range is unreachable: its heater stays off.
3. Heaters of a bank couple thermally: ring i sees Σ_j C_ij·q_j (nm), q_j = η_j·p_j the shift
   heater j applies to its own ring (η = FSR / power-per-FSR), C from
   :func:`thermal_crosstalk_ratio`. TED-style: C = V Λ Vᵀ is decomposed once per bank
   geometry and q = C⁻¹τ applied to all banks at once. Banks where that needs a negative or
   above-maximum heater are re-solved as the box-constrained complementarity problem
   (0 <= q <= q_max; heaters strictly inside the box hit their target exactly, heaters off
   leave their ring at or above target, heaters at maximum leave it below) — the unique
   minimiser of ½qᵀCq − τᵀq for symmetric positive-definite C — by an active-set iteration
   (projected Gauss–Seidel if it does not settle).
4. EO cancels what remains (crosstalk overshoot of rings whose heater is off) within its
   range. With ``reassign_order``, a ring that neighbours' heat leaves too red for EO moves
   to the next order (a TO target) and its bank is re-solved, until nothing changes.
   Anything left is the ring's ``residual_nm`` and the ring is flagged ``unreachable`` when
   that exceeds ``lock_tolerance_nm``. Nothing is clipped silently.

Common mode (``track_common_mode``): fabrication and ambient temperature move all rings of a
chip together by a wafer- and die-level offset (σ ≈ 4 nm, docs/references.md §3) that dwarfs the
within-die spread (≈0.2 nm). Practical links do not heat every ring by that much: the WDM
laser grid (a tunable comb) or the chip's TEC set-point follows the chip. With the flag set,
the channel grid is offset per chip (``grid_offset_nm``) before the per-ring solve, so rings
are tuned only for the within-chip spread. Rings of different designs (e.g. a wide weight
ring beside a narrow activation ring) shift by different amounts, so the offset is the one
that minimises the chip's uncoupled EO + TO power (evaluated on 128 candidate offsets
spanning the chip's shifts, on at most 4096 rings per chip); residuals are relative to
the offset grid (what the XNOR cells see). The cost of moving the grid (laser/TEC control) is
not modelled here. Off by default so that the per-ring policy above is what ``tune`` does.

Banks are thermally independent: crosstalk between banks (separate VDUs, tens of µm or more
apart, ratio < 1e-4 beyond 40 µm) is neglected.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from photonics.validation import Parameters, as_float_array, check_int, check_positive, check_range, check_scalar, param

__all__ = ["TuningModel", "TuningResult", "thermal_crosstalk_ratio", "crosstalk_matrix", "tune"]

# Induced/applied phase ratio vs ring separation: Lumerical HEAT data published with the TED
# reference code (febinpsunny/ThermaleigenDecomposition), docs/references.md §4; 1 at d = 0 (self).
_XT_DISTANCE_UM = np.array([0.0, 0.7, 5.1, 11.4, 13.9, 22.0, 34.0])
_XT_LOG_RATIO = np.log([1.0, 0.23, 0.043, 0.006, 0.003, 5.5e-4, 1.3e-4])
_XT_TAIL_SLOPE = (_XT_LOG_RATIO[-1] - _XT_LOG_RATIO[-2]) / (_XT_DISTANCE_UM[-1] - _XT_DISTANCE_UM[-2])

_PGS_MAX_SWEEPS = 20000
_SOLVE_TOL_NM = 1e-10
_CHUNK_RINGS = 1 << 15


@dataclass(frozen=True)
class TuningModel(Parameters):
    """Tuning actuators and policy (defaults: docs/references.md §4).

    EO: ``eo_efficiency_w_per_nm`` 4 µW/nm, ``eo_lock_time_s`` 20 ns, ``eo_range_nm`` 1 nm
    (≲1 nm before carrier loss grows) — CrossLight (DAC 2021) Table II. TO:
    ``to_power_per_fsr_w`` 27.5 mW per FSR, ``to_lock_time_s`` 4 µs — CrossLight Table II;
    ``to_efficiency_nm_per_mw`` (e.g. 2.06 for the doped-Si heater of Opt. Express 21, 15706,
    2013) overrides the per-FSR figure when set. ``to_max_power_w`` 30 mW per heater is an
    assumption: one FSR (27.5 mW) plus margin. ``lock_tolerance_nm``: residual above which a
    ring counts as unreachable. An accelerator takes these from its preset's ``[tuning]``
    table; the defaults serve standalone device studies.
    """

    eo_efficiency_w_per_nm: float = param("(0, inf)", unit="W/nm", default=4e-6, doc="EO tuning power per nm of shift")
    eo_range_nm: float = param("[0, inf)", unit="nm", default=1.0, doc="largest shift EO tuning can cancel")
    eo_lock_time_s: float = param("(0, inf)", unit="s", default=20e-9, doc="EO lock (settle) time")
    eo_bidirectional: bool = param(default=True, doc="EO tunes both ways (else blue only, carrier injection)")
    to_power_per_fsr_w: float = param("(0, inf)", unit="W", default=27.5e-3, doc="heater power for one FSR of red shift")
    to_efficiency_nm_per_mw: float | None = param("(0, inf)", unit="nm/mW", default=None,
                                                  doc="heater efficiency (None: from to_power_per_fsr_w)")
    to_max_power_w: float = param("(0, inf)", unit="W", default=30e-3, doc="largest power of one heater")
    to_lock_time_s: float = param("(0, inf)", unit="s", default=4e-6, doc="heater lock (settle) time")
    reassign_order: bool = param(default=True, doc="lock a ring on the nearest reachable resonance order")
    thermal_crosstalk: bool = param(default=True, doc="heaters of a bank couple thermally")
    lock_tolerance_nm: float = param("(0, inf)", unit="nm", default=1e-6, doc="residual above which a ring is unreachable")
    track_common_mode: bool = param(default=False, doc="the channel grid follows each chip's common-mode shift")

    def to_efficiency_nm_per_w(self, fsr_nm):
        """Heater efficiency η (nm of red shift per W on its own ring)."""
        if self.to_efficiency_nm_per_mw is not None:
            return np.broadcast_to(self.to_efficiency_nm_per_mw * 1e3, np.shape(fsr_nm))
        return np.asarray(fsr_nm) / self.to_power_per_fsr_w


@dataclass(frozen=True)
class TuningResult:
    """Per ring (shape of ``shift_nm``): ``residual_nm`` (remaining resonance − channel),
    ``eo_power_w``, ``to_power_w``, ``unreachable``, ``order_shift`` (k: locked on the
    resonance at shift − k·FSR), ``thermal_shift_nm`` (red shift from all heaters).
    Per chip (leading shape): ``total_power_w``, ``lock_time_s`` (slowest mechanism used).
    ``fallback_banks``: banks that needed the constrained re-solve. ``grid_offset_nm`` (per
    chip): channel-grid offset applied with ``track_common_mode`` (0 otherwise).
    """

    residual_nm: np.ndarray
    eo_power_w: np.ndarray
    to_power_w: np.ndarray
    unreachable: np.ndarray
    order_shift: np.ndarray
    thermal_shift_nm: np.ndarray
    total_power_w: np.ndarray | float
    lock_time_s: np.ndarray | float
    fallback_banks: int
    grid_offset_nm: np.ndarray | float = 0.0


def thermal_crosstalk_ratio(distance_um):
    """Induced/applied thermal phase ratio at ring separation ``distance_um`` (>= 0).

    Log-linear interpolation of the TED/Lumerical HEAT points of docs/references.md §4 (0.23 at
    0.7 µm ... 1.3e-4 at 34 µm), anchored at 1 for d = 0; beyond 34 µm the last segment's
    exponential decay continues. Monotone decreasing.
    """
    d = check_range("distance_um", distance_um, 0.0, unit="um")
    d = np.asarray(d)
    log_r = np.interp(d, _XT_DISTANCE_UM, _XT_LOG_RATIO)
    tail = d > _XT_DISTANCE_UM[-1]
    log_r = np.where(tail, _XT_LOG_RATIO[-1] + _XT_TAIL_SLOPE * (d - _XT_DISTANCE_UM[-1]), log_r)
    out = np.exp(log_r)
    return float(out) if out.ndim == 0 else out


def crosstalk_matrix(positions_um):
    """C_ij = thermal_crosstalk_ratio(|r_i − r_j|) for heater positions (n,) or (n, 2) µm; C_ii = 1."""
    pos = as_float_array("positions_um", positions_um)
    if pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] not in (1, 2) or pos.shape[0] == 0:
        raise ValueError(f"positions_um must have shape (n,) or (n, 2) in micrometres with n >= 1, got shape {np.shape(positions_um)}")
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    return thermal_crosstalk_ratio(dist)


@functools.lru_cache(maxsize=32)
def _bank_matrices(bank_size: int, pitch_um: float, crosstalk: bool):
    """(C, C⁻¹) of a bank of ``bank_size`` heaters at ``pitch_um`` along a line (TED eigenbasis)."""
    if not crosstalk:
        eye = np.eye(bank_size)
        return eye, eye
    c = crosstalk_matrix(np.arange(bank_size) * pitch_um)
    lam, vec = np.linalg.eigh(c)
    if lam[0] <= 1e-6 * lam[-1]:
        raise ValueError(
            f"pitch_um={pitch_um} with bank_size={bank_size} gives a thermal crosstalk matrix that is not positive "
            f"definite (smallest eigenvalue {lam[0]:.3g}); allowed: a larger pitch_um (heaters cannot be set independently)"
        )
    return c, (vec / lam) @ vec.T


@numba.njit(cache=True)
def _cholesky_solve(a, rhs, n):
    """Solve a[:n, :n] x = rhs[:n] (symmetric positive definite) in place into rhs."""
    for j in range(n):
        d = a[j, j]
        for k in range(j):
            d -= a[j, k] * a[j, k]
        d = math.sqrt(d)
        a[j, j] = d
        for i in range(j + 1, n):
            v = a[i, j]
            for k in range(j):
                v -= a[i, k] * a[j, k]
            a[i, j] = v / d
    for i in range(n):
        v = rhs[i]
        for k in range(i):
            v -= a[i, k] * rhs[k]
        rhs[i] = v / a[i, i]
    for i in range(n - 1, -1, -1):
        v = rhs[i]
        for k in range(i + 1, n):
            v -= a[k, i] * rhs[k]
        rhs[i] = v / a[i, i]


@numba.njit(cache=True)
def _solve_banks(c, c_inv, tau, q_max, off, tol, max_iter, max_sweeps, q_out, thermal_out):
    """Heater shifts q (nm) per bank: 0 <= q <= q_max, C q = τ where q is inside the box.

    ``off``: heaters forced off. All-on banks use the precomputed inverse (TED); the others,
    and banks that leave the box, run an active set (principal-submatrix Cholesky solves),
    then projected Gauss–Seidel if the active set does not settle. Writes q and the thermal
    shift C q of every ring; returns the number of banks whose first solve left the box.
    """
    n_banks, b = tau.shape
    mode = np.empty(b, np.int8)  # 0 on target, 1 off, 2 at maximum
    idx = np.empty(b, np.int64)
    mat = np.empty((b, b))
    rhs = np.empty(b)
    q = np.empty(b)
    n_hard = 0
    for k in range(n_banks):
        all_on = True
        for i in range(b):
            if off[k, i]:
                all_on = False
        if all_on:
            inside = True
            for i in range(b):
                acc = 0.0
                for j in range(b):
                    acc += c_inv[i, j] * tau[k, j]
                q[i] = acc
                if acc < -tol or acc > q_max[k, i] + tol:
                    inside = False
            if inside:
                _store(c, q, q_max[k], q_out[k], thermal_out[k])
                continue
        for i in range(b):
            mode[i] = 1 if off[k, i] else 0
            q[i] = 0.0
        hard = all_on  # an all-on bank gets here only when the TED solve left the box
        settled = False
        for it in range(max_iter):
            n = 0
            for i in range(b):
                if mode[i] == 0:
                    idx[n] = i
                    n += 1
                q[i] = q_max[k, i] if mode[i] == 2 else 0.0
            for r in range(n):
                v = tau[k, idx[r]]
                for j in range(b):
                    if mode[j] == 2:
                        v -= c[idx[r], j] * q_max[k, j]
                rhs[r] = v
                for s in range(n):
                    mat[r, s] = c[idx[r], idx[s]]
            _cholesky_solve(mat, rhs, n)
            primal = False
            for r in range(n):
                i = idx[r]
                q[i] = rhs[r]
                if rhs[r] < -tol:
                    mode[i] = 1
                    primal = True
                elif rhs[r] > q_max[k, i] + tol:
                    mode[i] = 2
                    primal = True
            if primal:
                hard = True
                continue
            changed = False
            for i in range(b):
                if mode[i] == 0 or off[k, i]:
                    continue
                w = -tau[k, i]
                for j in range(b):
                    w += c[i, j] * q[j]
                if (mode[i] == 1 and w < -tol) or (mode[i] == 2 and w > tol):
                    mode[i] = 0
                    changed = True
            if not changed:
                settled = True
                break
            hard = True
        if not settled:
            for sweep in range(max_sweeps):
                delta = 0.0
                for i in range(b):
                    if off[k, i]:
                        q[i] = 0.0
                        continue
                    v = tau[k, i]
                    for j in range(b):
                        if j != i:
                            v -= c[i, j] * q[j]
                    v = min(max(v / c[i, i], 0.0), q_max[k, i])
                    delta = max(delta, abs(v - q[i]))
                    q[i] = v
                if delta < 1e-3 * tol:
                    break
        if hard:
            n_hard += 1
        _store(c, q, q_max[k], q_out[k], thermal_out[k])
    return n_hard


@numba.njit(cache=True)
def _store(c, q, q_max, q_out, thermal_out):
    """Clip q into [0, q_max] and write it and the thermal shift C q of every ring."""
    b = q.shape[0]
    for i in range(b):
        q_out[i] = min(max(q[i], 0.0), q_max[i])
    for i in range(b):
        acc = 0.0
        for j in range(b):
            acc += c[i, j] * q_out[j]
        thermal_out[i] = acc


def _tune_banks(s, fsr, model: TuningModel, c, c_inv, out) -> int:
    """Tune banks ``s``, ``fsr`` of shape (n_banks, B); fill ``out`` (dict of same-shape arrays).

    Returns the number of banks whose first heater solve left the box.
    """
    r_eo = model.eo_range_nm
    eo_hi = r_eo if model.eo_bidirectional else 0.0

    def eo_covers(x):
        return (np.abs(x) <= r_eo) if model.eo_bidirectional else ((x >= 0) & (x <= r_eo))

    # 1-2. order assignment and TO targets
    eo_only = eo_covers(s)
    if model.reassign_order:
        k_near = np.round(s / fsr)
        near = ~eo_only & eo_covers(s - k_near * fsr)
        k = np.where(near, k_near, np.where(eo_only, 0.0, np.ceil(s / fsr)))
        eo_only |= near
        off = eo_only
    else:
        k = np.zeros_like(s)
        off = eo_only | (s > 0)  # red beyond EO range: no heating can reach it
    s_locked = s - k * fsr
    tau = np.where(off, 0.0, -s_locked)
    eta = model.to_efficiency_nm_per_w(fsr)
    q_max = eta * model.to_max_power_w
    q = np.empty_like(s)
    # 3-4. heaters (TED solve), then EO for what is left; with reassign_order a ring left too
    # red for EO by its neighbours' heat moves to the next order and its bank is re-solved.
    banks = np.arange(s.shape[0])
    n_hard = 0
    for round_ in range(s.shape[1] + 2):
        q_sub, thermal = np.empty((2, banks.size, s.shape[1]))
        n_hard += _solve_banks(c, c_inv, tau[banks], q_max[banks], off[banks], _SOLVE_TOL_NM, 4 * s.shape[1] + 10, _PGS_MAX_SWEEPS, q_sub, thermal)
        q[banks] = q_sub
        left = s_locked[banks] + thermal
        eo_shift = np.clip(-left, -r_eo, eo_hi)
        residual = left + eo_shift
        out["thermal_shift_nm"][banks] = thermal
        out["eo_shift"][banks] = eo_shift
        out["residual_nm"][banks] = residual
        too_red = residual > model.lock_tolerance_nm
        if not model.reassign_order or not too_red.any() or round_ == s.shape[1] + 1:
            break
        rows = too_red.any(axis=1)
        banks, too_red = banks[rows], too_red[rows]
        k[banks] += too_red
        s_locked[banks] = s[banks] - k[banks] * fsr[banks]
        off[banks] &= ~too_red
        tau[banks] = np.where(off[banks], 0.0, -s_locked[banks])
    out["to_power_w"][:] = q / eta
    out["order_shift"][:] = k
    return n_hard


def _best_grid_offset(s, fsr, model: TuningModel, n_candidates: int = 128, max_rings: int = 4096):
    """Per chip (leading axes of ``s``), the grid offset minimising the uncoupled tuning power."""
    step = max(1, s.shape[-1] // max_rings) | 1  # odd stride: never aliases with interleaved ring roles
    sub, fsr_sub = s[..., ::step], fsr[..., ::step]
    lo, hi = sub.min(axis=-1, keepdims=True), sub.max(axis=-1, keepdims=True)
    cand = lo + (hi - lo) * np.linspace(0.0, 1.0, n_candidates)  # (..., n_candidates)
    x = sub[..., None, :] - cand[..., :, None]  # ring shift relative to each candidate grid
    f = fsr_sub[..., None, :]
    # Heater crosstalk only adds red shift, so leave half the EO range on the red side as
    # headroom: a ring placed at the red edge of EO range would be pushed past it by its
    # neighbours' heaters and jump to the next order (a full FSR of heating).
    r = model.eo_range_nm
    eo_ok = ((x >= -r) & (x <= 0.5 * r)) if model.eo_bidirectional else ((x >= 0) & (x <= 0.5 * r))
    heat_nm = np.where(x < 0, -x, f - x)  # blue: heat back; red beyond EO: next order
    if not model.reassign_order:
        heat_nm = np.where(x < 0, -x, np.inf)
    cost_w = np.where(eo_ok, np.abs(x) * model.eo_efficiency_w_per_nm, heat_nm / model.to_efficiency_nm_per_w(f))
    best = np.argmin(cost_w.sum(axis=-1), axis=-1)
    return np.take_along_axis(cand, best[..., None], axis=-1)


def tune(shift_nm, *, fsr_nm, bank_size: int, pitch_um: float, model: TuningModel | None = None) -> TuningResult:
    """Lock every ring to its channel; see the module docstring for the policy.

    ``shift_nm``: resonance − assigned channel (nm, positive = red), shape (..., n_rings),
    consecutive groups of ``bank_size`` rings forming a bank of heaters ``pitch_um`` apart
    along a line. ``fsr_nm``: scalar or broadcastable to ``shift_nm`` (per-ring FSR).
    Work proceeds in cache-sized chunks of banks.
    """
    model = TuningModel() if model is None else model
    if not isinstance(model, TuningModel):
        raise TypeError(f"model must be a TuningModel or None, got {type(model).__name__}")
    s = as_float_array("shift_nm", shift_nm)
    if s.ndim == 0 or s.shape[-1] == 0:
        raise ValueError(f"shift_nm must have shape (..., n_rings) with n_rings >= 1, got shape {s.shape}")
    bank_size = check_int("bank_size", bank_size, lo=1)
    if s.shape[-1] % bank_size:
        raise ValueError(f"bank_size={bank_size} must divide n_rings={s.shape[-1]}; allowed: a divisor of the last axis of shift_nm")
    pitch_um = check_scalar("pitch_um", pitch_um, "(0, inf)", unit="um")
    fsr = check_positive("fsr_nm", fsr_nm, unit="nm")
    try:
        fsr = np.broadcast_to(fsr, s.shape)
    except ValueError as exc:
        raise ValueError(f"fsr_nm of shape {np.shape(fsr_nm)} must broadcast to shift_nm of shape {s.shape}") from exc
    c, c_inv = _bank_matrices(bank_size, pitch_um, model.thermal_crosstalk)
    if model.track_common_mode:
        offset = _best_grid_offset(s, fsr, model)
        s = s - offset
    else:
        offset = np.zeros(s.shape[:-1] + (1,))

    s_b = s.reshape(-1, bank_size)
    fsr_b = fsr.reshape(-1, bank_size)
    out = {name: np.empty(s_b.shape) for name in ("residual_nm", "thermal_shift_nm", "eo_shift", "to_power_w")}
    out["order_shift"] = np.empty(s_b.shape, dtype=np.int32)
    step = max(1, _CHUNK_RINGS // bank_size)
    n_hard = 0
    for lo in range(0, s_b.shape[0], step):
        part = slice(lo, lo + step)
        n_hard += _tune_banks(s_b[part], np.array(fsr_b[part]), model, c, c_inv, {k: v[part] for k, v in out.items()})
    residual = out["residual_nm"].reshape(s.shape)
    eo_power = out["eo_shift"].reshape(s.shape)
    np.abs(eo_power, out=eo_power)
    eo_power *= model.eo_efficiency_w_per_nm
    to_power = out["to_power_w"].reshape(s.shape)
    total = eo_power.sum(axis=-1) + to_power.sum(axis=-1)
    lock = np.maximum(np.where((to_power > 0).any(axis=-1), model.to_lock_time_s, 0.0),
                      np.where((eo_power > 0).any(axis=-1), model.eo_lock_time_s, 0.0))
    if s.ndim == 1:
        total, lock = float(total), float(lock)
    return TuningResult(
        residual_nm=residual,
        eo_power_w=eo_power,
        to_power_w=to_power,
        unreachable=np.abs(residual) > model.lock_tolerance_nm,
        order_shift=out["order_shift"].reshape(s.shape),
        thermal_shift_nm=out["thermal_shift_nm"].reshape(s.shape),
        total_power_w=total,
        lock_time_s=lock,
        fallback_banks=n_hard,
        grid_offset_nm=float(offset[0]) if s.ndim == 1 else offset[..., 0],
    )
