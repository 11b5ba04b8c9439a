"""Fabrication and thermal variation of every ring on a die, sampled chip by chip.

Width and thickness deviations of a ring at (x, y) µm on the die are the sum of four
independent terms (each with its own width and thickness sigma, width and thickness
mutually independent):

1. wafer-level systematic surface, evaluated at the ring's absolute wafer position
   (die origin on a 150 mm wafer + ring position): a radial bowl plus a linear tilt;
2. die-to-die offset (one Gaussian number per chip);
3. intra-die Gaussian random field with the squared-exponential kernel
   ρ(d) = exp(−d²/(2ℓ²)), ℓ = ``corr_length_um`` (ρ(ℓ) = e^(−1/2) ≈ 0.61). Some tools write
   the kernel as exp(−2d²/ℓ'²) (docs/references.md §3); that ℓ' equals 2ℓ here;
4. uncorrelated per-ring Gaussian term.

Temperature: chip ambient offset plus a linear on-chip gradient of random direction.
Resonance shift: first order in the waveguide sensitivities, Δλ = dλ/dw·dw + dλ/dt·dt + dλ/dT·dT.

Coupling gaps: each ring's input and drop coupler gaps deviate by independent
N(0, ``sigma_gap_nm``) draws (``ChipVariation.dgap_in_nm`` / ``dgap_drop_nm``), which
``photonics.coupler`` turns into per-ring κ². Independent per coupler: the within-die width
spread of the presets (σ ≈ 0.2 nm local) says nothing about gap printing, whose error at a
~200 nm gap is dominated by local proximity and etch effects of each coupler; the part of the
gap error that follows the waveguide width (a width bias Δw narrows both facing edges, g → g − Δw)
is not modelled.

Randomness: chip ``k`` draws only from ``chip_seed_sequence(seed, k)``, one child stream per
group of terms (spawn keys (k, 0), (k, 1), (k, 2), (k, 3) for the coupling gaps; other modules
must use other keys), with
fixed-size draws per stream, so any subset of chips reproduces the full run exactly and
switching one level off leaves the others' numbers unchanged.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import sparse

from photonics import waveguide
from photonics.validation import Parameters, as_float_array, check_int, check_range, check_seed, check_xy_um, param

__all__ = [
    "FabricationModel",
    "ThermalModel",
    "ChipVariation",
    "chip_seed_sequence",
    "sample_chip",
    "sample_chips",
    "resonance_shift_nm",
]

# Level split (docs/references.md §3). Totals: the resonance spread of the layout-aware Monte
# Carlo defaults σ_w = 5 nm, σ_t = 2 nm (after Lu et al. 2017) at the 500 nm reference
# (dλ/dw 0.58, dλ/dt 1.37 nm/nm, docs/references.md §2): σ ≈ 3.99 nm, i.e. ±2σ ≈ ±8 nm, the
# ±1 THz cross-wafer spread of Zortman 2010 (read as ±, as in Chrostowski & Hochberg, Silicon
# Photonics Design, ch. 11). Split between width and thickness 1:1, as Zortman 2010 extracts
# them ("about ±5 nm in width and in thickness"), not all in width: σ_w = σ_t =
# 3.99/√(0.58² + 1.37²) = 2.68 nm. Thickness moves the 500 and 800 nm rings alike (dλ/dt 1.38
# vs 1.39 nm/nm) and width does not (0.59 vs 0.16), so the split sets ROBIN's differential shift.
# Each level keeps its resonance σ at the reference, with the same 1:1 split: die-to-die
# 0.33 nm and local (field + per-ring) 0.17 nm as in accelerator variation studies (the field
# and ring terms in the old 0.14 : 0.10 nm ratio); a local σ of 0.17 nm spans ≈5σ ≈ 0.84 nm
# peak-to-peak over ~100 devices, the within-die spread of Zortman 2010. The wafer systematic
# term takes the rest of the totals.
_SIGMA_W_TOTAL_NM = _SIGMA_T_TOTAL_NM = 2.68
_W_DIE = _T_DIE = 0.22
_W_FIELD = _T_FIELD = 0.095
_W_RING = _T_RING = 0.066
_W_WAFER = math.sqrt(_SIGMA_W_TOTAL_NM**2 - _W_DIE**2 - _W_FIELD**2 - _W_RING**2)
_T_WAFER = math.sqrt(_SIGMA_T_TOTAL_NM**2 - _T_DIE**2 - _T_FIELD**2 - _T_RING**2)

# Intra-die field sampling: grid step ℓ/12 (bilinear interpolation, variance renormalised);
# torus period >= 13ℓ so the wrapped kernel is below exp(-21) ≈ 1e-9.
_GRID_STEPS_PER_CORR = 12
_WRAP_CORR_LENGTHS = 13.0
_MAX_GRID_POINTS = 1 << 22  # 64 MB per complex grid

# Child streams of a chip's SeedSequence: fixed-size chip-level draws (wafer, die, thermal),
# the intra-die field, the per-ring term.
_S_CHIP, _S_FIELD, _S_RING, _S_GAP = range(4)


@dataclass(frozen=True)
class FabricationModel(Parameters):
    """Width/thickness variation per level (nm) and intra-die correlation.

    Defaults (docs/references.md §3; derivation in the module source): totals σ_w = σ_t =
    2.68 nm — the 3.99 nm resonance σ at 500 nm of the layout-aware Monte Carlo defaults
    σ_w 5 / σ_t 2 nm (Lu et al., Opt. Express 25, 9712, 2017), split 1:1 between width and
    thickness as Zortman et al. (Opt. Express 18, 23598, 2010) extract them — as die-to-die
    0.22 nm, field 0.095 nm, per-ring 0.066 nm (width and thickness each), the rest
    wafer-level: at 500 nm width that is resonance σ 0.33 nm die-to-die, 0.17 nm local
    (accelerator studies), ≈3.97 nm wafer (±2σ ≈ ±8 nm ≈ ±1 THz, Zortman 2010).

    ``corr_length_um`` ℓ (4.5 mm, Lu et al. 2017) is the length in the field kernel
    ρ(d) = exp(−d²/(2ℓ²)) — not the exp(−2d²/ℓ²) convention of some tools.

    Wafer systematic term at normalised wafer position (u, v) = (X, Y)/R, R = diameter/2:
    σ·[±√(12 f)·(u² + v² − ½) + √(4(1 − f))·(u cos θ + v sin θ)], f = ``wafer_bowl_fraction``;
    bowl sign and tilt direction θ are random per chip (a fresh wafer), independently for
    width and thickness. For a die uniform over the wafer disk its σ is exactly the level σ.
    ``die_xy_mm`` fixes the die origin on the wafer (mm from the centre); ``None`` draws it
    uniformly over the wafer disk for every chip.

    ``sigma_gap_nm``: σ of the input- and drop-coupler gap deviations of every ring (module
    docstring), drawn from their own stream, so width/thickness draws do not depend on it;
    default 2 nm (assumption, as the presets: no gap data in docs/references.md; 0 = off).

    An accelerator's model is its preset's ``[variation]`` table (``accel.config``: every field
    but ``die_xy_mm``); these defaults serve standalone device studies.
    """

    sigma_w_wafer_nm: float = param("[0, inf)", unit="nm", default=_W_WAFER, doc="width σ, wafer systematic surface")
    sigma_w_die_nm: float = param("[0, inf)", unit="nm", default=_W_DIE, doc="width σ, die-to-die offset")
    sigma_w_field_nm: float = param("[0, inf)", unit="nm", default=_W_FIELD, doc="width σ, intra-die correlated field")
    sigma_w_ring_nm: float = param("[0, inf)", unit="nm", default=_W_RING, doc="width σ, uncorrelated per ring")
    sigma_t_wafer_nm: float = param("[0, inf)", unit="nm", default=_T_WAFER, doc="thickness σ, wafer systematic surface")
    sigma_t_die_nm: float = param("[0, inf)", unit="nm", default=_T_DIE, doc="thickness σ, die-to-die offset")
    sigma_t_field_nm: float = param("[0, inf)", unit="nm", default=_T_FIELD, doc="thickness σ, intra-die correlated field")
    sigma_t_ring_nm: float = param("[0, inf)", unit="nm", default=_T_RING, doc="thickness σ, uncorrelated per ring")
    corr_length_um: float = param("(0, inf)", unit="um", default=4500.0, doc="ℓ of the field kernel exp(−d²/(2ℓ²))")
    wafer_diameter_mm: float = param("(0, inf)", unit="mm", default=150.0, doc="wafer diameter")
    wafer_bowl_fraction: float = param("[0, 1]", default=0.5, doc="share of the wafer variance in the radial bowl (rest: tilt)")
    sigma_gap_nm: float = param("[0, 50]", unit="nm", default=2.0,
                                doc="σ of each coupler's gap deviation, independent per ring and coupler (0: off)")
    die_xy_mm: tuple[float, float] | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.die_xy_mm is not None:
            xy = as_float_array("die_xy_mm", self.die_xy_mm)
            if xy.shape != (2,):
                raise ValueError(f"die_xy_mm must be None or an (x, y) pair in mm, got shape {xy.shape}")
            radius = self.wafer_diameter_mm / 2
            if math.hypot(*xy) > radius:
                raise ValueError(f"die_xy_mm={tuple(xy)} is out of range; allowed: within the wafer, |(x, y)| <= {radius} mm")
            object.__setattr__(self, "die_xy_mm", (float(xy[0]), float(xy[1])))

    @property
    def sigma_w_total_nm(self) -> float:
        """Total width σ over all levels (nm)."""
        return math.sqrt(self.sigma_w_wafer_nm**2 + self.sigma_w_die_nm**2 + self.sigma_w_field_nm**2 + self.sigma_w_ring_nm**2)

    @property
    def sigma_t_total_nm(self) -> float:
        """Total thickness σ over all levels (nm)."""
        return math.sqrt(self.sigma_t_wafer_nm**2 + self.sigma_t_die_nm**2 + self.sigma_t_field_nm**2 + self.sigma_t_ring_nm**2)

    def correlation(self, distance_um):
        """Intra-die field correlation ρ(d) = exp(−d²/(2ℓ²))."""
        d = check_range("distance_um", distance_um, 0.0)
        return np.exp(-0.5 * (np.asarray(d) / self.corr_length_um) ** 2)


@dataclass(frozen=True)
class ThermalModel(Parameters):
    """Chip temperature offset (K) = ambient offset + linear on-chip gradient.

    Ambient offset ~ N(``ambient_mean_K``, ``ambient_sigma_K``) at the centre of the rings'
    bounding box; gradient vector with independent N(0, ``gradient_sigma_K_per_mm``)
    components (random direction), so two points d mm apart differ by σ·d K along any
    direction. docs/references.md gives no figures: defaults 1 K (TEC-stabilised package) and
    0.5 K/mm (a few K across a multi-mm die) are assumptions to override. An accelerator's
    model is its preset's ``[thermal]`` table (``accel.config``).

    After the one-time lock (open loop, applied by ``accel.chip``): the ambient temperature
    moves by N(0, ``post_lock_drift_sigma_K``) per chip, uniformly over the die, and each laser
    line by N(0, ``laser_drift_sigma_pm``) per channel and chip. Defaults (as the presets,
    docs/references.md §7): 0.01 K, the ±0.01 K hold of a butterfly TEC read as σ, and 1 pm,
    a DFB line's 0.1 nm/K times that hold; 0 = off.
    """

    ambient_mean_K: float = param(unit="K", default=0.0, doc="mean ambient temperature offset")
    ambient_sigma_K: float = param("[0, inf)", unit="K", default=1.0, doc="chip-to-chip σ of the ambient offset")
    gradient_sigma_K_per_mm: float = param("[0, inf)", unit="K/mm", default=0.5, doc="σ of each on-chip gradient component")
    post_lock_drift_sigma_K: float = param("[0, 100]", unit="K", default=0.01,
                                           doc="σ of the ambient change after the one-time lock (rings not re-locked)")
    laser_drift_sigma_pm: float = param("[0, 1e4]", unit="pm", default=1.0,
                                        doc="σ of each laser line's wander after the lock, per channel and chip")


@dataclass(frozen=True)
class ChipVariation:
    """Per-ring deviations of one chip (shape (n_rings,)) or many (shape (n_chips, n_rings)).

    ``die_xy_mm``: die origin on its wafer, shape (2,) or (n_chips, 2). ``dgap_in_nm`` /
    ``dgap_drop_nm``: input / drop coupler gap deviations, shaped like ``dw_nm``, or None when
    ``sigma_gap_nm`` is 0.
    """

    dw_nm: np.ndarray
    dt_nm: np.ndarray
    dT_K: np.ndarray
    die_xy_mm: np.ndarray
    dgap_in_nm: np.ndarray | None = None
    dgap_drop_nm: np.ndarray | None = None


def chip_seed_sequence(seed: int, chip: int) -> np.random.SeedSequence:
    """SeedSequence of chip ``chip``: equal to ``SeedSequence(seed).spawn(chip + 1)[chip]``."""
    seed = check_seed("seed", seed)
    chip = check_int("chip", chip, lo=0)
    return np.random.SeedSequence(seed, spawn_key=(chip,))


def _rng(seed: int, chip: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chip, stream)))


class _FieldSampler:
    """Unit-variance Gaussian field with kernel exp(−d²/(2ℓ²)) at fixed ring positions.

    Circulant embedding on a grid of step h = ℓ/12 and period >= max(2·extent, 13ℓ), FFT,
    then bilinear interpolation to the rings (a sparse n_rings x grid matrix). Grid-node
    covariances equal the kernel up to the wrap (< 1e-9); each ring's interpolated variance
    is divided out so marginals are exactly 1; the remaining correlation error between rings
    is O((h/ℓ)²) ≈ 1e-3. One complex FFT yields two independent fields (width, thickness).
    """

    def __init__(self, xy_um: np.ndarray, corr_length_um: float):
        ell = corr_length_um
        h = ell / _GRID_STEPS_PER_CORR
        lo = xy_um.min(axis=0)
        extent = xy_um.max(axis=0) - lo
        m = np.floor(extent / h).astype(int) + 2  # grid nodes spanning the rings
        n = [sfft.next_fast_len(int(max(2 * mi, math.ceil(_WRAP_CORR_LENGTHS * ell / h)))) for mi in m]
        if n[0] * n[1] > _MAX_GRID_POINTS:
            raise ValueError(
                f"corr_length_um={ell} is too short for a die extent of {tuple(float(e) for e in extent)} um (field grid "
                f"{n[0]}x{n[1]} > {_MAX_GRID_POINTS} points); allowed: about corr_length_um >= "
                f"{ell * math.sqrt(n[0] * n[1] / _MAX_GRID_POINTS):.4g} um for this floorplan"
            )
        self.shape = (n[0], n[1])
        sqrt_eig = []
        for ni in n:
            k = np.arange(ni)
            c = np.exp(-0.5 * (h * np.minimum(k, ni - k) / ell) ** 2)
            eig = np.clip(np.fft.fft(c).real, 0.0, None)
            sqrt_eig.append(np.sqrt(eig / ni))
        sqrt_eig = np.outer(*sqrt_eig).ravel()
        # the Gaussian spectrum decays fast: modes with amplitude below 1e-9 of the largest
        # (together < 1e-10 of the variance) are skipped, no normals drawn for them
        self.modes = np.flatnonzero(sqrt_eig > 1e-9 * sqrt_eig.max())
        self.mode_scale = sqrt_eig[self.modes]
        g = (xy_um - lo) / h
        i0 = np.minimum(np.floor(g).astype(np.int64), m - 2)
        f = g - i0
        w = np.stack([(1 - f[:, 0]) * (1 - f[:, 1]), f[:, 0] * (1 - f[:, 1]), (1 - f[:, 0]) * f[:, 1], f[:, 0] * f[:, 1]])
        r1 = math.exp(-0.5 / _GRID_STEPS_PER_CORR**2)
        r2 = r1 * r1
        var = (w**2).sum(0) + 2 * r1 * (w[0] * w[1] + w[0] * w[2] + w[1] * w[3] + w[2] * w[3]) + 2 * r2 * (w[0] * w[3] + w[1] * w[2])
        w = w / np.sqrt(var)
        base = i0[:, 0] * n[1] + i0[:, 1]
        index = np.stack([base, base + n[1], base + 1, base + n[1] + 1])
        rings = xy_um.shape[0]
        self.interp = sparse.csr_matrix((w.T.ravel(), index.T.ravel(), np.arange(0, 4 * rings + 1, 4)), shape=(rings, n[0] * n[1]))

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Two independent unit-variance field realisations at the rings."""
        spectrum = np.zeros(self.shape[0] * self.shape[1], dtype=np.complex128)
        spectrum[self.modes] = rng.standard_normal(2 * self.modes.size).view(np.complex128) * self.mode_scale
        y = sfft.fft2(spectrum.reshape(self.shape)).ravel()
        return self.interp @ y.real, self.interp @ y.imag

    def implied_correlation(self, i: int, j: int) -> float:
        """Correlation between rings i and j implied by the grid kernel and interpolation."""
        nx, ny = self.shape
        h_rel = 1.0 / _GRID_STEPS_PER_CORR
        row_i, row_j = self.interp.getrow(i), self.interp.getrow(j)
        out = 0.0
        for a, wa in zip(row_i.indices, row_i.data):
            for b, wb in zip(row_j.indices, row_j.data):
                (ax, ay), (bx, by) = divmod(int(a), ny), divmod(int(b), ny)
                dx = min(abs(ax - bx), nx - abs(ax - bx))
                dy = min(abs(ay - by), ny - abs(ay - by))
                out += wa * wb * math.exp(-0.5 * h_rel**2 * (dx * dx + dy * dy))
        return out


class _Layout:
    """Per-floorplan precomputation: polynomial basis [1, X, Y, X²+Y²] (mm) and field sampler."""

    def __init__(self, xy_um: np.ndarray, corr_length_um: float | None):
        self.n = xy_um.shape[0]
        xy_mm = xy_um * 1e-3
        self.basis = np.vstack([np.ones(self.n), xy_mm[:, 0], xy_mm[:, 1], (xy_mm**2).sum(1)])
        self.centre_mm = 0.5 * (xy_mm.min(axis=0) + xy_mm.max(axis=0))
        self.field = None if corr_length_um is None else _FieldSampler(xy_um, corr_length_um)


_LAYOUT_CACHE: dict = {}
_SENSITIVITY_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def _memoised(cache: dict, key, make, size: int):
    """``cache[key]``, built by ``make()`` on a miss; oldest entry dropped beyond ``size``."""
    with _CACHE_LOCK:
        value = cache.get(key)
    if value is None:
        value = make()
        with _CACHE_LOCK:
            if len(cache) >= size:
                cache.pop(next(iter(cache)))
            cache[key] = value
    return value


def _array_key(*arrays):
    return tuple((a.shape, hash(a.tobytes())) for a in arrays)


def _layout(xy_um: np.ndarray, corr_length_um: float | None) -> _Layout:
    return _memoised(_LAYOUT_CACHE, (_array_key(xy_um), corr_length_um), lambda: _Layout(xy_um, corr_length_um), 4)


def _check_models(fab, thermal) -> tuple[FabricationModel, ThermalModel]:
    fab = FabricationModel() if fab is None else fab
    thermal = ThermalModel() if thermal is None else thermal
    if not isinstance(fab, FabricationModel):
        raise TypeError(f"fab must be a FabricationModel or None, got {type(fab).__name__}")
    if not isinstance(thermal, ThermalModel):
        raise TypeError(f"thermal must be a ThermalModel or None, got {type(thermal).__name__}")
    return fab, thermal


def _wafer_coefficients(die_mm, radius_mm, sigma, bowl_fraction, sign, theta) -> np.ndarray:
    """Coefficients on [1, X, Y, X²+Y²] of the wafer surface for a die at ``die_mm``."""
    dx, dy = die_mm
    r2 = radius_mm * radius_mm
    b = sign * math.sqrt(12.0 * bowl_fraction)
    t = math.sqrt(4.0 * (1.0 - bowl_fraction))
    c, s = math.cos(theta), math.sin(theta)
    return sigma * np.array([
        b * ((dx * dx + dy * dy) / r2 - 0.5) + t * (dx * c + dy * s) / radius_mm,
        b * 2 * dx / r2 + t * c / radius_mm,
        b * 2 * dy / r2 + t * s / radius_mm,
        b / r2,
    ])


def _sample_into(layout: _Layout, seed, chip, fab, thermal, out_w, out_t, out_T) -> np.ndarray:
    """Fill one chip's rows; returns the die origin on the wafer (mm)."""
    radius_mm = fab.wafer_diameter_mm / 2
    coef = np.zeros((3, 4))
    chip_rng = _rng(seed, chip, _S_CHIP)
    # 1. wafer systematic surface at the ring's absolute wafer position
    r = chip_rng.random(6)
    if fab.die_xy_mm is None:
        rad, ang = radius_mm * math.sqrt(r[0]), 2 * math.pi * r[1]
        die = np.array([rad * math.cos(ang), rad * math.sin(ang)])
    else:
        die = np.array(fab.die_xy_mm)
    for row, sigma, u_sign, u_theta in ((0, fab.sigma_w_wafer_nm, r[2], r[3]), (1, fab.sigma_t_wafer_nm, r[4], r[5])):
        coef[row] = _wafer_coefficients(die, radius_mm, sigma, fab.wafer_bowl_fraction, 1.0 if u_sign < 0.5 else -1.0, 2 * math.pi * u_theta)
    # 2. die-to-die offset
    z = chip_rng.standard_normal(2)
    coef[0, 0] += fab.sigma_w_die_nm * z[0]
    coef[1, 0] += fab.sigma_t_die_nm * z[1]
    # thermal: ambient offset at the bounding-box centre + linear gradient
    z = chip_rng.standard_normal(3)
    g = thermal.gradient_sigma_K_per_mm * z[1:]
    coef[2, :3] = thermal.ambient_mean_K + thermal.ambient_sigma_K * z[0] - g @ layout.centre_mm, g[0], g[1]
    smooth = np.einsum("ij,jn->in", coef, layout.basis)  # no BLAS: threaded BLAS stalls on small products
    # 3. intra-die correlated field
    if layout.field is not None:
        fw, ft = layout.field.sample(_rng(seed, chip, _S_FIELD))
        smooth[0] += fab.sigma_w_field_nm * fw
        smooth[1] += fab.sigma_t_field_nm * ft
    # 4. uncorrelated per-ring term
    z = _rng(seed, chip, _S_RING).standard_normal((2, layout.n))
    np.add(smooth[0], fab.sigma_w_ring_nm * z[0], out=out_w)
    np.add(smooth[1], fab.sigma_t_ring_nm * z[1], out=out_t)
    out_T[:] = smooth[2]
    return die


def _sample_gaps(n: int, seed, chip, fab) -> np.ndarray | None:
    """(2, n) input/drop gap deviations of one chip from its own stream, or None when off."""
    if fab.sigma_gap_nm == 0.0:
        return None
    return fab.sigma_gap_nm * _rng(seed, chip, _S_GAP).standard_normal((2, n))


def _prepare(xy_um, fab, thermal):
    xy = check_xy_um("xy_um", xy_um)
    fab, thermal = _check_models(fab, thermal)
    has_field = fab.sigma_w_field_nm > 0 or fab.sigma_t_field_nm > 0
    return _layout(xy, fab.corr_length_um if has_field else None), fab, thermal


def sample_chip(xy_um, *, seed: int, chip: int, fab: FabricationModel | None = None, thermal: ThermalModel | None = None) -> ChipVariation:
    """Width/thickness (nm) and temperature (K) deviations of every ring of chip ``chip``.

    ``xy_um``: ring positions on the die, shape (n_rings, 2). Draws come only from
    ``chip_seed_sequence(seed, chip)``; the result equals row ``chip`` of :func:`sample_chips`.
    """
    seed = check_seed("seed", seed)
    chip = check_int("chip", chip, lo=0)
    layout, fab, thermal = _prepare(xy_um, fab, thermal)
    w, t, T = np.empty(layout.n), np.empty(layout.n), np.empty(layout.n)
    die = _sample_into(layout, seed, chip, fab, thermal, w, t, T)
    gaps = _sample_gaps(layout.n, seed, chip, fab)
    return ChipVariation(w, t, T, die, *((None, None) if gaps is None else gaps))


def sample_chips(xy_um, chips: Iterable[int], seed: int, *, fab: FabricationModel | None = None, thermal: ThermalModel | None = None) -> ChipVariation:
    """:func:`sample_chip` for each chip index in ``chips``; arrays of shape (n_chips, n_rings).

    Memory is the output only (3 float64 arrays): 1000 chips x 40,000 rings = 0.96 GB.
    """
    seed = check_seed("seed", seed)
    if isinstance(chips, (str, bytes)) or not isinstance(chips, Iterable):
        raise TypeError(f"chips must be an iterable of chip indices >= 0, got {type(chips).__name__} {chips!r}")
    chip_list = [check_int("chips[]", c, lo=0) for c in chips]
    if not chip_list:
        raise ValueError("chips must hold at least one chip index >= 0, got an empty iterable")
    layout, fab, thermal = _prepare(xy_um, fab, thermal)
    shape = (len(chip_list), layout.n)
    w, t, T = np.empty(shape), np.empty(shape), np.empty(shape)
    die = np.empty((len(chip_list), 2))
    gaps = None if fab.sigma_gap_nm == 0.0 else np.empty((2,) + shape)
    for k, chip in enumerate(chip_list):
        die[k] = _sample_into(layout, seed, chip, fab, thermal, w[k], t[k], T[k])
        if gaps is not None:
            gaps[:, k] = _sample_gaps(layout.n, seed, chip, fab)
    return ChipVariation(w, t, T, die, *((None, None) if gaps is None else gaps))


def _waveguide_sensitivities(width, thickness, wavelength):
    """``photonics.waveguide.sensitivities``, memoised on the (array) inputs for Monte Carlo loops."""
    return _memoised(_SENSITIVITY_CACHE, _array_key(width, thickness, wavelength),
                     lambda: waveguide.sensitivities(width, thickness, wavelength), 8)


def resonance_shift_nm(width_nm, thickness_nm, dw_nm, dt_nm, dT_K, wavelength_nm=1550.0, *, sensitivities=None):
    """First-order resonance shift (nm, positive = red): dλ/dw·dw + dλ/dt·dt + dλ/dT·dT.

    Sensitivities are evaluated at the nominal (width_nm, thickness_nm, wavelength_nm) with
    ``photonics.waveguide.sensitivities``, or taken from ``sensitivities`` (any object with
    ``dlambda_dw_nm_per_nm``, ``dlambda_dt_nm_per_nm``, ``dlambda_dT_nm_per_K``); waveguide
    results are memoised on the nominal arrays, so a per-chip loop pays for them once. All
    arrays broadcast (e.g. per-ring nominal values against (n_chips, n_rings) deviations).
    """
    dw = as_float_array("dw_nm", dw_nm)
    dt = as_float_array("dt_nm", dt_nm)
    dT = as_float_array("dT_K", dT_K)
    nominal = [as_float_array(name, value) for name, value in (("width_nm", width_nm), ("thickness_nm", thickness_nm), ("wavelength_nm", wavelength_nm))]
    if sensitivities is None:
        sensitivities = _waveguide_sensitivities(*nominal)
    try:
        s_w = as_float_array("dlambda_dw_nm_per_nm", sensitivities.dlambda_dw_nm_per_nm)
        s_t = as_float_array("dlambda_dt_nm_per_nm", sensitivities.dlambda_dt_nm_per_nm)
        s_T = as_float_array("dlambda_dT_nm_per_K", sensitivities.dlambda_dT_nm_per_K)
    except AttributeError as exc:
        raise TypeError(f"sensitivities must have dlambda_dw_nm_per_nm, dlambda_dt_nm_per_nm, dlambda_dT_nm_per_K; got {type(sensitivities).__name__}") from exc
    try:
        shape = np.broadcast_shapes(dw.shape, dt.shape, dT.shape, s_w.shape, s_t.shape, s_T.shape)
    except ValueError as exc:
        raise ValueError(
            f"dw_nm {dw.shape}, dt_nm {dt.shape}, dT_K {dT.shape} and sensitivities {s_w.shape} must broadcast; "
            "allowed: shapes compatible under NumPy broadcasting (e.g. (n_rings,) with (n_chips, n_rings))"
        ) from exc
    out = s_w * dw + s_t * dt + s_T * dT
    return float(out) if shape == () else out
