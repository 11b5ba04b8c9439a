"""ROBIN-style two-ring XNOR cell: output levels of a WDM bank and their alpha, beta, gamma, delta.

Model (docs/CONTRACTS.md, photonics.xnor). A bank of N cells sits between buses A and B; along
the bus the rings come in the order act 0, weight 0, act 1, weight 1, ... Each ring is an
incoherent 2x2 power coupler between the buses at each wavelength::

    [A', B'] = [[T_A, D], [D, T_B]] [A, B]

with D its drop power, T_A its through power from bus A (input coupler ``kappa2_in``) and T_B
the through power from bus B (drop coupler ``kappa2_drop``); for a symmetric ring
T_A = T_B = T, the contract's ``[[T, D], [D, T]]``. A ring of cell j is "on" (bit 1, swapping)
when its resonance sits at channel j plus its residual detuning, "off" (bit 0) when moved a
further ``modulation_nm`` (activation ring) or ``park_nm`` (weight ring). Light of channel j
enters bus A with power P_in; the level is ``c(a, w) = (P_A - P_B) / P_in`` at the bank output.
Ideal rings give c = a*w in ±1 form (XNOR). With ``neighbours=True`` every other cell's rings
act on channel j at the mean of their two state matrices (first order in the neighbour bits).
Non-ideal levels are written ``c = alpha + beta*a + gamma*w + delta*a*w`` with a, w in {-1, +1}.

Per-state losses: ``act_extra_loss_db_per_cm`` / ``weight_extra_loss_db_per_cm`` add loss to a
ring's round trip in each bit state (an EO modulator's free carriers, ``photonics.eo``), so a
ring's on and off states can differ in Q, extinction and peak drop as well as in resonance.

Per-ring couplings: ``act_kappa2_in``, ``act_kappa2_drop``, ``weight_kappa2_in`` and
``weight_kappa2_drop`` (each None = the ring design's value, or an array broadcast to (..., N)
like the residuals) give every ring its own input/drop κ², e.g. from coupling-gap variation
(``photonics.coupler``). Constant arrays equal to the design's κ² give exactly the result of
the design (the same ``sqrt(1 - kappa2)`` enters the same arithmetic).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from photonics.validation import as_float_array, check_range
from photonics.mrr import RingDesign, _airy, _sin2_half, dual_kernel
from photonics.wdm import check_channels_nm

__all__ = ["bank_levels", "bank_output_powers", "coefficients"]


@dual_kernel(fastmath={"contract"})
def _bank_kernel(channels, det, k, c, r1, r2, a, neighbours, p_a, p_b):
    """det[b, role, bit, cell]: rigid detuning of each ring (role 0 = activation, 1 = weight);
    r1, r2 [b or 0, role, cell]: field self-coupling of each ring's input / drop coupler;
    a [b or 0, role, bit, cell]: single-pass field amplitude of each ring in each state."""
    n_bank, n = det.shape[0], det.shape[3]
    stride = 1 if r1.shape[0] > 1 else 0  # r1, r2 per bank or shared
    stride_a = 1 if a.shape[0] > 1 else 0
    for b in nb.prange(n_bank):
        r1_b = r1[b * stride]
        r2_b = r2[b * stride]
        a_b = a[b * stride_a]
        ta = np.empty((2, 2, n))
        tb = np.empty((2, 2, n))
        dr = np.empty((2, 2, n))
        for j in range(n):
            lam = channels[j]
            lo, hi = (0, n) if neighbours else (j, j + 1)
            for role in range(2):
                k_r, c_r = k[role], c[role]
                r1_r, r2_r = r1_b[role], r2_b[role]
                for bit in range(2):
                    det_row, ta_row, tb_row, dr_row = det[b, role, bit], ta[role, bit], tb[role, bit], dr[role, bit]
                    a_row = a_b[role, bit]
                    for cell in range(lo, hi):
                        t1, t2, d = _airy(_sin2_half(k_r / (lam - det_row[cell]) - c_r), r1_r[cell], r2_r[cell], a_row[cell])
                        ta_row[cell] = t1
                        tb_row[cell] = t2
                        dr_row[cell] = d
            va, vb = 1.0, 0.0  # channel j after the rings before cell j
            s00, s01, s10, s11 = 1.0, 0.0, 0.0, 1.0  # product of the rings after cell j
            for cell in range(lo, hi):
                if cell == j:
                    continue
                for role in range(2):  # other cells at the mean of their two states
                    t1 = 0.5 * (ta[role, 0, cell] + ta[role, 1, cell])
                    t2 = 0.5 * (tb[role, 0, cell] + tb[role, 1, cell])
                    d = 0.5 * (dr[role, 0, cell] + dr[role, 1, cell])
                    if cell < j:
                        va, vb = t1 * va + d * vb, d * va + t2 * vb
                    else:
                        s00, s01, s10, s11 = (
                            t1 * s00 + d * s10, t1 * s01 + d * s11,
                            d * s00 + t2 * s10, d * s01 + t2 * s11,
                        )
            for bit_a in range(2):
                t1, t2, d = ta[0, bit_a, j], tb[0, bit_a, j], dr[0, bit_a, j]
                ua, ub = t1 * va + d * vb, d * va + t2 * vb
                for bit_w in range(2):
                    t1, t2, d = ta[1, bit_w, j], tb[1, bit_w, j], dr[1, bit_w, j]
                    wa, wb = t1 * ua + d * ub, d * ua + t2 * ub
                    p_a[b, j, bit_a, bit_w] = s00 * wa + s01 * wb
                    p_b[b, j, bit_a, bit_w] = s10 * wa + s11 * wb


def _check_adddrop(name, ring) -> RingDesign:
    if not isinstance(ring, RingDesign):
        raise TypeError(f"{name} must be a photonics.mrr.RingDesign, got {type(ring).__name__}")
    if not ring.is_adddrop:
        raise ValueError(f"{name} must be an add-drop ring (kappa2_drop set), got kappa2_drop=None")
    return ring


def _check_shift(name, value) -> float:
    v = as_float_array(name, value)
    if v.ndim != 0 or v == 0.0:
        raise ValueError(f"{name}={value!r} must be a non-zero scalar shift in nm; allowed: != 0")
    return float(v)


_COUPLINGS = ("act_kappa2_in", "act_kappa2_drop", "weight_kappa2_in", "weight_kappa2_drop")


def _check_couplings(values: dict) -> dict:
    out = {}
    for name, value in values.items():
        if value is not None:
            out[name] = np.asarray(check_range(name, value, 0.0, 1.0, lo_inclusive=False, hi_inclusive=False),
                                   dtype=np.float64)
    return out


def _self_coupling(ring, couplings, role, shape, n):
    """(r1, r2) of one role's rings as arrays broadcast to ``shape`` (or (n,) when all are the design's)."""
    prefix = ("act", "weight")[role]
    out = []
    for port, design in (("in", ring.r1), ("drop", ring.r2)):
        k2 = couplings.get(f"{prefix}_kappa2_{port}")
        if k2 is None:
            out.append(np.full(n, design))
        else:
            out.append(np.broadcast_to(np.sqrt(1.0 - k2), shape))
    return out


def _amplitude(ring, extra, shape):
    """Single-pass field amplitude of one role's rings, shape ``shape + (2,)`` moved to (..., bit, cell):
    the ring's loss plus ``extra`` (dB/cm, (..., N, 2) [cell, bit]; None = 0), as ``RingDesign.a``."""
    if extra is None:
        return np.broadcast_to(ring.a, shape[:-1] + (2, shape[-1]))
    total = ring.loss_db_per_cm + np.broadcast_to(extra, shape + (2,))
    return np.moveaxis(10.0 ** (-total * ring.circumference_um * 1e-4 / 20.0), -1, -2)


def _check_losses(values: dict, rings: dict, n: int) -> dict:
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        v = as_float_array(name, value)
        floor = -rings[name].loss_db_per_cm
        if np.any(v < floor):
            raise ValueError(f"{name}={value!r} is out of range; allowed: >= {floor!r} dB/cm (the ring's own loss removed)")
        if v.ndim == 0 or v.shape[-1] != 2:
            raise ValueError(f"{name} must broadcast to (..., N, 2) indexed [cell, bit01] with N = {n}, got shape {v.shape}")
        out[name] = v
    return out


def bank_output_powers(act_ring, weight_ring, *, channels_nm, act_residual_nm, weight_residual_nm,
                       modulation_nm, park_nm, neighbours=True, act_kappa2_in=None, act_kappa2_drop=None,
                       weight_kappa2_in=None, weight_kappa2_drop=None, act_extra_loss_db_per_cm=None,
                       weight_extra_loss_db_per_cm=None):
    """(P_A, P_B) of each cell's channel at the bank output per unit input, each (..., N, 2, 2) [a01, w01].

    Arguments as :func:`bank_levels`.
    """
    act_ring = _check_adddrop("act_ring", act_ring)
    weight_ring = _check_adddrop("weight_ring", weight_ring)
    ch = check_channels_nm(channels_nm)
    n = ch.size
    act_res = as_float_array("act_residual_nm", act_residual_nm)
    weight_res = as_float_array("weight_residual_nm", weight_residual_nm)
    couplings = _check_couplings(dict(zip(_COUPLINGS, (act_kappa2_in, act_kappa2_drop, weight_kappa2_in,
                                                        weight_kappa2_drop))))
    losses = _check_losses({"act_extra_loss_db_per_cm": act_extra_loss_db_per_cm,
                            "weight_extra_loss_db_per_cm": weight_extra_loss_db_per_cm},
                           {"act_extra_loss_db_per_cm": act_ring, "weight_extra_loss_db_per_cm": weight_ring}, n)
    try:
        shape = np.broadcast_shapes(act_res.shape, weight_res.shape, (n,), *(v.shape for v in couplings.values()),
                                    *(v.shape[:-1] for v in losses.values()))
    except ValueError:
        raise ValueError(
            f"act_residual_nm shape {act_res.shape}, weight_residual_nm shape {weight_res.shape}, the "
            f"per-ring couplings {({k: v.shape for k, v in couplings.items()})} and extra losses "
            f"{({k: v.shape for k, v in losses.items()})} must broadcast to (..., N) ((..., N, 2) for the losses) "
            f"with N = len(channels_nm) = {n}"
        ) from None
    modulation = _check_shift("modulation_nm", modulation_nm)
    park = _check_shift("park_nm", park_nm)
    if not isinstance(neighbours, (bool, np.bool_)):
        raise TypeError(f"neighbours must be a bool, got {type(neighbours).__name__} {neighbours!r}")

    det = np.empty(shape + (2, 2))
    for role, (ring, residual, shift) in enumerate(
        ((act_ring, act_res, modulation), (weight_ring, weight_res, park))
    ):
        on = ch + np.broadcast_to(residual, shape)
        if np.any(on <= 0.0):
            raise ValueError(f"{('act', 'weight')[role]}_residual_nm moves a resonance to or below 0 nm")
        det[..., role, 1] = on - ring.nearest_resonance_nm(on)
        det[..., role, 0] = det[..., role, 1] + shift
    if ch.min() <= det.max():
        raise ValueError("modulation_nm/park_nm move a resonance to or below 0 nm")

    flat = np.ascontiguousarray(det.reshape((-1, n, 2, 2)).transpose(0, 2, 3, 1))
    k, c = np.array([act_ring._phase_coeffs, weight_ring._phase_coeffs]).T
    (r1_a, r2_a), (r1_w, r2_w) = (_self_coupling(ring, couplings, role, shape, n)
                                  for role, ring in enumerate((act_ring, weight_ring)))
    if couplings:  # per bank: [b, role, cell]
        r1 = np.ascontiguousarray(np.stack((np.broadcast_to(r1_a, shape), np.broadcast_to(r1_w, shape)), -2)
                                  .reshape(-1, 2, n))
        r2 = np.ascontiguousarray(np.stack((np.broadcast_to(r2_a, shape), np.broadcast_to(r2_w, shape)), -2)
                                  .reshape(-1, 2, n))
    else:  # one set for every bank: [0, role, cell]
        r1 = np.stack((r1_a, r1_w))[None]
        r2 = np.stack((r2_a, r2_w))[None]
    if losses:  # per bank: [b, role, bit, cell]
        a = np.ascontiguousarray(np.stack([_amplitude(ring, losses.get(f"{prefix}_extra_loss_db_per_cm"), shape)
                                           for ring, prefix in ((act_ring, "act"), (weight_ring, "weight"))], -3)
                                 .reshape(-1, 2, 2, n))
    else:  # one set for every bank: [0, role, bit, cell]
        a = np.broadcast_to(np.array([act_ring.a, weight_ring.a])[:, None, None], (2, 2, n))[None].copy()
    p_a = np.empty((flat.shape[0], n, 2, 2))
    p_b = np.empty((flat.shape[0], n, 2, 2))
    work = flat.shape[0] * n * (n if neighbours else 1) * 4
    _bank_kernel(work, ch, flat, k, c, r1, r2, a, bool(neighbours), p_a, p_b)
    return p_a.reshape(det.shape), p_b.reshape(det.shape)


def bank_levels(act_ring, weight_ring, *, channels_nm, act_residual_nm, weight_residual_nm,
                modulation_nm, park_nm, neighbours=True, act_kappa2_in=None, act_kappa2_drop=None,
                weight_kappa2_in=None, weight_kappa2_drop=None, act_extra_loss_db_per_cm=None,
                weight_extra_loss_db_per_cm=None):
    """Levels ``c = (P_A - P_B) / P_in`` of every cell, shape (..., N, 2, 2) indexed [a01, w01].

    ``channels_nm`` (N,); ``act_residual_nm`` and ``weight_residual_nm`` broadcast to (..., N)
    (any leading batch of banks); ``modulation_nm`` / ``park_nm`` the resonance shift of an
    activation / weight ring in bit 0 (sign = direction, positive = red). ``act_kappa2_in``,
    ``act_kappa2_drop``, ``weight_kappa2_in``, ``weight_kappa2_drop``: per-ring power couplings
    broadcast to (..., N), None = the ring design's (module docstring).
    ``act_extra_loss_db_per_cm`` / ``weight_extra_loss_db_per_cm``: loss (dB/cm) added to each
    ring's round-trip loss in each state, broadcast to (..., N, 2) indexed [cell, bit01] (e.g.
    ``(2,)`` for one pair of state losses, ``photonics.eo.ModulatorFigures.extra_loss_db_per_cm``;
    None = 0, the design's loss).
    """
    p_a, p_b = bank_output_powers(
        act_ring, weight_ring, channels_nm=channels_nm, act_residual_nm=act_residual_nm,
        weight_residual_nm=weight_residual_nm, modulation_nm=modulation_nm, park_nm=park_nm,
        neighbours=neighbours, act_kappa2_in=act_kappa2_in, act_kappa2_drop=act_kappa2_drop,
        weight_kappa2_in=weight_kappa2_in, weight_kappa2_drop=weight_kappa2_drop,
        act_extra_loss_db_per_cm=act_extra_loss_db_per_cm, weight_extra_loss_db_per_cm=weight_extra_loss_db_per_cm,
    )
    return p_a - p_b


def coefficients(levels) -> np.ndarray:
    """(alpha, beta, gamma, delta) per cell, shape (..., N, 4), from levels (..., N, 2, 2) [a01, w01].

    Exact inverse of ``c(a, w) = alpha + beta*a + gamma*w + delta*a*w`` on a, w in {-1, +1}.
    """
    lv = as_float_array("levels", levels)
    if lv.ndim < 2 or lv.shape[-2:] != (2, 2):
        raise ValueError(f"levels must have shape (..., 2, 2) indexed [a01, w01], got shape {lv.shape}")
    l00, l01, l10, l11 = lv[..., 0, 0], lv[..., 0, 1], lv[..., 1, 0], lv[..., 1, 1]
    return 0.25 * np.stack(
        (l00 + l01 + l10 + l11, l10 + l11 - l00 - l01, l01 + l11 - l00 - l10, l00 + l11 - l01 - l10),
        axis=-1,
    )
