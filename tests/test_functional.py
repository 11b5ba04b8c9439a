"""mapping.functional: hardware-faithful BNN inference chip by chip.

Oracles: a plain NumPy per-cell evaluation of every readout (levels c = α + βa + γw + δaw
summed per chunk, ADC / comparator applied), Gaussian tail probabilities for the noise, the
software BNN (exact integer sums) for the ideal chip.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import ndtr

from mapping.functional.layer import Adc, LayerCells, LayerGeometry, decide, draw_readouts, hardware_sums, ideal_sums


# ---------------------------------------------------------------- NumPy oracle of one layer
def _im2col(a, kernel, stride, padding, pad_value):
    """(B, L, K) patches of a (B, C, H, W) input, torch flatten order, by explicit loops."""
    cin, kh, kw = kernel
    ph, pw = padding
    b, _, h, w = a.shape
    ap = np.full((b, cin, h + 2 * ph, w + 2 * pw), pad_value)
    ap[:, :, ph : ph + h, pw : pw + w] = a
    oh = (h + 2 * ph - kh) // stride[0] + 1
    ow = (w + 2 * pw - kw) // stride[1] + 1
    cols = np.empty((b, oh * ow, cin * kh * kw))
    for y in range(oh):
        for x in range(ow):
            patch = ap[:, :, y * stride[0] : y * stride[0] + kh, x * stride[1] : x * stride[1] + kw]
            cols[:, y * ow + x, :] = patch.reshape(b, -1)
    return cols, (oh, ow)


def _oracle(a, weight, coef, chunk, *, kernel=None, stride=(1, 1), padding=(0, 0), adc_bits=8,
            threshold=None, flip=None, gaps=None):
    """Per-cell levels summed per chunk; ADC per chunk when K > N, else analog comparator.

    Returns the digital sums (ADC case) or the ±1 decisions (comparator case), shaped like the
    layer output. ``gaps`` (a list) receives the smallest distance of a readout to a decision
    boundary.
    """
    a = np.asarray(a, dtype=np.float64)
    if kernel is None:
        cols, spatial = a[:, None, :], ()
    else:
        cols, spatial = _im2col(a, kernel, stride, padding, -1.0)
    o, k = weight.shape
    coef = np.asarray(coef)
    if coef.ndim == 3:  # one set of cells for every position; else (R, O, K, 4), position l on l % R
        coef = coef[None]
    coef = coef[np.arange(cols.shape[1]) % coef.shape[0]][None]  # (1, L, O, K, 4)
    al, be, ga, de = (coef[..., i] for i in range(4))
    a_ = cols[:, :, None, :]
    levels = al + be * a_ + ga * weight + de * a_ * weight  # (B, L, O, K)
    n_chunks = -(-k // chunk)
    if n_chunks == 1:  # comparator: reference midway between the popcount levels around t
        r = levels.sum(-1)
        grid = np.arange(-k, k + 1, 2)
        out = np.empty(r.shape, dtype=bool)
        for j in range(o):
            above = grid[grid >= threshold[j]]
            below = grid[grid <= threshold[j]]
            if flip[j]:
                ref = (below.max() + (below.max() + 2)) / 2 if below.size else -math.inf
                out[..., j] = r[..., j] <= ref
            else:
                ref = (above.min() + (above.min() - 2)) / 2 if above.size else math.inf
                out[..., j] = r[..., j] >= ref
            if gaps is not None:
                gaps.append(np.abs(r[..., j] - ref).min())
        result = out
    else:
        result = np.zeros(levels.shape[:3])
        for c in range(n_chunks):
            part = levels[..., c * chunk : (c + 1) * chunk]
            n_c = part.shape[-1]
            r = part.sum(-1)
            lsb = 2.0 * max(1.0, chunk / (2**adc_bits - 1))
            adc_levels = -n_c + lsb * np.arange(2**adc_bits)
            result += adc_levels[np.abs(r[..., None] - adc_levels).argmin(-1)]
            if gaps is not None:
                gaps.append(np.abs(np.abs((r + n_c) / lsb % 1.0 - 0.5) * lsb).min())
    result = np.moveaxis(result, 2, 1)  # (B, O, L)
    return result.reshape(result.shape[:2] + tuple(spatial))


def _geometry(weight, chunk, *, kernel=None, stride=(1, 1), padding=(0, 0), threshold=None, flip=None):
    o = weight.shape[0]
    threshold = torch.zeros(o, dtype=torch.int64) if threshold is None else torch.as_tensor(threshold)
    flip = torch.zeros(o, dtype=torch.bool) if flip is None else torch.as_tensor(flip)
    return LayerGeometry("layer", torch.as_tensor(weight, dtype=torch.float32), kernel, stride, padding, -1.0,
                         threshold, flip, chunk)


def _pm1(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _chunked(geometry, coef_ok):
    """([R,] O, K, 4) -> ([R,] O, C, N, 4) with zero coefficients in unused cells."""
    *lead, k, _ = coef_ok.shape
    out = np.zeros((*lead, geometry.n_chunks * geometry.chunk, 4))
    out[..., :k, :] = coef_ok
    return torch.from_numpy(out.reshape(*lead, geometry.n_chunks, geometry.chunk, 4))


def _run(geometry, coef_ok, a, sigma=0.0, adc_bits=8, seed=0, dense_probability=0.02):
    cells = LayerCells.from_coefficients(geometry, _chunked(geometry, coef_ok), sigma)
    a = torch.as_tensor(a, dtype=torch.float32)
    s, changed = hardware_sums(geometry, cells, a, Adc(adc_bits, geometry.chunk), np.random.default_rng(seed),
                               torch.Generator().manual_seed(seed), dense_probability=dense_probability)
    # ``changed`` marks exactly the images with some output sign different from the ideal one
    differs = decide(geometry, s) != decide(geometry, ideal_sums(geometry, a))
    assert torch.equal(changed, differs.reshape(len(a), -1).any(dim=1))
    return s


IDEAL = np.array([0.0, 0.0, 0.0, 1.0])


# ---------------------------------------------------------------- layer math vs the oracle
@pytest.mark.parametrize("chunk", [4, 7, 40])
def test_ideal_cells_give_exact_integer_sums(chunk):
    """Ideal cells (α=β=γ=0, δ=1), no noise: the hardware sums are the exact ±1 sums."""
    rng = np.random.default_rng(1)
    weight = _pm1(rng, (6, 3 * 3 * 3))
    a = _pm1(rng, (5, 3, 6, 5))
    geo = _geometry(weight, chunk, kernel=(3, 3, 3), padding=(1, 1))
    coef = np.broadcast_to(IDEAL, weight.shape + (4,))
    s = _run(geo, coef, a)
    cols, spatial = _im2col(a, (3, 3, 3), (1, 1), (1, 1), -1.0)
    exact = np.moveaxis(cols @ weight.T, 2, 1).reshape(5, 6, *spatial)
    if geo.comparator:
        assert torch.equal(decide(geo, s), decide(geo, torch.from_numpy(exact).float()))
    else:
        assert np.array_equal(s.numpy(), exact)
    assert np.array_equal(ideal_sums(geo, torch.as_tensor(a, dtype=torch.float32)).numpy(), exact)


def _random_coefficients(rng, shape, spread):
    """Cells near ideal with deviations of size ``spread`` (large spread: readouts differ)."""
    return IDEAL + spread * rng.normal(size=shape + (4,))


def _margin_ok(r_values, boundaries, tol=1e-3):
    """The float32 engine and float64 oracle agree unless a readout sits on a decision boundary."""
    return np.min(np.abs(r_values[..., None] - boundaries)) > tol


@pytest.mark.parametrize("spread", ["small", "large", "first-chunk", "replicas"])
@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_adc_layer_matches_numpy_oracle(kind, spread):
    """K > N: per-chunk readouts quantised by the ADC and summed equal the per-cell oracle.

    small: no readout can differ; large: every readout is evaluated; first-chunk: only the
    first chunk's cells deviate (chunk-by-chunk evaluation); replicas: positions alternate
    between two sets of cells.
    """
    rng = np.random.default_rng(2)
    chunk = 5
    if kind == "conv":
        weight = _pm1(rng, (4, 2 * 3 * 3))
        a = _pm1(rng, (6, 2, 5, 6))
        opts = dict(kernel=(2, 3, 3), stride=(2, 1), padding=(1, 0))
    else:
        weight = _pm1(rng, (7, 23))
        a = _pm1(rng, (9, 23))
        opts = {}
    shape = ((2,) if spread == "replicas" else ()) + weight.shape
    coef = _random_coefficients(rng, shape, 0.02 if spread == "small" else 0.3)
    if spread == "first-chunk":
        coef[:, chunk:] = IDEAL
    geo = _geometry(weight, chunk, **opts)
    assert geo.n_chunks > 1
    want = _oracle(a, weight, coef, chunk, adc_bits=3, **opts)
    got = _run(geo, coef, a, adc_bits=3).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    ideal = _oracle(a, weight, np.broadcast_to(IDEAL, coef.shape), chunk, adc_bits=3, **opts)
    assert np.allclose(want, ideal) == (spread == "small")  # large deviations change ADC outputs


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int16, torch.int32])
def test_decide_equals_the_threshold_rule(dtype):
    """decide() against the rule itself, s >= t (or s <= t where flipped), for sums on and
    between the integers (a coarse ADC's digital sums are not integers), at the thresholds
    and at the ends of the integer dtype."""
    rng = np.random.default_rng(12)
    outs = 6
    threshold = torch.tensor([-3, 0, 2, 5, 32767, -32768], dtype=torch.int64)
    flip = torch.tensor([False, True, False, True, True, False])
    g = LayerGeometry("t", torch.ones(outs, 4), None, (1, 1), (0, 0), -1.0, threshold, flip, 4)
    if dtype.is_floating_point:
        values = np.concatenate([np.arange(-8, 9), np.arange(-8, 9) + 1 / 3, [-2.9999, 2.0001, 4.9999, 5.0001]])
        s = torch.tensor(rng.choice(values, size=(400, outs)), dtype=dtype)
        s[:6] = threshold.to(dtype)  # exactly at every threshold
    else:
        info = torch.iinfo(dtype)
        s = torch.tensor(rng.integers(-8, 9, size=(400, outs)), dtype=dtype)
        s[:6] = torch.tensor([info.min, info.max, -3, 0, 32767, -32768], dtype=dtype).clamp(info.min, info.max)
        s[6:12] = threshold.clamp(info.min, info.max).to(dtype)
    want = torch.where(flip, s.double() <= threshold.double(), s.double() >= threshold.double())
    assert torch.equal(decide(g, s), want)


@pytest.mark.parametrize("positions", [1, 13])
def test_decide_against_counts_the_signs_off_the_ideal(positions):
    """decide_against() against the rule itself (s >= t, or s <= t where flipped) and a NumPy
    count of the signs that differ from given ideal ones, per image; float32 sums on, between
    and just beside the thresholds (a linear layer's (B, O) and a conv's (B, O, H, W)), and
    float64 or non-contiguous sums (the fallback)."""
    from mapping.functional.layer import decide_against
    rng = np.random.default_rng(13)
    threshold = torch.tensor([-3, 0, 2, 5, 7], dtype=torch.int64)
    flip = torch.tensor([False, True, False, True, False])
    g = LayerGeometry("t", torch.ones(5, 4), None, (1, 1), (0, 0), -1.0, threshold, flip, 4)
    values = np.concatenate([np.arange(-8, 9), np.arange(-8, 9) + 1 / 3, [-3.0000002, 4.9999995, 5.0000005]])
    shape = (300, 5) if positions == 1 else (300, 5, 1, positions)
    s = torch.tensor(rng.choice(values, size=shape), dtype=torch.float32)
    ideal_plus = torch.from_numpy(rng.random(shape) < 0.5)
    t = threshold.double().reshape((1, -1) + (1,) * (len(shape) - 2))
    f = flip.reshape(t.shape)
    want = torch.where(f, s.double() <= t, s.double() >= t)
    for sums in (s, s.double(), s.transpose(0, 1).contiguous().transpose(0, 1)):  # the kernel, then the fallback
        plus, counts = decide_against(g, sums, ideal_plus)
        assert torch.equal(plus, want)
        np.testing.assert_array_equal(counts.numpy(), (want != ideal_plus).numpy().reshape(300, -1).sum(axis=1))
    with pytest.raises(ValueError, match="ideal_plus"):
        decide_against(g, s, ideal_plus[:5])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int16, torch.int32])
def test_pm1_from_signs_maps_true_to_plus_one(dtype):
    """The ±1 activations of bool signs (also on a non-contiguous view) against NumPy's where."""
    from mapping.networks.layers import pm1_from_signs
    plus = torch.from_numpy(np.random.default_rng(4).random((5, 3, 8)) < 0.5)
    for p in (plus, plus.transpose(0, 2)):
        got = pm1_from_signs(p, dtype)
        assert got.dtype == dtype
        assert np.array_equal(got.numpy(), np.where(p.numpy(), 1, -1).astype(got.numpy().dtype))


def test_coarse_adc_matches_oracle():
    """An ADC with fewer codes than popcount levels (2 bits for N = 6) quantises coarsely."""
    rng = np.random.default_rng(3)
    weight = _pm1(rng, (5, 14))
    a = _pm1(rng, (30, 14))
    coef = _random_coefficients(rng, weight.shape, 0.01)
    geo = _geometry(weight, 6)
    want = _oracle(a, weight, coef, 6, adc_bits=2)
    got = _run(geo, coef, a, adc_bits=2).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    exact = a @ weight.T
    assert not np.array_equal(want, exact)  # information is lost, as it should be


@pytest.mark.parametrize("spread", [0.01, 0.25])
def test_comparator_layer_matches_oracle(spread):
    """K <= N: one analog readout per output compared with the reference between levels."""
    rng = np.random.default_rng(4)
    k = 9
    weight = _pm1(rng, (12, k))
    a = _pm1(rng, (40, k))
    threshold = rng.integers(-k - 2, k + 3, size=12)  # both parities, some outside the range
    flip = rng.random(12) < 0.5
    coef = _random_coefficients(rng, weight.shape, spread)
    geo = _geometry(weight, 10, threshold=threshold, flip=flip)
    assert geo.comparator
    want = _oracle(a, weight, coef, 10, threshold=threshold, flip=flip)
    got = decide(geo, _run(geo, coef, a)).numpy()
    assert np.array_equal(got, want)
    if spread == 0.25:
        ideal = _oracle(a, weight, np.broadcast_to(IDEAL, coef.shape), 10, threshold=threshold, flip=flip)
        assert not np.array_equal(want, ideal)


@pytest.mark.parametrize("spread", [0.02, 0.3])  # sparse readouts only; dense outputs
def test_overwrite_computes_the_same_sums_in_place(spread):
    """apply_readouts(..., overwrite=True) writes into s0 the sums it otherwise returns in a new
    tensor (same draws), and refuses to unless every image is known; given the ideal sums as
    stored (int16 or int32) it returns those sums in a new float32 tensor and leaves s0 unwritten,
    and refuses them without overwrite; decided_readouts gives decide_against's signs and counts
    of those sums to the bit."""
    from mapping.functional.layer import apply_readouts, decide, decide_against, decided_readouts

    rng = np.random.default_rng(21)
    weight, a = _pm1(rng, (6, 23)), torch.as_tensor(_pm1(rng, (40, 23)), dtype=torch.float32)
    geo = _geometry(weight, 5)
    cells = LayerCells.from_coefficients(geo, _chunked(geo, _random_coefficients(rng, weight.shape, spread)), 0.3)
    adc, known = Adc(3, 5), torch.ones(40, dtype=torch.bool)
    s0 = ideal_sums(geo, a)
    runs = []
    for overwrite in (False, True):
        draw = draw_readouts(geo, cells, adc, 40, np.random.default_rng(3))
        given = s0.clone()
        s, _ = apply_readouts(geo, cells, draw, a, given, adc, np.random.default_rng(4), torch.Generator().manual_seed(4),
                              known=known, overwrite=overwrite)
        assert (s is given) == overwrite
        runs.append(s)
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], s0)
    assert bool(draw.dense.any(axis=1).all()) == (spread == 0.3)  # every output dense: the kernel starts from s0
    for dtype in (torch.int16, torch.int32):
        draw = draw_readouts(geo, cells, adc, 40, np.random.default_rng(3))
        stored = s0.to(dtype)
        s, _ = apply_readouts(geo, cells, draw, a, stored, adc, np.random.default_rng(4),
                              torch.Generator().manual_seed(4), known=known, overwrite=True)
        assert s.dtype == torch.float32 and torch.equal(s, runs[0]) and torch.equal(stored, s0.to(dtype))
        plus, counts = decided_readouts(geo, cells, draw_readouts(geo, cells, adc, 40, np.random.default_rng(3)), a,
                                        stored, adc, np.random.default_rng(4), torch.Generator().manual_seed(4),
                                        decide(geo, s0))
        want_plus, want_counts = decide_against(geo, runs[0], decide(geo, s0))
        assert torch.equal(plus, want_plus) and torch.equal(counts, want_counts)
        assert (int(counts.sum()) > 0) == (spread == 0.3)  # the large spread changes some signs
    with pytest.raises(ValueError, match="needs overwrite=True"):
        apply_readouts(geo, cells, draw, a, s0.to(torch.int16), adc, np.random.default_rng(4), torch.Generator())
    with pytest.raises(ValueError, match="ideal_plus must be a bool tensor of the shape of s0"):
        decided_readouts(geo, cells, draw, a, s0, adc, np.random.default_rng(4), torch.Generator(), decide(geo, s0)[:3])
    with pytest.raises(ValueError, match="every image known"):
        apply_readouts(geo, cells, draw, a, s0.clone(), adc, np.random.default_rng(4), torch.Generator(), overwrite=True)


def test_a_kept_input_on_the_frequent_pattern_path_evaluates_every_output_that_may_differ(monkeypatch):
    """draw_readouts(..., kept_input=True): where the ADC readouts take the frequent-pattern path
    and some output is dense, every output with a nonzero chance (Gaussian tail beyond the margin
    1 - bound) that a readout differs is dense; otherwise (no kept input, no output above
    dense_probability, or a comparator layer) only those above dense_probability are."""
    from mapping.functional import readout_noise
    from scipy.special import ndtr

    monkeypatch.setattr(readout_noise, "MIN_ROWS", 0)
    rng = np.random.default_rng(31)
    weight = _pm1(rng, (12, 60))
    geo = _geometry(weight, 20)  # chunks of 20 inputs: too long for the pattern path
    cells = LayerCells.from_coefficients(geo, _chunked(geo, _random_coefficients(rng, weight.shape, 0.02)), 0.12)
    p = 2.0 * ndtr(-(1.0 - cells.bound) / 0.12)  # (O, C)
    dense_by_threshold = (p > 0.02).any(axis=1)
    assert (p > 0).all() and dense_by_threshold.any() and not dense_by_threshold.all()  # some sparse, some dense
    adc = Adc(5, 20)
    assert readout_noise.takes_frequent_path(20, 1, 3, 12, 400, adc.levels, adc.lsb, geo.chunk_lengths(), 60)
    plain = draw_readouts(geo, cells, adc, 400, np.random.default_rng(1))
    kept = draw_readouts(geo, cells, adc, 400, np.random.default_rng(1), kept_input=True)
    np.testing.assert_array_equal(plain.dense.any(axis=1), dense_by_threshold)
    assert kept.dense.all() and not kept.counts.any()
    quiet = draw_readouts(geo, cells, adc, 400, np.random.default_rng(1), dense_probability=0.5, kept_input=True)
    assert not quiet.dense.any() and (p <= 0.5).all()  # no output dense by the threshold: none made dense
    comparator = _geometry(weight[:, :20], 20)
    cells_c = LayerCells.from_coefficients(comparator, _chunked(comparator, _random_coefficients(
        rng, (12, 20), 0.01)), 0.12)
    p_c = 2.0 * ndtr(-(1.0 - cells_c.bound) / 0.12)
    np.testing.assert_array_equal(draw_readouts(comparator, cells_c, adc, 400, np.random.default_rng(1),
                                                kept_input=True).dense, p_c > 0.02)


# ---------------------------------------------------------------- noise statistics
@pytest.mark.parametrize("dense_probability", [0.02, 0.0])  # sparse tail sampling, every readout
def test_adc_noise_error_rates_match_gaussian_tails(dense_probability):
    """Ideal cells plus a known offset e per chunk and noise σ: a readout comes out one level
    (2 in ±1 units) high with probability Φ(−(1 − e)/σ) and one level low with Φ(−(1 + e)/σ)."""
    rng = np.random.default_rng(5)
    chunk, n_chunks, outputs, batch = 4, 2, 8, 20_000
    weight = _pm1(rng, (outputs, chunk * n_chunks))
    a = _pm1(rng, (batch, chunk * n_chunks))
    offset, sigma = 0.3, 0.3
    coef = np.broadcast_to(IDEAL, weight.shape + (4,)).copy()
    coef[..., 0] = offset / chunk  # α: the chunk readout is shifted by +offset
    s = _run(_geometry(weight, chunk), coef, a, sigma=sigma, adc_bits=4, seed=6,
             dense_probability=dense_probability).numpy()
    d = (s - a @ weight.T) / 2  # net level errors per output (sum over its chunks)
    n = batch * outputs * n_chunks
    for value, p in ((1, ndtr(-(1 - offset) / sigma)), (-1, ndtr(-(1 + offset) / sigma))):
        count = np.sum(d == value)  # two errors in one output are rare (p² n ≈ 0.1)
        assert abs(count - n * p) <= 5 * math.sqrt(n * p) + 2, (value, count, n * p)


def _distinct_by_sorting(rng, counts, population):
    """Oracle of layer._distinct_positions: keys (pair, position) sorted stably; every repeat after
    the first of its key is drawn again (in index order) until none is left."""
    pair = np.repeat(np.arange(counts.size), counts)
    pos = rng.integers(0, population, size=pair.size)
    while True:
        key = pair * population + pos
        order = np.argsort(key, kind="stable")
        dup = np.zeros(key.size, dtype=bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not dup.any():
            return pos
        pos[dup] = rng.integers(0, population, size=int(dup.sum()))


@pytest.mark.parametrize("population", [1, 7, 64, 65, 1000])
def test_sparse_positions_are_distinct_and_follow_the_sorting_rule(population):
    """The sparse readouts' positions: distinct within each (output, chunk) pair, in range, and
    the very draws of the sort-based rule (same generator, same stream) for crowded and sparse pairs."""
    from mapping.functional.layer import _distinct_positions

    for seed in range(5):
        counts = np.random.default_rng(seed).integers(0, population + 1, size=12)
        counts[0] = population  # a pair that takes every position
        got = _distinct_positions(np.random.default_rng(100 + seed), counts, population)
        want = _distinct_by_sorting(np.random.default_rng(100 + seed), counts, population)
        np.testing.assert_array_equal(got, want)
        start = np.concatenate([[0], np.cumsum(counts)])
        for i in range(counts.size):
            part = got[start[i] : start[i + 1]]
            assert len(np.unique(part)) == counts[i] and (part >= 0).all() and (part < population).all()
    assert _distinct_positions(np.random.default_rng(0), np.zeros(3, dtype=np.int64), population).size == 0


def test_comparator_noise_error_rate_matches_gaussian_tail():
    """Comparator: a readout one level from the reference flips with probability Φ(−1/σ)."""
    rng = np.random.default_rng(7)
    k, outputs, batch, sigma = 5, 6, 40_000, 0.4
    weight = _pm1(rng, (outputs, k))
    a = _pm1(rng, (batch, k))
    geo = _geometry(weight, 8, threshold=np.zeros(outputs, dtype=np.int64), flip=np.zeros(outputs, dtype=bool))
    s = _run(geo, np.broadcast_to(IDEAL, weight.shape + (4,)), a, sigma=sigma, seed=8)
    exact = a @ weight.T
    flipped = (decide(geo, s).numpy() != (exact >= 0))
    for level in (-1, 1):  # reference 0: both nearest levels are 1 away
        n = np.sum(exact == level)
        p = ndtr(-1 / sigma)
        count = np.sum(flipped & (exact == level))
        assert abs(count - n * p) <= 5 * math.sqrt(n * p), (level, count, n * p)
    far = np.abs(exact) >= 3  # 3 away: p = Φ(−7.5) ≈ 3e-14
    assert not flipped[far].any()


# ---------------------------------------------------------------- whole networks on sampled chips
from collections import OrderedDict  # noqa: E402

from torch import nn  # noqa: E402

from accel import Accelerator  # noqa: E402
from mapping import bnn, functional  # noqa: E402
from mapping.networks import architectures  # noqa: E402
from mapping.performance.schedule import assign_vdus  # noqa: E402
from photonics import xnor  # noqa: E402


@pytest.fixture(scope="module")
def cnn_software(cnn, mnist_test):
    """Software BNN predictions on the full test set (the folded network's own exact forward)."""
    return cnn.predict(mnist_test[0], batch_size=2000)


def test_hardware_equals_software_without_variation_and_noise(cnn, robin_eo, mnist_test, cnn_software):
    """Variation (fabrication and drift) and noise off: every one of the 10,000 MNIST test
    images gets exactly the software BNN's prediction."""
    images, _ = mnist_test
    assert len(images) == 10_000
    chip = functional.sample_chip_state(robin_eo, seed=0, chip=0, variation=False)
    assert np.all(chip.act_residual_nm == 0) and np.all(chip.weight_residual_nm == 0)
    assert chip.tuning_power_w == 0 and chip.rings_out_of_range == 0
    assert torch.equal(functional.predict(cnn, robin_eo, images, chip, noise=False), cnn_software)


def test_ideal_run_caches_the_software_signs(cnn, robin_eo, mnist_test):
    """IdealRun.decisions (what run_chip compares each chip's signs with) are the folded
    network's own sign outputs, layer by layer."""
    images = mnist_test[0][:500]
    net = functional.Network(cnn, robin_eo)
    ideal = functional.IdealRun.build(net, images)
    record = {}
    cnn.forward(images, record=record)
    assert set(ideal.decisions) == set(net.geometries)
    for name, signs in ideal.decisions.items():
        assert signs.dtype == torch.bool and torch.equal(signs, record[name] > 0), name


def test_generic_path_with_ideal_cells_is_exact(mlp, robin_eo, mnist_test):
    """Cells with exactly α=β=γ=0, δ=1 evaluated readout by readout (dense path forced) give the
    software predictions."""
    images = mnist_test[0][:300]
    nominal = robin_eo.components.xnor_cell.nominal_coefficients
    coefficients = np.broadcast_to(nominal, robin_eo.floorplan.shape[:3] + (4,))  # calibration removes α0, β0, γ0, δ0
    assert np.array_equal(robin_eo.components.xnor_cell.calibrated(coefficients)[0, 0], np.tile([0.0, 0, 0, 1], (10, 1)))
    chip = functional.ChipSample(0, 0, coefficients, np.zeros(1), np.zeros(1), 0.0, 0, 0.0)
    net = functional.Network(mlp, robin_eo)
    preds, flips = functional._predict(net, functional.IdealRun.build(net, images), chip, False, dense_probability=-1.0)
    assert torch.equal(preds, mlp.predict(images))
    assert set(flips.values()) == {0}


def test_default_variation_and_tuning_stay_within_one_point(cnn, robin_eo, mnist_test, cnn_software):
    """Default variation + tuning: mean accuracy over chips within 1 percentage point of the
    software BNN, on the full test set."""
    images, labels = mnist_test
    software = float((cnn_software == labels).double().mean())
    df = functional.simulate_accuracy(cnn, robin_eo, mnist_test, chips=3, seed=0, progress=False)
    assert list(df.chip) == [0, 1, 2]
    assert {"chip", "accuracy", "tuning_power_w", "rings_out_of_range", "flipped_conv2", "flipped_fc3"} <= set(df.columns)
    assert abs(df.accuracy.mean() - software) <= 0.01
    assert (df.tuning_power_w > 0).all()


def test_tuning_off_collapses_accuracy(mlp, robin_eo, mnist_test):
    """Without tuning every ring sits nanometres off its channel (linewidth 0.24 nm): the cells
    no longer compute XNOR and accuracy falls to chance level (< 30 %)."""
    data = (mnist_test[0][:1000], mnist_test[1][:1000])
    row = functional.simulate_chip(mlp, robin_eo, data, chip=0, seed=0, tuning=False)
    assert row["accuracy"] < 0.30
    assert row["tuning_power_w"] == 0.0
    assert row["rings_out_of_range"] > robin_eo.floorplan.n_rings // 2
    assert row["flipped_fc2"] > 0.3 and row["flipped_fc3"] > 0.3


def test_accuracy_drop_grows_with_noise(mlp, robin_eo, mnist_test):
    """Receiver noise raised (fixed seed): the accuracy drop and the flipped activations grow
    monotonically."""
    data = (mnist_test[0][:500], mnist_test[1][:500])
    software = float((mlp.predict(data[0]) == data[1]).double().mean())
    rows = [functional.simulate_chip(mlp, robin_eo, data, chip=0, seed=3, noise=functional.NoiseSettings(scale=s))
            for s in (1.0, 60.0, 120.0, 300.0)]
    drops = [software - r["accuracy"] for r in rows]
    assert all(b > a for a, b in zip(drops, drops[1:])), drops
    flips = [r["flipped_fc2"] for r in rows]
    assert all(b > a for a, b in zip(flips, flips[1:])), flips


def test_chips_are_reproducible_and_independent(mlp, robin_eo, mnist_test):
    """Chip k alone equals chip k of a run; the same seed gives the same table; another seed
    gives other chips. Noise is raised so that the noise stream matters."""
    data = (mnist_test[0][:300], mnist_test[1][:300])
    noise = functional.NoiseSettings(scale=2.5)
    df = functional.simulate_accuracy(mlp, robin_eo, data, chips=3, seed=11, noise=noise, progress=False)
    alone = functional.simulate_chip(mlp, robin_eo, data, chip=2, seed=11, noise=noise)
    assert df.iloc[2].to_dict() == alone
    assert alone["flipped_fc2"] > 0  # the noise stream was used
    again = functional.simulate_accuracy(mlp, robin_eo, torch.utils.data.TensorDataset(*data), chips=3, seed=11,
                                         noise=noise, progress=False)
    pd.testing.assert_frame_equal(df, again)
    other = functional.simulate_accuracy(mlp, robin_eo, data, chips=3, seed=12, noise=noise, progress=False)
    assert not df.tuning_power_w.equals(other.tuning_power_w)
    assert not df.flipped_fc2.equals(other.flipped_fc2)


def test_chips_after_a_chip_equal_chips_without_kept_input_work(cnn, robin_eo, mnist_test):
    """The first optical layer's input is the ideal chip's for every chip, so the dense kernel's
    work on it (sign bits, grouping by pattern) is kept from chip to chip: a chip simulated after
    others equals the same chip with nothing kept, and the kept work belongs to this run's input."""
    from mapping.functional import network

    data = (mnist_test[0][:400], mnist_test[1][:400])  # 78,400 readout rows: robin-eo's conv2 takes the deviation path
    functional.simulate_chip(cnn, robin_eo, data, chip=0, seed=3)
    net, ideal, _ = functional._prepare(cnn, robin_eo, data)
    slots = network._reuse_slots(net, ideal)
    assert {"signs", "grouped"} <= set(slots[("conv2", 0)])  # kept: the input's signs and its grouping
    after = functional.simulate_chip(cnn, robin_eo, data, chip=1, seed=3)
    network._REUSE.clear()
    assert functional.simulate_chip(cnn, robin_eo, data, chip=1, seed=3) == after


def test_presets_and_leading_slices_share_one_ideal_run(cnn, robin_eo, lightbulb, mnist_test):
    """The ideal chip's run does not depend on the accelerator (N only splits an exact sum): two
    presets get one cached run, equal to a run built for each; images[:n] reads the first n rows of
    the cached run, and its chips equal those of a copy of the same images (built afresh)."""
    images, labels = mnist_test[0][:400], mnist_test[1][:400]
    eo, lb = functional._prepare(cnn, robin_eo, (images, labels)), functional._prepare(cnn, lightbulb, (images, labels))
    assert all(eo[1].sums[k].data_ptr() == lb[1].sums[k].data_ptr() for k in eo[1].sums)  # one run in memory
    fresh = functional.IdealRun.build(functional.Network(cnn, lightbulb), images.clone())
    for field in ("sums", "inputs", "decisions"):
        for name, value in getattr(fresh, field).items():
            assert torch.equal(getattr(eo[1], field)[name], value), (field, name)
    head, copy = (images[:150], labels[:150]), (images[:150].clone(), labels[:150].clone())
    assert functional._prepare(cnn, lightbulb, head)[1].sums["conv2"].data_ptr() == lb[1].sums["conv2"].data_ptr()
    noise = functional.NoiseSettings(scale=2.0)
    for chip in (0, 1):
        assert (functional.simulate_chip(cnn, lightbulb, head, chip=chip, seed=3, noise=noise)
                == functional.simulate_chip(cnn, lightbulb, copy, chip=chip, seed=3, noise=noise))


def _oracle_network(folded, acc, chip, images):
    """The network on one chip, noise off, every readout evaluated cell by cell in NumPy.

    Cells from the chip's raw coefficients, calibrated as the module docstring states: nominal
    cell per channel (every ring on its channel), α' = (α − α0)/δ0, β' = β/δ0, γ' = (γ − γ0)/δ0,
    δ' = δ/δ0; each (output, chunk, replica) on the cells ``assign_vdus`` names.
    Returns predictions, the ±1 outputs per layer and the smallest readout-to-boundary gap.
    """
    cfg = acc.config
    lam = cfg.wavelength.center_wavelength_nm
    a, w = acc.components.xnor_cell.activation_states, acc.components.xnor_cell.weight_states  # photonics.eo states
    zero = np.zeros(cfg.N)
    nominal = xnor.coefficients(xnor.bank_levels(
        cfg.activation_ring.design(lam), cfg.weight_ring.design(lam), channels_nm=cfg.channels_nm,
        act_residual_nm=zero, weight_residual_nm=zero, modulation_nm=a.shift_nm, park_nm=w.shift_nm,
        act_extra_loss_db_per_cm=np.array(a.extra_loss_db_per_cm), weight_extra_loss_db_per_cm=np.array(w.extra_loss_db_per_cm)))
    raw = chip.coefficients
    cal = np.stack([(raw[..., 0] - nominal[:, 0]) / nominal[:, 3], raw[..., 1] / nominal[:, 3],
                    (raw[..., 2] - nominal[:, 2]) / nominal[:, 3], raw[..., 3] / nominal[:, 3]], axis=-1)
    gaps: list = []
    bits = cfg.converters.adc_bits or math.ceil(math.log2(cfg.N + 1))

    def dot(spec, a):
        weight = spec.weight_pm1.reshape(spec.weight_pm1.shape[0], -1).numpy().astype(np.float64)
        o, k = weight.shape
        positions = int(np.prod(spec.out_shape[1:])) if spec.kind == "conv" else 1
        plan = assign_vdus(acc, out_channels=o, k=k, positions=positions)
        coef = np.empty((plan.replicas, o, k, 4))
        for c in range(plan.n_chunks):
            j = np.arange(plan.chunk_len[c])
            for rep in range(plan.replicas):
                for out in range(o):
                    coef[rep, out, plan.chunk_start[c] + j] = cal[plan.unit[out, c, rep], plan.vdu[out, c, rep], j]
        opts = dict(kernel=tuple(spec.weight_pm1.shape[1:]), stride=spec.stride, padding=spec.padding) if spec.kind == "conv" else {}
        out = _oracle(a.numpy(), weight, coef, cfg.N, adc_bits=bits, threshold=spec.threshold.numpy(),
                      flip=spec.flip.numpy(), gaps=gaps, **opts)
        if plan.n_chunks == 1:  # comparator decisions -> sums on the decided side of the threshold
            t = spec._channel_view(spec.threshold, out.ndim).numpy()
            f = spec._channel_view(spec.flip, out.ndim).numpy()
            out = np.where(out, t, np.where(f, t + 1, t - 1))
        return torch.from_numpy(out).float()

    record: dict = {}
    logits = folded.forward(images, dot=dot, record=record)
    return logits.argmax(1), record, min(gaps)


def test_network_on_a_chip_matches_per_cell_oracle(robin_eo):
    """A small CNN (K <= N comparator layer spread over 183 replicas, K > N ADC layer) on an
    untuned chip, noise off: predictions and flipped activations equal the NumPy per-cell oracle."""
    torch.manual_seed(0)
    model = bnn.export_binary(architectures.build("mnist-cnn", channels1=1, channels2=3, hidden=5))
    images = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(12) % 10
    chip = functional.sample_chip_state(robin_eo, seed=4, chip=0, tuning=False)
    want, record, gap = _oracle_network(model, robin_eo, chip, images)
    assert gap > 5e-5  # float32 engine and float64 oracle cannot disagree on a decision
    assert assign_vdus(robin_eo, out_channels=3, k=9, positions=196).replicas > 1
    assert torch.equal(functional.predict(model, robin_eo, images, chip, noise=False), want)
    row = functional.simulate_chip(model, robin_eo, (images, labels), chip=0, seed=4, tuning=False, noise=False)
    software: dict = {}
    model.forward(images, record=software)
    for name in ("conv2", "fc3"):
        assert row[f"flipped_{name}"] == pytest.approx(float((record[name] != software[name]).double().mean()), abs=1e-12)
    assert row["flipped_conv2"] > 0.05
    assert row["accuracy"] == float((want == labels).double().mean())


# ---------------------------------------------------------------- bad input
def test_bad_inputs_name_the_argument(mlp, robin_eo, mnist_test):
    images, labels = mnist_test[0][:8], mnist_test[1][:8]
    with pytest.raises(ValueError, match="images must have shape"):
        functional.predict(mlp, robin_eo, images[:, 0])
    with pytest.raises(TypeError, match="images"):
        functional.predict(mlp, robin_eo, images.numpy())
    with pytest.raises(ValueError, match="labels contain 10"):
        functional.simulate_accuracy(mlp, robin_eo, (images, torch.tensor([0, 1, 2, 3, 4, 5, 6, 10])), chips=1)
    with pytest.raises(ValueError, match="labels must have shape"):
        functional.simulate_accuracy(mlp, robin_eo, (images, labels[:3]), chips=1)
    for chips in (0, -2):
        with pytest.raises(ValueError, match=f"chips={chips} is out of range"):
            functional.simulate_accuracy(mlp, robin_eo, (images, labels), chips=chips)
    for seed in (1.5, "0", None):
        with pytest.raises(TypeError, match="seed must be an int"):
            functional.simulate_accuracy(mlp, robin_eo, (images, labels), chips=1, seed=seed)
    with pytest.raises(ValueError, match="seed=-1 is out of range"):
        functional.simulate_chip(mlp, robin_eo, (images, labels), chip=0, seed=-1)
    with pytest.raises(TypeError, match="chip must be an int"):
        functional.sample_chip_state(robin_eo, seed=0, chip=1.0)
    with pytest.raises(TypeError, match="variation must be None"):
        functional.simulate_chip(mlp, robin_eo, (images, labels), chip=0, seed=0, variation="high")
    with pytest.raises(TypeError, match="tuning must be None"):
        functional.sample_chip_state(robin_eo, seed=0, chip=0, tuning=True)
    with pytest.raises(ValueError, match="NoiseSettings.scale=-1"):
        functional.NoiseSettings(scale=-1.0)
    with pytest.raises(TypeError, match="accelerator must be an accel.Accelerator"):
        functional.predict(mlp, "robin-eo", images)
    with pytest.raises(TypeError, match="dataset must be"):
        functional.simulate_accuracy(mlp, robin_eo, images, chips=1)
    with pytest.raises(TypeError, match="model must be"):
        functional.predict("mnist-mlp", robin_eo, images)


def test_non_finite_and_integer_images_are_refused(mlp, robin_eo, mnist_test, rejected):
    """NaN images used to give accuracy 0.0 without a word; uint8 images a message without their dtype."""
    images, labels = mnist_test[0][:8].clone(), mnist_test[1][:8]
    images[3, 0, 5, 5] = float("nan")
    with rejected(ValueError, "non-finite", "image 3"):
        functional.simulate_accuracy(mlp, robin_eo, (images, labels), chips=1, progress=False)
    images[3, 0, 5, 5] = float("inf")
    with rejected(ValueError, "non-finite"):
        functional.predict(mlp, robin_eo, images)
    as_bytes = (mnist_test[0][:8] * 40 + 128).clamp(0, 255).to(torch.uint8)
    with rejected(TypeError, "dtype torch.uint8", "/ 255"):
        functional.simulate_accuracy(mlp, robin_eo, (as_bytes, labels), chips=1, progress=False)


def test_unsupported_layer_is_named(robin_eo, mnist_test):
    layers = OrderedDict([
        ("flatten", nn.Flatten()), ("fc1", bnn.electronic(nn.Linear(784, 16))), ("sign1", bnn.Sign()),
        ("fc2", bnn.BinaryLinear(16, 16)), ("sign2", bnn.Sign()), ("softmax", nn.Softmax(dim=1)),
    ])
    model = bnn.BNN(layers, arch="custom", hparams={}, input_shape=(1, 28, 28))
    with pytest.raises(TypeError, match=r"unsupported layer 'softmax' \(Softmax\)"):
        functional.simulate_accuracy(model, robin_eo, (mnist_test[0][:4], mnist_test[1][:4]), chips=1)


def test_configured_coarse_adc_matches_per_cell_oracle(robin_eo):
    """``converters.adc_bits = 2`` (3 codes for 11 popcount levels): the hardware path quantises
    partial sums coarsely, exactly as the per-cell oracle does, and loses information."""
    coarse = Accelerator(robin_eo.config.with_values({"converters.adc_bits": 2}))
    torch.manual_seed(0)
    model = bnn.export_binary(architectures.build("mnist-cnn", channels1=1, channels2=3, hidden=5))
    images = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    chip = functional.sample_chip_state(coarse, seed=4, chip=0, tuning=False)
    want, record, gap = _oracle_network(model, coarse, chip, images)
    assert gap > 5e-5
    assert torch.equal(functional.predict(model, coarse, images, chip, noise=False), want)
    software: dict = {}
    model.forward(images, record=software)
    assert not torch.equal(record["fc3"], software["fc3"])  # coarse partial sums change some signs
