"""mapping.bnn: sign STE, binary layers, BatchNorm+sign folding and export (NumPy oracles, invariants)."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from mapping.networks import architectures
from mapping.bnn import (BNN, BinaryConv2d, BinaryLinear, ExactBatchNorm1d, ExactBatchNorm2d, Sign, electronic,
                         export_binary, fold_threshold, sign_ste)


def _np_conv_pm1(a, w, stride, pad):
    """Plain NumPy cross-correlation of ±1 activations padded with −1 (the hardware's bit 0)."""
    a = np.pad(a, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-1.0)
    B, _, H, W = a.shape
    O, _, kh, kw = w.shape
    Ho, Wo = (H - kh) // stride + 1, (W - kw) // stride + 1
    out = np.zeros((B, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = a[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.einsum("bchw,ochw->bo", patch, w)
    return out


def _np_bn_sign(s, mean, var, gamma, beta, eps):
    """NumPy float32 BatchNorm (eval) followed by sign with sign(0) = +1."""
    f = np.float32
    y = (s.astype(f) - mean.astype(f)) * (gamma.astype(f) / np.sqrt(var.astype(f) + f(eps))) + beta.astype(f)
    return np.where(y >= 0, 1.0, -1.0)


def _randomise_bn(model, gen):
    """Random running stats and affine parameters, including negative and zero scales."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=gen) * 4)
                m.running_var.copy_(torch.rand(n, generator=gen) * 20 + 0.1)
                m.weight.copy_(torch.randn(n, generator=gen))
                m.weight[0] = 0.0
                m.bias.copy_(torch.randn(n, generator=gen))


def _small_cnn():
    return BNN(OrderedDict([
        ("conv1", electronic(nn.Conv2d(1, 6, 3, padding=1))),
        ("bn1", ExactBatchNorm2d(6)),
        ("sign1", Sign()),
        ("conv2", BinaryConv2d(6, 8, 3, stride=2, padding=1)),
        ("bn2", ExactBatchNorm2d(8)),
        ("sign2", Sign()),
        ("pool", nn.MaxPool2d(2)),
        ("flat", nn.Flatten()),
        ("fc3", BinaryLinear(8 * 2 * 2, 12)),
        ("bn3", ExactBatchNorm1d(12)),
        ("sign3", Sign()),
        ("fc4", BinaryLinear(12, 7)),
        ("sign4", Sign()),
        ("out", electronic(nn.Linear(7, 3))),
    ]), arch="test-cnn", hparams={}, input_shape=(1, 8, 8))


def test_sign_ste_forward_and_gradient_closed_form():
    x = torch.tensor([-3.0, -1.0001, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 1.0001, 3.0], requires_grad=True)
    upstream = torch.arange(1.0, 11.0)
    y = sign_ste(x)
    y.backward(upstream)
    xn = x.detach().numpy()
    np.testing.assert_array_equal(y.detach().numpy(), np.where(xn >= 0, 1.0, -1.0))  # sign(±0) = +1
    np.testing.assert_array_equal(x.grad.numpy(), upstream.numpy() * (np.abs(xn) <= 1))


def test_binary_linear_weight_gradient_closed_form():
    gen = torch.Generator().manual_seed(1)
    layer = BinaryLinear(5, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(3, 5, generator=gen) * 3 - 1.5)  # some |w| > 1: no gradient there
    x = torch.randn(4, 5, generator=gen)
    layer(x).sum().backward()
    w = layer.weight.detach().numpy()
    expected = np.broadcast_to(x.numpy().sum(0), (3, 5)) * (np.abs(w) <= 1)
    np.testing.assert_allclose(layer.weight.grad.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 1), (1, 0), (2, 2)])
def test_binary_conv_matches_numpy_with_minus_one_padding(stride, pad):
    gen = torch.Generator().manual_seed(stride * 10 + pad)
    conv = BinaryConv2d(3, 4, 3, stride=stride, padding=pad)
    a = torch.where(torch.rand(2, 3, 6, 7, generator=gen) < 0.5, 1.0, -1.0)
    w_pm1 = np.where(conv.weight.detach().numpy() >= 0, 1.0, -1.0)
    np.testing.assert_array_equal(conv(a).detach().numpy(), _np_conv_pm1(a.numpy(), w_pm1, stride, pad))
    assert conv.padding == (pad, pad) and conv.pad_value == -1.0


def test_exported_weights_are_exact_pm1_signs_of_latent_weights():
    torch.manual_seed(0)
    model = _small_cnn()
    with torch.no_grad():
        model.conv2.weight[0, 0, 0, 0] = 0.0  # sign(0) = +1 at export too
    folded = export_binary(model)
    for spec in folded.layers:
        latent = dict(model.named_modules())[spec.name].weight.detach().numpy()
        w = spec.weight_pm1.numpy()
        assert spec.weight_pm1.dtype == torch.float32 and set(np.unique(w)) <= {-1.0, 1.0}
        np.testing.assert_array_equal(w, np.where(latent >= 0, 1.0, -1.0))
    assert folded.layers[0].weight_pm1[0, 0, 0, 0] == 1.0


@pytest.mark.parametrize("K", [1, 2, 9, 64, 288])
def test_fold_threshold_reproduces_bn_sign_on_every_reachable_sum(K):
    gen = torch.Generator().manual_seed(K)
    C = 40
    bn = ExactBatchNorm1d(C)
    levels = np.arange(-K, K + 1, 2, dtype=np.float64)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(C, generator=gen) * K / 2)
        bn.running_var.copy_(torch.rand(C, generator=gen) * K + 0.01)
        bn.weight.copy_(torch.randn(C, generator=gen))
        bn.bias.copy_(torch.randn(C, generator=gen))
        # ties: BN output exactly 0 at a reachable sum, for positive, negative and zero scale
        for c, scale in ((0, 1.3), (1, -0.7), (2, 0.0)):
            bn.running_mean[c] = float(levels[len(levels) // 2])
            bn.weight[c], bn.bias[c] = scale, 0.0
        bn.weight[3], bn.bias[3] = 0.0, -0.5  # constant −1
        bn.running_mean[4] = 10.0 * K  # threshold beyond every sum
    threshold, flip = fold_threshold(K, bn)
    mean, var, gamma, beta = (t.detach().numpy() for t in (bn.running_mean, bn.running_var, bn.weight, bn.bias))
    oracle = _np_bn_sign(levels[:, None], mean, var, gamma, beta, bn.eps)
    t, f = threshold.numpy(), flip.numpy()
    folded = np.where(f, levels[:, None] <= t, levels[:, None] >= t)
    np.testing.assert_array_equal(np.where(folded, 1.0, -1.0), oracle)
    assert threshold.dtype == torch.int64 and flip.dtype == torch.bool
    assert np.all((t - K) % 2 == 1), "thresholds sit midway between reachable sums"
    mid = len(levels) // 2
    assert oracle[mid, 0] == oracle[mid, 1] == 1.0  # ties: 0.0 and −0.0 (negative scale) both count as +1
    assert f[1] == (K > 1) and not f[0]  # K = 1: both sums give +1, a constant channel


def test_folded_threshold_on_random_dot_products_matches_numpy_bn_sign():
    gen = torch.Generator().manual_seed(7)
    K, C, B = 101, 30, 500
    layer, bn = BinaryLinear(K, C), ExactBatchNorm1d(C)
    model = BNN(OrderedDict([("sign0", Sign()), ("fc", layer), ("bn", bn), ("sign", Sign())]), arch="t", hparams={}, input_shape=(K,))
    _randomise_bn(model, gen)
    with torch.no_grad():
        bn.running_mean[:10] = torch.arange(-9.0, 11.0, 2.0)  # reachable odd sums: exact ties
        bn.bias[:10] = 0.0
    a = torch.where(torch.rand(B, K, generator=gen) < 0.5, 1.0, -1.0)
    a[:, : K // 2] = 1.0  # bias sums towards the tie region
    folded = export_binary(model, probe=a)
    w = np.where(layer.weight.detach().numpy() >= 0, 1.0, -1.0)
    s = a.numpy() @ w.T
    oracle = _np_bn_sign(s, *(t.detach().numpy() for t in (bn.running_mean, bn.running_var, bn.weight, bn.bias)), bn.eps)
    np.testing.assert_array_equal(folded(a).numpy(), oracle)


def test_export_of_random_network_predicts_exactly_like_the_model():
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(3)
    model = _small_cnn()
    _randomise_bn(model, gen)
    folded = export_binary(model, probe=torch.rand(300, 1, 8, 8, generator=gen))
    x = torch.rand(500, 1, 8, 8, generator=gen)
    model.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(folded(x).numpy(), model(x).numpy())
    assert [s.name for s in folded.layers] == ["conv2", "fc3", "fc4"]
    conv = folded.layers[0]
    assert (conv.kind, conv.K, conv.stride, conv.padding, conv.pad_value) == ("conv", 54, (2, 2), (1, 1), -1.0)
    assert conv.in_shape == (6, 8, 8) and conv.out_shape == (8, 4, 4)
    assert folded.layers[2].threshold.tolist() == [-1] * 7 and not folded.layers[2].flip.any()  # plain sign: s >= −1 (K = 12)


def test_dot_hook_and_midway_thresholds_tolerate_sub_unit_noise():
    torch.manual_seed(4)
    model = architectures.build("mnist-cnn")
    _randomise_bn(model, torch.Generator().manual_seed(4))
    folded = export_binary(model, probe=torch.rand(16, 1, 28, 28))
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    calls = []

    def noisy(spec, a):
        calls.append(spec.name)
        s = spec.ideal_sum(a)
        return s + (torch.rand(s.shape) * 1.98 - 0.99)  # |noise| < 1 never crosses a midway threshold

    rec_ideal, rec_noisy = {}, {}
    ideal = folded(x, record=rec_ideal)
    np.testing.assert_array_equal(folded(x, dot=noisy, record=rec_noisy).numpy(), ideal.numpy())
    assert calls == ["conv2", "fc3"]
    for name in rec_ideal:
        np.testing.assert_array_equal(rec_noisy[name].numpy(), rec_ideal[name].numpy())


def test_run_steps_split_at_any_binary_layer_equals_forward():
    """Running the plan in two parts (up to a binary layer's input, then from its sums on)
    gives the same logits as one forward pass; unknown layer names are rejected."""
    torch.manual_seed(6)
    model = architectures.build("mnist-cnn")
    _randomise_bn(model, torch.Generator().manual_seed(6))
    folded = export_binary(model, probe=torch.rand(16, 1, 28, 28))
    x = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(7))
    whole = folded(x)
    for spec in folded.layers:
        k = folded.step_of(spec.name)
        a = folded.run_steps(x, 0, k)  # the layer's ±1 input
        assert a.shape[1:] == tuple(spec.in_shape)
        rest = folded.run_steps(spec.binarize(spec.ideal_sum(a)), k + 1)
        np.testing.assert_array_equal(rest.numpy(), whole.numpy())
    with pytest.raises(KeyError, match="no binary layer named 'conv9'"):
        folded.step_of("conv9")


def test_mnist_cnn_binary_macs_within_budget():
    folded = export_binary(architectures.build("mnist-cnn"))
    # binary conv 32→64 3x3 on 14x14 outputs + binary linear 3136→256, counted by hand
    assert folded.binary_macs == 14 * 14 * 64 * (32 * 9) + 64 * 7 * 7 * 256
    assert folded.binary_macs <= 5_000_000  # issue 4 budget: at most 5 M binary MACs per image


def test_unsupported_and_unmarked_layers_are_named():
    base = [("flat", nn.Flatten()), ("fc1", electronic(nn.Linear(4, 4))), ("sign1", Sign())]
    odd = BNN(OrderedDict(base + [("soft", nn.Softmax(dim=1)), ("fc2", BinaryLinear(4, 2)), ("s2", Sign())]),
              arch="t", hparams={}, input_shape=(4,))
    with pytest.raises(TypeError, match=r"unsupported layer 'soft' \(Softmax\)"):
        export_binary(odd)
    plain = BNN(OrderedDict(base + [("fc2", nn.Linear(4, 2))]), arch="t", hparams={}, input_shape=(4,))
    with pytest.raises(TypeError, match=r"layer 'fc2' \(Linear\) is neither binary nor marked electronic"):
        export_binary(plain)
    no_sign = BNN(OrderedDict(base + [("fc2", BinaryLinear(4, 2)), ("bn2", ExactBatchNorm1d(2))]),
                  arch="t", hparams={}, input_shape=(4,))
    with pytest.raises(ValueError, match=r"binary layer 'fc2' \(BinaryLinear\) must be followed by"):
        export_binary(no_sign)
    real_input = BNN(OrderedDict([("flat", nn.Flatten()), ("fc1", BinaryLinear(4, 2)), ("s", Sign())]),
                     arch="t", hparams={}, input_shape=(4,))
    with pytest.raises(ValueError, match=r"binary layer 'fc1' \(BinaryLinear\) gets non-±1 input"):
        export_binary(real_input)
    with pytest.raises(TypeError, match="nn.Sequential"):
        export_binary(nn.Module())


def test_wrong_input_shapes_and_bad_constructor_arguments():
    model = architectures.build("mnist-mlp")
    folded = export_binary(model)
    for bad in (torch.zeros(2, 28, 28), torch.zeros(2, 1, 28, 27)):
        with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 28, 28\)"):
            model(bad)
        with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 28, 28\)"):
            folded(bad)
    with pytest.raises(ValueError, match="dot returned shape .* for layer 'fc2'"):
        folded(torch.zeros(2, 1, 28, 28), dot=lambda spec, a: torch.zeros(2, 3))
    with pytest.raises(ValueError, match="bias=True"):
        BinaryConv2d(1, 2, 3, bias=True)
    with pytest.raises(ValueError, match="padding=-1"):
        BinaryConv2d(1, 2, 3, padding=-1)
    with pytest.raises(TypeError, match="electronic"):
        electronic(BinaryLinear(2, 2))
    with pytest.raises(ValueError, match=r"arch='nope'"):
        architectures.build("nope")
    with pytest.raises(TypeError, match="do not fit architecture 'mnist-mlp'"):
        architectures.build("mnist-mlp", width=3)


@pytest.mark.parametrize("shape", [(3, 4, 8, 6), (2, 3, 7, 4), (2, 1, 7, 5), (1, 2, 2, 3)])
# even; odd height, even width (bool maps: the uint16 pass, last row dropped); odd (floor mode); smallest
def test_folded_2x2_max_pool_equals_torch_max_pool(shape):
    """The folded plan's MaxPool2x2 gives nn.MaxPool2d(2)'s values, NaN and ±inf included, and
    export_binary uses it only for the pools it reproduces."""
    from mapping.networks.folding import MaxPool2x2, _is_pool2x2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g)
    x.view(-1)[:: 5] = float("nan")
    x.view(-1)[1:: 7] = float("inf")
    x.view(-1)[2:: 11] = -float("inf")
    want = torch.nn.MaxPool2d(2)(x)
    got = MaxPool2x2()(x)
    assert got.shape == want.shape
    assert torch.equal(torch.nan_to_num(got, nan=7.0), torch.nan_to_num(want, nan=7.0))
    assert torch.equal(torch.isnan(got), torch.isnan(want))
    assert _is_pool2x2(torch.nn.MaxPool2d(2)) and _is_pool2x2(torch.nn.MaxPool2d((2, 2), stride=2))
    assert not any(_is_pool2x2(m) for m in (torch.nn.MaxPool2d(3), torch.nn.MaxPool2d(2, stride=1),
                                            torch.nn.MaxPool2d(2, padding=1), torch.nn.MaxPool2d(2, ceil_mode=True),
                                            torch.nn.AvgPool2d(2)))
    with pytest.raises(ValueError, match="at least 2x2"):  # where max_pool2d refuses an empty output
        MaxPool2x2()(torch.zeros(1, 1, 1, 4))
    signs = torch.randn(shape, generator=g) > 0  # bool maps (run_signs): the OR of each window
    np.testing.assert_array_equal(MaxPool2x2()(signs).numpy(), torch.nn.MaxPool2d(2)(signs.float()).numpy() > 0)
    np.testing.assert_array_equal(MaxPool2x2()(signs.transpose(2, 3)).numpy(),  # not contiguous: the maxima
                                  torch.nn.MaxPool2d(2)(signs.transpose(2, 3).float()).numpy() > 0)


def test_run_signs_equals_run_steps_of_the_pm1_activations(cnn):
    """run_signs (max pools and flattens on the bool signs) gives run_steps' values on the ±1
    activations, from after each binary layer of the shipped CNN to the next one and to the logits;
    sign_steps gives their signs where every step commutes with the signs (None to the logits)."""
    g = torch.Generator().manual_seed(1)
    for spec in cnn.layers:
        start = cnn.step_of(spec.name) + 1
        plus = torch.rand((5, *spec.out_shape), generator=g) < 0.5
        for stop in [s for s in (cnn.step_of(t.name) for t in cnn.layers) if s >= start] + [None]:
            want = cnn.run_steps(torch.where(plus, 1.0, -1.0), start, stop)
            assert torch.equal(cnn.run_signs(plus, start, stop), want), (spec.name, stop)
            signs = cnn.sign_steps(plus, start, stop)  # the signs themselves, where every step commutes
            if stop is None:
                assert signs is None  # the logits: not ±1
            elif signs is not None:
                assert signs.dtype == torch.bool and torch.equal(torch.where(signs, 1.0, -1.0), want)
    conv = cnn.layers[0]
    assert cnn.sign_steps(torch.zeros((1, *conv.out_shape), dtype=torch.bool), cnn.step_of(conv.name) + 1,
                          cnn.step_of(cnn.layers[1].name)) is not None  # pool and flatten before the next layer
