"""Trainable BNN architectures, registered by name so a checkpoint can rebuild its model.

``build(arch, **hparams)`` returns a :class:`mapping.bnn.BNN`; ``register_architecture(name)``
adds a builder (a function of keyword hyper-parameters returning a ``BNN``).
"""
from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import Callable

from torch import nn

from mapping.networks.layers import BNN, BinaryConv2d, BinaryLinear, ExactBatchNorm1d, ExactBatchNorm2d, Sign, electronic
from photonics.validation import check_int

__all__ = ["ARCHITECTURES", "register_architecture", "build", "mnist_mlp", "mnist_cnn"]

ARCHITECTURES: dict[str, Callable[..., BNN]] = {}

MNIST_SHAPE = (1, 28, 28)


def register_architecture(name: str):
    """Decorator registering a builder under ``name``; the builder's keywords become ``hparams``."""

    def deco(fn):
        if name in ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is already registered")
        ARCHITECTURES[name] = fn
        return fn

    return deco


def build(arch: str, **hparams) -> BNN:
    """Build architecture ``arch`` with ``hparams`` (defaults filled in and recorded)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch={arch!r} is not a registered architecture; allowed: {sorted(ARCHITECTURES)}")
    fn = ARCHITECTURES[arch]
    try:
        bound = inspect.signature(fn).bind(**hparams)
    except TypeError as exc:
        raise TypeError(f"hyper-parameters {hparams} do not fit architecture {arch!r}: {exc}") from None
    bound.apply_defaults()
    layers = fn(**bound.arguments)
    return BNN(layers, arch=arch, hparams=dict(bound.arguments), input_shape=MNIST_SHAPE)


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
