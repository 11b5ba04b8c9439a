"""The chip pipeline: one sampled chip from variation to tuned residuals and cell coefficients.

:func:`sample_chip` (``Accelerator.sample_chip``) for chip ``chip`` of run ``seed`` under
``conditions`` (:class:`accel.conditions.Conditions`, resolved against the preset):

1. variation: ``photonics.variation`` draws width, thickness and temperature deviations of
   every ring at its floorplan position (off: every ring on its design resonance);
2. resonance shift from each ring's own design (activation and weight rings differ, so do
   their sensitivities) and its FSR, less the layout's blue bias ``wavelength.ring_blue_bias_nm``
   when fabrication variation is on;
3. tuning: the tuner locks each bank of 2N rings (off: each ring stays at its varied
   resonance, taken modulo its FSR);
4. closed-loop locking leaves each tuned ring an N(0, ``tuning.lock_residual_pm``) error (0:
   open loop). After the one-time lock, open loop (rings not re-locked): an ambient temperature change
   (``VariationSettings.drift``, else the preset's ``thermal.post_lock_drift_sigma_K``) adds
   each ring's thermal shift to its residual, and each laser line's wander
   (``thermal.laser_drift_sigma_pm``, per channel and chip) is subtracted from the residual of
   every ring on that channel (the ring-to-line detuning; the neighbour channels' few-pm shift
   against the other cells' rings is neglected);
5. coupling: each ring's input/drop coupler gap deviates by N(0, ``variation.sigma_gap_nm``)
   (``photonics.variation``), giving per-ring κ² through ``photonics.coupler`` (the nominal gap
   is the one of the preset's κ²); no tuner can undo it;
6. coefficients: the XNOR cells' α, β, γ, δ from the residual detunings and couplings
   (optional; tuning-only callers skip them).

Randomness: chip ``k`` of seed ``s`` draws from ``photonics.variation.chip_seed_sequence(s, k)``
and children of it (:func:`chip_stream`), so any chip can be re-run alone with the same result.

:func:`sample_banks` runs steps 1-3 only, on a subset of whole banks of the floorplan and for
several chips at once (one tuning solve for all of them): what the nominal tuning power
(``accel.components.Tuner``) samples. :func:`stratified_banks` picks that subset over the die.
Each ring's fabrication terms that depend on position (wafer bowl and tilt at its wafer
position, the chip's die offset, the intra-die correlated field) and its temperature equal the
full-die chip's values for that ring exactly whenever the subset spans the same bounding box of
ring positions as the die (``photonics.variation`` evaluates the field on a grid over that box
and the temperature about its centre; :func:`stratified_banks` keeps the die's corner banks for
that). The uncorrelated per-ring term (and the coupler gaps, not used here) is drawn from the
chip's own per-ring stream in the subset's ring order, so it is an independent draw of the same
distribution, not the full-die chip's value for that ring, unless the subset is the whole die
(then every value, the tuning and its power equal :func:`sample_chip`'s).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from accel import memory as _memory
from accel.conditions import Conditions
from accel.config import AcceleratorConfig
from accel.floorplan import Floorplan
from photonics import coupler as _coupler
from photonics import variation as _variation
from photonics.validation import check_int, check_seed

__all__ = ["BankTuning", "ChipSample", "chip_stream", "sample_banks", "sample_chip", "stratified_banks"]

#: Spawn-key suffix of a chip's post-lock drift stream (:func:`chip_stream`).
_DRIFT_STREAM = 0x6472696674
#: Spawn-key suffix of a chip's laser-line wander stream.
_LASER_STREAM = 0x6C61736572
#: Spawn-key suffix of a chip's closed-loop lock-residual stream.
_LOCK_STREAM = 0x6C6F636B


@dataclass(frozen=True, eq=False)
class ChipSample:
    """One sampled chip.

    ``coefficients``: per-cell α, β, γ, δ (units, M, N, 4), uncalibrated, or None when not
    computed; ``act_residual_nm`` / ``weight_residual_nm``: residual detunings (units, M, N) of
    activation and weight rings after tuning (and drift); ``tuning_power_w``: total tuning
    power; ``rings_out_of_range``: rings the tuner could not bring onto their channel;
    ``lock_time_s``; ``shift_nm``: each ring's resonance shift before tuning (units, M, N, 2),
    role 0 activation, 1 weight; ``grid_offset_nm``: the laser-grid offset that common-mode
    tracking applied (0 without it); ``common_mode_dt_k`` / ``common_mode_power_w``: the
    tracking TEC's temperature change and input power (``tuning.common_mode``; 0 for "none"
    and "ideal"), not part of ``tuning_power_w``; ``kappa2_in`` / ``kappa2_drop``: per-ring input / drop
    power coupling (units, M, N, 2), role last as in ``shift_nm``, or None when the couplings
    are the ring designs' (no gap variation); ``eo_shift_nm``: each ring's EO tuning correction
    (units, M, N, 2), whose loss at that operating point the XNOR cell adds (None: tuning off).
    """

    chip: int
    seed: int
    coefficients: np.ndarray | None
    act_residual_nm: np.ndarray
    weight_residual_nm: np.ndarray
    tuning_power_w: float
    rings_out_of_range: int
    lock_time_s: float
    shift_nm: np.ndarray | None = None
    grid_offset_nm: float = 0.0
    kappa2_in: np.ndarray | None = None
    kappa2_drop: np.ndarray | None = None
    common_mode_dt_k: float = 0.0
    common_mode_power_w: float = 0.0
    eo_shift_nm: np.ndarray | None = None


def chip_stream(seed: int, chip: int, key: int) -> np.random.SeedSequence:
    """Child ``key`` of the chip's seed sequence (keys far from photonics.variation's streams)."""
    base = _variation.chip_seed_sequence(seed, chip)
    return np.random.SeedSequence(base.entropy, spawn_key=tuple(base.spawn_key) + (key,))


def _drift_K(xy_um: np.ndarray, seed: int, chip: int, model) -> np.ndarray:
    """Temperature change after locking: N(mean, σ) at the centre of the rings' bounding box
    plus a linear gradient with N(0, σ_g) components (K/mm), as ``ThermalModel`` states."""
    rng = np.random.default_rng(chip_stream(seed, chip, _DRIFT_STREAM))
    offset = rng.normal(model.ambient_mean_K, model.ambient_sigma_K)
    gradient = rng.normal(0.0, model.gradient_sigma_K_per_mm, size=2)
    centre = 0.5 * (xy_um.min(axis=0) + xy_um.max(axis=0))
    return offset + (xy_um - centre) @ gradient * 1e-3


def _laser_drift_nm(seed: int, chip: int, sigma_pm: float, n_channels: int) -> np.ndarray:
    """Each laser line's wander after locking, N(0, σ) per channel (nm)."""
    rng = np.random.default_rng(chip_stream(seed, chip, _LASER_STREAM))
    return rng.normal(0.0, sigma_pm * 1e-3, size=n_channels)


def _couplings(config: AcceleratorConfig, is_act: np.ndarray, dgap_in, dgap_drop):
    """Per-ring (kappa2_in, kappa2_drop) from gap deviations (module docstring, step 5)."""
    lam = config.wavelength.center_wavelength_nm
    out = []
    for port, dgap in (("kappa2_in", dgap_in), ("kappa2_drop", dgap_drop)):
        k2 = np.empty(is_act.shape)
        for mask, ring in ((is_act, config.activation_ring), (~is_act, config.weight_ring)):
            coupler = _coupler.RingBusCoupler(ring.radius_um, lam)
            k2[mask] = _coupler.perturbed_kappa2(coupler, getattr(ring, port), dgap[mask])
        out.append(k2)
    return out


def _shift_nm(config: AcceleratorConfig, variation, cv, width, thickness, wavelength) -> np.ndarray:
    """Resonance shift (nm) of rings with nominal ``width``/``thickness``/``wavelength`` (per ring)
    from the variation draws ``cv`` (``photonics.variation.ChipVariation``, one chip or a stack),
    less the layout's blue bias when fabrication variation is on (module docstring, step 2)."""
    zero = np.zeros(np.shape(cv.dw_nm))
    dw, dt = (zero, zero) if variation.fab is False else (cv.dw_nm, cv.dt_nm)
    d_t = zero if variation.thermal is False else cv.dT_K
    shift = _variation.resonance_shift_nm(width, thickness, dw, dt, d_t, wavelength)
    if variation.fab is not False:
        shift = shift - config.wavelength.ring_blue_bias_nm
    return shift


def sample_chip(config: AcceleratorConfig, floorplan: Floorplan, tuner, xnor_cell, *, seed: int, chip: int,
                conditions: Conditions | None = None, coefficients: bool = True) -> ChipSample:
    """Chip ``chip`` of run ``seed`` of the accelerator with ``config``, ``floorplan`` and its
    ``tuner`` and ``xnor_cell`` components (``accel.components``), under ``conditions``
    (None: the preset's); module docstring. ``coefficients=False`` leaves
    ``ChipSample.coefficients`` None. With tuning off, ``rings_out_of_range`` counts rings
    more than half a linewidth from their channel. A chip whose estimated memory
    (``accel.memory.chip_bytes``) exceeds what the process can get is refused
    (``accel.memory.MemoryLimitError``) before anything is drawn.
    """
    seed = check_seed("seed", seed)
    chip = check_int("chip", chip, lo=0)
    _memory.check_fits({"chip pipeline": _memory.chip_bytes(config)}, f"chip {chip} of {config.name!r}", config)
    if conditions is not None and not isinstance(conditions, Conditions):
        raise TypeError(f"conditions must be an accel.conditions.Conditions or None, got {type(conditions).__name__}")
    if not isinstance(coefficients, bool):
        raise TypeError(f"coefficients must be a bool, got {type(coefficients).__name__} {coefficients!r}")
    resolved = (Conditions() if conditions is None else conditions).resolve(config)
    variation, tuning = resolved.variation, resolved.tuning
    fp = floorplan
    act, weight = xnor_cell.activation_ring, xnor_cell.weight_ring
    is_act = fp.role == 0
    fsr = np.where(is_act, act.fsr_nm, weight.fsr_nm)
    rings = (config.activation_ring, config.weight_ring)
    width = np.where(is_act, rings[0].width_nm, rings[1].width_nm)
    thickness = np.where(is_act, rings[0].thickness_nm, rings[1].thickness_nm)
    wavelength = fp.channels_nm[fp.channel]
    zero = np.zeros(fp.n_rings)
    kappa2 = (None, None)
    if variation is False:
        shift = zero
    else:
        cv = _variation.sample_chip(fp.xy_um, seed=seed, chip=chip,
                                    fab=variation.fab or None, thermal=variation.thermal or None)
        shift = _shift_nm(config, variation, cv, width, thickness, wavelength)
        if variation.fab is not False and cv.dgap_in_nm is not None:
            kappa2 = tuple(np.reshape(k, fp.shape) for k in _couplings(config, is_act, cv.dgap_in_nm, cv.dgap_drop_nm))
    if tuning is False:
        residual = shift - fsr * np.round(shift / fsr)
        fwhm = np.where(is_act, act.fwhm_nm, weight.fwhm_nm)
        power_w, out_of_range, lock_s, grid_offset = 0.0, int(np.sum(np.abs(residual) > fwhm / 2)), 0.0, 0.0
        cm_dt, cm_power, eo_shift = 0.0, 0.0, None
    else:
        dldT = None
        if tuning.common_mode == "tec":  # the die TEC moves each ring by its own dλ/dT
            dldT = _variation.resonance_shift_nm(width, thickness, zero, zero, 1.0, wavelength)  # dλ/dT x 1 K
        res = tuner.tune(shift, fsr_nm=fsr, model=tuning, dlambda_dT_nm_per_K=dldT)
        residual = np.asarray(res.residual_nm)
        cm_dt, cm_power = float(res.common_mode_dt_k), float(res.common_mode_power_w)
        power_w, out_of_range, lock_s = float(res.total_power_w), int(np.sum(res.unreachable)), float(res.lock_time_s)
        grid_offset = float(res.grid_offset_nm)
        eo_shift = np.reshape(res.eo_shift_nm, fp.shape)
        sigma_pm = config.tuning.lock_residual_pm
        if sigma_pm > 0:  # closed-loop locking: each loop holds its ring within its own error
            rng = np.random.default_rng(chip_stream(seed, chip, _LOCK_STREAM))
            residual = residual + rng.normal(0.0, sigma_pm * 1e-3, size=residual.shape)
    if variation is not False:
        thermal = variation.thermal or None
        drift = variation.drift
        if not drift and thermal is not None and thermal.post_lock_drift_sigma_K > 0:
            drift = _variation.ThermalModel(ambient_mean_K=0.0, ambient_sigma_K=thermal.post_lock_drift_sigma_K,
                                            gradient_sigma_K_per_mm=0.0)
        if drift:
            d_t = _drift_K(fp.xy_um, seed, chip, drift)
            residual = residual + _variation.resonance_shift_nm(width, thickness, zero, zero, d_t, wavelength)
        if thermal is not None and thermal.laser_drift_sigma_pm > 0:
            line = _laser_drift_nm(seed, chip, thermal.laser_drift_sigma_pm, fp.channels_nm.size)
            residual = residual - line[fp.channel]
    residual = residual.reshape(fp.shape)
    sample = ChipSample(chip, seed, None, residual[..., 0], residual[..., 1], power_w, out_of_range, lock_s,
                        shift_nm=np.reshape(shift, fp.shape), grid_offset_nm=grid_offset,
                        kappa2_in=kappa2[0], kappa2_drop=kappa2[1], common_mode_dt_k=cm_dt,
                        common_mode_power_w=cm_power, eo_shift_nm=eo_shift)
    if coefficients:
        sample = dataclasses.replace(sample, coefficients=xnor_cell.coefficients(sample))
    return sample


@dataclass(frozen=True, eq=False)
class BankTuning:
    """Steps 1-3 of the pipeline on whole banks of several chips (:func:`sample_banks`).

    ``chips``: the chip indices (run ``seed``); ``banks``: bank indices of the floorplan (bank b
    = the ``bank_size`` rings ``b*bank_size ... (b+1)*bank_size - 1``, i.e. unit ``b // M``, VDU
    ``b % M``); ``rings``: their floorplan ring indices, in that order; ``shift_nm``: each sampled
    ring's resonance shift before tuning, (n_chips, n_rings); per chip (n_chips,):
    ``tuning_power_w`` (EO + TO of the sampled rings), ``rings_out_of_range``,
    ``common_mode_dt_k`` and ``common_mode_power_w`` (as in :class:`ChipSample`).
    """

    seed: int
    chips: tuple[int, ...]
    banks: np.ndarray
    rings: np.ndarray
    shift_nm: np.ndarray
    tuning_power_w: np.ndarray
    rings_out_of_range: np.ndarray
    common_mode_dt_k: np.ndarray
    common_mode_power_w: np.ndarray


def stratified_banks(floorplan: Floorplan, n_banks: int) -> np.ndarray:
    """Indices (ascending) of at most ``n_banks`` distinct banks (2N rings along one VDU bus;
    bank b is unit ``b // M``, VDU ``b % M``) spread over the die.

    Every bank when the die has no more than ``n_banks``. Otherwise a gx x gy lattice of target
    points spans the banks' centres (x: a bank's mean ring x; y: its bus) from edge to edge, both
    ends included, gx/gy about the die's aspect ratio over its unit columns and VDU rows, gx·gy
    <= ``n_banks``; each target takes the nearest bank not yet taken (Euclidean distance on the
    die, the four corner targets first, lowest index on a tie): gx·gy banks (16 of 16 on a square
    die, 36 of 40 on 6 x 6). A target beyond a partial
    last row of units takes a real bank near it. With gx, gy >= 2 the corner banks are kept and
    the subset spans the die's bounding box of ring positions (module docstring); the interior
    targets sample the middle. Deterministic: a function of the floorplan only.
    """
    if not isinstance(floorplan, Floorplan):
        raise TypeError(f"floorplan must be an accel.floorplan.Floorplan, got {type(floorplan).__name__}")
    n_banks = check_int("n_banks", n_banks, lo=1)
    bank_size = 2 * floorplan.shape[2]
    total = floorplan.n_rings // bank_size
    if n_banks >= total:
        return np.arange(total)
    centre = np.column_stack([floorplan.x_um.reshape(-1, bank_size).mean(axis=1),
                              floorplan.y_um.reshape(-1, bank_size)[:, 0]])
    n_cols, n_rows = (np.unique(np.round(centre[:, i], 6)).size for i in (0, 1))
    lo, hi = centre.min(axis=0), centre.max(axis=0)
    extent = hi - lo
    aspect = extent[0] / extent[1] if extent[1] > 0 else math.inf
    gx = int(min(n_cols, max(1, round(math.sqrt(n_banks * aspect))))) if math.isfinite(aspect) else min(n_cols, n_banks)
    gy = int(min(n_rows, max(1, n_banks // gx)))
    gx = int(min(n_cols, max(1, n_banks // gy)))
    tx, ty = np.linspace(lo[0], hi[0], gx), np.linspace(lo[1], hi[1], gy)
    targets = np.stack(np.meshgrid(tx, ty, indexing="ij"), axis=-1).reshape(gx, gy, 2)
    corners = {(0, 0), (gx - 1, 0), (0, gy - 1), (gx - 1, gy - 1)}
    order = sorted(corners) + [(i, j) for i in range(gx) for j in range(gy) if (i, j) not in corners]
    free = np.ones(total, bool)
    for i, j in order:
        dist = np.where(free, np.sum((centre - targets[i, j]) ** 2, axis=1), np.inf)
        free[int(np.argmin(dist))] = False
    return np.flatnonzero(~free)


def sample_banks(config: AcceleratorConfig, floorplan: Floorplan, tuner, *, seed: int, chips, banks,
                 conditions: Conditions | None = None) -> BankTuning:
    """Steps 1-3 (variation, shift, tuning) of chips ``chips`` of run ``seed`` on the banks
    ``banks`` (indices into ``floorplan``, the full configuration's: positions set the variation)
    under ``conditions`` (None: the preset's); all chips in one tuning solve (``tuner.tune``), each
    chip its own row, so its results do not depend on the other chips. Chip ``k`` draws from
    ``photonics.variation.chip_seed_sequence(seed, k)`` only (module docstring: which values equal
    the full-die chip's). ``conditions.tuning.chip_budget_w`` applies to the sampled rings of each
    chip as given (a caller sampling part of a die scales it). Tuning off: power 0, rings more than
    half a linewidth from their channel counted as out of range, as in :func:`sample_chip`.
    """
    seed = check_seed("seed", seed)
    if isinstance(chips, (str, bytes)) or not hasattr(chips, "__iter__"):
        raise TypeError(f"chips must be an iterable of chip indices >= 0, got {type(chips).__name__} {chips!r}")
    chip_list = tuple(check_int("chips[]", c, lo=0) for c in chips)
    if not chip_list:
        raise ValueError("chips must hold at least one chip index >= 0, got an empty iterable")
    if conditions is not None and not isinstance(conditions, Conditions):
        raise TypeError(f"conditions must be an accel.conditions.Conditions or None, got {type(conditions).__name__}")
    fp = floorplan
    bank_size = 2 * fp.shape[2]
    total = fp.n_rings // bank_size
    bank_idx = np.array(banks)
    if bank_idx.ndim != 1 or bank_idx.size == 0 or not np.issubdtype(bank_idx.dtype, np.integer):
        raise ValueError(f"banks must be a non-empty 1-D array of bank indices, got {banks!r}")
    if bank_idx.min() < 0 or bank_idx.max() >= total:
        raise ValueError(f"banks={bank_idx.tolist()} is out of range; allowed: indices in [0, {total - 1}] "
                         f"({total} banks of {bank_size} rings)")
    rings = (bank_idx[:, None] * bank_size + np.arange(bank_size)[None, :]).ravel()
    resolved = (Conditions() if conditions is None else conditions).resolve(config)
    variation, tuning = resolved.variation, resolved.tuning
    lam = config.wavelength.center_wavelength_nm
    act, weight = config.activation_ring.design(lam), config.weight_ring.design(lam)
    is_act = fp.role[rings] == 0
    fsr = np.where(is_act, act.fsr_nm, weight.fsr_nm)
    width = np.where(is_act, config.activation_ring.width_nm, config.weight_ring.width_nm)
    thickness = np.where(is_act, config.activation_ring.thickness_nm, config.weight_ring.thickness_nm)
    wavelength = fp.channels_nm[fp.channel[rings]]
    n_chips = len(chip_list)
    if variation is False:
        shift = np.zeros((n_chips, rings.size))
    else:
        fab = variation.fab or None
        if fab is not None and fab.sigma_gap_nm > 0:  # gaps are their own stream and do not tune: not drawn
            fab = dataclasses.replace(fab, sigma_gap_nm=0.0)
        cv = _variation.sample_chips(fp.xy_um[rings], chip_list, seed, fab=fab, thermal=variation.thermal or None)
        shift = _shift_nm(config, variation, cv, width, thickness, wavelength)
    zeros = np.zeros(n_chips)
    if tuning is False:
        residual = shift - fsr * np.round(shift / fsr)
        fwhm = np.where(is_act, act.fwhm_nm, weight.fwhm_nm)
        power, out_of_range = zeros, np.sum(np.abs(residual) > fwhm / 2, axis=-1)
        cm_dt, cm_power = zeros, zeros
    else:
        dldT = None
        if tuning.common_mode == "tec":
            zero = np.zeros(rings.size)
            dldT = _variation.resonance_shift_nm(width, thickness, zero, zero, 1.0, wavelength)
        res = tuner.tune(shift, fsr_nm=fsr, model=tuning, dlambda_dT_nm_per_K=dldT)
        power = np.asarray(res.total_power_w, dtype=float).reshape(n_chips)
        out_of_range = np.sum(res.unreachable, axis=-1)
        cm_dt = np.asarray(res.common_mode_dt_k, dtype=float).reshape(n_chips)
        cm_power = np.asarray(res.common_mode_power_w, dtype=float).reshape(n_chips)
    for arr in (bank_idx, rings, shift, power, out_of_range, cm_dt, cm_power):
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    return BankTuning(seed, chip_list, bank_idx, rings, shift, power, np.asarray(out_of_range), cm_dt, cm_power)
