"""One binary layer (or one ±1 pass) as the optical hardware computes it (helper of ``mapping.functional``).

A layer's dot products are split into chunks of ``N`` (one VDU readout each). With per-cell
coefficients ``c(a, w) = alpha + beta*a + gamma*w + delta*a*w`` a chunk readout is::

    r = s + e + n,   s = sum_j w_j a_j   (the ideal ±1 sum),
    e = sum_j w_dev_j a_j + bias,   w_dev = beta + (delta - 1) w,   bias = sum_j alpha + gamma w,

with ``n`` Gaussian receiver noise. ``r`` goes either to a comparator (one chunk, thresholded
layer; the reference sits half-way between the two popcount levels around the threshold) or
to an ADC whose outputs are summed digitally (every chunk of a ``digital`` geometry: the ±1
passes of a multi-bit layer, :mod:`mapping.functional.multibit`). Both give exactly the ideal
result whenever ``|e + n| < 1`` (half a level step), so the ideal sums are computed with one
plain conv/matmul and only readouts that can differ are evaluated cell by cell:

* ``|e| <= bound = sum_j |w_dev_j| + |bias|`` for every input, so a readout can differ only
  when ``|n| > 1 - bound``. For chunks with a small probability ``p`` of that, the readouts
  where it happens are drawn exactly (binomial count, uniform positions, noise from the
  Gaussian tail) and only those are evaluated ("sparse").
* Chunks with ``p > DENSE_PROBABILITY`` (large deviation or large noise) are evaluated for
  every readout ("dense"): ADC layers in one Numba kernel that gathers the inputs, quantises
  and sums the chunks, and gives a readout a noise draw of its own only when it lies near a
  code boundary (:mod:`mapping.functional.readout_noise`); comparator layers with a matmul and
  a Gaussian per readout.
  All paths sample the same distribution.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numba as nb
import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import ndtr, ndtri

from mapping.functional import readout_noise
from mapping.networks.layers import float_cut, passes_threshold

__all__ = [
    "DENSE_PROBABILITY", "LayerGeometry", "LayerCells", "Adc", "LazyInput", "ReadoutDraw", "ideal_sums", "decide",
    "decide_against", "draw_readouts", "apply_readouts", "decided_readouts", "hardware_sums", "rows_any",
]

#: Chunks whose readouts differ from the ideal with a probability above this are computed densely.
DENSE_PROBABILITY = 0.02
#: Bytes of float32 scratch per dense batch (bounds memory; fixed so results do not depend on RAM).
_DENSE_BATCH_BYTES = 128 * 2**20


@dataclass(frozen=True)
class LayerGeometry:
    """Chip-independent description of one binary layer, or one ±1 pass of a multi-bit layer.

    ``weight`` is (O, K) ±1 float32 in torch's flatten order; ``kernel`` is (C_in, kh, kw) for a
    conv and ``None`` for a linear layer; ``threshold`` (int64) / ``flip`` (bool) per output
    channel: output +1 iff ``s <= threshold`` (flip) or ``s >= threshold``; ``chunk`` is N.
    ``digital``: every chunk readout goes through the ADC and the digital sum is the result
    (the passes of multi-bit layers, :mod:`mapping.functional.multibit`, whose back end
    decides): no comparator even when K <= N; ``threshold``/``flip`` are None, and
    :func:`apply_readouts` marks the images whose sums differ.
    """

    name: str
    weight: torch.Tensor
    kernel: tuple[int, int, int] | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    pad_value: float
    threshold: torch.Tensor | None
    flip: torch.Tensor | None
    chunk: int
    digital: bool = False

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    @property
    def k(self) -> int:
        return self.weight.shape[1]

    @property
    def n_chunks(self) -> int:
        return -(-self.k // self.chunk)

    @property
    def comparator(self) -> bool:
        """True when one readout per output feeds the comparator directly (K <= N, not digital)."""
        return self.n_chunks == 1 and not self.digital

    def chunk_lengths(self) -> np.ndarray:
        """Cells used by each chunk, shape (C,)."""
        n = np.full(self.n_chunks, self.chunk, dtype=np.int64)
        n[-1] = self.k - self.chunk * (self.n_chunks - 1)
        return n

    @cached_property
    def padded_weight(self) -> torch.Tensor:
        """(O, C, N) weights with zeros in the unused cells of the last chunk."""
        o, k = self.weight.shape
        w = torch.zeros(o, self.n_chunks * self.chunk, dtype=torch.float32)
        w[:, :k] = self.weight
        return w.reshape(o, self.n_chunks, self.chunk)


@dataclass(frozen=True)
class LayerCells:
    """Per-chip view of a layer: deviation weights, chunk offsets, error bound, noise.

    ``w_dev`` (R, O, C, N) and ``bias`` (R, O, C) as in the module docstring (zero in unused
    cells), R = replicas: position ``l`` of an image is served by replica ``l % R``;
    ``bound`` (O, C) = max over replicas and inputs of ``|e|``; ``sigma`` (C,) noise std per
    readout (±1 units).
    """

    w_dev: torch.Tensor
    bias: torch.Tensor
    bound: np.ndarray
    sigma: np.ndarray

    @classmethod
    def from_coefficients(cls, geometry: LayerGeometry, coefficients, sigma) -> "LayerCells":
        """Build from per-cell (alpha, beta, gamma, delta): ``coefficients`` (R, O, C, N, 4) or (O, C, N, 4)."""
        coef = torch.as_tensor(coefficients, dtype=torch.float64)
        if coef.dim() == 4:
            coef = coef.unsqueeze(0)
        w = geometry.padded_weight.double()
        used = (w != 0).double()
        alpha, beta, gamma, delta = (coef[..., i] * used for i in range(4))
        w_dev = beta + (delta - used) * w
        bias = (alpha + gamma * w).sum(-1)
        bound = (w_dev.abs().sum(-1) + bias.abs()).amax(0).numpy()
        sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (geometry.n_chunks,)).copy()
        return cls(w_dev.float(), bias.float(), bound, sigma)

    @property
    def replicas(self) -> int:
        return self.w_dev.shape[0]

    @cached_property
    def kept(self) -> dict:
        """Work on these cells that the batches of one chip share (:func:`_dense_outputs`: the dense
        outputs' effective weights and the kernel's ``cells_reuse``), filled by the first batch."""
        return {}

    @cached_property
    def margin(self) -> np.ndarray:
        """(O, C) ``1 - bound``: noise beyond it may change a readout of the pair."""
        return 1.0 - self.bound

    @cached_property
    def tail_probability(self) -> np.ndarray:
        """(O, C) probability that a readout's noise exceeds :attr:`margin`
        (:func:`_tail_probability`), the same in every batch of a chip."""
        return _tail_probability(self.margin, self.sigma[None, :])

    @cached_property
    def arrays64(self) -> tuple[np.ndarray, np.ndarray]:
        """``w_dev`` and ``bias`` as float64 NumPy arrays (for the exact sparse evaluation)."""
        return self.w_dev.double().numpy(), self.bias.double().numpy()


@dataclass(frozen=True)
class Adc:
    """ADC reading one chunk: ``bits`` over the popcount range 0..N (``full_scale`` = N).

    With ``2**bits - 1 >= N`` one code per popcount level (exact for ideal cells); otherwise the
    step is ``N / (2**bits - 1)`` popcounts. The digital side knows each chunk's cell count
    ``n_c`` and maps the code back to the ±1 sum: ``value = code * lsb - n_c`` (lsb in sum units).
    """

    bits: int
    full_scale: int

    @property
    def levels(self) -> int:
        return 2**self.bits

    @property
    def lsb(self) -> float:
        return 2.0 * max(1.0, self.full_scale / (self.levels - 1))

    @property
    def exact(self) -> bool:
        return self.levels - 1 >= self.full_scale

    def quantize(self, r, n_c):
        """Digital ±1 sum for readout ``r`` of a chunk with ``n_c`` cells (torch or NumPy)."""
        lib = torch if isinstance(r, torch.Tensor) else np
        code = lib.clip(lib.round((r + n_c) / self.lsb), 0, self.levels - 1)
        return code * self.lsb - n_c


def _pad(geometry: LayerGeometry, a: torch.Tensor) -> torch.Tensor:
    ph, pw = geometry.padding
    if ph == 0 and pw == 0:
        return a
    return F.pad(a, (pw, pw, ph, ph), value=geometry.pad_value)


def ideal_sums(geometry: LayerGeometry, a: torch.Tensor) -> torch.Tensor:
    """Exact ±1 sums s = sum_k w_k a_k: (B, O, OH, OW) for a conv, (B, O) for a linear layer."""
    if geometry.kernel is None:
        return a @ geometry.weight.t()
    w4 = geometry.weight.reshape(geometry.out_features, *geometry.kernel)
    return F.conv2d(_pad(geometry, a), w4, stride=geometry.stride)


def decide(geometry: LayerGeometry, s: torch.Tensor) -> torch.Tensor:
    """Sign output (bool, True = +1) of sums ``s`` (float or integer dtype) against the folded
    thresholds (:func:`mapping.networks.layers.passes_threshold`)."""
    shape = (1, -1) + (1,) * (s.dim() - 2)
    return passes_threshold(s, geometry.threshold.reshape(shape), geometry.flip.reshape(shape))


def decide_against(geometry: LayerGeometry, s: torch.Tensor, ideal_plus: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`decide` on the float32 sums ``s`` (B, O, ...) and, per image, how many of its
    signs differ from ``ideal_plus`` (bool, the shape of ``s``): one pass over ``s`` instead of
    a comparison, an XOR, a second comparison and two reductions. Returns the signs and the int64
    (B,) counts; the signs are :func:`decide`'s to the bit (the same float32 comparison). Sums of
    another dtype or layout take :func:`decide` and a comparison."""
    if ideal_plus.shape != s.shape:
        raise ValueError(f"ideal_plus must have the shape of s {tuple(s.shape)}, got {tuple(ideal_plus.shape)}")
    if s.dtype != torch.float32 or not s.is_contiguous():
        plus = decide(geometry, s)
        return plus, (plus != ideal_plus).reshape(len(s), -1).sum(dim=1)
    plus = torch.empty(s.shape, dtype=torch.bool)
    counts = np.empty(s.shape[0], dtype=np.int64)
    lead = (s.shape[0], s.shape[1], -1)
    readout_noise.signs_against(s.numpy().reshape(lead), *_cut_flip(geometry),
                                ideal_plus.contiguous().numpy().reshape(lead), plus.numpy().reshape(lead), counts)
    return plus, torch.from_numpy(counts)


def _cut_flip(geometry: LayerGeometry) -> tuple[np.ndarray, np.ndarray]:
    """(cut float32, flip bool) per output: the sign is ``(s > cut) XOR flip`` for float32 sums."""
    return float_cut(geometry.threshold, geometry.flip, torch.float32).numpy(), geometry.flip.numpy()


def _comparator_references(geometry: LayerGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Threshold, flip and analog reference per output: half-way between the popcount levels
    (same parity as K) on either side of the threshold."""
    t = geometry.threshold.numpy().astype(np.float64)
    flip = geometry.flip.numpy()
    k = geometry.k
    parity_ok = np.mod(t + k, 2) == 0
    level_hi = np.where(parity_ok, t, t + 1)  # smallest level >= t
    level_lo = np.where(parity_ok, t, t - 1)  # largest level <= t
    reference = np.where(flip, level_lo + 1, level_hi - 1)
    return t, flip, reference


def _readout_decision(r, reference, flip):
    return np.where(flip, r <= reference, r >= reference)


def _forced_sum(t, flip, out_pm):
    """A sum on the side of the threshold that gives output ``out_pm`` (bool)."""
    return np.where(out_pm, t, np.where(flip, t + 1, t - 1))


@nb.njit(cache=True, parallel=True)
def _chunk_sums_kernel(a, base, offsets, out, chunk, rep, w, w_dev, bias, s_out, e_out):
    """Per readout i: s = Σ_j w·x and e = Σ_j w_dev·x + bias over the cells of its chunk, x the
    layer input ``a[base[i] + offsets[k]]`` of cell k (flat padded input; ``offsets[k] < 0``:
    unused cell, see :func:`_gather_indices`)."""
    n = w.shape[2]
    for i in nb.prange(base.size):
        o, c, r = out[i], chunk[i], rep[i]
        s = 0.0
        e = bias[r, o, c]
        for j in range(n):
            k = c * n + j
            if offsets[k] < 0:
                continue
            x = a[base[i] + offsets[k]]
            s += w[o, c, j] * x
            e += w_dev[r, o, c, j] * x
        s_out[i] = s
        e_out[i] = e


def _gather_indices(geometry: LayerGeometry, padded_shape: tuple, positions: int, out_w: int):
    """Offsets (C·N,) of each cell's input within one (padded) image, -1 for unused cells, and
    the base offset (L,) of each output position: cell k of position l of image b reads
    ``a.flat[b·image_size + base[l] + offsets[k]]``."""
    g = geometry
    k = np.arange(g.n_chunks * g.chunk)
    if g.kernel is None:
        return np.where(k < g.k, k, -1), np.zeros(1, dtype=np.int64)
    _, kh, kw = g.kernel
    hp, wp = padded_shape[-2:]
    ch, ky, kx = k // (kh * kw), (k // kw) % kh, k % kw
    offsets = np.where(k < g.k, (ch * hp + ky) * wp + kx, -1)
    l = np.arange(positions)
    return offsets, (l // out_w) * g.stride[0] * wp + (l % out_w) * g.stride[1]


@dataclass(frozen=True)
class LazyInput:
    """A layer input (B, ...) of known ``shape`` whose values ``make()`` builds only if some
    readout path reads them (:func:`apply_readouts`: not when the dense kernel has the input's
    kept sign bits, or ``plus``, and no sparse readout is drawn). ``plus``: optionally the
    input's signs (bool, True = +1, of ``shape``) when its values are the ±1 of those signs."""

    shape: tuple
    make: Callable[[], torch.Tensor]
    plus: torch.Tensor | None = None

    def values(self) -> torch.Tensor:
        """``make()``, checked against ``shape``."""
        made = self.make()
        if tuple(made.shape) != tuple(self.shape):
            raise ValueError(f"LazyInput.make returned shape {tuple(made.shape)}, not {tuple(self.shape)}")
        return made


class _Readouts:
    """Index arithmetic of the readouts of one layer on one batch."""

    def __init__(self, geometry: LayerGeometry, a: "torch.Tensor | LazyInput", s: torch.Tensor):
        self.g = geometry
        self.batch = a.shape[0]
        self.positions = 1 if geometry.kernel is None else s.shape[2] * s.shape[3]
        self.out_w = 1 if geometry.kernel is None else s.shape[3]
        self._input = a

    @cached_property
    def a(self) -> torch.Tensor:
        """The layer input, padded with ``pad_value`` for a conv."""
        x = self._input.values() if isinstance(self._input, LazyInput) else self._input
        return x if self.g.kernel is None else _pad(self.g, x)

    @property
    def sign_bits(self) -> np.ndarray | None:
        """The input's sign bits (uint8, flat, 1 = +1) when a :class:`LazyInput` carries them and
        the layer pads nothing (a linear layer), else None."""
        plus = self._input.plus if isinstance(self._input, LazyInput) else None
        if plus is None or self.g.kernel is not None or not plus.is_contiguous():
            return None
        return plus.view(torch.uint8).reshape(-1).numpy()

    @property
    def padded_shape(self) -> tuple:
        """The shape of :attr:`a` (without building it)."""
        shape = tuple(self._input.shape)
        if self.g.kernel is None:
            return shape
        ph, pw = self.g.padding
        return shape[:-2] + (shape[-2] + 2 * ph, shape[-1] + 2 * pw)

    @property
    def count(self) -> int:
        """Readouts per (output, chunk) pair."""
        return self.batch * self.positions

    @cached_property
    def gather(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_gather_indices` of this layer and batch (offsets per cell, base per position)."""
        return _gather_indices(self.g, self.padded_shape, self.positions, self.out_w)

    def chunk_sums(self, readout, out, chunk, rep, cells: "LayerCells") -> tuple[np.ndarray, np.ndarray]:
        """Ideal chunk sums ``s`` and deviations ``e`` (module docstring) of the given readouts."""
        arr = np.ascontiguousarray(self.a.numpy(), dtype=np.float32)
        offsets, position_base = self.gather
        base = (readout // self.positions) * arr[0].size + position_base[readout % self.positions]
        w_dev, bias = cells.arrays64
        s_out, e_out = np.empty(readout.size), np.empty(readout.size)
        _chunk_sums_kernel(arr.ravel(), base, offsets, out, chunk, rep, self.g.padded_weight.double().numpy(), w_dev, bias,
                           s_out, e_out)
        return s_out, e_out

    def replica(self, readout: np.ndarray, replicas: int) -> np.ndarray:
        """Replica serving each readout (its position within the image modulo ``replicas``)."""
        return (readout % self.positions) % replicas

    def scatter_index(self, readout: np.ndarray, out: np.ndarray):
        """Index tuple into ``s`` for readouts and output features."""
        b = torch.from_numpy(readout // self.positions)
        o = torch.from_numpy(out)
        if self.g.kernel is None:
            return b, o
        pos = readout % self.positions
        return b, o, torch.from_numpy(pos // self.out_w), torch.from_numpy(pos % self.out_w)


def _tail_probability(margin: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """P(|n| > margin) for n ~ N(0, sigma^2); 1 where margin <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(sigma > 0, 2.0 * ndtr(-margin / np.where(sigma > 0, sigma, 1.0)), 0.0)
    return np.where(margin <= 0, 1.0, p)


def _distinct_positions(rng: np.random.Generator, counts: np.ndarray, population: int) -> np.ndarray:
    """For each pair i, ``counts[i]`` distinct uniform draws from range(population) (concatenated):
    every draw that repeats an earlier one of its pair is drawn again, in index order, until none does."""
    pair_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pos = rng.integers(0, population, size=int(pair_start[-1]))
    seen = np.zeros((population + 63) // 64, dtype=np.uint64)  # one bit per position, clear between pairs
    dup = np.empty(pos.size, dtype=np.bool_)
    while _mark_repeats(pos, pair_start, seen, dup):
        pos[dup] = rng.integers(0, population, size=int(np.count_nonzero(dup)))
    return pos


@nb.njit(cache=True)
def _mark_repeats(pos, pair_start, seen, dup):
    """``dup[k]``: ``pos[k]`` equals an earlier draw of its pair (pairs are the ranges
    ``pair_start[i] .. pair_start[i + 1]``); returns True when some draw does. ``seen`` (a bit
    per position, all clear) is left clear."""
    found = False
    for i in range(pair_start.size - 1):
        for k in range(pair_start[i], pair_start[i + 1]):
            word, bit = pos[k] >> 6, np.uint64(1) << np.uint64(pos[k] & 63)
            dup[k] = (seen[word] & bit) != 0
            found |= dup[k]
            seen[word] |= bit
        for k in range(pair_start[i], pair_start[i + 1]):
            seen[pos[k] >> 6] = np.uint64(0)
    return found


@dataclass(frozen=True)
class ReadoutDraw:
    """Which readouts of a layer (on one batch) must be evaluated: ``counts`` (O*C,) sparse
    readouts per (output, chunk) pair, ``dense`` (O, C) pairs evaluated for every readout,
    ``margin`` (O, C) = 1 - bound (sparse readouts have noise beyond it); ``full``: the sums are
    all computed anew without the ideal sums (every pair of an ADC layer dense, and the dense
    kernel does not take the deviation path), so none is read from them."""

    counts: np.ndarray
    dense: np.ndarray
    margin: np.ndarray
    full: bool = False

    @property
    def empty(self) -> bool:
        """True when every readout gives the ideal result."""
        return not self.counts.any() and not self.dense.any()


def draw_readouts(geometry: LayerGeometry, cells: LayerCells, adc: Adc, readouts_per_pair: int,
                  rng: np.random.Generator, dense_probability: float = DENSE_PROBABILITY,
                  kept_input: bool = False) -> ReadoutDraw:
    """Draw the number of sparse readouts of every (output, chunk) pair (module docstring).

    ``kept_input``: the caller keeps the work on this layer input for more chips
    (``apply_readouts(..., reuse=...)``); where the dense readouts then take the frequent-pattern
    path (:func:`mapping.functional.readout_noise.takes_frequent_path`) and some output is dense,
    every output whose readouts may differ (p > 0) is: the path's cost per readout row is paid
    once for all its outputs, so they cost less there than their sparse readouts one by one."""
    margin = cells.margin
    p = cells.tail_probability
    if not geometry.comparator and not adc.exact:
        p = np.ones_like(p)
    dense = p > dense_probability
    if kept_input and not geometry.comparator and dense.any() and readout_noise.takes_frequent_path(
            geometry.chunk, cells.replicas, geometry.n_chunks, p.shape[0], readouts_per_pair, adc.levels, adc.lsb,
            geometry.chunk_lengths(), geometry.k):
        dense = p > 0.0
    if not geometry.comparator:  # an ADC layer evaluates dense outputs over all their chunks at once
        dense = np.repeat(dense.any(axis=1, keepdims=True), dense.shape[1], axis=1)
    counts = rng.binomial(readouts_per_pair, np.where(dense, 0.0, p).ravel())
    full = (not geometry.comparator and bool(dense.all()) and not readout_noise.takes_deviation_path(
        geometry.chunk, cells.replicas, geometry.n_chunks, dense.shape[0], readouts_per_pair, adc.levels, adc.lsb,
        geometry.chunk_lengths(), geometry.k))
    return ReadoutDraw(counts, dense, margin, full)


def apply_readouts(geometry: LayerGeometry, cells: LayerCells, draw: ReadoutDraw, a: "torch.Tensor | LazyInput",
                   s0: torch.Tensor, adc: Adc, rng: np.random.Generator, generator: torch.Generator,
                   known: torch.Tensor | None = None, overwrite: bool = False,
                   reuse: dict | None = None, layer_reuse: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Hardware sums given the ideal sums ``s0`` of input ``a`` (a tensor, or a
    :class:`LazyInput` made only if a readout path reads its values) and a :class:`ReadoutDraw`.

    Returns the float32 sums (same shape as ``s0``) and a bool (B,) marking the images where some
    output sign (some sum, for a ``digital`` geometry) differs from the ideal one. ADC layers:
    the digital sum of quantised chunk readouts. Comparator layers: the ideal sum, except where the analog comparator decided
    otherwise, where it is the nearest integer on the hardware's side of the threshold (so
    :func:`decide` gives the hardware output).

    ``known`` (bool (B,)): images already marked by the caller; their mark is not recomputed
    (returned False) and, when ``draw.full``, their rows of ``s0`` are not read at all.
    ``overwrite``: the sums are computed in ``s0`` itself (a copy the caller gives up, contiguous)
    instead of a new tensor; every image must be ``known`` (no mark is computed). With
    ``overwrite``, ``s0`` may also hold the ideal sums as stored (int16 or int32, contiguous, not
    written): the ADC kernel then starts from them where it writes every sum, with no float copy.
    ``reuse``: a dict the caller keeps for this very input ``a`` of this layer (chip after chip):
    the dense ADC kernel's work that depends on the input alone is kept in it
    (:func:`mapping.functional.readout_noise.adc_digital_sums`); ``layer_reuse``: a dict the
    caller keeps for every input of this layer (batch after batch), passed on to it likewise.
    """
    changed = torch.zeros(s0.shape[0], dtype=torch.bool)
    if overwrite and (known is None or not bool(known.all())):
        raise ValueError("overwrite=True needs every image known (known all True): the marks compare with s0")
    stored = s0.dtype in (torch.int16, torch.int32)
    if stored and not overwrite:
        raise ValueError(f"s0 of dtype {s0.dtype} (the stored ideal sums) needs overwrite=True; allowed without it: "
                         "a float tensor")
    if overwrite and not s0.is_contiguous():
        raise ValueError("overwrite=True needs a contiguous s0 (the kernels write into it)")
    if draw.empty:
        return s0.float(), changed
    start = None  # the stored ideal sums, which the ADC kernel starts from as it writes every sum
    if stored and not draw.full:
        whole = _whole_from_stored(geometry, draw, s0)
        start = s0 if whole else None
        s = torch.empty(s0.shape) if whole else s0.float()
    else:
        s = torch.empty(s0.shape) if stored else s0 if overwrite else torch.empty_like(s0) if draw.full else s0.clone()
    readouts = _Readouts(geometry, a, s)
    index = _sparse(geometry, cells, readouts, s, adc, rng, draw.counts, draw.margin)
    if index is not None and not overwrite:  # (with overwrite, s0 is s: nothing left to compare with)
        flipped = _differs(geometry, s[index], s0[index], index[1])
        changed[index[0][flipped]] = True
    if draw.dense.any():
        _dense(geometry, cells, readouts, s, adc, rng, generator, draw, reuse, layer_reuse, start)
        rows = None if known is None else torch.nonzero(~known).flatten()
        if rows is not None and len(rows) < s.shape[0]:
            if len(rows):
                changed[rows] = _dense_changed(geometry, s[rows], s0[rows])
        else:
            changed |= _dense_changed(geometry, s, s0)
    return s, changed


def decided_readouts(geometry: LayerGeometry, cells: LayerCells, draw: ReadoutDraw, a: "torch.Tensor | LazyInput",
                     s0: torch.Tensor, adc: Adc, rng: np.random.Generator, generator: torch.Generator,
                     ideal_plus: torch.Tensor, reuse: dict | None = None,
                     layer_reuse: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`apply_readouts` (every image known, ``overwrite``) then :func:`decide_against`
    ``ideal_plus``: the hardware's signs (bool, the shape of ``s0``) and each image's count of
    signs that differ from ``ideal_plus`` (int64 (B,)), to the bit. Where the ADC kernel writes
    every sum from the stored ideal sums ``s0`` (int16 or int32; every output dense) it decides
    the signs itself: on the deviation path as it adds the code changes, without writing the sums."""
    if tuple(ideal_plus.shape) != tuple(s0.shape) or ideal_plus.dtype != torch.bool:
        raise ValueError(f"ideal_plus must be a bool tensor of the shape of s0 {tuple(s0.shape)}, got "
                         f"{ideal_plus.dtype} {tuple(ideal_plus.shape)}")
    if not (s0.is_contiguous() and _whole_from_stored(geometry, draw, s0)):
        s, _ = apply_readouts(geometry, cells, draw, a, s0, adc, rng, generator,
                              known=torch.ones(s0.shape[0], dtype=torch.bool), overwrite=True, reuse=reuse,
                              layer_reuse=layer_reuse)
        return decide_against(geometry, s, ideal_plus)
    s = torch.empty(s0.shape)  # written only off the deviation path
    plus = torch.empty(s0.shape, dtype=torch.bool)
    counts = np.empty(s0.shape[0], dtype=np.int64)
    lead = (s0.shape[0], s0.shape[1], -1)
    decisions = (*_cut_flip(geometry), ideal_plus.contiguous().numpy().reshape(lead), plus.numpy().reshape(lead),
                 counts)
    _dense(geometry, cells, _Readouts(geometry, a, s), s, adc, rng, generator, draw, reuse, layer_reuse, s0, decisions)
    return plus, torch.from_numpy(counts)


def _whole_from_stored(geometry: LayerGeometry, draw: ReadoutDraw, s0: torch.Tensor) -> bool:
    """True when the ADC kernel writes every sum of ``draw`` starting from the stored (integer)
    ideal sums ``s0``: an ADC layer, every output dense, no sparse readout, not a full draw."""
    return (s0.dtype in (torch.int16, torch.int32) and not draw.full and not geometry.comparator
            and not draw.counts.any() and bool(draw.dense.any(axis=1).all()))


def _dense_changed(geometry: LayerGeometry, s: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """Bool (B,): some output of sums ``s`` differs from that of ``s0``."""
    # Every output is compared, not only ``outs``: the others differ only where the sparse
    # readouts changed them, and those images are marked already.
    diff = (s != s0) if geometry.digital else decide(geometry, s).logical_xor_(decide(geometry, s0))
    return rows_any(diff)


def rows_any(mask: torch.Tensor) -> torch.Tensor:
    """Bool (B,): some element of row ``b`` of the bool (B, ...) ``mask`` is True (NumPy's any,
    about 10x torch's on bool)."""
    return torch.from_numpy(mask.reshape(mask.shape[0], -1).numpy().any(axis=1))


def hardware_sums(geometry: LayerGeometry, cells: LayerCells, a: torch.Tensor, adc: Adc,
                  rng: np.random.Generator, generator: torch.Generator,
                  dense_probability: float = DENSE_PROBABILITY) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`draw_readouts` then :func:`apply_readouts` on input ``a`` (B, ...)."""
    s0 = ideal_sums(geometry, a)
    draw = draw_readouts(geometry, cells, adc, s0[0, 0].numel() * s0.shape[0], rng, dense_probability)
    return apply_readouts(geometry, cells, draw, a, s0, adc, rng, generator)


def _differs(geometry: LayerGeometry, s: torch.Tensor, s0: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Where the outputs of sums ``s`` differ from those of ``s0`` (sign outputs; the sums
    themselves for a digital geometry)."""
    if geometry.digital:
        return s != s0
    return _decide_at(geometry, s, out) != _decide_at(geometry, s0, out)


def _decide_at(geometry: LayerGeometry, s: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Sign outputs of sums ``s`` belonging to output features ``out`` (broadcast with ``s``)."""
    return passes_threshold(s, geometry.threshold[out], geometry.flip[out])


def _sparse(geometry, cells, readouts, s, adc, rng, counts, margin):
    """Evaluate exactly the readouts whose noise exceeds the margin (noise drawn from the tail);
    ``counts`` (O*C,) such readouts per (output, chunk) pair. Returns the touched index or None.
    """
    if counts.sum() == 0:
        return None
    pair = np.repeat(np.arange(counts.size), counts)
    readout = _distinct_positions(rng, counts, readouts.count)
    out, chunk = np.divmod(pair, geometry.n_chunks)
    sigma = cells.sigma[chunk]
    m = margin[out, chunk]
    u = 1.0 - rng.random(pair.size)  # (0, 1]
    magnitude = -sigma * ndtri(u * ndtr(-m / sigma))
    noise = np.where(rng.random(pair.size) < 0.5, -magnitude, magnitude)
    rep = readouts.replica(readout, cells.replicas)
    s_chunk, e = readouts.chunk_sums(readout, out, chunk, rep, cells)
    r = s_chunk + e + noise
    index = readouts.scatter_index(readout, out)
    if geometry.comparator:
        t, flip, reference = (v[out] for v in _comparator_references(geometry))
        hw = _readout_decision(r, reference, flip)
        s[index] = torch.from_numpy(np.where(hw == (np.where(flip, s_chunk <= t, s_chunk >= t)), s_chunk,
                                             _forced_sum(t, flip, hw))).to(s.dtype)
    else:
        n_c = geometry.chunk_lengths()[chunk]
        d = adc.quantize(r, n_c) - s_chunk
        s.index_put_(index, torch.from_numpy(d).to(s.dtype), accumulate=True)
    return index


def _dense(geometry, cells, readouts, s, adc, rng, generator, draw, reuse=None, layer_reuse=None, start=None,
           decisions=None):
    """Evaluate every readout of the outputs marked in ``draw.dense`` (whole rows, see draw_readouts);
    ``start``: the ideal sums to start from instead of ``s`` (every output dense, an ADC layer);
    ``decisions``: their sign decisions wanted (``adc_digital_sums``), with ``start``."""
    outs = np.flatnonzero(draw.dense.any(axis=1))
    if geometry.comparator:
        _dense_comparator(geometry, cells, readouts, s, generator, outs)
    else:  # an inexact ADC has code boundaries anywhere: every readout's noise may matter
        p = (cells.tail_probability[outs] if draw.margin is cells.margin else
             _tail_probability(draw.margin[outs], cells.sigma[None, :])) if adc.exact else np.ones(1)
        _dense_outputs(geometry, cells, readouts, s, adc, rng, outs, float(p.max()), ideal=not draw.full, reuse=reuse,
                       layer_reuse=layer_reuse, start=start, decisions=decisions)


def _image_steps(readouts, bytes_per_image: int):
    step = max(1, _DENSE_BATCH_BYTES // max(1, bytes_per_image))
    return range(0, readouts.batch, step), step


def _columns(geometry, a):
    """(B, K, L) input columns of a batch (L = 1 for a linear layer)."""
    return a.unsqueeze(-1) if geometry.kernel is None else F.unfold(a, geometry.kernel[1:], stride=geometry.stride)


def _dense_outputs(geometry, cells, readouts, s, adc, rng, outs, p_max, ideal: bool, reuse=None, layer_reuse=None,
                   start=None, decisions=None):
    """ADC layer, outputs whose every chunk is dense: the digital sum Σ_c Q(r_c) of all chunks
    (:func:`mapping.functional.readout_noise.adc_digital_sums`; ``p_max`` the largest probability over the
    pairs that noise exceeds the pair's margin, 1 when every readout's noise must be drawn;
    ``ideal``: ``s`` holds the ideal sums, which the kernel may build on, or ``start`` (the shape of
    ``s``, every output dense) does and ``s`` is only written; ``decisions``: as in ``adc_digital_sums``,
    with ``start``)."""
    g = geometry
    outs_t = torch.from_numpy(outs)
    kept = cells.kept.setdefault(("dense outputs", outs.tobytes()), {})  # the same outputs in every batch of a chip
    if "w_eff" not in kept:
        kept["w_eff"] = np.ascontiguousarray(
            (g.padded_weight[outs_t].unsqueeze(0) + cells.w_dev[:, outs_t]).permute(0, 2, 3, 1).numpy())  # (R, C, N, O')
        kept["bias"] = np.ascontiguousarray(cells.bias[:, outs_t].transpose(1, 2).numpy())  # (R, C, O')
        kept["ideal_weight"] = g.padded_weight[outs_t].permute(1, 2, 0).contiguous().numpy()  # (C, N, O')
    offsets, position_base = readouts.gather
    flat = s.view(s.shape[0], s.shape[1], -1)
    every = len(outs) == s.shape[1]  # the kernel writes straight into s
    # otherwise into a copy of the outputs' sums (the ideal ones, which the kernel starts from when ``ideal``)
    sums = flat.numpy() if every else flat[:, outs_t].numpy()
    if (start is not None or decisions is not None) and not (every and start is not None):
        raise ValueError(f"start (and decisions, which need it) need every output dense, got {len(outs)} of "
                         f"{s.shape[1]}")
    ideal_sums = sums if start is None else start.view(flat.shape).numpy()
    readout_noise.adc_digital_sums(lambda: readouts.a.numpy(), offsets, position_base, kept["w_eff"], kept["bias"],
                                   g.chunk_lengths(), cells.sigma, p_max, adc.lsb, adc.levels, g.k,
                                   int(rng.integers(0, 2**63)), out=sums,
                                   ideal=(kept["ideal_weight"], ideal_sums) if ideal else None, reuse=reuse,
                                   cells_reuse=kept.setdefault("kernel", {}), layer_reuse=layer_reuse,
                                   a_shape=readouts.padded_shape, decisions=decisions, sign_bits=readouts.sign_bits)
    if not every:
        flat[:, outs_t] = torch.from_numpy(sums)


def _dense_comparator(geometry, cells, readouts, s, generator, outs):
    """Comparator layer (one chunk): the analog readout of every position of outputs ``outs``
    against the reference; the ideal sum is kept where the decision agrees."""
    g, reps = geometry, cells.replicas
    outs_t = torch.from_numpy(outs)
    t, flip, reference = (torch.from_numpy(v)[outs_t] for v in _comparator_references(g))
    forced_pos, forced_neg = t.to(s.dtype), torch.where(flip, t + 1, t - 1).to(s.dtype)
    w = g.weight[outs_t]
    flat = s.view(s.shape[0], s.shape[1], -1)
    steps, step = _image_steps(readouts, 2 * readouts.positions * len(outs) * 4)
    for b0 in steps:
        cols = _columns(g, readouts.a[b0 : b0 + step])
        for rep in range(reps):
            x = cols[:, :, rep::reps].transpose(1, 2)  # (B, L_rep, K)
            s_c = x @ w.t()
            r = s_c + x @ cells.w_dev[rep, outs_t, 0, : g.k].t() + cells.bias[rep, outs_t, 0]
            if cells.sigma[0] > 0:
                r += float(cells.sigma[0]) * torch.randn(r.shape, generator=generator)
            hw = torch.where(flip, r <= reference, r >= reference)
            ideal = torch.where(flip, s_c <= t, s_c >= t)
            value = torch.where(hw == ideal, s_c, torch.where(hw, forced_pos, forced_neg))
            flat[b0 : b0 + step, outs_t, rep::reps] = value.transpose(1, 2)
