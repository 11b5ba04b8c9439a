"""Receiver noise at dense ADC readouts, drawn only where it can change a code (helper of
``mapping.functional.layer``).

A readout ``r = s + e + n`` (±1 units, ``n ~ N(0, σ²)``) changes its ADC code only when the
noise reaches a code boundary. The kernel computes every noiseless readout (from subset-sum
tables when the inputs are ±1), then splits the readouts by their own distance ``d`` to the
nearest boundary against ``D = σ·Φ⁻¹(1 − q/2)``, ``q = min(p_max, FAR_PROBABILITY)``:

* near (``d < D``): a uniform ``u`` of its own from a counter-based generator (SplitMix64 of a
  per-call key and the readout's index, so the result does not depend on thread scheduling),
  read as ``n = σ·Φ⁻¹(u)``; a table of Φ on a grid of distances decides "no crossing" and
  "exactly one" without Φ⁻¹, which is evaluated only inside one grid cell or for two boundaries.
  ``u = (h + r)·2**-16``: ``h`` is a 16-bit lane of a hash shared by four near readouts, and
  ``r`` (53 more bits) is drawn only where the table cannot decide the crossing for every ``u``
  that ``h`` allows;
* far: a candidate with probability ``q`` (geometric gaps along the row), whose noise comes
  from the two tails of mass ``q/2``; a non-candidate's noise is below ``D <= d`` and leaves the
  code alone.

Every readout therefore sees an exact Gaussian draw, at the cost of a quarter of a hash for the
near ones (plus one where the lane does not decide) and about ``q`` hashes per far one (tests:
closed-form code distributions, a two-sample test against a Gaussian per readout, and the
independence of readouts that share a hash).

Short chunks (``n <= PATTERN_BITS`` ±1 inputs) read by many readouts take the pattern path
instead: every input pattern of a chunk gets a row of codes and noise screens
(:func:`_pattern_tables`, the same float32 sums as the table path), and a readout is one byte of
its row. Every readout's noise is screened with a 16-bit uniform from a vectorised hash (top bit:
which tail; the other 15 against a power-of-two bound of that tail's mass), and only the draws
that pass (about 1.4 times the readouts whose code changes) get 53 more bits and the exact code
change. The two paths sample the same distribution with different streams.

Given the ideal cells' sums (an ADC of one code per popcount level, ``adc_digital_sums(...,
ideal=...)``), the pattern path visits only what differs from them (the deviation path): the
readouts are sorted by input pattern per chunk, and each output adds, per (chunk, pattern) group,
its code deviation from the ideal cells' code to every member (rare: the cells are calibrated)
and draws the members whose noise reaches a boundary by geometric gaps at the group's tabled
tail mass (from a mass of 1/8, a 16-bit lane per member, four per hash, as for near readouts);
groups of negligible mass share one sparse stream per output. The work follows the
readouts that differ, not all of them (:func:`_deviation_kernel`).

Longer chunks (up to ``pattern_groups.MAX_BITS`` inputs) given the ideal cells' sums and a
``reuse`` dict (the caller runs more chips on this input) take the frequent-pattern path: the
readouts whose chunk carries one of its frequent input patterns
(:func:`mapping.functional.pattern_groups.frequent_groups`) are (replica, chunk, pattern) groups of
the deviation kernel (those of negligible mass and no code deviation drawn by one sparse stream
per output over the groups' members), and :func:`_rare_kernel` visits only the others (kept as a
list of rare (row, chunk) pairs, so a frequent readout costs it nothing), adding each one's code
deviation from the ideal cells' code (``n_c`` minus the popcount of input XOR weight) into an
int16 array that the deviation kernel adds as it writes the sums. Each readout is drawn by exactly
one of the two, so the distribution is the table path's. Both paths start from the ideal sums as stored (int16)
and, given ``decisions``, decide the output signs in the deviation kernel's last pass instead of
writing the sums.

``ndtri`` is Wichura's algorithm AS 241 (PPND16, Applied Statistics 37(3):477-484, 1988),
accurate to about 1e-16 relative; the tests compare it with ``scipy.special.ndtri``.
"""
from __future__ import annotations

import math

import numba as nb
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic
import numpy as np
from scipy.special import ndtr

from mapping.functional.pattern_groups import MAX_BITS, MIN_ROWS, frequent_groups
from photonics.validation import check_int, check_positive, check_range

__all__ = ["uniforms", "ndtri", "adc_digital_sums", "takes_deviation_path", "takes_frequent_path"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_M53 = 2.0**-53

# AS 241 coefficients, lowest order first (Wichura 1988).
_A = (3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3, 1.3731693765509461125e4,
      4.5921953931549871457e4, 6.7265770927008700853e4, 3.3430575583588128105e4, 2.5090809287301226727e3)
_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4, 5.2264952788528545610e3)
_C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0, 3.64784832476320460504e0,
      1.27045825245236838258e0, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9)
_E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0, 2.96560571828504891230e-1,
      2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15)


@nb.njit(cache=True, inline="always")
def _poly(c, x):
    acc = c[7]
    for i in range(6, -1, -1):
        acc = acc * x + c[i]
    return acc


@nb.njit(cache=True)
def _ndtri(p):
    """Standard normal quantile Φ⁻¹(p) for 0 < p < 1 (AS 241)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(_A, r) / _poly(_B, r)
    r = p if q < 0.0 else 1.0 - p
    r = np.sqrt(-np.log(r))
    if r <= 5.0:
        r -= 1.6
        value = _poly(_C, r) / _poly(_D, r)
    else:
        r -= 5.0
        value = _poly(_E, r) / _poly(_F, r)
    return -value if q < 0.0 else value


@nb.njit(cache=True, inline="always")
def _mix(z):
    """SplitMix64's output function."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always")
def _uniform(key, index):
    """Uniform in (0, 1) from SplitMix64 of ``key + (index + 1)·golden``; 53 random bits."""
    z = _mix(key + (np.uint64(index) + np.uint64(1)) * _GOLDEN)
    return (float(z >> _S11) + 0.5) * _TWO_M53


@nb.njit(cache=True)
def _second_key(key):
    """The key of a stream unrelated to ``key``'s (the near readouts' draws)."""
    return _mix(key ^ np.uint64(0x5851F42D4C957F2D))


@nb.njit(cache=True)
def _uniforms(key, n, out):
    for i in range(n):
        out[i] = _uniform(key, i)


def uniforms(key: int, n: int) -> np.ndarray:
    """The first ``n`` uniforms of stream ``key`` (the values the kernel uses for indices 0..n-1)."""
    key, n = check_int("key", key, lo=0, hi=2**64 - 1), check_int("n", n, lo=0)
    out = np.empty(n)
    _uniforms(np.uint64(key), n, out)
    return out


@nb.vectorize(["float64(float64)"], cache=True)
def ndtri(p):
    """Standard normal quantile (NumPy ufunc over 0 < p < 1; AS 241)."""
    return _ndtri(p)


#: Grid points per ADC step of the tail-probability table (it spans two steps).
_TABLE_POINTS = 2048
#: Largest candidate probability of the readouts far from a code boundary (see adc_digital_sums).
FAR_PROBABILITY = 0.003
#: Inputs per subset-sum table (2**GROUP_BITS rows each) of the ±1 path.
GROUP_BITS = 5
#: Largest subset-sum tables (bytes) of one call; a layer beyond takes the multiply-add path.
_TABLE_BYTES = 64 * 2**20
#: Output positions per scratch allocation of the kernel.
_BLOCK = 64
#: Dtypes of the ideal cells' sums the deviation paths start from (exact integers below 2**24 in
#: each: the stored ideal sums need no float copy).
_IDEAL_SUM_DTYPES = (np.dtype(np.float32), np.dtype(np.int16), np.dtype(np.int32))


@nb.njit(cache=True, inline="always")
def _clip(r, top_code):
    """A rounded readout (in codes) clipped to the ADC's range 0 .. top_code."""
    return min(max(r, np.float32(0.0)), top_code)


@nb.njit(cache=True, inline="always")
def _code(v, inv_lsb, top_code):
    return _clip(np.rint(v * inv_lsb), top_code)


@nb.njit(cache=True, inline="always")
def _next_candidate(f, key, row_stream, counter, log_keep):
    """Next candidate index after ``f`` (geometric gap: each readout is one with probability q)."""
    if log_keep == 0.0:  # q = 1: every readout
        return f + 1, counter
    gap = np.log(_uniform(key, row_stream + counter)) / log_keep
    return (f + 1 + np.int64(gap)) if gap < 1e18 else np.int64(1) << 62, counter + 1


@nb.njit(cache=True, inline="always")
def _tail_change(u, mass, v, frac, sigma, table_row, inv_step, lsb, inv_lsb, top_code):
    """Code change of readout ``v`` (``frac`` its offset from the nearest code centre, in codes)
    under noise from the two tails of mass ``mass/2`` of N(0, σ²), selected by uniform ``u``:
    u < 1/2 the lower tail, σ·Φ⁻¹(u·mass), else the upper one, −σ·Φ⁻¹((u − 1/2)·mass).

    ``table_row[k] = Φ(−k·step/σ)`` brackets ``P(noise beyond distance d)`` between the grid
    points around ``d``: no crossing, or exactly one (the neighbouring code), is decided from
    the table; Φ⁻¹ is evaluated only in the thin bracket between two grid points."""
    lower = u < 0.5
    return _side_change(lower, (u if lower else u - 0.5) * mass, v, frac, sigma, table_row, inv_step, lsb, inv_lsb,
                        top_code)


@nb.njit(cache=True, inline="always")
def _side_change(lower, w, v, frac, sigma, table_row, inv_step, lsb, inv_lsb, top_code):
    """:func:`_tail_change` given the tail (``lower``) and the noise's quantile ``w`` in it:
    the noise is σ·Φ⁻¹(w) (lower) or −σ·Φ⁻¹(w) (upper), ``w`` below that tail's mass."""
    distance = (0.5 + frac if lower else 0.5 - frac) * lsb  # to the boundary on the noise's side
    k = np.int64(distance * inv_step)  # k·step <= distance < (k + 1)·step
    if w >= table_row[k]:  # table_row[k] >= P(noise beyond the boundary): no crossing
        return np.float32(0.0)
    if w < table_row[k + 1] and w >= table_row[np.int64((distance + lsb) * inv_step)]:  # exactly one boundary
        r = np.rint(v * inv_lsb)
        moved = r - 1.0 if lower else r + 1.0
        return _clip(moved, top_code) - _clip(r, top_code)
    tail = sigma * _ndtri(w)
    noise = tail if lower else -tail
    return _code(v + noise, inv_lsb, top_code) - _code(v, inv_lsb, top_code)


@nb.njit(cache=True, inline="always")
def _sure_side_change(lower, w_lo, w_hi, v, frac, table_row, inv_step, lsb, inv_lsb, top_code):
    """(True, :func:`_side_change`) when the table decides it alike for every ``w`` in [w_lo,
    w_hi] (no crossing, or exactly one), else (False, 0): a 16-bit lane's interval of uniforms
    then needs no more bits."""
    distance = (0.5 + frac if lower else 0.5 - frac) * lsb
    k = np.int64(distance * inv_step)
    if w_lo >= table_row[k]:
        return True, np.float32(0.0)
    if w_hi < table_row[k + 1] and w_lo >= table_row[np.int64((distance + lsb) * inv_step)]:
        r = np.rint(v * inv_lsb)
        moved = r - 1.0 if lower else r + 1.0
        return True, _clip(moved, top_code) - _clip(r, top_code)
    return False, np.float32(0.0)


@intrinsic
def _trailing_zeros(typingctx, x):
    """Index of the lowest set bit of the int64 ``x`` (x != 0): LLVM's cttz."""
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))
    return types.int64(types.int64), codegen


@intrinsic
def _popcount(typingctx, x):
    """Set bits of the int64 ``x``: LLVM's ctpop."""
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return types.int64(types.int64), codegen


@nb.njit(cache=True)
def _subset_tables(weight, bias, lengths, group_bits):
    """±1 inputs: ``Σ_j x_j·w_j = 2·Σ_{x_j = +1} w_j − Σ_j w_j``. Returns ``tables`` (R, C, G,
    2**bits, O) with twice the subset sums of each group of ``group_bits`` inputs and ``base``
    (R, C, O) = bias + cells − Σ_j w_j, so a readout is ``base + Σ_g tables[g, mask_g]``."""
    replicas, n_chunks, n, outs = weight.shape
    groups = (n + group_bits - 1) // group_bits
    tables = np.zeros((replicas, n_chunks, groups, 1 << group_bits, outs), dtype=np.float32)
    base = np.empty((replicas, n_chunks, outs), dtype=np.float32)
    for r in range(replicas):
        for c in range(n_chunks):
            for o in range(outs):
                base[r, c, o] = bias[r, c, o] + lengths[c]
            for g in range(groups):
                for j in range(min(group_bits, n - g * group_bits)):
                    bit = 1 << j
                    for mask in range(bit, 2 * bit):
                        for o in range(outs):
                            tables[r, c, g, mask, o] = tables[r, c, g, mask - bit, o] + 2.0 * weight[r, c, g * group_bits + j, o]
                    for o in range(outs):
                        base[r, c, o] -= weight[r, c, g * group_bits + j, o]
    return tables, base


@nb.njit(cache=True, inline="always")
def _write_rows(total, rows, m0, lsb, k_total, out):
    """Codes summed over chunks (``total`` (rows, O), readout rows ``m0 ..``) to digital sums
    ``total·lsb − k_total`` in ``out`` (B, O, L; an integer ``out`` takes integer codes with
    ``lsb`` 1 and ``k_total`` 0): runs of consecutive positions of one image per output."""
    _, outs, positions = out.shape
    b = m0 // positions
    l0 = m0 - b * positions
    i = 0
    while i < rows:
        run = min(rows - i, positions - l0)
        for o in range(outs):
            for k in range(run):
                out[b, o, l0 + k] = total[i + k, o] * lsb - k_total
        i += run
        b, l0 = b + 1, 0


@nb.njit(cache=True, inline="always")
def _pattern_readout(tables, base, r, c, p, o):
    """Noiseless readout of output ``o`` for input pattern ``p`` of chunk ``c`` (replica ``r``),
    summed from the subset-sum tables in the table path's order (so the two agree to the bit)."""
    acc = base[r, c, o]
    for g in range(tables.shape[2]):
        acc += tables[r, c, g, (p >> (g * GROUP_BITS)) & ((1 << GROUP_BITS) - 1), o]
    return acc


@nb.njit(cache=True, inline="always")
def _add_codes(acc, frac, row_total, c, fi, count, th, q, log_keep, key, key_near, key_exact, lanes, row_stream,
               sigma_c, table_row, inv_step, inv_lsb, lsb, top_code):
    """Chunk ``c`` of one readout row given its noiseless readouts ``acc`` (O,): every output's
    clipped code added to ``row_total``, the near readouts' own Gaussian draws and the far
    candidates ``fi`` (index ``c·O + o``, counter ``count`` of the row's stream) of this chunk.
    A near readout's uniform is ``(h + r)·2**-16``: ``h`` a 16-bit lane of a hash (four near
    readouts of a word of 64 outputs per hash, in output order), ``r`` drawn (stream ``key_exact``)
    only when ``h`` leaves a boundary crossing possible. ``lanes`` (64,) float64 scratch.
    Returns the row's next candidate and counter."""
    outs = acc.size
    near = False
    for o in range(outs):
        qv = acc[o] * np.float32(inv_lsb)
        r = np.rint(qv)
        frac[o] = qv - r
        row_total[o] += _clip(r, top_code)
        near |= abs(qv - r) > th
    if near:  # readouts near a boundary: every one gets its own full Gaussian draw
        n_words = (outs + 63) // 64
        for w0 in range(0, outs, 64):  # their outputs as bits of words (one vectorised pass each)
            bits = np.int64(0)
            word = frac[w0 : w0 + 64]  # indices from 0: contiguous vector loads
            for j in range(len(word)):
                bits |= np.int64(abs(word[j]) > th) << j
            stream = row_stream + np.uint64((c * n_words + w0 // 64) * 16)
            hits = np.int64(0)
            z = np.uint64(0)
            rank = 0
            while bits:  # screen on the lane: can the uniform it starts reach the boundary on its side?
                j = _trailing_zeros(bits)
                bits &= bits - 1
                o = w0 + j
                # the tail mass beyond either boundary (unsigned indices: no negative-index wraparound)
                low = table_row[np.uint64((0.5 + frac[o]) * lsb * inv_step)]
                high = table_row[np.uint64((0.5 - frac[o]) * lsb * inv_step)]
                if rank & 3 == 0:
                    z = _mix(key_near + (stream + np.uint64((rank >> 2) + 1)) * _GOLDEN)
                h = float((z >> np.uint64((rank & 3) * 16)) & np.uint64(0xFFFF)) * 2.0**-16
                rank += 1
                lanes[j] = h
                hits |= np.int64((h < low) | ((h >= 0.5) & (h - 0.5 < high))) << j  # u >= h, u < h + 2**-16
            while hits:  # the few that may: their code change, from the lane where the table decides it
                j = _trailing_zeros(hits)
                hits &= hits - 1
                o = w0 + j
                lower = lanes[j] < 0.5  # u < 1/2: the lower tail, quantile u (else u − 1/2 in the upper)
                w_lo = lanes[j] if lower else lanes[j] - 0.5
                sure, change = _sure_side_change(lower, w_lo, w_lo + 2.0**-16, acc[o], frac[o], table_row, inv_step,
                                                 lsb, inv_lsb, top_code)
                if not sure:  # the exact uniform
                    w = w_lo + _uniform(key_exact, row_stream + np.uint64(c * outs + o)) * 2.0**-16
                    change = _side_change(lower, w, acc[o], frac[o], sigma_c, table_row, inv_step, lsb, inv_lsb,
                                          top_code)
                row_total[o] += change
    while fi < (c + 1) * outs:  # far readouts: candidates with |noise| in the q tails
        o = fi - c * outs
        u = _uniform(key, row_stream + np.uint64(count))
        count += 1
        if abs(frac[o]) <= th:
            row_total[o] += _tail_change(u, q, acc[o], frac[o], sigma_c, table_row, inv_step, lsb, inv_lsb, top_code)
        fi, count = _next_candidate(fi, key, row_stream, count, log_keep)
    return fi, count


@nb.njit(cache=True, parallel=True)
def _adc_kernel(a, signs, image_stride, position_base, offsets, group_offsets, group_valid, weight, bias, lengths,
                tabled, tables, base, sigma, thr, q, table, chunk_table, inv_step, inv_lsb, lsb, top_code, k_total, key,
                key_near, key_exact, out):
    batch, outs, positions = out.shape
    total_rows = batch * positions
    replicas, n_chunks, n, _ = weight.shape
    groups = tables.shape[2]
    n_masks = n_chunks * groups
    log_keep = np.log1p(-q) if q < 1.0 else 0.0
    for blk in nb.prange((total_rows + _BLOCK - 1) // _BLOCK):
        m0 = blk * _BLOCK
        rows = min(_BLOCK, total_rows - m0)
        lanes = np.empty(64, dtype=np.float64)
        masks = np.empty((n_masks if tabled else 0, _BLOCK), dtype=np.int64)  # bit j: input j of the group is +1
        x = np.empty((_BLOCK, 0 if tabled else n_chunks * n), dtype=np.float32)  # inputs of the multiply-add path
        replica = np.empty(_BLOCK, dtype=np.int64)
        f = np.empty(_BLOCK, dtype=np.int64)  # each row's next far candidate (index c·outs + o) and stream counter
        counter = np.empty(_BLOCK, dtype=np.int64)
        total = np.zeros((_BLOCK, outs), dtype=np.float32)
        acc = np.empty(outs, dtype=np.float32)
        frac = np.empty(outs, dtype=np.float32)
        b = m0 // positions
        l = m0 - b * positions
        for i in range(rows):  # gather each row's inputs once: the chunk loop below reuses a chunk's tables
            replica[i] = l % replicas
            start = b * image_stride + position_base[l]
            if tabled:  # no branch on the data: unused cells read offset 0 and are masked off
                for g in range(n_masks):
                    mask = 0
                    for j in range(GROUP_BITS):  # a compile-time constant: unrolled; unsigned: no wraparound
                        mask |= np.int64(signs[np.uint64(start + group_offsets[g * GROUP_BITS + j])]) << j
                    masks[g, i] = mask & group_valid[g]
            else:
                for k in range(n_chunks * n):
                    x[i, k] = a[start + offsets[k]] if offsets[k] >= 0 else np.float32(0.0)
            counter[i] = 0
            f[i] = np.int64(1) << 62
            if q > 0.0:
                f[i], counter[i] = _next_candidate(np.int64(-1), key, np.uint64(m0 + i) << np.uint64(32), 0, log_keep)
            l += 1
            if l == positions:
                b, l = b + 1, 0
        for c in range(n_chunks):
            table_row = table[chunk_table[c]]
            for i in range(rows):
                rep = replica[i]
                if tabled:
                    for o in range(outs):
                        acc[o] = base[rep, c, o]
                    for g in range(groups):
                        row = tables[rep, c, g, masks[c * groups + g, i]]
                        for o in range(outs):
                            acc[o] += row[o]
                else:
                    for o in range(outs):
                        acc[o] = bias[rep, c, o] + lengths[c]
                    for j in range(n):
                        xv = x[i, c * n + j]
                        for o in range(outs):
                            acc[o] += xv * weight[rep, c, j, o]
                f[i], counter[i] = _add_codes(acc, frac, total[i], c, f[i], counter[i], thr[c], q, log_keep, key,
                                              key_near, key_exact, lanes, np.uint64(m0 + i) << np.uint64(32), sigma[c],
                                              table_row, inv_step, inv_lsb, lsb, top_code)
        _write_rows(total, rows, m0, lsb, k_total, out)


@nb.njit(cache=True, parallel=True)
def _rare_kernel(rare_first, rare_chunk, rare_pattern, replicas, tables, base, lengths, ideal_bits, thr, q, sigma, table,
                 chunk_table, inv_step, inv_lsb, lsb, top_code, key, key_near, key_exact, codes):
    """The table path's readouts of the rare (row, chunk) pairs (:class:`pattern_groups.PatternGroups`:
    no frequent pattern): each readout's code deviation from the ideal cells' code (``n_c`` minus
    the popcount of input XOR ``ideal_bits``) and its noise as in :func:`_adc_kernel`, with the
    same streams (a row's far candidates in the frequent chunks are the group path's and pass
    by), summed over chunks into ``codes`` (B, O, L) (an integer dtype; 0 in rows without rare
    pairs)."""
    batch, outs, positions = codes.shape
    total_rows = batch * positions
    groups = tables.shape[2]
    log_keep = np.log1p(-q) if q < 1.0 else 0.0
    for blk in nb.prange((total_rows + _BLOCK - 1) // _BLOCK):
        m0 = blk * _BLOCK
        rows = min(_BLOCK, total_rows - m0)
        total = np.zeros((_BLOCK, outs), dtype=np.float32)
        if rare_first[m0] == rare_first[m0 + rows]:  # no rare pair: no code deviation
            _write_rows(total, rows, m0, 1.0, 0.0, codes)
            continue
        lanes = np.empty(64, dtype=np.float64)
        acc = np.empty(outs, dtype=np.float32)
        frac = np.empty(outs, dtype=np.float32)
        for i in range(rows):
            m = m0 + i
            if rare_first[m] == rare_first[m + 1]:
                continue
            rep = (m % positions) % replicas
            row_total = total[i]
            row_stream = np.uint64(m) << np.uint64(32)
            fi, count = np.int64(1) << 62, np.int64(0)
            if q > 0.0:
                fi, count = _next_candidate(np.int64(-1), key, row_stream, 0, log_keep)
            for e in range(rare_first[m], rare_first[m + 1]):
                c, p = np.int64(rare_chunk[e]), rare_pattern[e]
                while fi < c * outs:  # candidates of the frequent chunks before this one: the group path's
                    fi, count = _next_candidate(fi, key, row_stream, count + 1, log_keep)
                for o in range(outs):
                    acc[o] = base[rep, c, o]
                for g in range(groups):
                    row = tables[rep, c, g, (p >> (g * GROUP_BITS)) & ((1 << GROUP_BITS) - 1)]
                    for o in range(outs):
                        acc[o] += row[o]
                for o in range(outs):  # minus the ideal cells' codes: n_c − (cells whose input differs from the weight)
                    row_total[o] += np.float32(_popcount(p ^ ideal_bits[c, o])) - lengths[c]
                fi, count = _add_codes(acc, frac, row_total, c, fi, count, thr[c], q, log_keep, key, key_near,
                                       key_exact, lanes, row_stream, sigma[c], table[chunk_table[c]], inv_step, inv_lsb,
                                       lsb, top_code)
        _write_rows(total, rows, m0, 1.0, 0.0, codes)


#: Longest chunk whose every input pattern gets a row of codes (the pattern path, ±1 inputs).
PATTERN_BITS = 12
#: Readouts per table row (rows / (replicas·2**n)) below which the pattern path does not pay.
_PATTERN_REUSE = 64
#: Largest screen exponent of the pattern path (15 bits of each 16-bit uniform pick it).
_SCREEN_BITS = 15
#: Output positions per scratch allocation of the pattern kernel (its rows of one chunk stay in L2).
_PATTERN_BLOCK = 1024


@nb.njit(cache=True, inline="always")
def _screen_exponent(mass):
    """Largest ``e <= 15`` with ``2**-e >= 2·mass`` (``mass <= 1/2``: a tail of the noise)."""
    e = 0
    while e < _SCREEN_BITS and 2.0 ** -(e + 1) >= 2.0 * mass:
        e += 1
    return e


@nb.njit(cache=True, inline="always")
def _tail_masses(acc, inv_lsb, lsb, table_row, inv_step):
    """Offset ``frac`` of noiseless readout ``acc`` from its code centre (in codes, float32 as in
    the other paths) and the tabled bounds of the noise's mass beyond the lower / upper boundary."""
    qv = acc * np.float32(inv_lsb)
    frac = qv - np.rint(qv)
    return (frac, table_row[np.uint64((0.5 + frac) * lsb * inv_step)],
            table_row[np.uint64((0.5 - frac) * lsb * inv_step)])


@nb.njit(cache=True, parallel=True)
def _pattern_tables(tables, base, n_bits, sigma, table, chunk_table, inv_step, inv_lsb, lsb, top_code):
    """Every input pattern ``p`` of a chunk of ``n_bits`` ±1 inputs (bit j: input j is +1):
    the clipped code (R, C, 2**n, O) uint8 of its noiseless readout (summed from the subset-sum
    tables in the table path's order, so the two agree to the bit) and its noise screen (uint8):
    ``e_low | e_high << 4`` with :func:`_screen_exponent` of the tail mass beyond the lower /
    upper code boundary (the table entries the exact code change reads first)."""
    replicas, n_chunks, _, _, outs = tables.shape
    patterns = 1 << n_bits
    codes = np.empty((replicas, n_chunks, patterns, outs), dtype=np.uint8)
    screens = np.full((replicas, n_chunks, patterns, -(-outs // 64) * 64), 0xFF, dtype=np.uint8)
    for rc in nb.prange(replicas * n_chunks):
        r, c = rc // n_chunks, rc % n_chunks
        table_row = table[chunk_table[c]]
        for p in range(patterns):
            for o in range(outs):
                acc = _pattern_readout(tables, base, r, c, p, o)
                codes[r, c, p, o] = np.uint8(_clip(np.rint(acc * np.float32(inv_lsb)), top_code))
                if sigma[c] > 0.0:
                    _, m_low, m_high = _tail_masses(acc, inv_lsb, lsb, table_row, inv_step)
                    screens[r, c, p, o] = np.uint8(_screen_exponent(m_low) | (_screen_exponent(m_high) << 4))
    return codes, screens


@nb.njit(cache=True, inline="always")
def _gather_patterns(signs, image_stride, position_base, cell_offsets, cell_valid, replicas, positions, m0, rows):
    """Input pattern (C, _PATTERN_BLOCK) int16 of every chunk (bit j: input j is +1) and replica
    (_PATTERN_BLOCK,) of readout rows ``m0 .. m0 + rows`` (row = image·positions + position)."""
    n_chunks, n = cell_offsets.shape
    pattern = np.empty((n_chunks, _PATTERN_BLOCK), dtype=np.int16)
    replica = np.empty(_PATTERN_BLOCK, dtype=np.int64)
    b = m0 // positions
    l = m0 - b * positions
    for i in range(rows):
        replica[i] = l % replicas
        start = b * image_stride + position_base[l]
        for c in range(n_chunks):
            p = 0
            for j in range(n):
                p |= np.int64(signs[np.uint64(start + cell_offsets[c, j])]) << j
            pattern[c, i] = np.int16(p & cell_valid[c])
        l += 1
        if l == positions:
            b, l = b + 1, 0
    return pattern, replica


@nb.njit(cache=True, parallel=True)
def _pattern_kernel(signs, image_stride, position_base, cell_offsets, cell_valid, codes, screens, tables, base, sigma,
                    table, chunk_table, inv_step, inv_lsb, lsb, top_code, k_total, key, key_exact, out):
    """The table path when every input pattern of a chunk has its row (:func:`_pattern_tables`):
    a readout is one byte of that row. The noise of every readout is screened with a 16-bit
    uniform ``u`` (four per hash): its top bit picks the tail (``u < 1/2``: the lower one, as in
    :func:`_tail_change`), and the draw can reach that tail's boundary only if the other 15 bits
    are below ``2**(15 - e)``, ``2**-e >= 2·mass`` (the screen). A readout that passes gets 53
    more bits (``u = (u16 + v)/2**16``) and the exact code change; one that fails keeps its code."""
    batch, outs, positions = out.shape
    total_rows = batch * positions
    replicas, n_chunks, _, _, _ = tables.shape
    n_words = (outs + 63) // 64  # words of 64 outputs (the screens' rows are padded to whole words)
    last_valid = np.int64(-1) if outs % 64 == 0 else (np.int64(1) << (outs % 64)) - 1
    for blk in nb.prange((total_rows + _PATTERN_BLOCK - 1) // _PATTERN_BLOCK):
        m0 = blk * _PATTERN_BLOCK
        rows = min(_PATTERN_BLOCK, total_rows - m0)
        pattern, replica = _gather_patterns(signs, image_stride, position_base, cell_offsets, cell_valid, replicas,
                                            positions, m0, rows)
        total = np.zeros((_PATTERN_BLOCK, outs), dtype=np.float32)
        hashes = np.empty(16, dtype=np.uint64)
        draws = hashes.view(np.uint16)  # four 16-bit uniforms per hash
        for c in range(n_chunks):
            table_row = table[chunk_table[c]]
            for i in range(rows):
                rep, p = replica[i], np.int64(pattern[c, i])
                row_total = total[i]
                code_row = codes[rep, c, p]
                for o in range(outs):
                    row_total[o] += np.float32(code_row[o])
                if sigma[c] == 0.0:
                    continue
                row_stream = np.uint64(m0 + i) << np.uint64(32)
                screen_row = screens[rep, c, p]
                for w in range(n_words):  # 64 outputs: 16 hashes, then one fixed-length (vectorised) pass
                    stream = row_stream + np.uint64((c * n_words + w) * 16)
                    for k in range(16):
                        hashes[k] = _mix(key + (stream + np.uint64(k + 1)) * _GOLDEN)
                    word = screen_row[w * 64 : w * 64 + 64]
                    bits = np.int64(0)
                    for j in range(64):
                        u = np.int32(draws[j])
                        e = (np.int32(word[j]) >> ((u >> 15) << 2)) & 15
                        bits |= np.int64(((u & 0x7FFF) >> (_SCREEN_BITS - e)) == 0) << j
                    if w == n_words - 1:
                        bits &= last_valid
                    while bits:
                        j = _trailing_zeros(bits)
                        bits &= bits - 1
                        o = w * 64 + j
                        u = (float(draws[j]) + _uniform(key_exact, row_stream + np.uint64(c * n_words * 64 + o))) * 2.0**-16
                        acc = _pattern_readout(tables, base, rep, c, p, o)
                        qv = acc * np.float32(inv_lsb)
                        row_total[o] += _tail_change(u, 1.0, acc, qv - np.rint(qv), sigma[c], table_row, inv_step,
                                                     lsb, inv_lsb, top_code)
        _write_rows(total, rows, m0, lsb, k_total, out)


#: Largest tail mass (a bound of the probability that the noise reaches a code boundary) of an
#: (input pattern, output) pair whose readouts the deviation path draws from one sparse stream per
#: output (candidates at this rate, thinned to each readout's own mass) instead of a stream of
#: their own. Algorithmic, not physical: any value in (0, 1/2] samples the same distribution.
_SPARSE_MASS = 2.0**-20
#: :data:`_SPARSE_MASS` of the frequent-pattern path's groups, whose sparse stream runs over their
#: members (no cost per group left out of the lists). Algorithmic, not physical, like it.
_FREQUENT_SPARSE_MASS = 2.0**-12
#: Smallest tail mass of a group whose members the deviation path draws one by one (a uniform
#: each) instead of by geometric gaps (a logarithm and two uniforms per candidate). Algorithmic,
#: not physical: any value in [0, 1] samples the same distribution (about 10 % faster at 1/8).
_BERNOULLI_MASS = 0.125


#: Shortest chunk the deviation path takes: its scratch (a group key and a sorted row index, 4 bytes
#: each, per readout row and chunk) is then at most 1 byte per input column element, inside the
#: margin of ``studies.memory.BATCH_BYTES_PER_COLUMN`` (6 bytes, 4.8 measured).
_DEVIATION_MIN_BITS = 8


@nb.njit(cache=True, inline="always")
def _pair_entry(tables, base, ref_tables, ref_base, r, c, p, o, sigma, table_row, inv_step, inv_lsb, lsb, top_code):
    """(code deviation from the ideal cells' code, noiseless readout, frac, mass low, mass high)
    of output ``o`` for pattern ``p`` of chunk ``c`` (replica ``r``); masses 0 without noise."""
    acc = _pattern_readout(tables, base, r, c, p, o)
    ref = _pattern_readout(ref_tables, ref_base, 0, c, p, o)
    d = _clip(np.rint(acc * np.float32(inv_lsb)), top_code) - _clip(np.rint(ref * np.float32(inv_lsb)), top_code)
    frac, m_low, m_high = _tail_masses(acc, inv_lsb, lsb, table_row, inv_step)
    if sigma == 0.0:
        m_low = m_high = 0.0
    return d, acc, frac, m_low, m_high


@nb.njit(cache=True, parallel=True)
def _deviation_lists(tables, base, ref_tables, ref_base, pattern_of, counts, sigma, table, chunk_table, inv_step, inv_lsb,
                     lsb, top_code, sparse_mass):
    """The (replica, chunk, input pattern) groups of each output ``o`` whose noiseless code
    differs from the ideal cells' (``ref_tables``/``ref_base``, replica 0) or whose noise reaches
    a code boundary with a tabled mass above ``sparse_mass`` ("listed"). Chunk ``c``'s patterns
    are ``pattern_of[c, :counts[c]]`` (C, P), P a power of two (the pattern path: every pattern,
    ``pattern_of[c, k] = k``). CSR by output: ``starts`` (O + 1,), then per entry its group
    ``(c·R + r)·P + k``, the code deviation, the noiseless readout, its ``frac`` and the two tail
    masses; ``listed`` (O, R·C·P) uint8."""
    replicas, n_chunks, _, _, outs = tables.shape
    patterns = pattern_of.shape[1]
    groups = replicas * n_chunks * patterns
    listed = np.zeros((outs, groups), dtype=np.uint8)
    for o in nb.prange(outs):
        for g in range(groups):
            cr, k = g // patterns, g % patterns
            c = cr // replicas
            if k >= counts[c]:
                continue
            d, _, _, m_low, m_high = _pair_entry(tables, base, ref_tables, ref_base, cr % replicas, c, pattern_of[c, k], o,
                                                 sigma[c], table[chunk_table[c]], inv_step, inv_lsb, lsb, top_code)
            listed[o, g] = (d != 0.0) | (m_low + m_high > sparse_mass)
    starts = np.zeros(outs + 1, dtype=np.int64)
    for o in range(outs):
        starts[o + 1] = starts[o] + listed[o].sum()
    entries = starts[-1]
    group = np.empty(entries, dtype=np.int64)
    dev = np.empty(entries, dtype=np.float32)
    readout = np.empty(entries, dtype=np.float32)
    offset = np.empty(entries, dtype=np.float32)
    low = np.empty(entries, dtype=np.float64)
    high = np.empty(entries, dtype=np.float64)
    for o in nb.prange(outs):
        e = starts[o]
        for g in range(groups):
            if listed[o, g]:
                cr, k = g // patterns, g % patterns
                c = cr // replicas
                group[e] = g
                dev[e], readout[e], offset[e], low[e], high[e] = _pair_entry(
                    tables, base, ref_tables, ref_base, cr % replicas, c, pattern_of[c, k], o, sigma[c],
                    table[chunk_table[c]], inv_step, inv_lsb, lsb, top_code)
                e += 1
    return listed, starts, group, dev, readout, offset, low, high


@nb.njit(cache=True, parallel=True)
def _group_readouts(signs, image_stride, position_base, cell_offsets, cell_valid, replicas, patterns, total_rows,
                    positions):
    """Every readout row's key per chunk, ``r·2**n + p`` (replica ``r`` of its position, input
    pattern ``p``; its group is ``(c·R + r)·2**n + p``), and the rows sorted by group (a counting
    sort per chunk, rows ascending within a group): ``members`` (C·rows,) int32, chunk after
    chunk, and ``first`` (R·C·2**n + 1,) each group's start in it."""
    n_chunks = cell_offsets.shape[0]
    blocks = (total_rows + _PATTERN_BLOCK - 1) // _PATTERN_BLOCK
    key = np.empty((n_chunks, total_rows), dtype=np.int32)
    for blk in nb.prange(blocks):
        m0 = blk * _PATTERN_BLOCK
        rows = min(_PATTERN_BLOCK, total_rows - m0)
        pattern, replica = _gather_patterns(signs, image_stride, position_base, cell_offsets, cell_valid, replicas,
                                            positions, m0, rows)
        for c in range(n_chunks):
            for i in range(rows):
                key[c, m0 + i] = replica[i] * patterns + np.int64(pattern[c, i])
    first = np.zeros(replicas * n_chunks * patterns + 1, dtype=np.int64)
    members = np.empty(n_chunks * total_rows, dtype=np.int32)
    for c in nb.prange(n_chunks):
        count = np.zeros(replicas * patterns, dtype=np.int64)
        for m in range(total_rows):
            count[key[c, m]] += 1
        at = np.empty(replicas * patterns, dtype=np.int64)
        pos = c * total_rows
        for rp in range(replicas * patterns):
            r, p = rp // patterns, rp % patterns
            first[(c * replicas + r) * patterns + p] = pos
            at[rp] = pos
            pos += count[rp]
        for m in range(total_rows):
            rp = key[c, m]
            members[at[rp]] = m
            at[rp] += 1
    first[-1] = n_chunks * total_rows
    return key, members, first


@nb.njit(cache=True, inline="always")
def _skip(u, log_keep):
    """Gap to the next Bernoulli success (``log_keep = log(1 − rate)``; −inf: rate 1; 0: none)."""
    if log_keep == 0.0:
        return np.int64(1) << 62
    gap = np.log(u) / log_keep
    return np.int64(gap) if gap < 1e18 else np.int64(1) << 62


@nb.njit(cache=True, parallel=True)
def _deviation_kernel(key_rows, members, first, pattern_of, listed, starts, group, dev, readout, offset, low, high,
                      tables, base, sigma, table, chunk_table, inv_step, inv_lsb, lsb, top_code, sparse_mass,
                      bernoulli_mass, key, key_sparse, key_exact, start, extra, changes, decide, cut, flip, ideal_plus,
                      plus, counts, out):
    """The pattern path from the ideal cells' sums ``start`` (B, O, L) (exact integers of any
    dtype, or ``out`` itself) plus ``lsb`` times the code deviations ``extra`` (integers of that
    shape, or of size 0: none) and the code changes drawn here: these are found one output at a
    time (its row of ``changes`` (O, B·L), an integer dtype that holds any sum of code changes,
    stays in cache), then every image's sums are written to ``out`` or, with ``decide``, decided
    instead: ``plus = (s > cut[o]) XOR flip[o]`` (bool, the shape of ``start``) and ``counts[b]``
    the signs of image ``b`` that differ from ``ideal_plus`` (``out`` is then not written).

    Each listed group (:func:`_deviation_lists`) adds its code deviation to every member and
    draws which members' noise reaches a boundary, each with probability the sum ``M`` of its
    two tabled tail masses (geometric gaps), and their exact code change: a candidate's ``x ~
    U(0, M)`` is its noise's quantile in the lower tail when ``x < mass_low``, else ``x −
    mass_low`` in the upper one. A group with ``M >= bernoulli_mass`` instead draws one uniform ``u`` per member, a candidate
    when ``u < M`` with ``x = u`` (no gaps: cheaper where most members are; ``u = (h + r)·2**-16``,
    ``h`` a 16-bit lane of a hash per four members, ``r`` drawn from stream ``key_exact`` only
    where ``h`` leaves ``u < M`` possible). Every other readout of the output is a candidate at
    rate ``sparse_mass`` (geometric gaps over chunk-major rows) with ``x ~ U(0, sparse_mass)``
    read the same way (``x >= M``: its noise cannot reach a boundary). Every readout so sees an
    exact N(0, σ²) draw. The readouts of the sparse stream are every (readout row, chunk) pair
    (``key_rows`` (C, rows): each one's key ``r·P + k`` of its group ``(c·R + r)·P + k``; the
    pattern path) or, when ``key_rows`` has no columns, the members of the groups in ``members``
    order (the frequent-pattern path: each candidate's group found in ``first``); group ``(c·R +
    r)·P + k`` holds the readouts of input pattern ``pattern_of[c, k]``."""
    batch, outs, positions = start.shape
    total_rows = batch * positions
    n_chunks = key_rows.shape[0]
    replicas = tables.shape[0]
    patterns = listed.shape[1] // (replicas * n_chunks)
    n_bits = _trailing_zeros(np.int64(patterns))
    log_sparse = np.log1p(-sparse_mass)
    sparse = sigma.max() > 0.0 and sparse_mass > 0.0  # the sparse stream draws
    by_rows = key_rows.shape[1] > 0  # the sparse stream's readouts: (chunk, row) pairs, else members
    sparse_readouts = n_chunks * total_rows if by_rows else members.size
    for o in nb.prange(outs):
        change_codes = np.zeros(total_rows, dtype=np.float32)  # this output's code changes per readout row
        hashes = np.empty(16, dtype=np.uint64)
        draws = hashes.view(np.uint16)  # four 16-bit lanes per hash
        for e in range(starts[o], starts[o + 1]):
            g = group[e]
            c = (g >> n_bits) // replicas
            m0, m1 = first[g], first[g + 1]
            if dev[e] != 0.0:
                for k in range(m0, m1):
                    change_codes[members[k]] += dev[e]
            mass = low[e] + high[e]
            if mass == 0.0:
                continue
            table_row = table[chunk_table[c]]
            stream = np.uint64(e) << np.uint64(32)
            if mass >= bernoulli_mass:  # one uniform per member, 64 at a time, then the candidates among them
                lim = mass * 65536.0
                for k0 in range(m0, m1, 64):
                    size = min(64, m1 - k0)
                    quads = stream + np.uint64((k0 - m0) >> 2)  # a hash per four members: 16-bit lanes
                    for t in range((size + 3) >> 2):
                        hashes[t] = _mix(key + (quads + np.uint64(t + 1)) * _GOLDEN)
                    hits = np.int64(0)
                    for j in range(64):
                        hits |= np.int64(np.float64(draws[j]) < lim) << j  # u = (lane + r)·2**-16 may be < M
                    if size < 64:
                        hits &= (np.int64(1) << size) - 1
                    while hits:
                        j = _trailing_zeros(hits)
                        hits &= hits - 1
                        h = np.float64(draws[j])
                        x_lo, x_hi = h * 2.0**-16, (h + 1.0) * 2.0**-16  # u's interval given its lane
                        if x_lo >= mass:
                            continue
                        sure = False
                        if x_hi < mass and (x_hi < low[e] or x_lo >= low[e]):  # the lane decides u < M and the tail
                            lower = x_hi < low[e]
                            sure, change = _sure_side_change(lower, x_lo if lower else x_lo - low[e],
                                                             x_hi if lower else x_hi - low[e], readout[e], offset[e],
                                                             table_row, inv_step, lsb, inv_lsb, top_code)
                        if not sure:  # the exact uniform
                            x = (h + _uniform(key_exact, stream + np.uint64(k0 - m0 + j))) * 2.0**-16
                            if x >= mass:
                                continue
                            lower = x < low[e]  # x ~ U(0, M) given u < M
                            change = _side_change(lower, x if lower else x - low[e], readout[e], offset[e], sigma[c],
                                                  table_row, inv_step, lsb, inv_lsb, top_code)
                        change_codes[members[k0 + j]] += change
                continue
            log_keep = np.log1p(-mass) if mass < 1.0 else -np.inf
            k = m0 + _skip(_uniform(key, stream), log_keep)
            count = 1
            while k < m1:
                x = _uniform(key, stream + np.uint64(count)) * mass
                lower = x < low[e]
                change_codes[members[k]] += _side_change(lower, x if lower else x - low[e], readout[e], offset[e],
                                                         sigma[c], table_row, inv_step, lsb, inv_lsb, top_code)
                k += 1 + _skip(_uniform(key, stream + np.uint64(count + 1)), log_keep)
                count += 2
        if sparse:
            stream = np.uint64(o) << np.uint64(40)
            f = _skip(_uniform(key_sparse, stream), log_sparse)
            count = 1
            while f < sparse_readouts:
                if by_rows:
                    c = f // total_rows
                    m = f - c * total_rows
                    g = c * replicas * patterns + np.int64(key_rows[c, m])
                else:  # the group whose members hold position f
                    g = np.searchsorted(first, f, side="right") - 1
                    m = np.int64(members[f])
                    c = (g >> n_bits) // replicas
                x = _uniform(key_sparse, stream + np.uint64(count)) * sparse_mass
                if sigma[c] > 0.0 and listed[o, g] == 0:
                    table_row = table[chunk_table[c]]
                    acc = _pattern_readout(tables, base, (g >> n_bits) % replicas, c, pattern_of[c, g & (patterns - 1)],
                                           o)
                    frac, m_low, m_high = _tail_masses(acc, inv_lsb, lsb, table_row, inv_step)
                    if x < m_low + m_high:
                        lower = x < m_low
                        change_codes[m] += _side_change(lower, x if lower else x - m_low, acc, frac, sigma[c], table_row,
                                                        inv_step, lsb, inv_lsb, top_code)
                f += 1 + _skip(_uniform(key_sparse, stream + np.uint64(count + 1)), log_sparse)
                count += 2
        for m in range(total_rows):  # exact integers
            changes[o, m] = change_codes[m]
    # image by image (contiguous slabs of start, extra and the results): float32 sums (exact
    # integers) and, deciding, byte-wise XORs; one vectorised pass per output
    lsb32 = np.float32(lsb)
    plus_bytes, ideal_bytes = plus.view(np.uint8), ideal_plus.view(np.uint8)
    with_extra = extra.size > 0
    for b in nb.prange(batch):
        total = np.empty(positions, dtype=np.float32)  # an image's code changes of one output
        n = np.int32(0)
        for o in range(outs):
            change = changes[o, b * positions : (b + 1) * positions]
            for l in range(positions):
                total[l] = change[l]
            if with_extra:
                for l in range(positions):
                    total[l] += np.float32(extra[b, o, l])
            if decide:
                c_o, f_o = cut[o], np.uint8(flip[o])
                for l in range(positions):
                    p = np.uint8(np.float32(start[b, o, l]) + total[l] * lsb32 > c_o) ^ f_o
                    plus_bytes[b, o, l] = p
                    n += np.int32(p ^ ideal_bytes[b, o, l])
            else:
                for l in range(positions):
                    out[b, o, l] = start[b, o, l] + total[l] * lsb32
        if decide:
            counts[b] = n


@nb.njit(cache=True, parallel=True)
def _sign_bits(a, signs):
    """``signs[i] = a[i] > 0`` (uint8) for the flat ``a``; returns True when every element is ±1
    (one vectorisable pass per block, blocks in parallel)."""
    bad = 0
    for blk in nb.prange((a.size + (1 << 16) - 1) >> 16):
        start = blk << 16
        stop = min(start + (1 << 16), a.size)
        found = False
        for i in range(start, stop):
            v = a[i]
            signs[i] = v > 0
            found |= v * v != np.float32(1.0)
        bad += found
    return bad == 0


@nb.njit(cache=True, parallel=True)
def signs_against(s, cut, flip, ideal_plus, plus, counts):
    """Sign decisions of the float32 sums ``s`` (B, O, L): ``plus = (s > cut[o]) XOR flip[o]``
    (bool, in place) and ``counts[b]`` the signs of image ``b`` that differ from ``ideal_plus``
    (one pass, images in parallel)."""
    batch, outs, positions = s.shape
    for b in nb.prange(batch):
        n = 0
        for o in range(outs):
            c, f = cut[o], flip[o]
            for l in range(positions):
                p = (s[b, o, l] > c) != f
                plus[b, o, l] = p
                n += p != ideal_plus[b, o, l]
        counts[b] = n


def _near_thresholds(sigma: np.ndarray, p_max: float, lsb: float) -> tuple[float, np.ndarray]:
    """The far readouts' candidate probability ``q = min(p_max, FAR_PROBABILITY)`` (0 without
    noise) and, per chunk, the offset from the code centre (in codes) beyond which a readout is
    near: closer than ``D = σ·Φ⁻¹(1 − q/2)`` to a boundary, i.e. ``|frac| > 0.5 − D/lsb``. The
    offsets are float32, like the readouts' (so the kernel compares full-width float32 vectors),
    rounded down: the near set can only grow, and every far readout is at least D away."""
    q = min(float(p_max), FAR_PROBABILITY) if np.any(sigma > 0) else 0.0
    if q > 0.0:
        thr = np.where(sigma > 0, 0.5 + sigma * ndtri(0.5 * q) / lsb, 0.5)
    else:
        thr = np.full(sigma.shape, 0.5)
    thr32 = thr.astype(np.float32)
    return q, np.where(thr32 > thr, np.nextafter(thr32, np.float32(-np.inf)), thr32)


def _reuse_slot(reuse: dict | None, a_shape: tuple, offsets: np.ndarray, position_base: np.ndarray,
                cells: tuple[int, int, int]) -> dict | None:
    """``reuse`` (see :func:`adc_digital_sums`) after checking, or filling, what it was made for;
    ``cells`` = (replicas, chunks, cells per chunk)."""
    if reuse is None:
        return None
    if not isinstance(reuse, dict):
        raise TypeError(f"reuse must be a dict or None, got {type(reuse).__name__}")
    made_for = (a_shape, offsets.tobytes(), position_base.tobytes(), cells)
    if reuse.setdefault("made_for", made_for) != made_for:
        raise ValueError("reuse holds the work of another layer input (its shape, offsets, position_base or "
                         f"(replicas, chunks, cells) differ: now input {a_shape}, cells {cells}); allowed: a dict "
                         "kept for one input, or None")
    return reuse


def _cells_slot(cells_reuse: dict | None, made_for: tuple) -> dict | None:
    """``cells_reuse`` (see :func:`adc_digital_sums`) after checking, or filling, the cells it was
    made for: ``made_for`` = (weight, bias, lengths, sigma, lsb, levels, ideal weight or None)."""
    if cells_reuse is None:
        return None
    if not isinstance(cells_reuse, dict):
        raise TypeError(f"cells_reuse must be a dict or None, got {type(cells_reuse).__name__}")
    kept = cells_reuse.setdefault("made_for", made_for)
    same = kept is made_for or all(
        a is b or (a is not None and b is not None and np.shape(a) == np.shape(b) and np.array_equal(a, b))
        for a, b in zip(kept, made_for))
    if not same:
        raise ValueError("cells_reuse holds the work of other cells (their weight, bias, lengths, sigma, lsb, levels "
                         "or ideal weight differ); allowed: a dict kept for one set of cells, or None")
    return cells_reuse


def _layer_slot(layer_reuse: dict | None, offsets: np.ndarray, cells: tuple[int, int]) -> dict:
    """``layer_reuse`` (see :func:`adc_digital_sums`) after checking, or filling, the chunks it was
    made for (a new dict when None); ``cells`` = (chunks, cells per chunk)."""
    if layer_reuse is None:
        return {}
    if not isinstance(layer_reuse, dict):
        raise TypeError(f"layer_reuse must be a dict or None, got {type(layer_reuse).__name__}")
    made_for = (offsets.tobytes(), cells)
    if layer_reuse.setdefault("made_for", made_for) != made_for:
        raise ValueError(f"layer_reuse holds the work of other chunks (their offsets or (chunks, cells) differ: now "
                         f"{cells}); allowed: a dict kept for the inputs of one layer, or None")
    return layer_reuse


def _frequent_lists(cells_reuse: dict | None, frequent, build):
    """The frequent-pattern path's lists of groups for ``frequent.patterns``, kept in ``cells_reuse``
    for the batches whose groups use the very same patterns array."""
    if cells_reuse is not None:
        held = cells_reuse.get("frequent lists")
        if held is not None and held[0] is frequent.patterns:
            return held[1]
    lists = build()
    if cells_reuse is not None:
        cells_reuse["frequent lists"] = (frequent.patterns, lists)
    return lists


def _kept(reuse: dict | None, name: str, build):
    """``reuse[name]`` when ``reuse`` holds it, else ``build()`` (stored in ``reuse`` when given)."""
    if reuse is not None and name in reuse:
        return reuse[name]
    value = build()
    if reuse is not None:
        reuse[name] = value
    return value


def _signs_of(a: np.ndarray) -> tuple[bool, np.ndarray]:
    """(every input ±1, the uint8 sign bits ``a > 0`` of the flat ``a``)."""
    signs = np.empty(a.size, dtype=np.uint8)  # input > 0, for the table path
    return _sign_bits(a.reshape(-1), signs), signs


def _patterns_pay(n: int, replicas: int, n_chunks: int, outs: int, rows: int, levels: int) -> bool:
    """True when the pattern path applies (codes fit a byte; its rows, one byte of code and one
    of screen per output, the screens padded to words of 64, fit ``_TABLE_BYTES``) and
    each of its rows is read often enough to pay for building it."""
    patterns = replicas * n_chunks * 2**n
    return (n <= PATTERN_BITS and levels <= 256 and patterns * (outs + -(-outs // 64) * 64) <= _TABLE_BYTES
            and rows >= _PATTERN_REUSE * replicas * 2**n)


def takes_deviation_path(n: int, replicas: int, n_chunks: int, outs: int, rows: int, levels: int, lsb: float,
                         lengths, k_total: int) -> bool:
    """True when :func:`adc_digital_sums` with ±1 inputs and ``ideal`` given reads the ideal cells'
    sums: an ADC of one code per popcount level (``lsb`` 2, every ``n_c <= levels - 1``, ``k_total
    = Σ n_c``), and either the deviation path (the pattern path applies, chunks of at least
    ``_DEVIATION_MIN_BITS`` inputs) or the frequent-pattern path (the subset-sum tables fit,
    chunks of at most ``pattern_groups.MAX_BITS`` inputs, at least ``pattern_groups.MIN_ROWS``
    readout rows)."""
    for name, value in (("n", n), ("replicas", replicas), ("n_chunks", n_chunks), ("outs", outs)):
        check_int(name, value, lo=1)
    check_int("rows", rows, lo=0)
    check_int("levels", levels, lo=2)
    check_positive("lsb", lsb)
    lengths = np.asarray(lengths)
    if lengths.shape != (n_chunks,):
        raise ValueError(f"lengths must have shape ({n_chunks},) (one cell count per chunk), got {lengths.shape}")
    exact = lsb == 2.0 and int(lengths.max()) <= levels - 1 and int(lengths.sum()) == k_total
    if _patterns_pay(n, replicas, n_chunks, outs, rows, levels):
        return exact and n >= _DEVIATION_MIN_BITS
    tables_fit = 4 * replicas * n_chunks * -(-n // GROUP_BITS) * 2**GROUP_BITS * outs <= _TABLE_BYTES
    return exact and tables_fit and n <= MAX_BITS and rows >= MIN_ROWS


def takes_frequent_path(n: int, replicas: int, n_chunks: int, outs: int, rows: int, levels: int, lsb: float,
                        lengths, k_total: int) -> bool:
    """True when :func:`adc_digital_sums` with ±1 inputs, ``ideal`` and ``reuse`` given takes the
    frequent-pattern path: it reads the ideal cells' sums (:func:`takes_deviation_path`) and the
    chunks are too long for the pattern path."""
    return (takes_deviation_path(n, replicas, n_chunks, outs, rows, levels, lsb, lengths, k_total)
            and not _patterns_pay(n, replicas, n_chunks, outs, rows, levels))


def _ideal_cells(ideal_weight, offsets, n_chunks) -> bool:
    """True when ``ideal_weight`` is ±1 in the cells in use (offsets >= 0) and 0 in the others."""
    w = np.asarray(ideal_weight)
    used = (offsets.reshape(n_chunks, -1) >= 0)[:, :, None]
    return bool(np.all(np.where(used, np.abs(w) == 1, w == 0)))


def adc_digital_sums(a: np.ndarray, offsets: np.ndarray, position_base: np.ndarray, weight: np.ndarray,
                     bias: np.ndarray, lengths: np.ndarray, sigma: np.ndarray, p_max: float, lsb: float, levels: int,
                     k_total: int, key: int, out: np.ndarray | None = None, ideal=None,
                     reuse: dict | None = None, cells_reuse: dict | None = None,
                     layer_reuse: dict | None = None, a_shape: tuple | None = None,
                     decisions: tuple | None = None, sign_bits: np.ndarray | None = None) -> np.ndarray | None:
    """Digital sums ``Σ_c Q(r_c)`` of the ADC readouts ``r_c = Σ_j x_j·weight[c, j] + bias_c + n_c``
    of every image and output position.

    Inputs are gathered from ``a`` (B, ...) (the padded layer input; or a callable returning it,
    with ``a_shape`` its shape, called only if the input's values are read: not on the table path
    when ``reuse`` holds the input's sign bits): cell ``k =
    c·N + j`` of position ``l`` of image ``b`` reads ``a.flat[b·stride + position_base[l] +
    offsets[k]]`` (``offsets[k] < 0``: unused cell, input 0). Position ``l`` uses replica ``l % R``
    of ``weight`` (R, C, N, O) (effective cell weights) and ``bias`` (R, C, O) (chunk offsets);
    ``lengths`` (C,) cells per chunk, ``sigma`` (C,) noise std, ``key`` the random stream. ADC code
    ``clip(rint((r + n_c)/lsb), 0, levels - 1)``, value ``code·lsb − n_c`` summed over chunks.
    Returns (B, O, L) float32 (written into ``out`` when given: C-contiguous float32 of that
    shape). When every input is ±1 (and the tables fit in 64 MiB) a readout is assembled from
    subset-sum tables of ``GROUP_BITS`` inputs (one row per group instead of one multiply-add per
    cell).

    ``p_max``: an upper bound, over all readouts, of the probability that the noise changes a
    code (1 = any readout's may). With ``q = min(p_max, FAR_PROBABILITY)`` and ``D = σ·Φ⁻¹(1 − q/2)``
    (so that P(|n| > D) = q), a readout closer than ``D`` to a code boundary ("near") gets a
    full Gaussian draw of its own; every other readout is a candidate with probability ``q``
    (geometric gaps) and a candidate's noise comes from the two tails of mass ``q/2``, while a
    non-candidate's noise is below ``D`` and cannot reach a boundary. Every readout therefore sees
    an exact N(0, σ²) draw. ``Φ⁻¹`` is evaluated only where a table of ``Φ`` cannot decide (the
    draw falls inside one grid cell of the boundary's tail probability, or may cross two).

    ``ideal``: optionally ``(ideal_weight, sums)``, the ideal cells' weights (C, N, O) (±1 in
    the cells in use, 0 in the others) and their digital sums (B, O, L) for these inputs (float32,
    int16 or int32; ``sums`` may be ``out`` itself). On the pattern path with an ADC of one code per popcount level
    (``lsb`` 2, every chunk's ``n_c <= levels - 1``, ``k_total = Σ n_c``) the ideal cells' codes sum
    exactly to ``sums``, so only the readouts whose code deviates from theirs, or whose noise can
    reach a boundary, are visited (:func:`_deviation_kernel`); otherwise ``ideal`` is not used.

    ``reuse``: optionally a dict the caller keeps for calls on the very same ``a``, ``offsets`` and
    ``position_base`` and the same cell layout (replicas, chunks, cells per chunk), chip after chip
    on one layer input: the work that depends on those alone (the inputs' sign bits, and the
    deviation path's grouping of the readouts by input pattern) is stored in it by the first call
    and read back by the others. A dict filled for another shape, offsets or layout is refused.
    With it (and ``ideal``), chunks too long for the pattern path take the frequent-pattern path
    (module docstring): its groups cost about as much to build as one chip's readouts, so they pay
    only when kept for more chips.

    ``cells_reuse``: optionally a dict the caller keeps for calls with the very same cells
    (``weight``, ``bias``, ``lengths``, ``sigma``, ``lsb``, ``levels`` and ideal weight), batch after
    batch of one chip: the subset-sum tables and the deviation path's lists of groups, which depend on
    the cells alone, are stored in it by the first call and read back by the others. A dict filled
    for other cells is refused.

    ``layer_reuse``: optionally a dict the caller keeps for every input of one layer (the batches of
    a dataset, with ``reuse`` for each): the frequent-pattern path chooses its frequent patterns on
    the first input and groups the others' readouts by the very same patterns, so that one chip's
    lists of groups (in ``cells_reuse``) serve every batch. A dict filled for other chunks (offsets)
    is refused.

    ``sign_bits``: optionally the input's sign bits (uint8, one per element of ``a`` in order, 1
    where the input is +1), given by a caller whose input is ±1 by construction: the table path
    then reads them instead of ``a``'s values.

    ``decisions``: optionally ``(cut, flip, ideal_plus, plus, counts)``, the sign decisions of the
    sums wanted instead of (or besides) the sums: ``cut`` (O,) float32, ``flip`` (O,) bool,
    ``ideal_plus`` (B, O, L) bool; written are ``plus`` (B, O, L) bool, ``(sum > cut) XOR flip``
    (:func:`signs_against`), and ``counts`` (B,) int64, each image's signs that differ from
    ``ideal_plus``. The paths that read the ideal sums (the deviation and frequent-pattern paths)
    then decide every readout as they add their last code changes and return None (on the
    deviation path the sums are never written); every other path returns the sums as usual
    (then decided).
    """
    check_positive("lsb", lsb)
    levels, k_total = check_int("levels", levels, lo=2), check_int("k_total", k_total, lo=1)
    key = check_int("key", key, lo=0, hi=2**64 - 1)
    check_range("p_max", p_max, 0.0, 1.0)
    if callable(a):  # made only if its values are read
        if a_shape is None:
            raise ValueError("a given as a callable needs a_shape (the shape of the array it returns)")
        a_shape, make = tuple(int(d) for d in a_shape), a
        a = None
    else:
        a = np.ascontiguousarray(a, dtype=np.float32)
        if a_shape is not None and tuple(a_shape) != a.shape:
            raise ValueError(f"a_shape must be the shape of a {a.shape}, got {tuple(a_shape)}")
        a_shape = a.shape

    def values() -> np.ndarray:
        made = np.ascontiguousarray(make(), dtype=np.float32) if a is None else a
        if made.shape != a_shape:
            raise ValueError(f"a returned shape {made.shape}, not a_shape {a_shape}")
        return made

    weight = np.ascontiguousarray(weight, dtype=np.float32)
    if weight.ndim != 4:
        raise ValueError(f"weight must have shape (R, C, N, O), got {weight.shape}")
    replicas, n_chunks, n, outs = weight.shape
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    position_base = np.ascontiguousarray(position_base, dtype=np.int64)
    if offsets.shape != (n_chunks * n,):
        raise ValueError(f"offsets must have shape ({n_chunks * n},) for weight {weight.shape}, got {offsets.shape}")
    if bias.shape != (replicas, n_chunks, outs):
        raise ValueError(f"bias must have shape {(replicas, n_chunks, outs)}, got {bias.shape}")
    stride = math.prod(a_shape[1:])
    if a_shape[0] and (offsets.max() + position_base.max() >= stride or position_base.min() < 0):
        raise ValueError("offsets + position_base reach outside one image of a")
    sigma = np.ascontiguousarray(sigma, dtype=np.float64)
    bias = np.ascontiguousarray(bias, dtype=np.float32)
    lengths = np.ascontiguousarray(lengths, dtype=np.float32)
    q, thr = _near_thresholds(sigma, p_max, lsb)
    step = lsb / _TABLE_POINTS
    levels_sigma, chunk_table = np.unique(sigma, return_inverse=True)  # one table per distinct σ
    grid = np.arange(2 * _TABLE_POINTS + 2) * step  # distances 0 .. 2 steps (a readout's two nearest boundaries)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = np.where(levels_sigma[:, None] > 0, ndtr(-grid[None, :] / levels_sigma[:, None]), 0.0)
    groups = -(-n // GROUP_BITS)
    table_bytes = 4 * replicas * n_chunks * groups * 2**GROUP_BITS * outs
    reuse = _reuse_slot(reuse, a_shape, offsets, position_base, (replicas, n_chunks, n))
    if sign_bits is not None:
        sign_bits = np.asarray(sign_bits)
        if sign_bits.dtype != np.uint8 or sign_bits.shape != (math.prod(a_shape),):
            raise ValueError(f"sign_bits must be a uint8 array of shape ({math.prod(a_shape)},) (one per element of "
                             f"a), got {sign_bits.dtype} {sign_bits.shape}")
    if table_bytes <= _TABLE_BYTES:
        tabled, signs = _kept(reuse, "signs", lambda: _signs_of(values()) if sign_bits is None else (True, sign_bits))
    else:  # the tables would not fit: the multiply-add path, no sign bits
        tabled, signs = False, np.empty(0, dtype=np.uint8)
    cells_reuse = _cells_slot(cells_reuse, (weight, bias, lengths, sigma, float(lsb), levels,
                                            None if ideal is None else np.asarray(ideal[0])))
    if tabled:
        tables, base = _kept(cells_reuse, "tables", lambda: _subset_tables(weight, bias, lengths, GROUP_BITS))
        cells = np.full((n_chunks, groups * GROUP_BITS), -1, dtype=np.int64)  # (chunk, group, bit) -> input offset
        cells[:, :n] = offsets.reshape(n_chunks, n)
        used = cells.reshape(-1, GROUP_BITS) >= 0
        group_valid = (used << np.arange(GROUP_BITS)).sum(axis=1).astype(np.int64)  # bits of the cells in use
        group_offsets = np.maximum(cells.ravel(), 0)
    else:
        tables, base = np.zeros((1, 1, 1, 2, 1), np.float32), np.zeros((1, 1, 1), np.float32)
        group_offsets, group_valid = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    shape = (a_shape[0], outs, len(position_base))
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {shape}, got {out.dtype} {out.shape}")
    if ideal is not None:
        if np.shape(ideal[0]) != (n_chunks, n, outs):
            raise ValueError(f"ideal weight must have shape {(n_chunks, n, outs)}, got {np.shape(ideal[0])}")
        ideal_sums = ideal[1] if ideal[1] is out else np.ascontiguousarray(ideal[1])
        if ideal_sums.shape != shape or ideal_sums.dtype not in _IDEAL_SUM_DTYPES:
            raise ValueError(f"ideal sums must be an array of shape {shape} and dtype float32, int16 or int32, got "
                             f"{ideal_sums.dtype} {ideal_sums.shape}")
    if decisions is not None:
        decisions = _checked_decisions(decisions, shape)
    rows = shape[0] * shape[2]
    cell_offsets = offsets.reshape(n_chunks, n)
    cell_valid = ((cell_offsets >= 0) << np.arange(n)).sum(axis=1).astype(np.int64)
    cell_args = (signs, stride, position_base, np.maximum(cell_offsets, 0), cell_valid)
    step_args = (sigma, table, chunk_table.astype(np.int64).ravel(), 1.0 / step, 1.0 / lsb, float(lsb),
                 np.float32(levels - 1))
    # unrelated streams, one key after another: the rows' far candidates, their near readouts, the
    # frequent-pattern groups' members and sparse candidates, the near readouts' exact uniforms,
    # the groups' members' exact uniforms
    chain = [np.uint64(key)]
    for _ in range(5):
        chain.append(np.uint64(_second_key(chain[-1])))
    keys, k3, exact = (chain[0], chain[1]), chain[2], chain[4]
    reads_ideal = (tabled and ideal is not None and _ideal_cells(ideal[0], offsets, n_chunks)
                   and takes_deviation_path(n, replicas, n_chunks, outs, rows, levels, lsb, lengths, k_total))
    if tabled and _patterns_pay(n, replicas, n_chunks, outs, rows, levels):
        if reads_ideal:
            every = np.tile(np.arange(2**n, dtype=np.int64), (n_chunks, 1))
            lists = _kept(cells_reuse, "lists", lambda: _lists_against_ideal(
                tables, base, ideal[0], lengths, every, np.full(n_chunks, 2**n), step_args, _SPARSE_MASS))
            grouped = _kept(reuse, "grouped", lambda: _group_readouts(*cell_args, replicas, 2**n, rows, shape[2]))
            return _deviate((*grouped, every, *lists, tables, base, *step_args, _SPARSE_MASS, _BERNOULLI_MASS, *keys,
                             chain[5]), ideal_sums, out, decisions, _NO_CODES, _code_sums_dtype(n_chunks, levels))
        else:
            codes, screens = _pattern_tables(tables, base, n, *step_args)
            _pattern_kernel(*cell_args, codes, screens, tables, base, *step_args, float(k_total), *keys, out)
        return _decided(out, decisions)
    if reads_ideal and reuse is not None:  # the groups pay for themselves only when kept for more chips
        # the frequent patterns' readouts as groups, the others one by one (code deviations)
        chosen = _layer_slot(layer_reuse, offsets, (n_chunks, n))
        frequent = _kept(reuse, "frequent", lambda: frequent_groups(*cell_args, replicas, rows, chosen.get("patterns")))
        chosen.setdefault("patterns", (frequent.patterns, frequent.counts))
        lists = _frequent_lists(cells_reuse, frequent, lambda: _lists_against_ideal(
            tables, base, ideal[0], lengths, frequent.patterns, frequent.counts, step_args, _FREQUENT_SPARSE_MASS))
        ideal_bits = _kept(cells_reuse, "ideal bits", lambda: (
            (np.asarray(ideal[0]) > 0) << np.arange(n)[None, :, None]).sum(axis=1).astype(np.int64))
        # the rare pairs' code deviations (int16 where any sum of codes fits), then the groups' with them
        codes = np.empty(shape, dtype=_code_sums_dtype(n_chunks, levels))
        _rare_kernel(frequent.rare_first, frequent.rare_chunk, frequent.rare_pattern, replicas, tables, base, lengths,
                     ideal_bits, thr, q, *step_args, *keys, exact, codes)
        return _deviate((np.zeros((n_chunks, 0), dtype=np.int32), frequent.members, frequent.first, frequent.patterns,
                         *lists, tables, base, *step_args, _FREQUENT_SPARSE_MASS, _BERNOULLI_MASS, k3, chain[3],
                         chain[5]), ideal_sums, out, decisions, codes, codes.dtype)
    inputs = np.empty(0, np.float32) if tabled else values().reshape(-1)  # the table path reads the sign bits only
    _adc_kernel(inputs, signs, stride, position_base, offsets, group_offsets, group_valid, weight, bias, lengths,
                tabled, tables, base, sigma, thr, q, table, chunk_table.astype(np.int64).ravel(), 1.0 / step, 1.0 / lsb,
                float(lsb), np.float32(levels - 1), float(k_total), *keys, exact, out)
    return _decided(out, decisions)


#: Stand-ins for the deviation kernel's decision arrays, and its sums, when it does not use them.
_NO_DECISIONS = (np.zeros(0, np.float32), np.zeros(0, np.bool_), np.zeros((0, 0, 0), np.bool_),
                 np.zeros((0, 0, 0), np.bool_), np.zeros(0, np.int64))
_NO_SUMS = np.zeros((0, 0, 0), np.float32)
_NO_CODES = np.zeros((0, 0, 0), np.int16)


def _code_sums_dtype(n_chunks: int, levels: int) -> type:
    """The integer dtype that holds any readout row's code changes summed over its chunks (each
    within ± the ADC's top code)."""
    return np.int16 if n_chunks * (levels - 1) < 2**15 else np.int32


def _deviate(args: tuple, start: np.ndarray, out: np.ndarray, decisions, extra: np.ndarray,
             change_dtype) -> np.ndarray | None:
    """:func:`_deviation_kernel` on ``args`` (its arguments up to its keys) from ``start`` and the
    code deviations ``extra``: the sums written to ``out`` (returned) or, given ``decisions``,
    their signs decided in its last pass (None returned). ``change_dtype``: the kernel's rows of
    code changes (:func:`_code_sums_dtype`)."""
    changes = np.empty((out.shape[1], out.shape[0] * out.shape[2]), dtype=change_dtype)
    if decisions is None:
        _deviation_kernel(*args, start, extra, changes, False, *_NO_DECISIONS, out)
        return out
    _deviation_kernel(*args, start, extra, changes, True, *decisions, _NO_SUMS)
    return None


def _checked_decisions(decisions, shape: tuple) -> tuple:
    """``decisions`` (see :func:`adc_digital_sums`) after checking its arrays against the sums' ``shape``."""
    if not isinstance(decisions, tuple) or len(decisions) != 5:
        raise TypeError("decisions must be a tuple (cut, flip, ideal_plus, plus, counts)")
    want = (("cut", (shape[1],), np.float32), ("flip", (shape[1],), np.bool_), ("ideal_plus", shape, np.bool_),
            ("plus", shape, np.bool_), ("counts", (shape[0],), np.int64))
    for (name, want_shape, dtype), value in zip(want, decisions):
        if not isinstance(value, np.ndarray) or value.shape != want_shape or value.dtype != dtype \
                or not value.flags.c_contiguous:
            got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(f"decisions: {name} must be a C-contiguous {np.dtype(dtype)} array of shape "
                             f"{want_shape}, got {got}")
    return decisions


def _decided(out: np.ndarray, decisions) -> np.ndarray:
    """``out``, after writing its sign decisions into ``decisions`` when given."""
    if decisions is not None:
        signs_against(out, *decisions)
    return out


def _lists_against_ideal(tables, base, ideal_weight, lengths, pattern_of, counts, step_args, sparse_mass):
    """:func:`_deviation_lists` against the ideal cells ``ideal_weight`` (C, N, O)."""
    n_chunks, _, outs = np.shape(ideal_weight)
    ref_tables, ref_base = _subset_tables(np.ascontiguousarray(ideal_weight, dtype=np.float32)[None],
                                          np.zeros((1, n_chunks, outs), np.float32), lengths, GROUP_BITS)
    return _deviation_lists(tables, base, ref_tables, ref_base, pattern_of, counts, *step_args, sparse_mass)
