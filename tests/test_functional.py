"""mapping.functional: hardware-faithful BNN inference chip by chip.

Oracles: a plain NumPy per-cell evaluation of every readout (levels c = α + βa + γw + δaw
summed per chunk, ADC / comparator applied), Gaussian tail probabilities for the noise, the
software BNN (exact integer sums) for the ideal chip.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import ndtr

from mapping.functional_layer import Adc, LayerCells, LayerGeometry, decide, hardware_sums, ideal_sums


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
            threshold=None, flip=None):
    """Per-cell levels summed per chunk; ADC per chunk when K > N, else analog comparator.

    Returns the digital sums (ADC case) or the ±1 decisions (comparator case), shaped like the
    layer output.
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
