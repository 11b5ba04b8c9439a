"""Readouts grouped by frequent input patterns (mapping.functional.pattern_groups), against NumPy."""
import numpy as np
import pytest

from mapping.functional import pattern_groups as pg


def _patterns_by_numpy(signs, stride, base, cell_offsets, cell_valid, rows):
    """(C, rows) pattern of every readout row: bit j = sign of its cell j (cells in use only)."""
    m = np.arange(rows)
    start = (m // len(base)) * stride + base[m % len(base)]
    n_chunks, n = cell_offsets.shape
    keys = np.zeros((n_chunks, rows), dtype=np.int64)
    for c in range(n_chunks):
        for j in range(n):
            keys[c] |= signs[start + cell_offsets[c, j]].astype(np.int64) << j
        keys[c] &= cell_valid[c]
    return keys


@pytest.mark.parametrize("replicas", [1, 3])
def test_groups_hold_exactly_the_rows_of_their_pattern_and_replica(replicas, monkeypatch):
    """Every frequent pattern's group holds, ascending, exactly the rows (of its replica) whose
    chunk carries it; the other (row, chunk) pairs are listed as rare, with their pattern; the frequent set follows the rule
    (seen at least MIN_SAMPLED times among every SAMPLE_STEP-th row, most often seen first)."""
    monkeypatch.setattr(pg, "MAX_PATTERNS", 5)
    rng = np.random.default_rng(1)
    images, positions, n_chunks, n = 60, 7, 3, 5
    stride = 40
    signs = (rng.random(images * stride) < 0.2).astype(np.uint8)  # skewed: some patterns repeat a lot
    base = rng.integers(0, stride - 20, positions)
    cell_offsets = rng.integers(0, 20, (n_chunks, n))
    cell_valid = np.array([31, 31, 7], dtype=np.int64)  # the last chunk uses 3 cells
    rows = images * positions
    groups = pg.frequent_groups(signs, stride, base, cell_offsets, cell_valid, replicas, rows)
    keys = _patterns_by_numpy(signs, stride, base, cell_offsets, cell_valid, rows)
    per = groups.per_chunk
    replica = (np.arange(rows) % positions) % replicas
    for c in range(n_chunks):
        values, seen = np.unique(keys[c, :: pg.SAMPLE_STEP], return_counts=True)
        order = np.lexsort((values, -seen))
        want = values[order][seen[order] >= pg.MIN_SAMPLED][: pg.MAX_PATTERNS]
        np.testing.assert_array_equal(groups.patterns[c, : groups.counts[c]], want)
        for k in range(per):
            for r in range(replicas):
                g = (c * replicas + r) * per + k
                got = groups.members[groups.first[g] : groups.first[g + 1]]
                expect = (np.flatnonzero((keys[c] == want[k]) & (replica == r)) if k < len(want)
                          else np.zeros(0, dtype=np.int64))
                np.testing.assert_array_equal(got, expect)
    # the rare readouts, row by row in chunk order: exactly the (row, chunk) pairs of no frequent pattern
    rare = [(m, c, keys[c, m]) for m in range(rows) for c in range(n_chunks)
            if not np.isin(keys[c, m], groups.patterns[c, : groups.counts[c]])]
    np.testing.assert_array_equal(np.diff(groups.rare_first), np.bincount([m for m, _, _ in rare], minlength=rows))
    np.testing.assert_array_equal(groups.rare_chunk, [c for _, c, _ in rare])
    np.testing.assert_array_equal(groups.rare_pattern, [p for _, _, p in rare])
    assert groups.coverage == pytest.approx(np.mean([np.isin(keys[c], groups.patterns[c, : groups.counts[c]])
                                                     for c in range(n_chunks)]))


def test_chunks_too_long_to_key_are_refused():
    with pytest.raises(ValueError, match="at most 62"):
        pg.frequent_groups(np.zeros(100, np.uint8), 100, np.zeros(1, np.int64), np.zeros((1, 63), np.int64),
                           np.zeros(1, np.int64), 1, 1)
