"""Dense ADC readouts with noise drawn only where it can change a code (mapping.functional.readout_noise)."""
import math

import numba
import numpy as np
import pytest
from scipy import special, stats

from mapping.functional import pattern_groups, readout_noise as rn


def _ideal_weight(weight, offsets):
    """±1 ideal cells (the signs of ``weight``'s replica 0) in the cells in use, 0 in the others."""
    _, n_chunks, n, _ = weight.shape
    used = (np.asarray(offsets).reshape(n_chunks, n) >= 0)[:, :, None]
    return np.where(used, np.where(weight[0] >= 0, 1.0, -1.0), 0.0).astype(np.float32)


def _with_ideal(real, keep=False):
    """``adc_digital_sums`` given the ideal cells (:func:`_ideal_weight`) and their noiseless sums
    (``keep``: and a ``reuse`` dict of its own when the caller gives none)."""
    def call(a, offsets, base, weight, bias, lengths, sigma, p_max, lsb, levels, k_total, key, out=None, reuse=None):
        if keep and reuse is None:
            reuse = {}
        iw = _ideal_weight(weight, offsets)
        sums = real(a, offsets, base, np.broadcast_to(iw, weight.shape).copy(), np.zeros_like(bias), lengths,
                    np.zeros(len(lengths)), 0.0, lsb, levels, k_total, key=0)
        return real(a, offsets, base, weight, bias, lengths, sigma, p_max, lsb, levels, k_total, key, out=out,
                    ideal=(iw, sums), reuse=reuse)
    return call


@pytest.fixture(params=["table", "pattern", "deviation", "frequent", "frequent-all", "frequent-sparse"])
def path(request, monkeypatch):
    """Run a test on the table path, on the pattern path (every ±1 input pattern of a chunk has
    its row of codes and noise screens; forced here wherever it applies), on the deviation path
    (the pattern path given the ideal cells' sums, where the ADC has one code per level) and on
    the frequent-pattern path (the table path given the ideal cells' sums: the readouts of a
    chunk's three most frequent patterns as groups, the others one by one; "frequent-all": every
    pattern seen is frequent, so nearly every readout is in a group; forced for any number of rows).
    The groups' members are drawn one uniform each on "deviation", by geometric gaps on
    "frequent" and by the default mass rule on "frequent-all" (``_BERNOULLI_MASS``);
    "frequent-sparse" is "frequent-all" with every group of tail mass up to 1/2 whose code equals
    the ideal cells' drawn by the sparse stream over the groups' members
    (``_FREQUENT_SPARSE_MASS``)."""
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 0 if request.param in ("pattern", "deviation") else 2**62)
    if request.param == "deviation":  # forced for chunks of any length
        monkeypatch.setattr(rn, "_DEVIATION_MIN_BITS", 1)
        monkeypatch.setattr(rn, "_BERNOULLI_MASS", 0.0)
    if request.param == "frequent":
        monkeypatch.setattr(rn, "_BERNOULLI_MASS", 2.0)
    if request.param == "frequent-sparse":
        monkeypatch.setattr(rn, "_FREQUENT_SPARSE_MASS", 0.5)
    if request.param.startswith("frequent"):
        monkeypatch.setattr(rn, "MIN_ROWS", 0)
        if request.param == "frequent":
            monkeypatch.setattr(pattern_groups, "MAX_PATTERNS", 3)
        else:
            monkeypatch.setattr(pattern_groups, "SAMPLE_STEP", 1)
            monkeypatch.setattr(pattern_groups, "MIN_SAMPLED", 1)
    if request.param != "table" and request.param != "pattern":
        monkeypatch.setattr(rn, "adc_digital_sums", _with_ideal(rn.adc_digital_sums, keep=request.param != "deviation"))
    return request.param


def test_ndtri_matches_scipy_to_double_precision():
    """AS 241 against scipy's ndtri over the body and both far tails (down to 1e-300)."""
    p = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 20_001), np.logspace(-300, -1, 2_000),
                        1 - np.logspace(-16, -1, 300)])
    want = special.ndtri(p)
    np.testing.assert_allclose(rn.ndtri(p), want, rtol=2e-15, atol=1e-15)


def test_uniforms_are_uniform_reproducible_and_key_dependent():
    u = rn.uniforms(12345, 200_000)
    assert 0.0 < u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / math.sqrt(len(u))  # consecutive counters uncorrelated
    assert np.array_equal(u, rn.uniforms(12345, 200_000))
    other = rn.uniforms(12346, 200_000)
    assert not np.any(u == other)


def _linear_case(rng, batch, n_chunks, n, outs, k_total=None):
    k_total = n_chunks * n if k_total is None else k_total
    a = np.where(rng.random((batch, k_total)) < 0.5, -1.0, 1.0).astype(np.float32)
    offsets = np.where(np.arange(n_chunks * n) < k_total, np.arange(n_chunks * n), -1)
    return a, offsets, np.zeros(1, dtype=np.int64), k_total


def _oracle(x, weight, bias, lengths, lsb, levels, k_total, noise=None):
    """NumPy: r (B, L, C, O) = Σ_j x·w + bias (+ noise), code = clip(rint((r + n_c)/lsb)), Σ_c code·lsb − K."""
    r = np.einsum("blcj,cjo->blco", x, weight.astype(np.float64)) + bias + lengths[:, None]
    if noise is not None:
        r = r + noise
    codes = np.clip(np.rint(r / lsb), 0, levels - 1)
    return np.moveaxis(codes.sum(axis=2) * lsb - k_total, 1, 2)  # (B, O, L)


@pytest.mark.parametrize("levels", [32, 4])  # exact (one code per popcount level) and coarse ADC
def test_noiseless_sums_equal_numpy_oracle_linear(path, levels):
    """σ = 0: the kernel is the quantise-and-sum of the exact chunk readouts (last chunk partly unused)."""
    rng = np.random.default_rng(0)
    n_chunks, n, outs = 3, 8, 5
    a, offsets, base, k_total = _linear_case(rng, 40, n_chunks, n, outs, k_total=21)
    weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0) + 0.3 * rng.normal(size=(1, n_chunks, n, outs)))
    weight[:, -1, k_total - (n_chunks - 1) * n:] = 0.0
    weight = weight.astype(np.float32)
    bias = (0.2 * rng.normal(size=(1, n_chunks, outs))).astype(np.float32)
    lengths = np.array([8, 8, 5])
    lsb = 2.0 * max(1.0, n / (levels - 1))
    got = rn.adc_digital_sums(a, offsets, base, weight, bias, lengths, np.zeros(n_chunks), 0.0, lsb, levels, k_total, key=1)
    x = np.zeros((40, 1, n_chunks * n))
    x[:, 0, :k_total] = a
    want = _oracle(x.reshape(40, 1, n_chunks, n), weight[0], bias[0].astype(np.float64), lengths, lsb, levels, k_total)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_noiseless_sums_equal_numpy_oracle_conv_with_replicas(path):
    """Inputs gathered from a padded image (stride 2 in y) and positions alternating between two replicas."""
    rng = np.random.default_rng(1)
    cin, kh, kw, n, outs, batch = 2, 3, 3, 5, 4, 3
    k_total = cin * kh * kw
    n_chunks = -(-k_total // n)
    img = np.where(rng.random((batch, cin, 7, 6)) < 0.5, -1.0, 1.0).astype(np.float32)
    sy, sx = 2, 1
    oh, ow = (7 - kh) // sy + 1, (6 - kw) // sx + 1
    k = np.arange(n_chunks * n)
    ch, ky, kx = k // (kh * kw), (k // kw) % kh, k % kw
    offsets = np.where(k < k_total, (ch * 7 + ky) * 6 + kx, -1)
    l = np.arange(oh * ow)
    base = (l // ow) * sy * 6 + (l % ow) * sx
    weight = np.zeros((2, n_chunks * n, outs))
    weight[:, :k_total] = np.where(rng.random((2, k_total, outs)) < 0.5, -1.0, 1.0) + 0.2 * rng.normal(size=(2, k_total, outs))
    weight = weight.reshape(2, n_chunks, n, outs).astype(np.float32)
    bias = (0.3 * rng.normal(size=(2, n_chunks, outs))).astype(np.float32)
    lengths = np.array([n] * (n_chunks - 1) + [k_total - n * (n_chunks - 1)])
    got = rn.adc_digital_sums(img, offsets, base, weight, bias, lengths, np.zeros(n_chunks), 0.0, 2.0, 8, k_total, key=3)
    # oracle: explicit im2col
    cols = np.zeros((batch, oh * ow, n_chunks * n))
    for b in range(batch):
        for p in range(oh * ow):
            y, x0 = (p // ow) * sy, (p % ow) * sx
            cols[b, p, :k_total] = img[b, :, y : y + kh, x0 : x0 + kw].reshape(-1)
    cols = cols.reshape(batch, oh * ow, n_chunks, n)
    want = np.empty_like(got)
    for rep in range(2):
        sel = l % 2 == rep
        want[:, :, sel] = _oracle(cols[:, sel], weight[rep], bias[rep].astype(np.float64), lengths, 2.0, 8, k_total)
    np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize("p_max", ["margin", 1.0])  # candidates only, every readout
def test_noise_error_rates_match_gaussian_tails(path, p_max):
    """Outputs with a known offset e and noise σ: a readout comes out one level (2 in ±1 units)
    high with probability Φ(−(1 − e)/σ) and low with Φ(−(1 + e)/σ), whether every readout's noise
    is drawn or only the candidates' (p_max = P(|n| > 1 − max|e|)). Readouts at the ends of the
    popcount range are left out (the ADC clips them)."""
    rng = np.random.default_rng(2)
    n, batch = 4, 100_000
    e = np.array([0.0, 0.3, -0.5, 0.6])  # per output
    a, offsets, base, k_total = _linear_case(rng, batch, 1, n, len(e))
    weight = np.where(rng.random((1, 1, n, len(e))) < 0.5, -1.0, 1.0).astype(np.float32)
    bias = e[None, None, :].astype(np.float32)
    sigma = 0.25
    p = 2 * special.ndtr(-(1 - np.abs(e).max()) / sigma) if p_max == "margin" else 1.0
    got = rn.adc_digital_sums(a, offsets, base, weight, bias, np.array([n]), np.array([sigma]), p, 2.0, 32, k_total,
                              key=7)[:, :, 0]
    exact = a.astype(np.float64) @ weight[0, 0]
    inside = np.abs(exact) < n
    d = (got - exact) / 2
    assert set(np.unique(d[inside])) <= {-1.0, 0.0, 1.0}
    for o in range(len(e)):
        trials = inside[:, o].sum()
        for value, prob in ((1, special.ndtr(-(1 - e[o]) / sigma)), (-1, special.ndtr(-(1 + e[o]) / sigma))):
            count = np.sum(d[inside[:, o], o] == value)
            mean = trials * prob
            assert abs(count - mean) <= 5 * math.sqrt(mean) + 1, (o, value, count, mean)


@pytest.mark.parametrize("levels", [32, 6])  # wide ADC, and one that clips the top readouts
def test_code_distribution_matches_closed_form_across_levels_and_clipping(path, levels):
    """Offsets up to 1.6 levels and σ = 0.45: readouts near a boundary (own draw), far ones
    (candidates) and readouts whose noiseless code is already off all land on code k with
    probability Φ(((k + ½)·lsb − v)/σ) − Φ(((k − ½)·lsb − v)/σ), the ends clipped (chi-square)."""
    rng = np.random.default_rng(5)
    n, batch = 4, 60_000
    e = np.array([0.0, 0.45, -0.8, 1.3, -1.6, 0.95])
    a, offsets, base, k_total = _linear_case(rng, batch, 1, n, len(e))
    weight = np.ones((1, 1, n, len(e)), np.float32)
    sigma, lsb = 0.45, 2.0
    got = rn.adc_digital_sums(a, offsets, base, weight, e[None, None, :].astype(np.float32), np.array([n]),
                              np.array([sigma]), 1.0, lsb, levels, k_total, key=21)[:, :, 0]
    s = a.astype(np.float64).sum(axis=1)  # the same ideal sum for every output (weights 1)
    for o in range(len(e)):
        for value in np.unique(s):
            rows = s == value
            codes = np.rint((got[rows, o] + k_total) / lsb).astype(int)
            v = value + e[o] + n
            edges = (np.arange(levels + 1) - 0.5) * lsb
            cdf = special.ndtr((edges - v) / sigma)
            cdf[0], cdf[-1] = 0.0, 1.0
            expected = np.diff(cdf) * rows.sum()
            observed = np.bincount(codes, minlength=levels)
            keep = expected > 5
            assert observed[~keep].sum() <= expected[~keep].sum() + 5 * math.sqrt(expected[~keep].sum()) + 3
            chi2 = (((observed[keep] - expected[keep]) ** 2) / expected[keep]).sum()
            assert stats.chi2.sf(chi2, max(1, keep.sum() - 1)) > 1e-6, (o, value, observed, expected.round(1))


@pytest.mark.parametrize("case", ["general inputs", "tables too large"])
def test_multiply_add_path_equals_the_oracle(case, monkeypatch):
    """Inputs other than ±1 (here 0, ½ and −2), or ±1 inputs whose subset-sum tables would exceed
    the memory bound, take the multiply-add path; the result is the oracle's."""
    rng = np.random.default_rng(6)
    n_chunks, n, outs = 2, 7, 3
    a, offsets, base, k_total = _linear_case(rng, 30, n_chunks, n, outs)
    if case == "general inputs":
        a = rng.choice(np.array([0.0, 0.5, -2.0, 1.0], np.float32), size=a.shape)
    else:
        monkeypatch.setattr(rn, "_TABLE_BYTES", 0)
        monkeypatch.setattr(rn, "_subset_tables", None)  # would fail if called
    weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0) + 0.2 * rng.normal(size=(1, n_chunks, n, outs)))
    weight = weight.astype(np.float32)
    bias = (0.2 * rng.normal(size=(1, n_chunks, outs))).astype(np.float32)
    lengths = np.full(n_chunks, n)
    got = rn.adc_digital_sums(a, offsets, base, weight, bias, lengths, np.zeros(n_chunks), 0.0, 2.0, 32, k_total, key=1)
    want = _oracle(a.reshape(30, 1, n_chunks, n).astype(np.float64), weight[0], bias[0].astype(np.float64), lengths,
                   2.0, 32, k_total)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_far_readouts_cross_at_the_gaussian_tail_rate(path):
    """Readouts just beyond the near band (distance 1.05 D to the upper boundary, D with
    P(|n| > D) = FAR_PROBABILITY) only change through the candidate stream; they come out one
    level high with probability Φ(−d/σ) (400,000 images x 4 outputs) and almost never low."""
    rng = np.random.default_rng(9)
    n, batch, sigma = 4, 400_000, 0.25
    d = 1.05 * sigma * -special.ndtri(rn.FAR_PROBABILITY / 2)
    e = np.full(4, 1.0 - d)
    a, offsets, base, k_total = _linear_case(rng, batch, 1, n, len(e))
    weight = np.ones((1, 1, n, len(e)), np.float32)
    got = rn.adc_digital_sums(a, offsets, base, weight, e[None, None, :].astype(np.float32), np.array([n]),
                              np.array([sigma]), 1.0, 2.0, 32, k_total, key=13)[:, :, 0]
    exact = a.astype(np.float64).sum(axis=1, keepdims=True)
    inside = np.broadcast_to(np.abs(exact) < n, got.shape)
    shift = (got - exact)[inside] / 2
    mean = inside.sum() * special.ndtr(-d / sigma)
    assert abs(np.sum(shift == 1) - mean) <= 5 * math.sqrt(mean), (np.sum(shift == 1), mean)
    low = inside.sum() * special.ndtr(-(2.0 - d) / sigma)  # the far side: about one readout in all
    assert np.sum(shift < 0) <= low + 5 * math.sqrt(low) + 3


def test_near_readouts_of_many_outputs_change_independently_at_the_gaussian_rates(path):
    """70 outputs (two words of 64 outputs), offsets across the code interval and σ = 0.3, so
    that nearly every readout is near a boundary: each output comes out one level high with
    probability Φ(−(1 − e)/σ) and low with Φ(−(1 + e)/σ), and neighbouring outputs of an image,
    or one output of two images with the same input (draws that may share hashes), both come out
    high at the product of their rates (30,000 images)."""
    rng = np.random.default_rng(12)
    n, batch, outs, sigma = 4, 30_000, 70, 0.3
    e = np.linspace(-0.7, 0.7, outs)
    a, offsets, base, k_total = _linear_case(rng, batch, 1, n, outs)
    weight = np.ones((1, 1, n, outs), np.float32)
    got = rn.adc_digital_sums(a, offsets, base, weight, e[None, None, :].astype(np.float32), np.array([n]),
                              np.array([sigma]), 1.0, 2.0, 32, k_total, key=17)[:, :, 0]
    exact = a.astype(np.float64).sum(axis=1)
    inside = np.abs(exact) < n  # rows the ADC does not clip
    shift = (got[inside] - exact[inside, None]) / 2
    trials = inside.sum()
    up, down = special.ndtr(-(1 - e) / sigma), special.ndtr(-(1 + e) / sigma)
    def two_sided(count, prob):  # exact binomial p-values (small means included)
        return np.minimum(stats.binom.sf(count - 1, trials, prob), stats.binom.cdf(count, trials, prob))

    assert set(np.unique(shift)) <= {-1.0, 0.0, 1.0}
    for value, prob in ((1, up), (-1, down)):
        count = np.sum(shift == value, axis=0)
        assert two_sided(count, prob).min() > 1e-6, (value, count, (trials * prob).round(1))
    both = np.sum((shift[:, :-1] == 1) & (shift[:, 1:] == 1), axis=0)
    assert two_sided(both, up[:-1] * up[1:]).min() > 1e-6, (both, (trials * up[:-1] * up[1:]).round(1))
    # images with the same input pattern, one after another (the groups' consecutive members), too
    pattern = (a[inside] > 0) @ (1 << np.arange(n))
    order = np.argsort(pattern, kind="stable")
    same = pattern[order][1:] == pattern[order][:-1]
    high = shift[order] == 1
    pairs = np.sum((high[1:] & high[:-1])[same], axis=0)
    expected = np.minimum(same.sum() * up**2, trials)
    assert np.all(np.minimum(stats.binom.sf(pairs - 1, same.sum(), up**2),
                             stats.binom.cdf(pairs, same.sum(), up**2)) > 1e-6), (pairs, expected.round(1))


@pytest.mark.parametrize("lsb", [2.0, 3.2])
def test_near_thresholds_are_the_largest_float32_not_above_the_exact_band(lsb):
    """The near band's float32 offsets are the closed form 0.5 − D/lsb (D = σ·Φ⁻¹(1 − q/2)) rounded
    down: rounding up would class readouts closer than D to a boundary as far, whose noise
    below D is then never drawn."""
    sigma = np.array([0.0, 0.013, 0.05, 0.1, 0.142, 0.3, 0.7])
    for p_max in (1.0, 0.02, 1e-3):
        q, thr = rn._near_thresholds(sigma, p_max, lsb)
        assert q == min(p_max, rn.FAR_PROBABILITY)
        exact = np.where(sigma > 0, 0.5 - sigma * -special.ndtri(q / 2) / lsb, 0.5)
        assert thr.dtype == np.float32
        assert np.all(thr.astype(np.float64) <= exact)
        assert np.all(np.nextafter(thr, np.float32(np.inf)).astype(np.float64) > exact)
    q, thr = rn._near_thresholds(np.zeros(3), 1.0, lsb)  # no noise: no candidates, nothing near
    assert q == 0.0 and np.all(thr == 0.5)


def test_many_chunks_match_a_full_gaussian_draw_per_readout(path):
    """Two-sample check against the plain dense oracle (a NumPy Gaussian for every readout of
    every chunk, quantised and summed): 12 chunks of 10 cells with per-cell deviations that put
    readouts near, far from and beyond code boundaries. The histograms of the digital sums'
    shift from the noiseless sums agree (chi-square two-sample) for every output."""
    rng = np.random.default_rng(8)
    n_chunks, n, outs, batch = 12, 10, 4, 20_000
    a, offsets, base, k_total = _linear_case(rng, batch, n_chunks, n, outs)
    weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0)
              + 0.12 * rng.normal(size=(1, n_chunks, n, outs))).astype(np.float32)
    bias = (0.3 * rng.normal(size=(1, n_chunks, outs))).astype(np.float32)
    lengths, sigma = np.full(n_chunks, n), 0.3
    got = rn.adc_digital_sums(a, offsets, base, weight, bias, lengths, np.full(n_chunks, sigma), 1.0, 2.0, 32,
                              k_total, key=5)
    x = a.reshape(batch, 1, n_chunks, n).astype(np.float64)
    clean = _oracle(x, weight[0], bias[0].astype(np.float64), lengths, 2.0, 32, k_total)
    noisy = _oracle(x, weight[0], bias[0].astype(np.float64), lengths, 2.0, 32, k_total,
                    noise=sigma * rng.standard_normal((batch, 1, n_chunks, outs)))
    for o in range(outs):
        d_got, d_want = (got[:, o, 0] - clean[:, o, 0]) / 2, (noisy[:, o, 0] - clean[:, o, 0]) / 2
        values = np.union1d(d_got, d_want)
        c_got = np.array([np.sum(d_got == v) for v in values])
        c_want = np.array([np.sum(d_want == v) for v in values])
        keep = c_got + c_want >= 10
        table = np.stack([c_got[keep], c_want[keep]])
        assert np.sum(d_got != 0) > 1000  # the noise does change many sums
        assert stats.chi2_contingency(table)[1] > 1e-6, (o, values[keep], table)


def test_result_does_not_depend_on_thread_count(path):
    """Counter-based streams: the same key gives the same bytes with one thread or two."""
    rng = np.random.default_rng(3)
    n_chunks, n, outs = 3, 6, 7
    a, offsets, base, k_total = _linear_case(rng, 5_000, n_chunks, n, outs)
    weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0) + 0.05).astype(np.float32)
    args = (a, offsets, base, weight, np.zeros((1, n_chunks, outs), np.float32), np.full(n_chunks, n),
            np.full(n_chunks, 0.4), 0.5, 2.0, 8, k_total)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = rn.adc_digital_sums(*args, key=11)
        numba.set_num_threads(before)
        many = rn.adc_digital_sums(*args, key=11)
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == many.tobytes()
    assert not np.array_equal(one, rn.adc_digital_sums(*args, key=12))  # and the key matters


def test_bad_shapes_are_rejected_before_the_kernel():
    rng = np.random.default_rng(4)
    a, offsets, base, k_total = _linear_case(rng, 4, 2, 4, 3)
    weight = np.ones((1, 2, 4, 3), np.float32)
    bias = np.zeros((1, 2, 3), np.float32)
    with pytest.raises(ValueError, match="offsets"):
        rn.adc_digital_sums(a, offsets[:-1], base, weight, bias, np.full(2, 4), np.zeros(2), 0.0, 2.0, 8, k_total, key=0)
    with pytest.raises(ValueError, match="bias"):
        rn.adc_digital_sums(a, offsets, base, weight, bias[:, :1], np.full(2, 4), np.zeros(2), 0.0, 2.0, 8, k_total, key=0)
    with pytest.raises(ValueError, match="outside"):
        rn.adc_digital_sums(a, offsets + 5, base, weight, bias, np.full(2, 4), np.zeros(2), 0.0, 2.0, 8, k_total, key=0)
    with pytest.raises(ValueError, match="p_max"):
        rn.adc_digital_sums(a, offsets, base, weight, bias, np.full(2, 4), np.zeros(2), 1.5, 2.0, 8, k_total, key=0)
    with pytest.raises(ValueError, match="lsb"):
        rn.adc_digital_sums(a, offsets, base, weight, bias, np.full(2, 4), np.zeros(2), 0.0, -2.0, 8, k_total, key=0)
    with pytest.raises(ValueError, match="n"):
        rn.uniforms(1, -3)


def test_pattern_path_is_the_table_path_to_the_bit_without_noise(monkeypatch):
    """σ = 0: the pattern path (rows of codes per input pattern) gives the table path's bytes,
    and it is the path taken when each row is read often enough."""
    rng = np.random.default_rng(10)
    n_chunks, n, outs = 4, 9, 70  # outputs beyond one 64-wide screen word
    a, offsets, base, k_total = _linear_case(rng, 3_000, n_chunks, n, outs, k_total=33)
    weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0) + 0.3 * rng.normal(size=(1, n_chunks, n, outs)))
    weight[:, -1, k_total - (n_chunks - 1) * n:] = 0.0
    args = (a, offsets, base, weight.astype(np.float32), (0.2 * rng.normal(size=(1, n_chunks, outs))).astype(np.float32),
            np.array([9, 9, 9, 6]), np.zeros(n_chunks), 0.0, 2.0, 16, k_total)
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 2**62)
    table = rn.adc_digital_sums(*args, key=1)
    calls = []
    kernel = rn._pattern_kernel
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 4)  # 3,000 rows >= 4 x 2**9
    monkeypatch.setattr(rn, "_pattern_kernel", lambda *xs: (calls.append(1), kernel(*xs)))
    assert rn.adc_digital_sums(*args, key=1).tobytes() == table.tobytes()
    assert calls == [1]


def test_screen_exponent_is_the_tightest_power_of_two_above_the_tail():
    """The pattern path's screen passes a draw with probability 2**-e >= 2·mass (so it never
    drops a crossing) and is tight: 2**-(e+1) < 2·mass, except at the largest exponent."""
    for mass in np.concatenate([[0.0, 0.5, 0.25, 2.0**-16], np.logspace(-12, np.log10(0.5), 400)]):
        e = rn._screen_exponent(mass)
        assert 0 <= e <= rn._SCREEN_BITS
        assert 2.0**-e >= 2 * mass
        assert e == rn._SCREEN_BITS or 2.0 ** -(e + 1) < 2 * mass


def _positions_case(rng, n_chunks, n, batch, positions, k_total):
    """±1 inputs (batch, positions·k_total): position l reads its own k_total inputs, cell k of a
    chunk input k (offsets -1 past k_total)."""
    offsets = np.where(np.arange(n_chunks * n) < k_total, np.arange(n_chunks * n), -1)
    a = np.where(rng.random((batch, positions * k_total)) < 0.5, -1.0, 1.0).astype(np.float32)
    return a, offsets, np.arange(positions) * k_total


@pytest.mark.parametrize("replicas", [1, 2])
def test_deviation_path_is_the_pattern_path_to_the_bit_without_noise(monkeypatch, replicas):
    """σ = 0, cells off their ideal values: given the ideal cells' sums, the deviation path (only
    the readouts whose code differs from the ideal cells') gives the pattern path's bytes, and it
    is the path taken; with an ADC coarser than one code per level the ideal sums are not used."""
    rng = np.random.default_rng(12)
    n_chunks, n, outs, batch, positions = 4, 7, 9, 400, 6
    k_total = 26
    a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
    weight = (np.where(rng.random((replicas, n_chunks, n, outs)) < 0.5, -1.0, 1.0)
              + 0.3 * rng.normal(size=(replicas, n_chunks, n, outs))).astype(np.float32)
    weight[:, -1, k_total - (n_chunks - 1) * n:] = 0.0
    bias = (0.3 * rng.normal(size=(replicas, n_chunks, outs))).astype(np.float32)
    lengths = np.array([7, 7, 7, 5])
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 0)
    monkeypatch.setattr(rn, "_DEVIATION_MIN_BITS", 1)
    calls = []
    kernel = rn._deviation_kernel
    monkeypatch.setattr(rn, "_deviation_kernel", lambda *xs: (calls.append(1), kernel(*xs)))
    for levels, taken in ((8, [1]), (4, [])):  # one code per popcount level (n_c <= 7), and a coarse ADC
        calls.clear()
        args = (a, offsets, base, weight, bias, lengths, np.zeros(n_chunks), 0.0, 2.0, levels, k_total)
        pattern = rn.adc_digital_sums(*args, key=1)
        # the oracle: every readout's code from its own multiply-add, summed over chunks
        x = a.reshape(batch, positions, k_total)
        cols = np.zeros((batch, positions, n_chunks * n))
        cols[:, :, :k_total] = x
        want = np.empty((batch, outs, positions))
        for rep in range(replicas):
            sel = np.arange(positions) % replicas == rep
            want[:, :, sel] = _oracle(cols[:, sel].reshape(batch, sel.sum(), n_chunks, n), weight[rep],
                                      bias[rep].astype(np.float64), lengths, 2.0, levels, k_total)
        np.testing.assert_array_equal(pattern, want)
        deviation = _with_ideal(rn.adc_digital_sums)(*args, key=1)
        assert deviation.tobytes() == pattern.tobytes()
        assert calls == taken
        # the predicate the layer asks before it skips the ideal sums names the same path
        assert rn.takes_deviation_path(n, replicas, n_chunks, outs, batch * positions, levels, 2.0, lengths,
                                       k_total) == bool(taken)


@pytest.mark.parametrize("replicas", [1, 2])
def test_frequent_pattern_path_is_the_table_path_to_the_bit_without_noise(monkeypatch, replicas):
    """σ = 0, cells off their ideal values, chunks too long for the pattern path: given the ideal
    cells' sums, the frequent-pattern path (groups of the frequent patterns' readouts plus the
    others' code deviations) gives the table path's bytes, and it is the path taken."""
    rng = np.random.default_rng(14)
    n_chunks, n, outs, batch, positions = 3, 14, 6, 300, 5
    k_total = 38
    a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
    a[: batch // 2, : k_total] = -1.0  # half the images repeat one pattern at position 0
    weight = (np.where(rng.random((replicas, n_chunks, n, outs)) < 0.5, -1.0, 1.0)
              + 0.35 * rng.normal(size=(replicas, n_chunks, n, outs))).astype(np.float32)
    weight[:, -1, k_total - (n_chunks - 1) * n :] = 0.0
    bias = (0.35 * rng.normal(size=(replicas, n_chunks, outs))).astype(np.float32)
    lengths = np.array([14, 14, 10])
    args = (a, offsets, base, weight, bias, lengths, np.zeros(n_chunks), 0.0, 2.0, 16, k_total)
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 2**62)
    table = rn.adc_digital_sums(*args, key=1)
    monkeypatch.setattr(rn, "MIN_ROWS", 0)
    calls = []
    kernel = rn._deviation_kernel
    monkeypatch.setattr(rn, "_deviation_kernel", lambda *xs: (calls.append(1), kernel(*xs)))
    groups = []
    frequent = rn.frequent_groups
    monkeypatch.setattr(rn, "frequent_groups", lambda *xs: groups.append(frequent(*xs)) or groups[-1])
    assert _with_ideal(rn.adc_digital_sums)(*args, key=1).tobytes() == table.tobytes() and not calls  # not kept: rows
    got = _with_ideal(rn.adc_digital_sums, keep=True)(*args, key=1)
    assert got.tobytes() == table.tobytes()
    assert calls == [1] and 0.05 < groups[0].coverage < 1.0  # both the groups and the rows were visited
    assert rn.takes_deviation_path(n, replicas, n_chunks, outs, batch * positions, 16, 2.0, lengths, k_total)


def test_deviation_path_rejects_ideal_cells_of_the_wrong_shape():
    rng = np.random.default_rng(13)
    a, offsets, base, k_total = _linear_case(rng, 50, 2, 4, 3)
    weight = np.ones((1, 2, 4, 3), np.float32)
    sums = np.zeros((50, 3, 1), np.float32)
    args = (a, offsets, base, weight, np.zeros((1, 2, 3), np.float32), np.full(2, 4), np.zeros(2), 0.0, 2.0, 8, k_total)
    with pytest.raises(ValueError, match="ideal weight"):
        rn.adc_digital_sums(*args, key=0, ideal=(np.ones((2, 4, 2), np.float32), sums))
    with pytest.raises(ValueError, match="ideal sums"):
        rn.adc_digital_sums(*args, key=0, ideal=(np.ones((2, 4, 3), np.float32), sums[:10]))
    with pytest.raises(ValueError, match="lengths"):
        rn.takes_deviation_path(4, 1, 2, 3, 50, 8, 2.0, np.full(3, 4), k_total)
    with pytest.raises(ValueError, match="levels"):
        rn.takes_deviation_path(4, 1, 2, 3, 50, 1, 2.0, np.full(2, 4), k_total)


def test_reused_input_work_gives_the_same_sums_chip_after_chip(path):
    """``reuse``: chips (other cells, other noise keys) on one input give, with the dict kept from
    the first chip's call, the bytes of calls that start afresh; the dict then holds the input's
    sign bits and, on the deviation path, its grouping by pattern, and a dict for another input
    is refused."""
    rng = np.random.default_rng(21)
    n_chunks, n, outs, batch, positions = 3, 6, 5, 300, 4
    k_total = 16
    a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
    lengths = np.array([6, 6, 4])
    reuse = {}
    for chip in range(3):
        weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0)
                  + 0.2 * rng.normal(size=(1, n_chunks, n, outs))).astype(np.float32)
        weight[:, -1, 4:] = 0.0
        bias = (0.2 * rng.normal(size=(1, n_chunks, outs))).astype(np.float32)
        args = (a, offsets, base, weight, bias, lengths, np.full(n_chunks, 0.4), 1.0, 2.0, 8, k_total)
        fresh = rn.adc_digital_sums(*args, key=100 + chip)
        kept = rn.adc_digital_sums(*args, key=100 + chip, reuse=reuse)
        assert kept.tobytes() == fresh.tobytes()
    assert "signs" in reuse and (("grouped" in reuse) == (path == "deviation"))
    with pytest.raises(ValueError, match="reuse holds the work of another layer input"):
        rn.adc_digital_sums(a[:100], *args[1:], key=0, reuse=reuse)
    with pytest.raises(TypeError, match="reuse must be a dict"):
        rn.adc_digital_sums(*args, key=0, reuse=[])


def _force_path(monkeypatch, path):
    """Force the table, deviation or frequent-pattern path on any number of rows."""
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 0 if path == "deviation" else 2**62)
    monkeypatch.setattr(rn, "MIN_ROWS", 0 if path == "frequent" else 2**62)


def _off_ideal_cells(rng, n_chunks, n, outs, last_used, spread):
    """One replica of ±1 cells off by ``spread`` (normal) with chunk offsets of that size; the
    last chunk's cells from ``last_used`` on unused (weight 0)."""
    weight = (np.where(rng.random((1, n_chunks, n, outs)) < 0.5, -1.0, 1.0)
              + spread * rng.normal(size=(1, n_chunks, n, outs))).astype(np.float32)
    weight[:, -1, last_used:] = 0.0
    return weight, (spread * rng.normal(size=(1, n_chunks, outs))).astype(np.float32)


@pytest.mark.parametrize("path", ["table", "deviation", "frequent"])
def test_kept_cell_work_gives_the_same_sums_batch_after_batch(path, monkeypatch):
    """``cells_reuse``: batches (other inputs, other noise keys) on one chip's cells give, with the
    dict kept from the first batch's call, the bytes of calls that start afresh (given the ideal
    cells' sums; each path forced); the dict then holds the subset-sum tables and, on the deviation
    path, its lists of groups, and a dict for other cells is refused."""
    _force_path(monkeypatch, path)
    rng = np.random.default_rng(22)
    n_chunks, n, outs, batch, positions = 3, 9, 5, 300, 4
    k_total = 25
    lengths = np.array([9, 9, 7])
    weight, bias = _off_ideal_cells(rng, n_chunks, n, outs, 7, 0.3)
    kept = {}
    for b in range(3):
        a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
        iw = _ideal_weight(weight, offsets)
        sums = rn.adc_digital_sums(a, offsets, base, np.broadcast_to(iw, weight.shape).copy(), np.zeros_like(bias),
                                   lengths, np.zeros(n_chunks), 0.0, 2.0, 16, k_total, key=0)
        args = (a, offsets, base, weight, bias, lengths, np.full(n_chunks, 0.3), 1.0, 2.0, 16, k_total)
        fresh = rn.adc_digital_sums(*args, key=200 + b, ideal=(iw, sums), reuse={})
        again = rn.adc_digital_sums(*args, key=200 + b, ideal=(iw, sums), reuse={}, cells_reuse=kept)
        assert again.tobytes() == fresh.tobytes()
    assert "tables" in kept and (("lists" in kept) == (path == "deviation"))
    with pytest.raises(ValueError, match="cells_reuse holds the work of other cells"):
        rn.adc_digital_sums(a, offsets, base, weight * 1.01, *args[4:], key=0, ideal=(iw, sums), cells_reuse=kept)
    with pytest.raises(TypeError, match="cells_reuse must be a dict"):
        rn.adc_digital_sums(*args, key=0, cells_reuse=[])


def _three_chunk_case(rng, outs, batch, k_total):
    """Three chunks of 9, 9 and 7 cells off their ideal values (:func:`_off_ideal_cells`), 4
    positions per image: the inputs, cells, ideal cells and their noiseless sums."""
    n_chunks, n, positions = 3, 9, 4
    lengths = np.array([9, 9, 7])
    weight, bias = _off_ideal_cells(rng, n_chunks, n, outs, 7, 0.3)
    a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
    iw = _ideal_weight(weight, offsets)
    sums = rn.adc_digital_sums(a, offsets, base, np.broadcast_to(iw, weight.shape).copy(), np.zeros_like(bias),
                               lengths, np.zeros(n_chunks), 0.0, 2.0, 16, k_total, key=0)
    return a, offsets, base, weight, bias, lengths, iw, sums


@pytest.mark.parametrize("path", ["deviation", "frequent"])
def test_the_ideal_sums_as_stored_integers_give_the_bytes_of_their_float_copy(path, monkeypatch):
    """The deviation paths start from the ideal cells' sums in any exact dtype: int16 and int32
    sums (the ideal run's stored ones, left unwritten) give the bytes of a float32 copy and of
    that copy given as ``out`` itself (with noise and cells off their ideal values); other
    dtypes are refused."""
    _force_path(monkeypatch, path)
    rng = np.random.default_rng(24)
    outs, batch, k_total = 5, 300, 25
    a, offsets, base, weight, bias, lengths, iw, sums = _three_chunk_case(rng, outs, batch, k_total)
    n_chunks = len(lengths)
    assert np.array_equal(sums, np.rint(sums)) and np.abs(sums).max() <= k_total  # exact integers
    args = (a, offsets, base, weight, bias, lengths, np.full(n_chunks, 0.3), 1.0, 2.0, 16, k_total)
    want = rn.adc_digital_sums(*args, key=5, ideal=(iw, sums.copy()), reuse={})
    in_place = sums.copy()
    rn.adc_digital_sums(*args, key=5, out=in_place, ideal=(iw, in_place), reuse={})
    assert in_place.tobytes() == want.tobytes() and not np.array_equal(want, sums)
    for dtype in (np.int16, np.int32):
        stored = sums.astype(dtype)
        got = rn.adc_digital_sums(*args, key=5, out=np.full_like(sums, np.nan), ideal=(iw, stored), reuse={})
        assert got.tobytes() == want.tobytes() and np.array_equal(stored, sums.astype(dtype))
    for dtype in (np.int8, np.float64):
        with pytest.raises(ValueError, match="ideal sums must be an array of shape .* float32, int16 or int32"):
            rn.adc_digital_sums(*args, key=5, ideal=(iw, sums.astype(dtype)), reuse={})


@pytest.mark.parametrize("path", ["table", "deviation", "frequent"])
def test_sign_decisions_are_those_of_the_sums(path, monkeypatch):
    """``decisions``: the signs ``(sum > cut) XOR flip`` and each image's count of signs that
    differ from ``ideal_plus`` are those of the sums a plain call returns (NumPy); the paths
    that read the ideal sums decide them in their kernel and return None; malformed arrays are refused."""
    _force_path(monkeypatch, path)
    rng = np.random.default_rng(25)
    outs, batch, k_total = 5, 300, 25
    a, offsets, base, weight, bias, lengths, iw, sums = _three_chunk_case(rng, outs, batch, k_total)
    n_chunks = len(lengths)
    args = (a, offsets, base, weight, bias, lengths, np.full(n_chunks, 0.3), 1.0, 2.0, 16, k_total)
    want = rn.adc_digital_sums(*args, key=5, ideal=(iw, sums.copy()), reuse={})
    cut = (rng.integers(-4, 5, outs) - 0.5).astype(np.float32)
    flip = rng.random(outs) < 0.4
    ideal_plus = (sums > cut[None, :, None]) ^ flip[None, :, None]
    plus, counts = np.empty(sums.shape, np.bool_), np.empty(batch, np.int64)
    got = rn.adc_digital_sums(*args, key=5, ideal=(iw, sums.astype(np.int16)), reuse={},
                              decisions=(cut, flip, ideal_plus, plus, counts))
    oracle = (want > cut[None, :, None]) ^ flip[None, :, None]
    assert np.array_equal(plus, oracle) and np.array_equal(counts, (oracle != ideal_plus).sum(axis=(1, 2)))
    assert counts.sum() > 0 and (oracle == ideal_plus).any()  # some signs differ, most do not
    assert (got is None) == (path != "table")
    if got is not None:
        assert got.tobytes() == want.tobytes()
    with pytest.raises(ValueError, match="decisions: plus must be a C-contiguous bool array of shape"):
        rn.adc_digital_sums(*args, key=5, decisions=(cut, flip, ideal_plus, plus.astype(np.uint8), counts))
    with pytest.raises(ValueError, match="decisions: counts must be"):
        rn.adc_digital_sums(*args, key=5, decisions=(cut, flip, ideal_plus, plus, counts[:-1]))
    with pytest.raises(TypeError, match="decisions must be a tuple"):
        rn.adc_digital_sums(*args, key=5, decisions=[cut, flip, ideal_plus, plus, counts])


def test_batches_of_one_layer_share_the_frequent_patterns_and_stay_exact(monkeypatch):
    """``layer_reuse``: a second batch of the layer is grouped by the very patterns chosen on the
    first (so one chip's lists serve both), and with σ = 0 and cells off their ideal values each
    batch still gives the table path's bytes; a dict for other chunks is refused."""
    rng = np.random.default_rng(23)
    n_chunks, n, outs, batch, positions = 3, 14, 6, 300, 5
    k_total = 38
    lengths = np.array([14, 14, 10])
    weight, bias = _off_ideal_cells(rng, n_chunks, n, outs, k_total - (n_chunks - 1) * n, 0.35)
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 2**62)
    monkeypatch.setattr(rn, "MIN_ROWS", 0)
    groups = []
    frequent = rn.frequent_groups
    monkeypatch.setattr(rn, "frequent_groups", lambda *xs: groups.append(frequent(*xs)) or groups[-1])
    layer, cells = {}, {}
    for b in range(2):
        a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
        a[: batch // 2, : k_total] = -1.0  # half the images repeat one pattern at position 0
        args = (a, offsets, base, weight, bias, lengths, np.zeros(n_chunks), 0.0, 2.0, 16, k_total)
        table = rn.adc_digital_sums(*args, key=1)
        iw = _ideal_weight(weight, offsets)
        sums = rn.adc_digital_sums(a, offsets, base, np.broadcast_to(iw, weight.shape).copy(), np.zeros_like(bias),
                                   lengths, np.zeros(n_chunks), 0.0, 2.0, 16, k_total, key=0)
        got = rn.adc_digital_sums(*args, key=1, ideal=(iw, sums), reuse={}, cells_reuse=cells, layer_reuse=layer)
        assert got.tobytes() == table.tobytes()
    assert len(groups) == 2 and groups[1].patterns is groups[0].patterns and 0.05 < groups[1].coverage < 1.0
    assert cells["frequent lists"][0] is groups[0].patterns
    short = (a, offsets[: n_chunks * 7].copy(), base, np.ascontiguousarray(weight[:, :, :7]), bias, np.full(3, 7),
             np.zeros(n_chunks), 0.0, 2.0, 16, 21)  # chunks of 7 cells: other chunks than the dict's
    with pytest.raises(ValueError, match="layer_reuse holds the work of other chunks"):
        rn.adc_digital_sums(*short, key=1, ideal=(iw[:, :7].copy(), sums), reuse={}, layer_reuse=layer)
    with pytest.raises(TypeError, match="layer_reuse must be a dict"):
        rn.adc_digital_sums(*args, key=1, ideal=(iw, sums), reuse={}, layer_reuse=[])


def test_a_lazy_input_is_made_only_when_its_values_are_read(monkeypatch):
    """``a`` as a callable (with ``a_shape``) gives the array's bytes; with the input's sign bits
    kept in ``reuse``, or given as ``sign_bits``, the table path never calls it; a callable without
    ``a_shape``, one that returns another shape, or malformed sign bits are refused."""
    monkeypatch.setattr(rn, "_PATTERN_REUSE", 2**62)
    rng = np.random.default_rng(24)
    n_chunks, n, outs, batch, positions = 3, 6, 5, 300, 4
    k_total = 16
    a, offsets, base = _positions_case(rng, n_chunks, n, batch, positions, k_total)
    weight, bias = _off_ideal_cells(rng, n_chunks, n, outs, 4, 0.2)
    args = (offsets, base, weight, bias, np.array([6, 6, 4]), np.full(n_chunks, 0.4), 1.0, 2.0, 8, k_total)
    want = rn.adc_digital_sums(a, *args, key=5)
    calls = []
    lazy = lambda: calls.append(1) or a  # noqa: E731
    reuse = {}
    assert rn.adc_digital_sums(lazy, *args, key=5, a_shape=a.shape, reuse=reuse).tobytes() == want.tobytes()
    assert calls == [1] and "signs" in reuse  # made once, for its sign bits
    assert rn.adc_digital_sums(lazy, *args, key=5, a_shape=a.shape, reuse=reuse).tobytes() == want.tobytes()
    assert calls == [1]  # the kept sign bits: not made again
    bits = (a > 0).astype(np.uint8).ravel()  # the sign bits given: the values are never made either
    assert rn.adc_digital_sums(lazy, *args, key=5, a_shape=a.shape, sign_bits=bits).tobytes() == want.tobytes()
    assert calls == [1]
    with pytest.raises(ValueError, match=rf"sign_bits must be a uint8 array of shape \({a.size},\)"):
        rn.adc_digital_sums(a, *args, key=5, sign_bits=bits[:-1])
    with pytest.raises(ValueError, match="sign_bits must be a uint8 array"):
        rn.adc_digital_sums(a, *args, key=5, sign_bits=bits.astype(bool))
    with pytest.raises(ValueError, match="needs a_shape"):
        rn.adc_digital_sums(lazy, *args, key=5)
    with pytest.raises(ValueError, match="not a_shape"):
        rn.adc_digital_sums(lambda: a[:10], *args, key=5, a_shape=a.shape)
    with pytest.raises(ValueError, match="a_shape must be the shape of a"):
        rn.adc_digital_sums(a, *args, key=5, a_shape=(1, 2))
