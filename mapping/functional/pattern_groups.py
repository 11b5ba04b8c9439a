"""Readouts grouped by a frequent input pattern of their chunk (helper of ``mapping.functional.readout_noise``).

A chunk of ``n`` ±1 inputs (``n`` up to :data:`MAX_BITS`) sees one of ``2**n`` patterns, but a
layer's inputs repeat a few of them very often (an MNIST patch of background is all −1). The
readouts of one (replica, chunk, pattern) share their noiseless value for every output, so the
frequent patterns' readouts can be visited as groups (their noise drawn by geometric gaps at the
group's tail mass), and only the other readouts one by one. Which patterns count as frequent is
a deterministic rule on the inputs alone (:func:`frequent_groups`; or the patterns chosen on an
earlier batch of the layer): it changes which readouts take which path, never the distribution
they are drawn from.

Everything here depends on the layer input only, not on the chip: a caller that runs many chips
on one input keeps it (``adc_digital_sums(..., reuse=...)``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

__all__ = ["MAX_BITS", "SAMPLE_STEP", "MIN_SAMPLED", "MAX_PATTERNS", "MIN_ROWS", "PatternGroups", "frequent_groups"]

#: Longest chunk whose patterns are keyed (one uint64 per readout row and chunk, 0 kept for "none").
MAX_BITS = 62
#: Every SAMPLE_STEP-th readout row is counted to find the frequent patterns.
SAMPLE_STEP = 8
#: A pattern seen at least this often among the sampled rows is frequent (about 16 rows of the whole).
MIN_SAMPLED = 2
#: Most frequent patterns per chunk (the most often sampled first; ties by pattern value).
MAX_PATTERNS = 4096
#: Fewest readout rows for which the grouping is built (below, the sample says little).
MIN_ROWS = 1 << 14

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class PatternGroups:
    """Frequent patterns of every chunk and the readout rows that carry them.

    ``patterns`` (C, P) int64: the frequent patterns of each chunk (bit j: input j is +1; unused
    cells 0), ``counts`` (C,) how many of each row are in use (P = a power of two >= every count);
    ``members`` (rows that carry a frequent pattern, chunk after chunk) int32 and ``first`` (R·C·P + 1,)
    int64: the rows of group ``(c·R + r)·P + k`` (replica r of their position, pattern k of chunk c)
    are ``members[first[g] : first[g + 1]]``, ascending. The rare readouts, row by row: row ``m``'s
    are entries ``rare_first[m] : rare_first[m + 1]`` (``rare_first`` (rows + 1,) int64), each its
    chunk (``rare_chunk``, int32, ascending within a row) and pattern (``rare_pattern``, int64)."""

    patterns: np.ndarray
    counts: np.ndarray
    members: np.ndarray
    first: np.ndarray
    rare_first: np.ndarray
    rare_chunk: np.ndarray
    rare_pattern: np.ndarray

    @property
    def per_chunk(self) -> int:
        return self.patterns.shape[1]

    @property
    def coverage(self) -> float:
        """Fraction of (row, chunk) readouts that carry a frequent pattern."""
        return float(self.members.size / max(1, self.members.size + self.rare_chunk.size))


@nb.njit(cache=True, parallel=True)
def _row_patterns(signs, image_stride, position_base, cell_offsets, cell_valid, total_rows, positions, step):
    """The pattern (C, ceil(rows / step)) uint64 of every ``step``-th readout row per chunk."""
    n_chunks, n = cell_offsets.shape
    n_rows = (total_rows + step - 1) // step
    keys = np.empty((n_chunks, n_rows), dtype=np.uint64)
    for s in nb.prange(n_rows):
        m = s * step
        b = m // positions
        start = b * image_stride + position_base[m - b * positions]
        for c in range(n_chunks):
            p = np.uint64(0)
            for j in range(n):
                p |= np.uint64(signs[np.uint64(start + cell_offsets[c, j])]) << np.uint64(j)
            keys[c, s] = p & np.uint64(cell_valid[c])
    return keys


@nb.njit(cache=True, inline="always")
def _slot_bits(size):
    """log2 of the power of two ``size`` (slots per table)."""
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return bits


@nb.njit(cache=True, inline="always")
def _slot(key, slot_bits):
    return np.int64((key * _GOLDEN) >> np.uint64(64 - slot_bits))


@nb.njit(cache=True)
def _hash_slots(patterns, counts, size):
    """Open-addressing tables (C, size) of each chunk's patterns: key ``pattern + 1`` (0: empty) and index."""
    n_chunks = patterns.shape[0]
    slot_bits = _slot_bits(size)
    slots = np.zeros((n_chunks, size), dtype=np.uint64)
    slot_ids = np.zeros((n_chunks, size), dtype=np.int64)
    for c in range(n_chunks):
        for k in range(counts[c]):
            key = np.uint64(patterns[c, k]) + np.uint64(1)
            h = _slot(key, slot_bits)
            while slots[c, h] != 0:
                h = (h + 1) & (size - 1)
            slots[c, h] = key
            slot_ids[c, h] = k
    return slots, slot_ids


@nb.njit(cache=True, parallel=True)
def _group_rows(keys, slots, slot_ids, replicas, positions, per_chunk):
    """Every row's frequent-pattern index per chunk (a hash lookup; -1: rare), and the frequent
    rows sorted by group (a counting sort per chunk, rows ascending within a group)."""
    n_chunks, total_rows = keys.shape
    size = slots.shape[1]
    slot_bits = _slot_bits(size)
    group_of = np.empty((n_chunks, total_rows), dtype=np.int32)
    for c in nb.prange(n_chunks):
        for m in range(total_rows):
            key = keys[c, m] + np.uint64(1)  # 0 marks an empty slot
            h = _slot(key, slot_bits)
            found = -1
            while slots[c, h] != 0:
                if slots[c, h] == key:
                    found = slot_ids[c, h]
                    break
                h = (h + 1) & (size - 1)
            group_of[c, m] = found
    groups = replicas * per_chunk
    first = np.zeros(n_chunks * groups + 1, dtype=np.int64)
    counts = np.zeros((n_chunks, groups), dtype=np.int64)
    for c in nb.prange(n_chunks):
        for m in range(total_rows):
            k = group_of[c, m]
            if k >= 0:
                counts[c, (m % positions) % replicas * per_chunk + k] += 1
    pos = 0
    for c in range(n_chunks):
        for g in range(groups):
            first[c * groups + g] = pos
            pos += counts[c, g]
    first[-1] = pos
    members = np.empty(pos, dtype=np.int32)
    for c in nb.prange(n_chunks):
        at = first[c * groups : (c + 1) * groups].copy()
        for m in range(total_rows):
            k = group_of[c, m]
            if k >= 0:
                g = (m % positions) % replicas * per_chunk + k
                members[at[g]] = m
                at[g] += 1
    return group_of, members, first


@nb.njit(cache=True)
def _rare_entries(keys, group_of):
    """The (row, chunk) readouts of no frequent pattern, row by row: (first (rows + 1,), chunk, pattern)."""
    n_chunks, total_rows = keys.shape
    first = np.zeros(total_rows + 1, dtype=np.int64)
    for c in range(n_chunks):
        for m in range(total_rows):
            first[m + 1] += group_of[c, m] < 0
    for m in range(total_rows):
        first[m + 1] += first[m]
    chunk = np.empty(first[-1], dtype=np.int32)
    pattern = np.empty(first[-1], dtype=np.int64)
    at = first[:-1].copy()
    for c in range(n_chunks):  # chunk-major reads; each row's entries come out in chunk order
        for m in range(total_rows):
            if group_of[c, m] < 0:
                chunk[at[m]] = c
                pattern[at[m]] = np.int64(keys[c, m])
                at[m] += 1
    return first, chunk, pattern


def frequent_groups(signs: np.ndarray, image_stride: int, position_base: np.ndarray, cell_offsets: np.ndarray,
                    cell_valid: np.ndarray, replicas: int, total_rows: int, chosen=None) -> PatternGroups:
    """The frequent patterns of every chunk and their rows (:class:`PatternGroups`).

    ``signs`` (uint8, 1 = input +1) flat over the layer input; readout row ``m`` (image ``m //
    L``, position ``m % L``, L = ``len(position_base)``) reads input ``b·image_stride +
    position_base[l] + cell_offsets[c, j]`` in cell ``j`` of chunk ``c``; ``cell_valid[c]`` has a
    bit per cell in use. Frequent: seen at least :data:`MIN_SAMPLED` times among every
    :data:`SAMPLE_STEP`-th row, at most :data:`MAX_PATTERNS` per chunk; or, given ``chosen``
    (the ``(patterns, counts)`` of an earlier result, e.g. on another batch of the same layer),
    those patterns (the very arrays, so that work on them can be shared)."""
    n_chunks, n = cell_offsets.shape
    if n > MAX_BITS:
        raise ValueError(f"chunks of {n} cells cannot be keyed; allowed: at most {MAX_BITS}")
    positions = len(position_base)
    args = (signs, image_stride, position_base, cell_offsets, cell_valid, total_rows, positions)
    sampled = None
    if chosen is None:
        sampled = _row_patterns(*args, SAMPLE_STEP)
        patterns, counts = _choose(sampled)
    else:
        patterns, counts = chosen
        if patterns.ndim != 2 or patterns.shape[0] != n_chunks or counts.shape != (n_chunks,):
            raise ValueError(f"chosen patterns must be ({n_chunks}, P) with ({n_chunks},) counts, got "
                             f"{patterns.shape} and {counts.shape}")
    slots, slot_ids = _hash_slots(patterns, counts, 2 * patterns.shape[1])  # load factor <= 1/2
    keys = sampled if SAMPLE_STEP == 1 and sampled is not None else _row_patterns(*args, 1)
    group_of, members, first = _group_rows(keys, slots, slot_ids, replicas, positions, patterns.shape[1])
    return PatternGroups(patterns, counts, members, first, *_rare_entries(keys, group_of))


def _choose(sampled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's frequent patterns among the sampled rows' (C, S): ``patterns`` (C, P), P a power
    of two, and ``counts`` (C,) (:func:`frequent_groups`)."""
    chosen = []
    for c in range(sampled.shape[0]):
        values, seen = np.unique(sampled[c], return_counts=True)
        order = np.lexsort((values, -seen))  # most often seen first, ties by value
        keep = order[seen[order] >= MIN_SAMPLED][:MAX_PATTERNS]
        chosen.append(values[keep])
    per_chunk = 1 << max(0, int(max(len(v) for v in chosen) - 1).bit_length())
    patterns = np.zeros((sampled.shape[0], per_chunk), dtype=np.int64)
    counts = np.array([len(v) for v in chosen], dtype=np.int64)
    for c, values in enumerate(chosen):
        patterns[c, : len(values)] = values.astype(np.int64)
    return patterns, counts
