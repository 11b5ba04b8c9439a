"""Locking rings to their channels: electro-optic (EO) fine and thermo-optic (TO) coarse tuning.

Sign convention: ``shift_nm`` = resonance − assigned channel (positive = red). A correction
moves the resonance by −shift. TO heaters only red-shift; the EO actuator has an asymmetric
window: up to ``eo_blue_range_nm`` of blue shift at ``eo_blue_w_per_nm`` and up to
``eo_red_range_nm`` of red shift at ``eo_red_w_per_nm``, plus ``eo_hold_power_w`` drawn by every
ring (a held pre-bias). Its mechanism (carrier injection: blue only; depletion: about a
pre-bias; Pockels) lives in :mod:`photonics.eo`, whose ``actuator`` figures set these fields
(:meth:`TuningModel.with_actuator`); EO power is the correction at its direction's cost (a
chord through the mechanism's power-vs-shift curve at its range end) plus the hold power.

Minimum-power locking, per ring (vectorised over all banks of all chips). A ring locked on
the resonance order k needs a correction d = k·FSR − shift (red if d > 0). EO gives any
correction in [−r_blue, +r_red] (r_blue = ``eo_blue_range_nm``, r_red = ``eo_red_range_nm``) at
its direction's cost per nm; the heater gives red shift only, at 1/η W per nm
(η = FSR / ``to_power_per_fsr_w``), up to ``to_max_power_w``. Costs are linear, so:

1. Split: a blue correction is EO's alone (reachable only if d >= −r_blue). A red one is
   EO's alone up to r_red when EO red costs less per nm than the heater (else the heater's), and
   beyond that EO takes its full r_red and the heater the remainder τ = d − r_red. (The old
   policy heated the whole d once it exceeded EO range.)
2. Order (``reassign_order``): of the bluest reachable order k0 (d in [−r_blue,
   FSR − r_blue)) and k0 + 1, the one of least power that the heater limit allows
   (k = 0 without re-assignment; a ring needing more red than one heater gives is heated at its
   maximum and left with its residual).
3. Heaters of a bank couple thermally: ring i sees Σ_j C_ij·q_j (nm), q_j = η_j·p_j the shift
   heater j applies to its own ring, C from :func:`thermal_crosstalk_ratio` of the edge-to-edge
   gap between rings i and j (centre distance − ring outer diameter, :func:`crosstalk_matrix`). TED-style:
   C = V Λ Vᵀ is decomposed once per bank geometry and q = C⁻¹τ applied to all banks at once.
   Banks where that needs a negative or above-maximum heater are re-solved as the
   box-constrained complementarity problem (0 <= q <= q_max; heaters strictly inside the box hit
   their target exactly, heaters off leave their ring at or above target, heaters at maximum
   leave it below) — the unique minimiser of ½qᵀCq − τᵀq for symmetric positive-definite C — by
   an active-set iteration (projected Gauss–Seidel if it does not settle).
4. EO cancels what remains within its window (a heated ring keeps its r_red; neighbours'
   overshoot is taken off its EO). With ``reassign_order``, a ring that neighbours' heat leaves
   too red for EO moves to the next order and its bank is re-solved, until nothing changes.
   Anything left is the ring's ``residual_nm``; the ring is flagged ``unreachable`` when that
   exceeds ``lock_tolerance_nm``. Nothing is clipped silently. On small banks this equals a
   brute-force search over every order and actuator state (tests/test_tuning.py) whenever EO
   is blue-only (any cost) or its red side costs less than a heater even counting the
   crosstalk its heat lends the neighbours: c_red·η·max_i Σ_j C_ij < 1 (0.003 for the 4 µW/nm
   Pockels window at a 5 µm edge-to-edge gap), at gaps of a few µm and more. Red EO costing about
   as much as a heater or more is outside that range: there a heated ring can push an EO ring
   past its range onto the next order where the optimum would use EO on the heated ring instead
   (seen up to several times the optimal power on 3-ring banks). So are banks at gaps of ~1 µm
   or less with bidirectional EO, even inside that condition: a strong nearest-neighbour
   coupling (0.2) with a weak next-nearest one (0.004) lets the re-assignment move a ring onto
   the next order that the optimum keeps (1.6-3.5x the optimal power on 2-4 of 60 random draws
   of 3- and 4-ring banks at 0.7 and 1 µm; none of 60 at 2 and 5 µm).

Limits. ``to_max_power_w`` bounds each heater. ``chip_budget_w`` (None = unlimited) bounds the
EO + TO power of each chip (each index of the leading axes of ``shift_nm``; common-mode
tracking is not part of it): on a chip above it, rings are locked in ascending order of the
power they need (from the unlimited solve) while the budget lasts; the others keep their
heater off and their nearest order, get EO only (dropped too, costliest first, if even that
exceeds the budget) and are flagged unreachable with their residual. Switching heaters off
changes the locked rings' crosstalk, so the selection repeats with the new powers, never
re-locking a ring, until the chip is within budget. ``heater_dac_bits`` (None = ideal)
quantises each heater's power to the nearest of 2^bits levels over [0, to_max_power_w] after
the solve; EO then cancels what is within its window and the rest is residual, at most half
an LSB of heater shift times Σ_j C_ij. ``unreachable`` is decided with the ideal drive, so
quantisation adds residual without flagging rings.

Grid placement ("laser", "ideal", "tec"): the offset is the candidate of least uncoupled power
(:func:`_best_grid_offset`), where a ring that would need the next order is charged for its whole
bank (its heater's crosstalk pushes the neighbours past their EO window onto the next order too)
and only half the blue EO window counts (the other half is left for the red shift neighbours lend).
A chip that still ends with rings on the next order or unlocked retries the grid redder by
``_RETRY_STEPS`` blue EO windows (within the range) and keeps the cheapest solution (fewest
unlocked rings, then least power): never worse than the scanned offset alone ("laser", "ideal").

Common mode (``common_mode``, :mod:`photonics.common_mode`): fabrication and ambient
temperature move all rings of a chip together by a wafer- and die-level offset (σ ≈ 4 nm,
docs/references.md §3) that dwarfs the within-die spread (≈0.2 nm). ``"none"``: the channel
grid is fixed. ``"laser"``: the laser comb follows the chip (control in nm, every ring's shift
reduced by the same offset), within ±``laser_nm_per_k``·``laser_tec_max_dt_k``. ``"tec"``: a
die TEC changes the die temperature by ΔT (control in K), every ring moving by its own
``dlambda_dT_nm_per_K``·ΔT (an argument of :func:`tune`), within ±``die_tec_max_dt_k``.
``"ideal"``: the grid follows the chip without limit or cost (the papers' assumption). The
offset is the one that minimises the chip's uncoupled EO + TO power (rings of different
designs shift by different amounts; evaluated on 128 candidate offsets spanning the chip's
shifts, on at most 4096 rings per chip); when that lies beyond the option's range, the
least-power offset within the range instead (128 candidates spanning it, ends included), not
simply the clipped one: a chip shifted red beyond the range is cheaper to heat onto the next
resonance order with the grid moved the other way. What lies beyond the range is left to the
per-ring solve, and residuals are relative to the moved grid (what the XNOR
cells see). The candidates are scored with the per-ring policy above (Numba scan) with only
half the EO blue range counted (crosstalk headroom: neighbours' heat adds red shift, which a
ring placed at the edge of its EO window could not absorb). The tracking cost, per chip
(``common_mode_power_w``, not part of the chip budget): the TEC input power
(``photonics.common_mode.tec_input_power_w``) for |ΔT| with load ``laser_heat_load_w``
(laser) or ``die_heat_load_w`` + the chip's EO + TO power (tec); 0 for none and ideal.

Banks are thermally independent: crosstalk between banks (adjacent VDUs, 11-14 µm apart edge
to edge in the presets: ratio 0.003-0.006, against 0.043 between neighbours along a bus at the
presets' 5 µm gap) is neglected.

Distance convention of the crosstalk: the edge-to-edge gap between two rings (centre distance
minus the ring outer diameter, 2·radius + waveguide width), the convention of the source data
(:func:`thermal_crosstalk_ratio`); a bank's rings sit ``pitch_um`` apart centre to centre and
:func:`tune` takes their outer diameter (``ring_outer_diameter_um``) to turn pitches into gaps.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from photonics import common_mode as _cm
from photonics import eo as _eo
from photonics.validation import Parameters, as_float_array, check_int, check_positive, check_range, check_scalar, param

__all__ = ["TuningModel", "TuningResult", "thermal_crosstalk_ratio", "crosstalk_matrix", "tune"]

# Induced/applied phase ratio vs the edge-to-edge gap between two rings: Lumerical HEAT data
# published with the TED reference code (febinpsunny/ThermaleigenDecomposition), docs/references.md
# §4, whose distances are inter-ring gaps in its source configuration (radius 5 µm rings, smallest
# gap 0.7 µm). The 1 at gap 0 is an interpolation anchor (no ring is heated more by a neighbour
# than by its own heater), not data: there are no points below 0.7 µm.
_XT_GAP_UM = np.array([0.0, 0.7, 5.1, 11.4, 13.9, 22.0, 34.0])
_XT_LOG_RATIO = np.log([1.0, 0.23, 0.043, 0.006, 0.003, 5.5e-4, 1.3e-4])
_XT_TAIL_SLOPE = (_XT_LOG_RATIO[-1] - _XT_LOG_RATIO[-2]) / (_XT_GAP_UM[-1] - _XT_GAP_UM[-2])

_PGS_MAX_SWEEPS = 20000
_SOLVE_TOL_NM = 1e-10
_CHUNK_RINGS = 1 << 15


@dataclass(frozen=True)
class TuningModel(Parameters):
    """Tuning actuators and policy (defaults: docs/references.md §4).

    EO (defaults: CrossLight's BaTiO3-on-Si Pockels tuner, DAC 2021 Table II,
    ``photonics.eo.PockelsTuner``): ``eo_blue_range_nm`` = ``eo_red_range_nm`` 1 nm (≲1 nm before
    loss grows), ``eo_blue_w_per_nm`` = ``eo_red_w_per_nm`` 4 µW/nm, ``eo_hold_power_w`` 0,
    ``eo_lock_time_s`` 20 ns; :meth:`with_actuator` sets them from any mechanism's
    ``photonics.eo.actuator`` figures. TO:
    ``to_power_per_fsr_w`` 27.5 mW per FSR, ``to_lock_time_s`` 4 µs — CrossLight Table II;
    ``to_efficiency_nm_per_mw`` (e.g. 2.06 for the doped-Si heater of Opt. Express 21, 15706,
    2013) overrides the per-FSR figure when set. ``to_max_power_w`` 30 mW per heater is an
    assumption: one FSR (27.5 mW) plus margin. ``lock_tolerance_nm``: residual above which a
    ring counts as unreachable. ``chip_budget_w``: EO + TO power limit per chip (None:
    unlimited); ``heater_dac_bits``: heater drive resolution (None: ideal); ``common_mode`` and
    its ``laser_*``, ``die_*``, ``tec_*`` parameters: common-mode tracking (default "none", a
    fixed grid; ``photonics.common_mode``, module docstring). An accelerator takes these from its preset's ``[tuning]``
    table; the defaults serve standalone device studies.
    """

    eo_blue_range_nm: float = param("[0, inf)", unit="nm", default=1.0, doc="largest blue shift EO tuning gives")
    eo_red_range_nm: float = param("[0, inf)", unit="nm", default=1.0, doc="largest red shift EO tuning gives")
    eo_blue_w_per_nm: float = param("[0, inf)", unit="W/nm", default=4e-6, doc="EO power per nm of blue shift")
    eo_red_w_per_nm: float = param("[0, inf)", unit="W/nm", default=4e-6, doc="EO power per nm of red shift")
    eo_hold_power_w: float = param("[0, inf)", unit="W", default=0.0,
                                   doc="EO power of every ring at zero shift (a held pre-bias)")
    eo_lock_time_s: float = param("(0, inf)", unit="s", default=20e-9, doc="EO lock (settle) time")
    to_power_per_fsr_w: float = param("(0, inf)", unit="W", default=27.5e-3, doc="heater power for one FSR of red shift")
    to_efficiency_nm_per_mw: float | None = param("(0, inf)", unit="nm/mW", default=None,
                                                  doc="heater efficiency (None: from to_power_per_fsr_w)")
    to_max_power_w: float = param("(0, inf)", unit="W", default=30e-3, doc="largest power of one heater")
    to_lock_time_s: float = param("(0, inf)", unit="s", default=4e-6, doc="heater lock (settle) time")
    reassign_order: bool = param(default=True, doc="lock a ring on the nearest reachable resonance order")
    thermal_crosstalk: bool = param(default=True, doc="heaters of a bank couple thermally")
    lock_tolerance_nm: float = param("(0, inf)", unit="nm", default=1e-6, doc="residual above which a ring is unreachable")
    common_mode: str = param("{none, laser, tec, ideal}", default="none",
                             doc="common-mode tracking: fixed grid, tuned laser, die TEC, or ideal (free, unbounded)")
    laser_nm_per_k: float = param("(0, inf)", unit="nm/K", default=0.1, doc="laser line shift per kelvin of its TEC")
    laser_tec_max_dt_k: float = param("[0, inf)", unit="K", default=40.0, doc="largest laser TEC temperature change")
    laser_heat_load_w: float = param("[0, inf)", unit="W", default=1.0, doc="heat the laser TEC pumps")
    die_tec_max_dt_k: float = param("[0, inf)", unit="K", default=40.0, doc="largest die TEC temperature change")
    die_heat_load_w: float = param("[0, inf)", unit="W", default=0.0,
                                   doc="die heat the die TEC pumps besides the EO + TO tuning power")
    tec_hot_side_k: float = param("(0, inf)", unit="K", default=300.0, doc="TEC hot-side (heat-sink) temperature")
    tec_zt: float = param("(0, inf)", default=0.7, doc="TEC module figure of merit ZT")
    chip_budget_w: float | None = param("(0, inf)", unit="W", default=None,
                                        doc="largest EO + TO power of one chip (None: unlimited)")
    heater_dac_bits: int | None = param("[1, 32]", unit="bit", default=None,
                                        doc="heater drive resolution over [0, to_max_power_w] (None: ideal)")

    def __post_init__(self):
        super().__post_init__()
        dt_max = _cm.tec_max_delta_t_k(hot_side_k=self.tec_hot_side_k, zt=self.tec_zt)
        for name in ("laser_tec_max_dt_k", "die_tec_max_dt_k"):
            if getattr(self, name) >= dt_max:
                raise ValueError(f"{name}={getattr(self, name)!r} is out of range; allowed: < {dt_max:.4g} K, the largest "
                                 f"TEC temperature change at tec_zt={self.tec_zt}, tec_hot_side_k={self.tec_hot_side_k}")

    def common_mode_power_w(self, delta_t_k, die_power_w=0.0):
        """Tracking power (W) at TEC temperature change ``delta_t_k`` (K; per chip), with
        ``die_power_w`` the chip's EO + TO power (the die TEC pumps it); module docstring."""
        if self.common_mode in ("none", "ideal"):
            return np.zeros(np.shape(delta_t_k)) if np.ndim(delta_t_k) else 0.0
        load = self.laser_heat_load_w if self.common_mode == "laser" else self.die_heat_load_w + np.asarray(die_power_w)
        return _cm.tec_input_power_w(load, delta_t_k, hot_side_k=self.tec_hot_side_k, zt=self.tec_zt)

    def with_actuator(self, figures) -> "TuningModel":
        """This model with the EO window of ``figures`` (a ``photonics.eo.ActuatorFigures``): blue and red
        range, W per nm each way (0 where that range is 0), hold power and settle time."""
        if not isinstance(figures, _eo.ActuatorFigures):
            raise TypeError(f"figures must be a photonics.eo.ActuatorFigures, got {type(figures).__name__} {figures!r}")
        blue, red = figures.blue_range_nm, figures.red_range_nm
        return dataclasses.replace(
            self, eo_blue_range_nm=blue, eo_red_range_nm=red,
            eo_blue_w_per_nm=figures.blue_w_per_nm if blue > 0 else 0.0,
            eo_red_w_per_nm=figures.red_w_per_nm if red > 0 else 0.0,
            eo_hold_power_w=figures.hold_power_w, eo_lock_time_s=figures.settle_time_s)

    def eo_power_w(self, eo_shift_nm):
        """EO power (W) of rings whose EO correction is ``eo_shift_nm`` (positive = red): the
        correction at the cost per nm of its direction plus the hold power."""
        e = np.asarray(eo_shift_nm)
        return np.where(e > 0, e * self.eo_red_w_per_nm, -e * self.eo_blue_w_per_nm) + self.eo_hold_power_w

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
    chip): channel-grid offset applied by common-mode tracking (0 with ``"none"``; with ``"tec"``
    the chip's mean ring shift). ``common_mode_dt_k`` (per chip): the tracking TEC's
    temperature change (laser or die TEC; 0 for none and ideal); ``common_mode_power_w`` (per
    chip): its input power (module docstring). ``eo_shift_nm`` (per ring): the EO correction
    applied (positive = red), the actuator's operating point (e.g. the injected density, and
    with it the free-carrier loss, ``photonics.eo``).
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
    common_mode_dt_k: np.ndarray | float = 0.0
    common_mode_power_w: np.ndarray | float = 0.0
    eo_shift_nm: np.ndarray | float = 0.0


def thermal_crosstalk_ratio(gap_um):
    """Induced/applied thermal phase ratio of a ring whose edge is ``gap_um`` (>= 0) from the heated
    ring's edge (edge-to-edge gap, not centre distance).

    Convention and source: the TED/Lumerical HEAT points of docs/references.md §4
    (febinpsunny/ThermaleigenDecomposition: 0.23 at 0.7 µm ... 1.3e-4 at 34 µm) are edge-to-edge
    gaps between radius-5 µm rings in its source configuration (inter-ring gap 0.7 µm, the
    smallest gap of the data). Log-linear interpolation between the points, anchored at 1 for
    gap 0 (no data below 0.7 µm: ``floorplan.min_ring_gap_um``); beyond 34 µm the last
    segment's exponential decay continues. Monotone decreasing. The data are for that one ring
    size; other sizes use the same curve of the gap (an assumption).
    """
    d = check_range("gap_um", gap_um, 0.0, unit="um")
    d = np.asarray(d)
    log_r = np.interp(d, _XT_GAP_UM, _XT_LOG_RATIO)
    tail = d > _XT_GAP_UM[-1]
    log_r = np.where(tail, _XT_LOG_RATIO[-1] + _XT_TAIL_SLOPE * (d - _XT_GAP_UM[-1]), log_r)
    out = np.exp(log_r)
    return float(out) if out.ndim == 0 else out


def crosstalk_matrix(positions_um, *, outer_diameter_um: float):
    """C_ij = thermal_crosstalk_ratio(gap_ij) for ring centres ``positions_um`` (n,) or (n, 2) µm,
    gap_ij = |r_i − r_j| − ``outer_diameter_um`` (the rings' outer diameter, 2·radius + width),
    clipped at 0; C_ii = 1."""
    pos = as_float_array("positions_um", positions_um)
    if pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] not in (1, 2) or pos.shape[0] == 0:
        raise ValueError(f"positions_um must have shape (n,) or (n, 2) in micrometres with n >= 1, got shape {np.shape(positions_um)}")
    outer = check_scalar("outer_diameter_um", outer_diameter_um, "[0, inf)", unit="um")
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    c = thermal_crosstalk_ratio(np.maximum(dist - outer, 0.0))
    np.fill_diagonal(c, 1.0)
    return c


@functools.lru_cache(maxsize=32)
def _bank_matrices(bank_size: int, pitch_um: float, crosstalk: bool, outer_diameter_um: float):
    """(C, C⁻¹) of a bank of ``bank_size`` rings of outer diameter ``outer_diameter_um`` whose
    centres sit ``pitch_um`` apart along a line (TED eigenbasis; gaps = multiples of the pitch
    minus the outer diameter)."""
    if not crosstalk:
        eye = np.eye(bank_size)
        return eye, eye
    c = crosstalk_matrix(np.arange(bank_size) * pitch_um, outer_diameter_um=outer_diameter_um)
    lam, vec = np.linalg.eigh(c)
    if lam[0] <= 1e-6 * lam[-1]:
        raise ValueError(
            f"pitch_um={pitch_um} (ring_outer_diameter_um={outer_diameter_um}, gap {pitch_um - outer_diameter_um:.4g} um) "
            f"with bank_size={bank_size} gives a thermal crosstalk matrix that is not positive definite (smallest "
            f"eigenvalue {lam[0]:.3g}); allowed: a larger pitch_um (heaters cannot be set independently)"
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


@numba.njit(cache=True, parallel=True)
def _solve_banks(c, c_inv, tau, q_max, off, tol, max_iter, max_sweeps, q_out, thermal_out):
    """Heater shifts q (nm) per bank: 0 <= q <= q_max, C q = τ where q is inside the box.

    ``off``: heaters forced off. All-on banks use the precomputed inverse (TED); the others,
    and banks that leave the box, run an active set (principal-submatrix Cholesky solves),
    then projected Gauss–Seidel if the active set does not settle. Writes q and the thermal
    shift C q of every ring; returns the number of banks whose first solve left the box.
    Banks are independent: they are solved in parallel, each to the same bits as alone.
    """
    n_banks, b = tau.shape
    n_hard = 0
    for k in numba.prange(n_banks):
        mode = np.empty(b, np.int8)  # 0 on target, 1 off, 2 at maximum
        idx = np.empty(b, np.int64)
        mat = np.empty((b, b))
        rhs = np.empty(b)
        q = np.empty(b)
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


def _eo_window(model: TuningModel):
    """(largest blue, largest red) EO correction in nm (both >= 0)."""
    return model.eo_blue_range_nm, model.eo_red_range_nm


def _eo_cost_w(e, model: TuningModel):
    """EO power (W) of corrections ``e`` (nm, positive = red) without the hold power."""
    return np.where(e > 0, e * model.eo_red_w_per_nm, -e * model.eo_blue_w_per_nm)


def _eo_fail_w(model: TuningModel) -> float:
    """EO power at the costlier end of its window (part of an unlockable ring's cost)."""
    return max(model.eo_blue_range_nm * model.eo_blue_w_per_nm, model.eo_red_range_nm * model.eo_red_w_per_nm)


def _eo_heat_share(model: TuningModel, eta):
    """Red shift EO adds to a heated ring: its full red range when EO red costs less per nm than
    the heater (1/η), else nothing. Per ring (shape of ``eta``)."""
    return np.where(model.eo_red_w_per_nm * eta < 1.0, model.eo_red_range_nm, 0.0)


def _split(d, model: TuningModel, eta, q_max, e_heat, eo_blue):
    """Uncoupled minimum-power split of a red correction ``d`` (nm; negative = blue):
    (heater target τ (nm, 0 = off), feasible, power W). EO does what it can at cost, the heater
    the rest (τ = d − e_heat for d > e_heat); feasible: d >= −eo_blue and τ <= q_max."""
    tau = np.maximum(d - e_heat, 0.0)
    feasible = (d >= -eo_blue - 1e-12) & (tau <= q_max * (1.0 + 1e-12))
    power = _eo_cost_w(d - tau, model) + tau / eta
    return tau, feasible, power


def _choose_orders(s, fsr, model: TuningModel, eta, q_max, e_heat, eo_blue):
    """Per ring the resonance order k (lock on the resonance at s − k·FSR) of least uncoupled
    power, and that power (an unlockable ring costs its actuators at their limits plus one FSR
    of heating, more than any lock). Candidates: the bluest reachable order k0 (correction
    d = k0·FSR − s in [−eo_blue, FSR − eo_blue)) and k0 + 1; k = 0 without ``reassign_order``.
    """
    if not model.reassign_order:
        k = np.zeros_like(s)
        tau, ok, power = _split(-s, model, eta, q_max, e_heat, eo_blue)
    else:
        k0 = np.ceil((s - eo_blue) / fsr - 1e-12)
        tau0, ok0, p0 = _split(k0 * fsr - s, model, eta, q_max, e_heat, eo_blue)
        tau1, ok1, p1 = _split((k0 + 1) * fsr - s, model, eta, q_max, e_heat, eo_blue)
        second = ok1 & (~ok0 | (p1 < p0))
        k = np.where(second, k0 + 1, k0)
        ok, power = ok0 | ok1, np.where(second, p1, p0)
    fail = (q_max / eta + _eo_fail_w(model) + fsr / eta)
    return k, np.where(ok, power, fail)


def _targets(s_locked, model: TuningModel, eta, e_heat):
    """Heater targets τ (nm) and the heaters that stay off (τ <= 0: EO alone, or blue beyond reach)."""
    tau = np.maximum(-s_locked - e_heat, 0.0)
    return tau, tau <= 0.0


def _eo_correct(left, model: TuningModel, eo_on=None):
    """EO correction (nm, positive = red) cancelling ``left`` within its window."""
    eo_blue, eo_red = _eo_window(model)
    eo = np.clip(-left, -eo_blue, eo_red)
    return eo if eo_on is None else np.where(eo_on, eo, 0.0)


def _tune_banks(s, fsr, model: TuningModel, c, c_inv, out, unlocked=None, eo_on=None) -> int:
    """Tune banks ``s``, ``fsr`` of shape (n_banks, B); fill ``out`` (dict of same-shape arrays).

    ``unlocked`` (chip budget): rings whose heater stays off and that keep their nearest order
    (EO only, where ``eo_on``). Returns the number of banks whose first heater solve left the box.
    """
    eta = model.to_efficiency_nm_per_w(fsr)
    q_max = eta * model.to_max_power_w
    eo_blue, _ = _eo_window(model)
    e_heat = _eo_heat_share(model, eta)
    # 1-2. order of least uncoupled power per ring and its heater target
    k, _ = _choose_orders(s, fsr, model, eta, q_max, e_heat, eo_blue)
    if unlocked is not None:
        k = np.where(unlocked, np.round(s / fsr) if model.reassign_order else 0.0, k)
    s_locked = s - k * fsr
    tau, off = _targets(s_locked, model, eta, e_heat)
    if unlocked is not None:
        off |= unlocked
        tau = np.where(unlocked, 0.0, tau)
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
        eo_shift = _eo_correct(left, model, None if eo_on is None else eo_on[banks])
        residual = left + eo_shift
        out["thermal_shift_nm"][banks] = thermal
        out["eo_shift"][banks] = eo_shift
        out["residual_nm"][banks] = residual
        too_red = residual > model.lock_tolerance_nm
        if unlocked is not None:
            too_red &= ~unlocked[banks]
        if not model.reassign_order or not too_red.any() or round_ == s.shape[1] + 1:
            break
        rows = too_red.any(axis=1)
        banks, too_red = banks[rows], too_red[rows]
        k[banks] += too_red
        s_locked[banks] = s[banks] - k[banks] * fsr[banks]
        tau_b, off_b = _targets(s_locked[banks], model, eta[banks], e_heat[banks])
        tau[banks] = np.where(too_red, tau_b, tau[banks])
        off[banks] &= ~(too_red & ~off_b)
    out["locked"][:] = np.abs(out["residual_nm"]) <= model.lock_tolerance_nm  # with ideal heater drive
    if model.heater_dac_bits is not None:
        # heater drive quantised to 2^bits levels over [0, to_max_power]; EO cancels what it can
        lsb_w = model.to_max_power_w / (2 ** model.heater_dac_bits - 1)
        q = np.round(q / eta / lsb_w) * lsb_w * eta
        thermal = q @ c.T
        left = s_locked + thermal
        eo_shift = _eo_correct(left, model, eo_on)
        out["thermal_shift_nm"][:] = thermal
        out["eo_shift"][:] = eo_shift
        out["residual_nm"][:] = left + eo_shift
    out["to_power_w"][:] = q / eta
    out["order_shift"][:] = k
    return n_hard


@numba.njit(cache=True, parallel=True)
def _grid_costs(x, g, fsr, eta, q_max, e_heat, cand, eo_w_blue, eo_w_red, eo_blue, eo_fail_w, reassign, wrap_rings,
                out):
    """out[c, j] = Σ_i uncoupled power of ring i (shift x[c, i] − g[c, i]·cand[c, j]); :func:`_choose_orders` per ring.
    A ring locked on the next order (more than half an FSR of heat) is charged ``wrap_rings`` times its heat: with
    thermal crosstalk its heater pushes its neighbours past their EO window onto the next order in turn."""
    n_chips, n = x.shape
    for cj in numba.prange(n_chips * cand.shape[1]):  # every (chip, candidate) sum on its own: thread-independent
        c, j = cj // cand.shape[1], cj % cand.shape[1]
        total = 0.0
        for i in range(n):
            s = x[c, i] - g[c, i] * cand[c, j]
            f, et, qm, eh = fsr[c, i], eta[c, i], q_max[c, i], e_heat[c, i]
            best = -1.0
            if reassign:
                d = math.ceil((s - eo_blue) / f - 1e-12) * f - s
                n_try = 2
            else:
                d = -s
                n_try = 1
            for _ in range(n_try):
                tau = max(d - eh, 0.0)
                if d >= -eo_blue - 1e-12 and tau <= qm * (1.0 + 1e-12):
                    e = d - tau
                    p = (e * eo_w_red if e > 0.0 else -e * eo_w_blue) + tau / et
                    if d > 0.5 * f:
                        p *= wrap_rings
                    if best < 0.0 or p < best:
                        best = p
                d += f
            if best < 0.0:
                best = qm / et + eo_fail_w + f / et
            total += best
        out[c, j] = total


def _best_grid_offset(s, fsr, model: TuningModel, gain=None, reach=None, n_candidates: int = 128, max_rings: int = 4096,
                      bank_size: int = 0):
    """Per chip (leading axes of ``s``), the control x (ring i's shift reduced by gain_i·x; gain
    1 when None) minimising the uncoupled tuning power of the per-ring policy (:func:`_choose_orders`),
    over candidates spanning the chip's shifts; with ``reach``, a chip whose best x lies beyond
    ±reach is scanned again over candidates spanning [−reach, reach] (its ends included)."""
    step = max(1, s.shape[-1] // max_rings) | 1  # odd stride: never aliases with interleaved ring roles
    sub, fsr_sub = s[..., ::step], fsr[..., ::step]
    g_sub = np.ones_like(sub) if gain is None else np.broadcast_to(gain, s.shape)[..., ::step]
    lo, hi = (sub / g_sub).min(axis=-1, keepdims=True), (sub / g_sub).max(axis=-1, keepdims=True)
    cand = lo + (hi - lo) * np.linspace(0.0, 1.0, n_candidates)  # (..., n_candidates)
    m = sub.shape[-1]
    x = np.ascontiguousarray(sub.reshape(-1, m))
    g = np.ascontiguousarray(np.broadcast_to(g_sub, sub.shape).reshape(-1, m), dtype=float)
    f = np.ascontiguousarray(np.broadcast_to(fsr_sub, sub.shape).reshape(-1, m), dtype=float)
    eta = np.ascontiguousarray(np.broadcast_to(model.to_efficiency_nm_per_w(f), f.shape), dtype=float)
    e_heat = np.ascontiguousarray(_eo_heat_share(model, eta), dtype=float)

    # a wrap cascades over its bank when heaters couple (see _grid_costs); bank_size rings is the bound
    wrap_rings = float(bank_size if (model.thermal_crosstalk and bank_size) else 1)

    def scan(rows, cands):
        # Heater crosstalk only adds red shift, so count only half the EO blue range: a ring
        # placed at the blue-correction edge of its EO window would be pushed past it by its
        # neighbours' heaters and jump to the next order (a full FSR of heating).
        cost_w = np.empty((rows.size, cands.shape[-1]))
        _grid_costs(x[rows], g[rows], f[rows], eta[rows], eta[rows] * model.to_max_power_w, e_heat[rows],
                    np.ascontiguousarray(cands), model.eo_blue_w_per_nm, model.eo_red_w_per_nm,
                    0.5 * model.eo_blue_range_nm, _eo_fail_w(model), model.reassign_order, wrap_rings, cost_w)
        return np.take_along_axis(cands, np.argmin(cost_w, axis=-1)[:, None], axis=-1)[:, 0]

    flat = cand.reshape(-1, n_candidates)
    best = scan(np.arange(flat.shape[0]), flat)
    if reach is not None:
        out = np.flatnonzero(np.abs(best) > reach)
        if out.size:
            limited = np.broadcast_to(np.linspace(-reach, reach, n_candidates), (out.size, n_candidates))
            best[out] = scan(out, limited)
    return best.reshape(cand.shape[:-1] + (1,))


def _solve_rows(s, fsr, model, c, c_inv, bank_size):
    """Lock every bank of shifts ``s`` (..., n) (already relative to the grid): per-ring outputs as
    (n_chips, n) arrays and the number of banks that needed the constrained re-solve."""
    n = s.shape[-1]
    s_b = np.ascontiguousarray(s.reshape(-1, bank_size))
    fsr_b = np.ascontiguousarray(np.broadcast_to(fsr, s.shape).reshape(-1, bank_size))
    out = {name: np.empty(s_b.shape) for name in ("residual_nm", "thermal_shift_nm", "eo_shift", "to_power_w")}
    out["order_shift"] = np.empty(s_b.shape, dtype=np.int32)
    out["locked"] = np.empty(s_b.shape, dtype=bool)
    n_hard = _run_chunks(s_b, fsr_b, model, c, c_inv, out)
    rows = {k: v.reshape(-1, n) for k, v in out.items()}
    if model.chip_budget_w is not None:
        n_hard += _apply_budget(s.reshape(-1, n), np.broadcast_to(fsr, s.shape).reshape(-1, n), model, c, c_inv,
                                rows, bank_size)
    return {k: v.reshape(s.shape) for k, v in rows.items()}, n_hard


def _row_cost(out, model):
    """Per chip (leading axes): unlocked rings first, then EO + TO power (lexicographic, as one float)."""
    power = model.eo_power_w(out["eo_shift"]).sum(axis=-1) + out["to_power_w"].sum(axis=-1)
    return (~out["locked"]).sum(axis=-1) * 1e12 + power


#: Red steps of the grid tried, in units of the blue EO window, for a chip on which rings ended on the next order.
_RETRY_STEPS = (0.5, 1.0, 2.0, 4.0)


def _retry_wrapped(s, fsr, model, c, c_inv, bank_size, out, offset, reach) -> int:
    """Chips on which some ring was locked on the next resonance order (with coupled heaters such a
    ring pushes its neighbours there too) or left unlocked retry the grid a little redder (``_RETRY_STEPS`` blue EO
    windows, within ``reach``); each keeps the cheapest solution (fewest unlocked rings, then least
    power). ``out`` and ``offset`` are updated in place; returns the extra constrained re-solves."""
    lead = s.shape[:-1]
    bad = (out["order_shift"] != 0) | ~out["locked"]  # rings on the next order, or left unlocked by the budget
    wrapped = np.flatnonzero(bad.reshape(-1, s.shape[-1]).any(axis=-1))
    if wrapped.size == 0:
        return 0
    n = s.shape[-1]
    s2, f2 = s.reshape(-1, n), np.broadcast_to(fsr, s.shape).reshape(-1, n)
    off2 = offset.reshape(-1, 1)
    flat_out = {k: v.reshape(-1, n) for k, v in out.items()}
    best_cost = _row_cost({k: v[wrapped] for k, v in flat_out.items()}, model)
    window = max(model.eo_blue_range_nm, 0.05)  # step unit; 50 pm (a fifth of a linewidth) when EO has no blue range
    n_hard = 0
    for step in _RETRY_STEPS:
        cand = off2[wrapped] + step * window
        if reach is not None:
            cand = np.clip(cand, -reach, reach)
        trial, extra = _solve_rows(s2[wrapped] - cand, f2[wrapped], model, c, c_inv, bank_size)
        n_hard += extra
        cost = _row_cost(trial, model)
        better = cost < best_cost
        if better.any():
            rows = wrapped[better]
            for k in flat_out:
                flat_out[k][rows] = trial[k][better]
            off2[rows] = cand[better]
            best_cost = np.where(better, cost, best_cost)
    offset[...] = off2.reshape(lead + (1,))
    return n_hard


def _run_chunks(s_b, fsr_b, model, c, c_inv, out, unlocked=None, eo_on=None) -> int:
    """:func:`_tune_banks` over cache-sized chunks of banks (arrays of shape (n_banks, B))."""
    step = max(1, _CHUNK_RINGS // s_b.shape[1])
    n_hard = 0
    for lo in range(0, s_b.shape[0], step):
        part = slice(lo, lo + step)
        n_hard += _tune_banks(s_b[part], np.array(fsr_b[part]), model, c, c_inv, {k: v[part] for k, v in out.items()},
                              None if unlocked is None else unlocked[part], None if eo_on is None else eo_on[part])
    return n_hard


def _eo_power(out, model):
    return model.eo_power_w(out["eo_shift"])


def _apply_budget(s, fsr, model, c, c_inv, out, bank_size) -> int:
    """Chips (rows of the (n_chips, n_rings) arrays) whose EO + TO power exceeds
    ``model.chip_budget_w``: lock rings in ascending order of required power while the budget
    lasts, the rest get EO only (heater off, nearest order), with EO itself dropped from the
    costliest of those if even that exceeds the budget. Heater crosstalk changes the locked
    rings' power once neighbours are off, so the selection repeats (never re-locking a ring)
    until every chip is within budget; each pass re-solves only the banks it changed. Updates
    ``out`` in place; returns fallback banks."""
    budget = model.chip_budget_w
    n_chips, n = s.shape
    unlocked = np.zeros(s.shape, bool)
    eo_on = np.ones(s.shape, bool)
    n_hard = 0
    eo_blue, eo_red = _eo_window(model)
    k_near = np.round(s / fsr) if model.reassign_order else np.zeros_like(s)
    eo_only_w = model.eo_power_w(np.clip(-(s - k_near * fsr), -eo_blue, eo_red))
    for _ in range(n + 1):
        power = out["to_power_w"] + _eo_power(out, model)
        over = power.sum(axis=-1) > budget * (1.0 + 1e-12)
        if not over.any():
            break
        rows = np.flatnonzero(over)
        unlocked_before, eo_before = unlocked[rows], eo_on[rows]  # copies (fancy indexing): what this pass changes
        p = power[rows]
        floor = np.where(unlocked[rows], 0.0, eo_only_w[rows])  # EO-only cost of a ring if unlocked now
        p_sorted_idx = np.argsort(np.where(unlocked[rows], np.inf, p), axis=-1, kind="stable")
        p_s = np.take_along_axis(p, p_sorted_idx, axis=-1)
        f_s = np.take_along_axis(floor, p_sorted_idx, axis=-1)
        already = np.where(unlocked[rows] & eo_on[rows], eo_only_w[rows], 0.0).sum(axis=-1, keepdims=True)
        n_lockable = (~unlocked[rows]).sum(axis=-1, keepdims=True)
        cum_p = np.concatenate([np.zeros((rows.size, 1)), np.cumsum(np.where(np.isinf(p_s), 0.0, p_s), axis=-1)], axis=-1)
        cum_f = np.concatenate([np.zeros((rows.size, 1)), np.cumsum(f_s, axis=-1)], axis=-1)
        cost = cum_p + (cum_f[:, -1:] - cum_f) + already  # lock the m cheapest, EO only for the rest
        m_range = np.arange(n + 1)
        ok = (cost <= budget) & (m_range <= n_lockable)
        m = np.where(ok.any(axis=-1), n - np.argmax(ok[:, ::-1], axis=-1), 0)
        # a chip whose first choice changes nothing (crosstalk) drops its costliest locked ring
        m = np.minimum(m, n_lockable[:, 0] - 1).clip(0)
        rank = np.empty_like(p_sorted_idx)
        np.put_along_axis(rank, p_sorted_idx, np.arange(n)[None, :], axis=-1)
        newly = (rank >= m[:, None]) & ~unlocked[rows]
        unlocked[rows] |= newly
        if not ok[:, 0].all():  # even EO alone for every unlocked ring exceeds the budget
            eo_w = np.where(unlocked[rows] & eo_on[rows], eo_only_w[rows], 0.0)
            locked_w = np.where(unlocked[rows], 0.0, p)
            spare = budget - locked_w.sum(axis=-1, keepdims=True)
            order = np.argsort(eo_w, axis=-1, kind="stable")
            keep = np.cumsum(np.take_along_axis(eo_w, order, axis=-1), axis=-1) <= spare
            keep_r = np.empty_like(keep)
            np.put_along_axis(keep_r, order, keep, axis=-1)
            eo_on[rows] &= keep_r | ~unlocked[rows]
        # re-solve only the banks where some ring was unlocked or lost EO: heater crosstalk stays
        # inside a bank, so the others keep their last solution to the bit
        changed = (unlocked[rows] != unlocked_before) | (eo_on[rows] != eo_before)
        if not changed.any():  # the same state gives the same choice: no later pass changes anything
            break
        bank_rows = (rows[:, None] * (n // bank_size) + np.arange(n // bank_size)[None, :])[
            changed.reshape(rows.size, -1, bank_size).any(axis=-1)]
        sub = {key: v.reshape(-1, bank_size)[bank_rows].copy() for key, v in out.items()}
        n_hard += _run_chunks(s.reshape(-1, bank_size)[bank_rows], fsr.reshape(-1, bank_size)[bank_rows], model, c, c_inv,
                              sub, unlocked.reshape(-1, bank_size)[bank_rows], eo_on.reshape(-1, bank_size)[bank_rows])
        for key, v in out.items():
            flat = v.reshape(-1, bank_size)
            flat[bank_rows] = sub[key]
    return n_hard


def tune(shift_nm, *, fsr_nm, bank_size: int, pitch_um: float, ring_outer_diameter_um: float,
         model: TuningModel | None = None, dlambda_dT_nm_per_K=None) -> TuningResult:
    """Lock every ring to its channel; see the module docstring for the policy.

    ``dlambda_dT_nm_per_K``: each ring's thermal sensitivity (broadcastable to ``shift_nm``,
    > 0), needed with ``model.common_mode == "tec"`` only.

    ``shift_nm``: resonance − assigned channel (nm, positive = red), shape (..., n_rings),
    consecutive groups of ``bank_size`` rings forming a bank whose centres sit ``pitch_um`` apart
    along a line; ``ring_outer_diameter_um`` (2·radius + width, in (0, pitch_um); with two ring
    designs in a bank the larger, so gaps err small and crosstalk high) turns centre distances into
    the edge-to-edge gaps of the crosstalk data (:func:`crosstalk_matrix`). ``fsr_nm``: scalar or broadcastable to ``shift_nm`` (per-ring FSR).
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
    ring_outer_diameter_um = check_scalar("ring_outer_diameter_um", ring_outer_diameter_um, "(0, inf)", unit="um")
    if ring_outer_diameter_um >= pitch_um:
        raise ValueError(f"ring_outer_diameter_um={ring_outer_diameter_um} with pitch_um={pitch_um}: neighbouring rings "
                         f"overlap or touch; allowed: ring_outer_diameter_um < pitch_um")
    fsr = check_positive("fsr_nm", fsr_nm, unit="nm")
    try:
        fsr = np.broadcast_to(fsr, s.shape)
    except ValueError as exc:
        raise ValueError(f"fsr_nm of shape {np.shape(fsr_nm)} must broadcast to shift_nm of shape {s.shape}") from exc
    c, c_inv = _bank_matrices(bank_size, pitch_um, model.thermal_crosstalk, ring_outer_diameter_um)
    mode = model.common_mode
    dt_k = np.zeros(s.shape[:-1] + (1,))
    s_fixed = None  # the shifts after the grid moved, for modes whose offset is final ("none", "tec")
    if mode == "none":
        offset = np.zeros(s.shape[:-1] + (1,))
        s_fixed = s
    elif mode == "tec":
        if dlambda_dT_nm_per_K is None:
            raise ValueError("common_mode='tec' needs dlambda_dT_nm_per_K (each ring's dλ/dT, nm/K); allowed: an array "
                             "broadcastable to shift_nm, > 0")
        gain = check_positive("dlambda_dT_nm_per_K", dlambda_dT_nm_per_K, unit="nm/K")
        try:
            gain = np.broadcast_to(gain, s.shape)
        except ValueError as exc:
            raise ValueError(f"dlambda_dT_nm_per_K of shape {np.shape(dlambda_dT_nm_per_K)} must broadcast to shift_nm "
                             f"of shape {s.shape}") from exc
        dt_k = _best_grid_offset(s, fsr, model, gain, reach=model.die_tec_max_dt_k, bank_size=bank_size)
        moved = gain * dt_k
        s = s - moved
        offset = moved.mean(axis=-1, keepdims=True)
        s_fixed = s
    else:
        reach = model.laser_nm_per_k * model.laser_tec_max_dt_k if mode == "laser" else None
        offset = _best_grid_offset(s, fsr, model, reach=reach, bank_size=bank_size)

    out, n_hard = _solve_rows(s - offset if s_fixed is None else s_fixed, fsr, model, c, c_inv, bank_size)
    if mode in ("laser", "ideal"):
        n_hard += _retry_wrapped(s, fsr, model, c, c_inv, bank_size, out, offset, reach)
        if mode == "laser":
            dt_k = offset / model.laser_nm_per_k
    residual = out["residual_nm"].reshape(s.shape)
    eo_shift = out["eo_shift"].reshape(s.shape)
    eo_power = model.eo_power_w(eo_shift)
    to_power = out["to_power_w"].reshape(s.shape)
    total = eo_power.sum(axis=-1) + to_power.sum(axis=-1)
    lock = np.maximum(np.where((to_power > 0).any(axis=-1), model.to_lock_time_s, 0.0),
                      np.where((eo_shift != 0).any(axis=-1), model.eo_lock_time_s, 0.0))
    cm_power = model.common_mode_power_w(dt_k[..., 0], total)
    if s.ndim == 1:
        total, lock, cm_power = float(total), float(lock), float(cm_power)
    return TuningResult(
        residual_nm=residual,
        eo_power_w=eo_power,
        to_power_w=to_power,
        unreachable=~out["locked"].reshape(s.shape),
        order_shift=out["order_shift"].reshape(s.shape),
        thermal_shift_nm=out["thermal_shift_nm"].reshape(s.shape),
        total_power_w=total,
        lock_time_s=lock,
        fallback_banks=n_hard,
        grid_offset_nm=float(offset[0]) if s.ndim == 1 else offset[..., 0],
        common_mode_dt_k=float(dt_k[0]) if s.ndim == 1 else dt_k[..., 0],
        common_mode_power_w=cm_power,
        eo_shift_nm=eo_shift,
    )
