"""mapping.performance.workload: per-layer dot-product counts from a traced forward pass."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mapping.performance import shape_zoo
from mapping.bnn import BinaryConv2d, BinaryLinear, Sign
from mapping.performance.workload import extract_workload


def optical(w):
    return [layer for layer in w.layers if layer.runs_on == "optical"]


def test_linear_counts_and_batch():
    w = extract_workload(nn.Linear(6, 3, bias=False), (1, 6))
    (layer,) = w.layers
    assert (layer.kind, layer.k, layer.out_channels, layer.positions, layer.dot_products) == ("linear", 6, 3, 1, 3)
    assert layer.weight_shape == (3, 6) and layer.flagged and not layer.binary and layer.runs_on == "optical"
    assert w.binary_macs == 18
    assert extract_workload(nn.Linear(6, 3, bias=False), (4, 6)).binary_macs == 4 * 18


@pytest.mark.parametrize("conv,shape,k,positions", [
    (nn.Conv2d(2, 4, 3, padding=1), (1, 2, 5, 5), 2 * 9, 25),  # same padding: 5x5 outputs
    (nn.Conv2d(2, 4, 3, stride=2, padding=1), (1, 2, 5, 5), 18, 9),  # floor((5+2-3)/2)+1 = 3
    (nn.Conv2d(2, 4, (3, 1)), (2, 2, 5, 5), 6, 2 * 3 * 5),  # batch 2, 3x5 outputs each
    (nn.Conv2d(4, 4, 3, groups=4), (1, 4, 5, 5), 9, 9),  # depthwise: one input channel per output
    (nn.Conv2d(4, 8, 3, groups=2), (1, 4, 5, 5), 18, 9),
])
def test_conv_counts_by_hand(conv, shape, k, positions):
    (layer,) = extract_workload(conv, shape).layers
    assert (layer.k, layer.positions, layer.out_channels) == (k, positions, conv.out_channels)
    assert layer.dot_products == conv.out_channels * positions
    assert layer.binary_macs == conv.out_channels * positions * k


@pytest.mark.parametrize("layer,shape,groups", [
    (nn.Conv2d(4, 4, 3, groups=4), (1, 4, 5, 5), 4),  # depthwise
    (nn.Conv2d(4, 8, 3, groups=2), (1, 4, 5, 5), 2),
    (nn.Conv2d(4, 8, 3), (1, 4, 5, 5), 1),
    (nn.Linear(6, 3), (1, 6), 1),
])
def test_groups_are_recorded(layer, shape, groups):
    w = extract_workload(layer, shape)
    assert w.layers[0].groups == groups and w.arrays["groups"][0] == groups
    assert w.to_frame().groups.tolist() == [groups]


def test_mobilenet_v2_depthwise_convs_carry_their_groups():
    w = extract_workload(shape_zoo.build("mobilenet-v2"), shape_zoo.input_shape("mobilenet-v2"))
    convs = [x for x in w.layers if x.kind == "conv"]
    depthwise = [x for x in convs if x.groups > 1]
    # 17 inverted-residual blocks, one 3x3 depthwise conv each: groups = channels, K = 9.
    assert len(depthwise) == 17
    assert all(x.groups == x.out_channels and x.k == 9 for x in depthwise)
    assert all(x.groups == 1 for x in convs if x not in depthwise)


def test_binary_layers_are_not_flagged():
    model = nn.Sequential(BinaryConv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), Sign(), nn.Flatten(), BinaryLinear(4 * 36, 10))
    w = extract_workload(model, (1, 1, 6, 6))
    assert [(x.kind, x.runs_on) for x in w.layers] == [
        ("conv", "optical"), ("threshold", "folded"), ("activation", "folded"), ("linear", "optical"),
    ]
    assert all(x.binary and not x.flagged for x in optical(w))
    assert w.flagged == ()


def test_electronic_layers_and_what_follows_them():
    first = nn.Conv2d(1, 4, 3, padding=1, bias=False)
    first.electronic = True
    model = nn.Sequential(first, nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    w = extract_workload(model, (1, 1, 6, 6))
    assert [(x.kind, x.runs_on) for x in w.layers] == [
        ("conv", "electronic"), ("threshold", "electronic"), ("activation", "electronic"),
        ("conv", "optical"), ("threshold", "folded"), ("activation", "folded"),
    ]
    conv = w.layers[0]
    assert conv.macs == 4 * 36 * 9 and conv.binary_macs == 0
    assert w.layers[1].ops == 4 * 36 and w.layers[2].ops == 4 * 36
    assert w.flagged == ("3",)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(2)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        y = self.bn(self.conv(x)) + x
        return F.avg_pool2d(self.pool(y), 2)


def test_residual_add_and_pooling_are_electronic_ops():
    w = extract_workload(Residual(), (1, 2, 8, 8))
    kinds = [(x.name, x.kind, x.runs_on, x.ops) for x in w.layers]
    assert kinds == [
        ("conv", "conv", "optical", 0),
        ("bn", "threshold", "folded", 0),
        ("add#1", "add", "electronic", 2 * 64),  # one add per element of the 2x8x8 map
        ("pool", "pool", "electronic", 2 * 16 * 4),  # 2x4x4 outputs, 2x2 window each
        ("pool#1", "pool", "electronic", 2 * 16),  # functional pool: one op per input element
    ]


def test_operations_inside_binary_layers_are_not_counted():
    model = nn.Sequential(BinaryConv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), Sign())
    w = extract_workload(model, (1, 1, 5, 5))
    assert [x.kind for x in w.layers] == ["conv", "threshold", "activation"]


def test_vgg_small_macs_by_hand():
    # 32x32 input, 3x3 same convs: 3-128, 128-128 @32x32, 256s @16x16, 512s @8x8, FC 8192-10.
    macs = (3 * 128 * 9 * 1024 + 128 * 128 * 9 * 1024 + 128 * 256 * 9 * 256 + 256 * 256 * 9 * 256
            + 256 * 512 * 9 * 64 + 512 * 512 * 9 * 64 + 8192 * 10)
    w = extract_workload(shape_zoo.build("vgg-small"), shape_zoo.input_shape("vgg-small"))
    assert w.binary_macs == macs
    assert len(w.flagged) == 7


@pytest.mark.parametrize("name,gmacs", [("resnet18", 1.81), ("mobilenet-v2", 0.30)])
def test_zoo_macs_match_published_counts(name, gmacs):
    # torchvision model documentation lists 1.81 and 0.30 GFLOPS (multiply-accumulates) at 224x224.
    w = extract_workload(shape_zoo.build(name), shape_zoo.input_shape(name))
    assert w.binary_macs == pytest.approx(gmacs * 1e9, rel=0.01)


def test_electronic_ends_move_first_and_last_layer_to_electronics():
    w = extract_workload(shape_zoo.build("resnet18", electronic_ends=True), (1, 3, 224, 224))
    compute = [x for x in w.layers if x.kind in ("conv", "linear")]
    assert compute[0].runs_on == "electronic" and compute[-1].runs_on == "electronic"
    assert compute[0].macs == 64 * 112 * 112 * 3 * 49 and compute[-1].macs == 512 * 1000
    assert sum(x.kind == "add" for x in w.layers) == 8  # one per basic block


def test_cache_returns_same_workload_until_structure_changes():
    model = nn.Sequential(nn.Linear(6, 3, bias=False))
    w1 = extract_workload(model, (1, 6))
    assert extract_workload(model, (1, 6)) is w1
    model[0] = nn.Linear(6, 5, bias=False)
    assert extract_workload(model, (1, 6)).layers[0].out_channels == 5


def test_training_mode_is_restored():
    model = nn.Sequential(nn.Linear(6, 3), nn.BatchNorm1d(3))
    model.train()
    extract_workload(model, (1, 6))  # batch of one: BatchNorm1d only works in eval mode
    assert model.training


@pytest.mark.parametrize("shape,exc,match", [
    ("abc", TypeError, "input_shape"),
    ((6,), ValueError, "batch dimension"),
    ((1, 0), ValueError, r"input_shape\[1\]=0"),
    ((1, 6.0), TypeError, "input_shape"),
    ((1, 7), ValueError, r"input_shape=\(1, 7\) does not fit the model"),
])
def test_bad_input_shapes(shape, exc, match):
    with pytest.raises(exc, match=match):
        extract_workload(nn.Linear(6, 3), shape)


def test_rejects_non_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        extract_workload(torch.zeros(3), (1, 3))


# ------------------------------------------------------------------------------ unsupported and approximated layers
class _Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 16, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        y, _ = self.att(x, x, x)
        return self.head(y[:, -1])


@pytest.mark.parametrize("model, shape, words", [
    (_Recurrent(), (1, 28, 28), ["'rnn'", "(LSTM)", "not supported"]),
    (_Attention(), (1, 5, 16), ["'att'", "(MultiheadAttention)", "not supported"]),
    (nn.Sequential(nn.ConvTranspose2d(1, 2, 3)), (1, 1, 8, 8), ["'0'", "(ConvTranspose2d)", "transposed"]),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2)), (1, 1, 8, 8), ["'1'", "(Upsample)", "pooling"]),
    (nn.Sequential(nn.Linear(4, 4), nn.Bilinear(4, 4, 2)), (1, 4), []),  # two inputs: fails to trace, still an error
])
def test_unsupported_layers_are_refused_by_name(model, shape, words, rejected):
    with rejected(ValueError, *words):
        extract_workload(model, shape)


def test_approximated_layers_carry_their_reason():
    from accel import Accelerator, presets
    from mapping import map_model

    acc = Accelerator(presets.load("robin-eo"))
    conv1d = nn.Sequential(nn.Conv1d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26, 10))
    rep = map_model(conv1d, acc, (1, 1, 28))
    notes = dict(rep.notes)
    assert "Conv1d" in notes["0"] and "treated as binarized" in notes["0"]
    assert list(rep.layers.note) == [notes["0"], notes["2"]]
    dilated = nn.Sequential(nn.Conv2d(1, 4, 3, dilation=2), nn.ReLU())
    rep = map_model(dilated, acc, (1, 1, 28, 28))
    assert "dilation (2, 2)" in dict(rep.notes)["0"]
    # a binary network has no notes
    from mapping import bnn

    assert map_model(bnn.load_pretrained("mnist-mlp"), acc, (1, 1, 28, 28)).notes == ()
