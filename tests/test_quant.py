"""k-bit quantisers and the bit-plane decomposition (mapping.networks.quant) against NumPy oracles."""
import numpy as np
import pytest
import torch

from mapping.networks.quant import (
    METHODS, ActQuant, QuantConv2d, QuantLinear, activation_planes, integer_range, plane_sum, weight_planes,
)

BITS = [1, 2, 3, 4]


@pytest.mark.parametrize("bits", BITS)
def test_activation_planes_rebuild_codes(bits):
    codes = torch.arange(2**bits, dtype=torch.float32).repeat(3)
    x = activation_planes(codes, bits).numpy()
    assert set(np.unique(x)) <= {-1.0, 1.0}
    rebuilt = sum((2**i) * (x[i] + 1) / 2 for i in range(bits))
    np.testing.assert_array_equal(rebuilt, codes.numpy())


@pytest.mark.parametrize("bits", BITS)
def test_weight_planes_rebuild_odd_codes(bits):
    top = 2**bits - 1
    codes = torch.arange(-top, top + 1, 2, dtype=torch.float32)
    w = weight_planes(codes, bits).numpy()
    np.testing.assert_array_equal(sum((2**j) * w[j] for j in range(bits)), codes.numpy())


@pytest.mark.parametrize("act_bits,weight_bits", [(1, 1), (2, 2), (3, 1), (1, 3), (4, 2)])
def test_plane_passes_with_sum_w_correction_equal_integer_dot(act_bits, weight_bits):
    rng = np.random.default_rng(act_bits * 10 + weight_bits)
    k, o, b = 37, 5, 8
    qa = rng.integers(0, 2**act_bits, size=(b, k))
    qw = 2 * rng.integers(0, 2**weight_bits, size=(o, k)) - (2**weight_bits - 1)
    x = activation_planes(torch.tensor(qa, dtype=torch.float32), act_bits)
    w = weight_planes(torch.tensor(qw, dtype=torch.float32), weight_bits)
    sums = [[x[i] @ w[j].T for j in range(weight_bits)] for i in range(act_bits)]  # what one ±1 pass returns
    a = plane_sum(sums, w.sum(dim=2), act_bits, weight_bits)
    np.testing.assert_array_equal(a.numpy(), qa @ qw.T)
    lo, hi = integer_range(k, act_bits, weight_bits)
    assert lo <= a.min() and a.max() <= hi


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bits", BITS)
def test_weight_codes_are_odd_and_in_range(method, bits):
    torch.manual_seed(bits)
    layer = QuantLinear(20, 6, weight_bits=bits, act_bits=2, method=method)
    q = layer.integer_weights()
    assert bool((q % 2 != 0).all()) and int(q.abs().max()) <= 2**bits - 1


@pytest.mark.parametrize("method", METHODS)
def test_one_bit_weights_are_the_sign(method):
    torch.manual_seed(0)
    layer = QuantLinear(50, 4, weight_bits=1, act_bits=1, method=method)
    expected = torch.where(layer.weight >= 0, 1, -1)
    assert torch.equal(layer.integer_weights(), expected)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bits", [1, 2, 4])
def test_act_quant_codes_oracle(method, bits):
    torch.manual_seed(1)
    q = ActQuant(bits, method)
    x = torch.randn(64, 10) * 2
    q.train()
    codes = q(x)
    q.eval()
    codes_eval = q(x)
    assert torch.equal(codes, codes_eval)
    levels = 2**bits - 1
    if method == "dorefa":
        oracle = np.round(np.clip(x.numpy(), 0, 1) * levels)
    else:
        oracle = np.clip(np.round(x.numpy() / float(q.step.detach())), 0, levels)
    np.testing.assert_array_equal(codes.detach().numpy(), oracle)


@pytest.mark.parametrize("method", METHODS)
def test_gradients_reach_latent_weights_and_steps(method):
    torch.manual_seed(2)
    act = ActQuant(2, method)
    conv = QuantConv2d(3, 4, 3, padding=1, weight_bits=2, act_bits=2, method=method)
    act.train()
    y = conv(act(torch.randn(2, 3, 6, 6)))
    y.square().mean().backward()
    assert conv.weight.grad is not None and float(conv.weight.grad.abs().sum()) > 0
    if method == "lsq":
        assert float(act.step.grad.abs()) > 0 and float(conv.weight_step.grad.abs()) > 0


def test_conv_pads_with_code_zero_and_is_integer_times_step():
    torch.manual_seed(3)
    conv = QuantConv2d(2, 3, 3, padding=1, weight_bits=2, act_bits=2)
    codes = torch.randint(0, 4, (2, 2, 5, 5)).float()
    qw = conv.integer_weights().numpy()
    padded = np.pad(codes.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    a = np.zeros((2, 3, 5, 5))
    for y in range(5):
        for xx in range(5):
            a[:, :, y, xx] = np.einsum("bckl,ockl->bo", padded[:, :, y:y + 3, xx:xx + 3], qw)
    with torch.no_grad():
        out = conv(codes)
    step = float(conv.scale().detach())
    np.testing.assert_array_equal(out.numpy(), (torch.tensor(a, dtype=torch.float32) * torch.tensor(step)).numpy())


@pytest.mark.parametrize("kwargs,match", [
    ({"weight_bits": 0}, "weight_bits"), ({"act_bits": 9}, "act_bits"), ({"method": "xnor"}, "method"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantLinear(4, 2, **kwargs)


def test_bad_codes_are_refused():
    with pytest.raises(ValueError, match="codes"):
        activation_planes(torch.tensor([0.0, 4.0]), 2)
    with pytest.raises(ValueError, match="weight_codes"):
        weight_planes(torch.tensor([2.0]), 2)
