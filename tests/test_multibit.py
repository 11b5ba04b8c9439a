"""Multi-bit layers on the optical engine: folding of k-bit layers (mapping.networks.quant_folding,
export_binary) and their bit-plane passes in the functional simulator (mapping.functional.multibit).

Oracles: the software quantised layer's own ``integer_forward`` (exact integer accumulation),
the torch model's activations and predictions, NumPy float32 BatchNorm + LSQ quantiser on every
integer level, and the closed-form distribution of an ADC readout with Gaussian noise
(Φ over the code intervals, clipping included) for the noisy passes.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
from scipy.special import ndtr
from torch import nn

from mapping import bnn, functional
from mapping.functional.layer import DENSE_PROBABILITY, Adc, LayerCells
from mapping.functional.multibit import draw_passes, hardware_accumulations, pass_geometries
from mapping.networks.quant import ActQuant, QuantConv2d, QuantLinear, integer_range
from mapping.networks.quant_folding import QuantLayerSpec, fold_levels
from mapping.performance.schedule import assign_vdus

IDEAL = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)


def _settle(model: nn.Module, shape: tuple, seed: int, batches: int = 4) -> nn.Module:
    """A few training-mode batches: LSQ steps initialised, BatchNorm running stats set (cumulative)."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.rand((64,) + shape, generator=gen) * 2)
    return model.eval()


def _single(kind: str, k: int, act_bits: int, weight_bits: int, seed: int = 0, out_bits: int | None = 2,
            method: str = "lsq"):
    """ActQuant -> one quant layer of dot-product length k -> BatchNorm -> ActQuant/Sign -> electronic head."""
    torch.manual_seed(seed)
    out = ActQuant(out_bits, method) if out_bits else bnn.Sign()
    if kind == "linear":
        shape, o = (k,), 6
        layers = [("q0", ActQuant(act_bits, method)),
                  ("layer", QuantLinear(k, o, weight_bits=weight_bits, act_bits=act_bits, method=method)),
                  ("bn", bnn.ExactBatchNorm1d(o)), ("q1", out), ("head", bnn.electronic(nn.Linear(o, 3)))]
    else:
        cin, o = k // 9, 4
        shape = (cin, 6, 5)
        layers = [("q0", ActQuant(act_bits)),
                  ("layer", QuantConv2d(cin, o, 3, stride=(1, 2), padding=1, weight_bits=weight_bits, act_bits=act_bits)),
                  ("bn", bnn.ExactBatchNorm2d(o)), ("q1", out), ("flat", nn.Flatten()),
                  ("head", bnn.electronic(nn.Linear(o * 6 * 3, 3)))]
    model = bnn.BNN(OrderedDict(layers), arch="test-quant", hparams={}, input_shape=shape)
    return _settle(model, shape, seed)


def _mixed(seed: int = 0):
    """Electronic conv, k-bit conv (K = 36 > N) -> Sign, binary linear -> 3-bit ActQuant, 3x2-bit linear
    (K = 8 < N) -> Sign, binary linear (comparator), electronic head."""
    torch.manual_seed(seed)
    layers = OrderedDict([
        ("conv1", bnn.electronic(nn.Conv2d(1, 4, 3, padding=1))), ("bn1", bnn.ExactBatchNorm2d(4)), ("q1", ActQuant(2)),
        ("conv2", QuantConv2d(4, 6, 3, stride=2, padding=1, weight_bits=2, act_bits=2)), ("bn2", bnn.ExactBatchNorm2d(6)),
        ("sign2", bnn.Sign()), ("pool", nn.MaxPool2d(2)), ("flat", nn.Flatten()),
        ("fc3", bnn.BinaryLinear(24, 8)), ("bn3", bnn.ExactBatchNorm1d(8)), ("q3", ActQuant(3)),
        ("fc4", QuantLinear(8, 10, weight_bits=2, act_bits=3)), ("bn4", bnn.ExactBatchNorm1d(10)), ("sign4", bnn.Sign()),
        ("fc5", bnn.BinaryLinear(10, 12)), ("bn5", bnn.ExactBatchNorm1d(12)), ("sign5", bnn.Sign()),
        ("out", bnn.electronic(nn.Linear(12, 3))),
    ])
    return _settle(bnn.BNN(layers, arch="test-mixed", hparams={}, input_shape=(1, 8, 8)), (1, 8, 8), seed)


@pytest.fixture(scope="module")
def mixed():
    """The mixed network of :func:`_mixed` and its export."""
    model = _mixed(seed=0)
    return model, bnn.export_binary(model, probe=_images((1, 8, 8), 300, 4))


def _images(shape, n, seed):
    return torch.rand((n,) + tuple(shape), generator=torch.Generator().manual_seed(seed)) * 2


@pytest.fixture(scope="module")
def ideal_chip(robin_eo):
    """A robin-eo chip without variation and its calibrated cell coefficients."""
    chip = functional.sample_chip_state(robin_eo, seed=0, chip=0, variation=False)
    return chip, robin_eo.components.xnor_cell.calibrated(chip.coefficients)


# ---------------------------------------------------------------- folding
def _np_bn(y, bn):
    f = np.float32
    mean, var, gamma, beta = (t.detach().numpy().astype(f) for t in (bn.running_mean, bn.running_var, bn.weight, bn.bias))
    return (y.astype(f) - mean) * (gamma / np.sqrt(var + f(bn.eps))) + beta


@pytest.mark.parametrize("method", ["lsq", "dorefa"])
def test_folded_levels_equal_numpy_float_ops_on_every_integer_sum(method):
    """QuantLinear -> BatchNorm (negative and zero scales) -> 3-bit ActQuant: the output code of
    every reachable A equals NumPy's float32 A·s_w, BatchNorm and clip(round(y/step)) (LSQ) or
    round(clip(y, 0, 1)·7) (DoReFa, s_w = 1/3)."""
    model = _single("linear", 5, 2, 2, seed=1, out_bits=3, method=method)
    bn, q1, layer = model.bn, model.q1, model.layer
    with torch.no_grad():
        bn.weight[0], bn.weight[1] = -0.7, 0.0
    spec = bnn.export_binary(model, probe=_images((5,), 200, 2)).layers[0]
    assert isinstance(spec, QuantLayerSpec) and spec.threshold.shape == (6, 7)
    lo, hi = integer_range(5, 2, 2)
    a = np.arange(lo, hi + 1, dtype=np.float32)[:, None].repeat(6, 1)
    scale = np.float32(layer.scale().item())
    y = _np_bn(a * scale, bn)
    if method == "lsq":
        want = np.clip(np.round(y / np.float32(q1.step.item())), 0, 7)
    else:
        assert scale == np.float32(1 / 3)
        want = np.round(np.clip(y, 0, 1) * np.float32(7))
    got = spec.activate(torch.from_numpy(a)).numpy()
    np.testing.assert_array_equal(got, want)
    assert spec.flip[0] and not spec.flip[2:].any()
    assert len(np.unique(want[:, 2:])) > 3  # thresholds are non-trivial


def test_binary_layer_to_actquant_thresholds_sit_midway():
    """A binary layer followed by an ActQuant: thresholds have the parity opposite to K (never a
    reachable sum), and every reachable sum gives the model's code."""
    model = _mixed(seed=2)
    folded = bnn.export_binary(model, probe=_images((1, 8, 8), 300, 3))
    fc3 = next(s for s in folded.layers if s.name == "fc3")
    assert isinstance(fc3, QuantLayerSpec) and fc3.act_bits is None and fc3.out_bits == 3
    assert bool(((fc3.threshold + fc3.K) % 2 == 1).all())
    s = torch.arange(-24, 25, 2, dtype=torch.float32)[:, None].repeat(1, 8)
    with torch.no_grad():
        want = model.q3(model.bn3(s))
    assert torch.equal(fc3.activate(s), want)


def test_mixed_network_folds_to_the_model_exactly(mixed):
    model, folded = mixed
    assert [type(s).__name__ for s in folded.layers] == ["QuantLayerSpec"] * 3 + ["BinaryLayerSpec"]
    x = _images((1, 8, 8), 400, 5)
    seen, ours = {}, {}
    hooks = [getattr(model, n).register_forward_hook(lambda _m, _i, out, n=n: seen.__setitem__(n, out))
             for n in ("sign2", "q3", "sign4", "sign5")]
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    np.testing.assert_array_equal(folded(x, record=ours).numpy(), logits.numpy())
    for layer, module in (("conv2", "sign2"), ("fc3", "q3"), ("fc4", "sign4"), ("fc5", "sign5")):
        assert torch.equal(ours[layer], seen[module]), layer
    assert len(torch.unique(ours["fc3"])) > 2
    # binary MACs: a k_a x k_w-bit layer counts its k_a·k_w passes
    assert folded.binary_macs == 36 * 6 * 16 * 4 + 24 * 8 + 8 * 10 * 6 + 10 * 12


def test_fold_levels_of_a_sign_reduces_to_fold_threshold():
    """The multi-level folding of sign(BatchNorm(s)) on s ∈ {−K, …, K} (step 2) gives the binary
    folding's thresholds and flips, negative, zero and positive BatchNorm scales alike."""
    gen = torch.Generator().manual_seed(5)
    k, o = 13, 40
    bn = bnn.ExactBatchNorm1d(o).eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(o, generator=gen) * 6)
        bn.running_var.copy_(torch.rand(o, generator=gen) * 20 + 0.1)
        bn.weight.copy_(torch.randn(o, generator=gen))
        bn.weight[0] = 0.0
        bn.bias.copy_(torch.randn(o, generator=gen))

    def evaluate(levels):
        with torch.no_grad():
            return (bn(levels[:, None].expand(-1, o).contiguous()) >= 0).to(torch.int64)

    threshold, flip = fold_levels(-k, k, 2, evaluate, o, 1, "bn")
    want_t, want_flip = bnn.fold_threshold(k, bn)
    assert torch.equal(threshold[:, 0], want_t) and torch.equal(flip, want_flip)
    assert flip.any() and (~flip).any()


def test_fold_levels_refuses_a_non_monotone_output():
    def evaluate(levels):
        return (levels.abs() < 2).to(torch.int64)[:, None]  # 0, 1, 0: not monotone

    with pytest.raises(RuntimeError, match="layer 'bad'.*not monotone"):
        fold_levels(-4, 4, 1, evaluate, 1, 1, "bad")


def _sequential(*layers, shape=(6,)):
    return bnn.BNN(OrderedDict(layers), arch="test-bad", hparams={}, input_shape=shape)


def test_folding_errors_name_the_layer(rejected):
    fc = QuantLinear(6, 4, weight_bits=2, act_bits=2)
    with rejected(ValueError, "quant layer 'fc'", "±1 input from 'sign0'", "act_bits=2"):
        bnn.export_binary(_sequential(("sign0", bnn.Sign()), ("fc", fc), ("q", ActQuant(2))))
    with rejected(ValueError, "quant layer 'fc'", "3-bit codes from 'q0'", "act_bits=2"):
        bnn.export_binary(_sequential(("q0", ActQuant(3)), ("fc", fc), ("q", ActQuant(2))))
    with rejected(ValueError, "quant layer 'fc'", "non-code input from the model input", "ActQuant(bits=2)"):
        bnn.export_binary(_sequential(("fc", fc), ("q", ActQuant(2))))
    with rejected(ValueError, "quant layer 'fc'", "must be followed by [BatchNorm and] Sign or ActQuant", "'head'"):
        bnn.export_binary(_sequential(("q0", ActQuant(2)), ("fc", fc), ("head", bnn.electronic(nn.Linear(4, 2)))))
    with rejected(ValueError, "quant layer 'fc'", "the end of the model"):
        bnn.export_binary(_sequential(("q0", ActQuant(2)), ("fc", fc), ("bn", bnn.ExactBatchNorm1d(4))))
    with rejected(ValueError, "binary layer 'b'", "non-±1 input from 'q0'"):
        bnn.export_binary(_sequential(("q0", ActQuant(2)), ("b", bnn.BinaryLinear(6, 4)), ("s", bnn.Sign())))
    with rejected(ValueError, "quant layer 'fc'", "non-code input from 'relu'"):  # only pooling/flatten keep codes
        bnn.export_binary(_sequential(("q0", ActQuant(2)), ("relu", nn.ReLU()), ("fc", fc), ("q", ActQuant(2))))


# ---------------------------------------------------------------- ideal chip: exact accumulations
@pytest.mark.parametrize("bits", [(1, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("kind,k", [("linear", 7), ("linear", 23), ("conv", 9), ("conv", 27)])
def test_ideal_chip_accumulations_equal_integer_forward(robin_eo, ideal_chip, kind, k, bits):
    """No variation, noise off, every readout evaluated (dense) or none (sparse): the hardware's A
    from k_a·k_w passes equals the software layer's integer_forward exactly, K < N and K > N."""
    act_bits, weight_bits = bits
    model = _single(kind, k, act_bits, weight_bits, seed=k + 10 * act_bits)
    x = _images(model.input_shape, 40, k)
    folded = bnn.export_binary(model, probe=x)
    spec = folded.layers[0]
    assert spec.K == k and (k < robin_eo.N) == (k in (7, 9))
    with torch.no_grad():
        codes = model.q0(x)
        want = model.layer.integer_forward(codes, model.layer.weight_codes())
        float_out = model.layer(codes)
    net = functional.Network(folded, robin_eo)
    geos = net.geometries["layer"]
    assert len(geos) == weight_bits and not any(g.comparator for g in geos)  # always the ADC
    _, coefficients = ideal_chip
    readout = functional._Readout.build(robin_eo, False, robin_eo.N)
    cells = functional._layer_cells(net, coefficients, readout)["layer"]
    adc = readout.adc
    assert adc.exact
    for dense_probability in (-1.0, DENSE_PROBABILITY):
        a, a0 = hardware_accumulations(spec, geos, cells, codes, adc, np.random.default_rng(0), torch.Generator(),
                                       dense_probability=dense_probability)
        assert torch.equal(a, want) and torch.equal(a0, want)
    assert torch.equal(functional.IdealRun.build(net, x).sums["layer"], want.to(torch.int32))
    scaled = torch.tensor(spec.weight_scale, dtype=torch.float32) * a
    torch.testing.assert_close(scaled, float_out, rtol=1e-6, atol=0.0)


def test_mixed_network_on_the_ideal_chip_predicts_like_the_model(robin_eo, ideal_chip, mixed):
    """Binary and k-bit layers (K above and below N), every readout evaluated on a chip without
    variation or noise: predictions equal the torch model's, no activation differs."""
    model, folded = mixed
    x = _images((1, 8, 8), 300, 6)
    with torch.no_grad():
        want = model(x).argmax(1)
    chip, _ = ideal_chip
    net = functional.Network(folded, robin_eo)
    preds, flips = functional._predict(net, functional.IdealRun.build(net, x), chip, False, dense_probability=-1.0)
    assert torch.equal(preds, want)
    assert flips == {"conv2": 0, "fc3": 0, "fc4": 0, "fc5": 0}
    assert torch.equal(functional.predict(model, robin_eo, x, chip, noise=False), want)
    assert net.geometries["fc5"][0].comparator and not net.geometries["fc4"][0].comparator


def _np_planes(codes, bits):
    """±1 bit-planes (bits, ...) of unsigned integer codes."""
    return 2 * ((codes[None] >> np.arange(bits).reshape((-1,) + (1,) * codes.ndim)) & 1) - 1


def _np_weight_planes(q, bits):
    """±1 planes w_j of odd codes q = Σ_j 2^j w_j."""
    return _np_planes((q + 2**bits - 1) // 2, bits)


@pytest.mark.parametrize("k", [7, 23])
def test_untuned_chip_passes_match_per_cell_oracle(robin_eo, k):
    """An untuned chip (large cell deviations), noise off: each pass's chunk readouts Σ_cells
    α + β·x + γ·w + δ·x·w on the cells assign_vdus names (one cell set, the weight plane's w),
    ADC-quantised and summed, then Σ_ij 2^(i+j−1)(s_ij + W_j), equal the hardware's A."""
    act_bits, weight_bits, o = 2, 2, 6
    model = _single("linear", k, act_bits, weight_bits, seed=4)
    x = _images((k,), 50, 12)
    folded = bnn.export_binary(model, probe=x)
    spec = folded.layers[0]
    with torch.no_grad():
        codes = model.q0(x)
    chip = functional.sample_chip_state(robin_eo, seed=4, chip=0, tuning=False)
    cal = robin_eo.components.xnor_cell.calibrated(chip.coefficients)
    net = functional.Network(folded, robin_eo)
    readout = functional._Readout.build(robin_eo, False, robin_eo.N)
    cells = functional._layer_cells(net, cal, readout)["layer"]
    a, a0 = hardware_accumulations(spec, net.geometries["layer"], cells, codes, readout.adc, np.random.default_rng(0),
                                   torch.Generator())
    plan = assign_vdus(robin_eo, out_channels=o, k=k, positions=1)
    coef = np.empty((o, k, 4))
    for c in range(plan.n_chunks):
        cols = plan.chunk_start[c] + np.arange(plan.chunk_len[c])
        for out in range(o):
            coef[out, cols] = cal[plan.unit[out, c, 0], plan.vdu[out, c, 0], : plan.chunk_len[c]]
    xs = _np_planes(codes.numpy().astype(np.int64), act_bits)[:, :, None, :]  # (ka, B, 1, K)
    ws = _np_weight_planes(spec.weight_codes.numpy().astype(np.int64), weight_bits)  # (kw, O, K)
    lsb, top = readout.adc.lsb, readout.adc.levels - 1
    want, gaps = np.zeros((len(x), o)), []
    for i in range(act_bits):
        for j in range(weight_bits):
            cell = coef[..., 0] + coef[..., 1] * xs[i] + coef[..., 2] * ws[j] + coef[..., 3] * xs[i] * ws[j]  # (B, O, K)
            s_ij = np.zeros((len(x), o))
            for c in range(plan.n_chunks):
                n_c = plan.chunk_len[c]
                u = (cell[..., plan.chunk_start[c] : plan.chunk_start[c] + n_c].sum(-1) + n_c) / lsb
                gaps.append(np.abs(np.abs(u % 1.0 - 0.5)).min())
                s_ij += np.clip(np.round(u), 0, top) * lsb - n_c
            want += 2.0 ** (i + j - 1) * (s_ij + ws[j].sum(-1))
    assert min(gaps) > 1e-4  # float32 engine and float64 oracle cannot round differently
    np.testing.assert_allclose(a.numpy(), want, rtol=0, atol=1e-3)
    assert not np.allclose(want, a0.numpy())  # the deviations change readouts
    assert torch.equal(a0, model.layer.integer_forward(codes, model.layer.weight_codes()))


# ---------------------------------------------------------------- noise: closed form
def _pass_error_moments(s_chunk, n_c, sigma, levels):
    """Mean and variance of Q(s + n) − s for an exact ADC (lsb 2, codes 0..levels−1, value
    2·code − n_c) and n ~ N(0, σ²): Φ over each code's interval, end codes take the tails."""
    m0 = (s_chunk + n_c) / 2  # ideal code
    codes = np.arange(levels)
    lower = np.where(codes == 0, -np.inf, 2 * (codes - m0[..., None]) - 1)
    upper = np.where(codes == levels - 1, np.inf, 2 * (codes - m0[..., None]) + 1)
    p = ndtr(upper / sigma) - ndtr(lower / sigma)
    err = 2.0 * (codes - m0[..., None])
    mean = (p * err).sum(-1)
    return mean, (p * err**2).sum(-1) - mean**2


@pytest.mark.parametrize("k", [7, 23])
@pytest.mark.parametrize("dense_probability", [DENSE_PROBABILITY, 0.0])  # sparse tail sampling, every readout
def test_noisy_accumulation_error_matches_closed_form(dense_probability, k):
    """Ideal cells, receiver noise σ per readout, exact 4-bit ADC (N = 10): A − A_ideal has mean
    Σ_ij 2^(i+j−1) Σ_c μ_c and variance Σ_ij 4^(i+j−1) Σ_c v_c (independent readouts), μ_c, v_c
    the closed-form moments of one chunk readout; sum and sum of squares within 5 sigma."""
    act_bits, weight_bits, n, o, batch, sigma = 2, 2, 10, 6, 6000, 0.35
    model = _single("linear", k, act_bits, weight_bits, seed=3)
    gen = torch.Generator().manual_seed(7)
    codes = torch.randint(0, 2**act_bits, (batch, k), generator=gen).float()
    spec = bnn.export_binary(model, probe=_images((k,), 64, 8)).layers[0]
    geos = pass_geometries(spec, n)
    coef = IDEAL.expand(1, o, geos[0].n_chunks, n, 4)
    cells = tuple(LayerCells.from_coefficients(g, coef, sigma) for g in geos)
    adc = Adc(4, n)
    draws = draw_passes(spec, geos, cells, adc, batch, np.random.default_rng(0), dense_probability)
    assert all(bool(d.dense.any()) == (dense_probability == 0.0) for d in draws)
    a, a0 = hardware_accumulations(spec, geos, cells, codes, adc, np.random.default_rng(11),
                                   torch.Generator().manual_seed(11), dense_probability=dense_probability)
    d = (a - a0).double().numpy()
    # oracle: per pass and chunk, the ideal ±1 chunk sums in NumPy
    x = _np_planes(codes.numpy().astype(np.int64), act_bits)  # (ka, B, K)
    w = _np_weight_planes(spec.weight_codes.numpy().astype(np.int64), weight_bits)  # (kw, O, K)
    mean = np.zeros((batch, o))
    var = np.zeros((batch, o))
    for i in range(act_bits):
        for j in range(weight_bits):
            for c0 in range(0, k, n):
                part = slice(c0, min(k, c0 + n))
                s_c = x[i][:, part] @ w[j][:, part].T
                mu, v = _pass_error_moments(s_c, part.stop - part.start, sigma, adc.levels)
                mean += 2.0 ** (i + j - 1) * mu
                var += 4.0 ** (i + j - 1) * v
    assert 0.005 < np.mean(d != 0) < 0.5  # the noise matters, rarely
    z_mean = (d - mean).sum() / math.sqrt(var.sum())
    assert abs(z_mean) < 5, z_mean
    sq = (d - mean) ** 2
    z_var = (sq.sum() - var.sum()) / math.sqrt(((sq - var) ** 2).sum())
    assert abs(z_var) < 5, z_var


def test_noisy_chips_are_reproducible_and_noise_reaches_multibit_layers(robin_eo, mixed):
    _, folded = mixed
    data = (_images((1, 8, 8), 200, 9), torch.arange(200) % 3)
    noise = functional.NoiseSettings(scale=20.0)
    one = functional.simulate_chip(folded, robin_eo, data, chip=1, seed=3, noise=noise)
    again = functional.simulate_chip(folded, robin_eo, data, chip=1, seed=3, noise=noise)
    assert one == again
    assert one["flipped_conv2"] > 0 and one["flipped_fc3"] > 0 and one["flipped_fc4"] > 0
    other = functional.simulate_chip(folded, robin_eo, data, chip=1, seed=4, noise=noise)
    assert other["flipped_fc3"] != one["flipped_fc3"]
