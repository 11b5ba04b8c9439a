"""Trainable BNN architectures, registered by name so a checkpoint can rebuild its model.

``build(arch, **hparams)`` returns a :class:`mapping.bnn.BNN` or, for the edge-cloud
architectures, a :class:`mapping.networks.hybrid.HybridBNN`; ``register_architecture(name)``
adds a builder (a function of keyword hyper-parameters returning the layers of a ``BNN`` on
MNIST-shaped input, or a ``HybridBNN``, whose ``arch`` and ``hparams`` ``build`` fills in).

The MNIST CNN comes in three precisions with the same layer names and shapes: ``mnist-cnn``
(binary middle layers), ``mnist-cnn-mixed`` (chosen middle layers at k bits, Hybrid-Net style,
:mod:`mapping.networks.hybridnet`) and ``mnist-cnn-fp`` (full precision, the reference).
"""
from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import Callable

from torch import nn

from mapping.networks.hybrid import HybridBNN
from mapping.networks.layers import BNN, BinaryConv2d, BinaryLinear, ExactBatchNorm1d, ExactBatchNorm2d, Sign, electronic
from mapping.networks.quant import MAX_BITS, METHODS, ActQuant, QuantConv2d, QuantLinear
from photonics.validation import check_int

__all__ = ["ARCHITECTURES", "register_architecture", "build", "mnist_mlp", "mnist_cnn", "mnist_cnn_mixed", "mnist_cnn_fp",
           "MNIST_CNN_BINARY_LAYERS", "mnist_hybrid", "cifar_hybrid"]

ARCHITECTURES: dict[str, Callable[..., BNN]] = {}

MNIST_SHAPE = (1, 28, 28)
CIFAR_SHAPE = (3, 32, 32)


def register_architecture(name: str):
    """Decorator registering a builder under ``name``; the builder's keywords become ``hparams``."""

    def deco(fn):
        if name in ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is already registered")
        ARCHITECTURES[name] = fn
        return fn

    return deco


def build(arch: str, **hparams) -> BNN | HybridBNN:
    """Build architecture ``arch`` with ``hparams`` (defaults filled in and recorded as a checkpoint's
    JSON header stores them: tuples as lists, so a saved and reloaded model has equal ``hparams``)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch={arch!r} is not a registered architecture; allowed: {sorted(ARCHITECTURES)}")
    fn = ARCHITECTURES[arch]
    try:
        bound = inspect.signature(fn).bind(**hparams)
    except TypeError as exc:
        raise TypeError(f"hyper-parameters {hparams} do not fit architecture {arch!r}: {exc}") from None
    bound.apply_defaults()
    layers = fn(**bound.arguments)
    hparams = {k: list(v) if isinstance(v, tuple) else v for k, v in bound.arguments.items()}
    if isinstance(layers, HybridBNN):
        layers.arch, layers.hparams = arch, hparams
        return layers
    return BNN(layers, arch=arch, hparams=hparams, input_shape=MNIST_SHAPE)


@register_architecture("mnist-mlp")
def mnist_mlp(hidden: int = 512, depth: int = 2) -> "OrderedDict[str, nn.Module]":
    """784 → hidden (electronic) → ``depth`` binary hidden×hidden layers → 10 (electronic)."""
    hidden = check_int("hidden", hidden, lo=1)
    depth = check_int("depth", depth, lo=1)
    layers: list[tuple[str, nn.Module]] = [
        ("flatten", nn.Flatten()),
        ("fc1", electronic(nn.Linear(28 * 28, hidden, bias=False))),
        ("bn1", ExactBatchNorm1d(hidden)),
        ("sign1", Sign()),
    ]
    for i in range(2, depth + 2):
        layers += [(f"fc{i}", BinaryLinear(hidden, hidden)), (f"bn{i}", ExactBatchNorm1d(hidden)), (f"sign{i}", Sign())]
    layers.append(("fc_out", electronic(nn.Linear(hidden, 10))))
    return OrderedDict(layers)


@register_architecture("mnist-cnn")
def mnist_cnn(channels1: int = 32, channels2: int = 64, hidden: int = 256) -> "OrderedDict[str, nn.Module]":
    """Electronic conv 1→c1 3x3, pool, BN, sign; binary conv c1→c2 3x3 (−1 pad), pool; binary linear → hidden; electronic → 10."""
    channels1 = check_int("channels1", channels1, lo=1)
    channels2 = check_int("channels2", channels2, lo=1)
    hidden = check_int("hidden", hidden, lo=1)
    return OrderedDict([
        ("conv1", electronic(nn.Conv2d(1, channels1, 3, padding=1, bias=False))),
        ("pool1", nn.MaxPool2d(2)),
        ("bn1", ExactBatchNorm2d(channels1)),
        ("sign1", Sign()),
        ("conv2", BinaryConv2d(channels1, channels2, 3, padding=1)),
        ("bn2", ExactBatchNorm2d(channels2)),
        ("sign2", Sign()),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc3", BinaryLinear(channels2 * 7 * 7, hidden)),
        ("bn3", ExactBatchNorm1d(hidden)),
        ("sign3", Sign()),
        ("fc_out", electronic(nn.Linear(hidden, 10))),
    ])


#: The binary layers of ``mnist-cnn``, in forward order: what ``mnist-cnn-mixed`` can promote.
MNIST_CNN_BINARY_LAYERS = ("conv2", "fc3")


def _check_promote(promote) -> tuple[str, ...]:
    allowed = ", ".join(MNIST_CNN_BINARY_LAYERS)
    if isinstance(promote, str) or not isinstance(promote, (list, tuple)):
        raise TypeError(f"promote must be a list or tuple of layer names among {allowed}, got {type(promote).__name__} {promote!r}")
    for name in promote:
        if name not in MNIST_CNN_BINARY_LAYERS:
            raise ValueError(f"promote contains {name!r}, which is not a binary layer of mnist-cnn; allowed: {allowed}")
    if len(set(promote)) != len(promote):
        raise ValueError(f"promote={list(promote)!r} names a layer twice; allowed: each of {allowed} at most once")
    return tuple(promote)


@register_architecture("mnist-cnn-mixed")
def mnist_cnn_mixed(channels1: int = 32, channels2: int = 64, hidden: int = 256, promote=(), bits: int = 2,
                    method: str = "lsq") -> "OrderedDict[str, nn.Module]":
    """``mnist-cnn`` with the layers in ``promote`` (among ``conv2``, ``fc3``) at ``bits``-bit weights
    and activations (Hybrid-Net's k-bit layers, :class:`~mapping.networks.quant.QuantConv2d` /
    :class:`~mapping.networks.quant.QuantLinear`, quantiser ``method``).

    The Sign before a promoted layer becomes an :class:`~mapping.networks.quant.ActQuant` of
    ``bits`` bits, named ``quant1``/``quant2`` in place of ``sign1``/``sign2``, so the layer
    feeding a promoted layer ends with BatchNorm + ActQuant; every other name and every weight
    shape is mnist-cnn's. ``promote=()`` is mnist-cnn itself.
    """
    channels1 = check_int("channels1", channels1, lo=1)
    channels2 = check_int("channels2", channels2, lo=1)
    hidden = check_int("hidden", hidden, lo=1)
    promote = _check_promote(promote)
    bits = check_int("bits", bits, lo=1, hi=MAX_BITS)
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not a quantiser; allowed: {', '.join(METHODS)}")
    k = {"weight_bits": bits, "act_bits": bits, "method": method}

    def act(i: int, feeds: str) -> tuple[str, nn.Module]:
        return (f"quant{i}", ActQuant(bits, method)) if feeds in promote else (f"sign{i}", Sign())

    conv2 = QuantConv2d(channels1, channels2, 3, padding=1, **k) if "conv2" in promote else BinaryConv2d(channels1, channels2, 3, padding=1)
    fc3 = QuantLinear(channels2 * 7 * 7, hidden, **k) if "fc3" in promote else BinaryLinear(channels2 * 7 * 7, hidden)
    return OrderedDict([
        ("conv1", electronic(nn.Conv2d(1, channels1, 3, padding=1, bias=False))),
        ("pool1", nn.MaxPool2d(2)),
        ("bn1", ExactBatchNorm2d(channels1)),
        act(1, "conv2"),
        ("conv2", conv2),
        ("bn2", ExactBatchNorm2d(channels2)),
        act(2, "fc3"),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc3", fc3),
        ("bn3", ExactBatchNorm1d(hidden)),
        ("sign3", Sign()),
        ("fc_out", electronic(nn.Linear(hidden, 10))),
    ])


_FP_ACTIVATIONS = {"relu": nn.ReLU, "hardtanh": nn.Hardtanh}


@register_architecture("mnist-cnn-fp")
def mnist_cnn_fp(channels1: int = 32, channels2: int = 64, hidden: int = 256, activation: str = "relu") -> "OrderedDict[str, nn.Module]":
    """``mnist-cnn`` in full precision: every conv/linear layer electronic, BatchNorm then
    ``activation`` (``"relu"`` or ``"hardtanh"``, named ``act1``…``act3``) instead of each Sign,
    zero padding. Same layer names and weight shapes as mnist-cnn."""
    channels1 = check_int("channels1", channels1, lo=1)
    channels2 = check_int("channels2", channels2, lo=1)
    hidden = check_int("hidden", hidden, lo=1)
    if activation not in _FP_ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not supported; allowed: {', '.join(_FP_ACTIVATIONS)}")
    act = _FP_ACTIVATIONS[activation]
    return OrderedDict([
        ("conv1", electronic(nn.Conv2d(1, channels1, 3, padding=1, bias=False))),
        ("pool1", nn.MaxPool2d(2)),
        ("bn1", nn.BatchNorm2d(channels1)),
        ("act1", act()),
        ("conv2", electronic(nn.Conv2d(channels1, channels2, 3, padding=1, bias=False))),
        ("bn2", nn.BatchNorm2d(channels2)),
        ("act2", act()),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc3", electronic(nn.Linear(channels2 * 7 * 7, hidden, bias=False))),
        ("bn3", nn.BatchNorm1d(hidden)),
        ("act3", act()),
        ("fc_out", electronic(nn.Linear(hidden, 10))),
    ])


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


@register_architecture("mnist-hybrid")
def mnist_hybrid(channels1: int = 32, channels2: int = 64, cloud_channels: int = 128, exits: int = 1) -> HybridBNN:
    """Edge: electronic conv 1→c1 3x3, pool, BN, sign; binary conv c1→c2 3x3 (−1 pad), BN, sign,
    pool (c2×7×7 ±1; exit ``edge1``: electronic linear → 10); with ``exits=2`` also sign, binary
    conv c2→c2 3x3, BN, sign (exit ``edge2``). Cloud (full precision): conv c2→cloud_channels
    3x3, BN, ReLU, pool, linear → 10."""
    c1 = check_int("channels1", channels1, lo=1)
    c2 = check_int("channels2", channels2, lo=1)
    cc = check_int("cloud_channels", cloud_channels, lo=1)
    exits = check_int("exits", exits, lo=1, hi=2)
    segments = [nn.Sequential(OrderedDict([
        ("conv1", electronic(nn.Conv2d(1, c1, 3, padding=1, bias=False))),
        ("pool1", nn.MaxPool2d(2)),
        ("bn1", ExactBatchNorm2d(c1)),
        ("sign1", Sign()),
        ("conv2", BinaryConv2d(c1, c2, 3, padding=1)),
        ("bn2", ExactBatchNorm2d(c2)),
        ("sign2", Sign()),
        ("pool2", nn.MaxPool2d(2)),
    ]))]
    if exits == 2:
        segments.append(nn.Sequential(OrderedDict([
            ("sign2", Sign()),
            ("conv3", BinaryConv2d(c2, c2, 3, padding=1)),
            ("bn3", ExactBatchNorm2d(c2)),
            ("sign3", Sign()),
        ])))
    heads = [nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("fc", electronic(nn.Linear(c2 * 7 * 7, 10)))]))
             for _ in segments]
    cloud = nn.Sequential(OrderedDict([
        *zip(("conv", "bn", "relu"), _conv_bn_relu(c2, cc)),
        ("pool", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(cc * 3 * 3, 10)),
    ]))
    return HybridBNN(segments, heads, cloud, arch="mnist-hybrid", hparams={}, input_shape=MNIST_SHAPE)


class _BasicBlock(nn.Module):
    """Full-precision CIFAR ResNet block: two 3x3 conv-BN, identity or 1x1-conv shortcut, ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_bn_relu(c_in, c_out, stride), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_out))
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


@register_architecture("cifar-hybrid")
def cifar_hybrid(width: int = 32, blocks: int = 2) -> HybridBNN:
    """The paper's layout, small: edge = electronic conv 3→w 3x3, BN, sign, then ``blocks`` binary
    conv w→w 3x3 (BN, sign) and a binary conv w→2w 3x3 stride 2 (BN, sign: 2w×16×16 ±1); exit
    ``edge1`` = avg pool 4, electronic linear → 10. Cloud (full precision) = ``blocks`` ResNet
    blocks of 2w channels, ``blocks`` of 4w with stride 2, global average pool, linear → 10."""
    w = check_int("width", width, lo=1)
    blocks = check_int("blocks", blocks, lo=1)
    layers: list[tuple[str, nn.Module]] = [
        ("conv1", electronic(nn.Conv2d(3, w, 3, padding=1, bias=False))),
        ("bn1", ExactBatchNorm2d(w)),
        ("sign1", Sign()),
    ]
    for i in range(blocks):
        layers += [(f"conv{i + 2}", BinaryConv2d(w, w, 3, padding=1)), (f"bn{i + 2}", ExactBatchNorm2d(w)), (f"sign{i + 2}", Sign())]
    n = blocks + 2
    layers += [(f"conv{n}", BinaryConv2d(w, 2 * w, 3, stride=2, padding=1)), (f"bn{n}", ExactBatchNorm2d(2 * w)), (f"sign{n}", Sign())]
    head = nn.Sequential(OrderedDict([("pool", nn.AvgPool2d(4)), ("flatten", nn.Flatten()),
                                      ("fc", electronic(nn.Linear(2 * w * 4 * 4, 10)))]))
    stage = [(f"block{i + 1}", _BasicBlock(2 * w, 2 * w, 1)) for i in range(blocks)]
    stage += [(f"block{blocks + i + 1}", _BasicBlock(2 * w if i == 0 else 4 * w, 4 * w, 2 if i == 0 else 1)) for i in range(blocks)]
    cloud = nn.Sequential(OrderedDict([*stage, ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                                       ("fc", nn.Linear(4 * w, 10))]))
    return HybridBNN([nn.Sequential(OrderedDict(layers))], [head], cloud, arch="cifar-hybrid", hparams={},
                     input_shape=CIFAR_SHAPE)
