"""Shape zoo: standard network shapes built from plain torch modules (no torchvision).

The layers are plain ``nn.Conv2d``/``nn.Linear``, so the workload extractor treats them as
binarized and flags them; ``electronic_ends=True`` marks the first and the last layer
``electronic = True`` (the usual BNN practice of keeping them full precision). Weights are
untrained: these models are for performance mapping, not accuracy.

``build(name, electronic_ends=False)`` and ``input_shape(name)`` (batch 1) for the names in
``ZOO``: ``zoo-mnist-mlp`` (784-512-512-10), ``zoo-mnist-cnn`` (two 3x3 convs + two FC, 28x28),
``vgg-small`` (the BNN VGG-Small: 2x128, 2x256, 2x512 3x3 convs + FC, 32x32), ``resnet18``
and ``mobilenet-v2`` (ImageNet shapes, 224x224, as in He et al. 2016 / Sandler et al. 2018).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

__all__ = ["ZOO", "names", "build", "input_shape"]


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: type = nn.ReLU) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out), act()]


def mnist_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512, bias=False), nn.BatchNorm1d(512), nn.Hardtanh(),
        nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512), nn.Hardtanh(),
        nn.Linear(512, 10),
    )


def mnist_cnn() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(1, 32, 3, act=nn.Hardtanh), nn.MaxPool2d(2),
        *_conv_bn(32, 64, 3, act=nn.Hardtanh), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256, bias=False), nn.BatchNorm1d(256), nn.Hardtanh(),
        nn.Linear(256, 10),
    )


def vgg_small() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(3, 128, 3, act=nn.Hardtanh), *_conv_bn(128, 128, 3, act=nn.Hardtanh), nn.MaxPool2d(2),
        *_conv_bn(128, 256, 3, act=nn.Hardtanh), *_conv_bn(256, 256, 3, act=nn.Hardtanh), nn.MaxPool2d(2),
        *_conv_bn(256, 512, 3, act=nn.Hardtanh), *_conv_bn(512, 512, 3, act=nn.Hardtanh), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(512 * 4 * 4, 10),
    )


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs and an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu2 = nn.ReLU()
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, 64, 7, stride=2), nn.MaxPool2d(3, 2, 1))
        blocks, c_in = [], 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (when t > 1), 3x3 depthwise, 1x1 linear projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        layers = _conv_bn(c_in, hidden, 1, act=nn.ReLU6) if expand != 1 else []
        layers += _conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6)
        layers += [nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, classes: int = 1000):
        super().__init__()
        layers, c_in = _conv_bn(3, 32, 3, 2, act=nn.ReLU6), 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        layers += _conv_bn(c_in, 1280, 1, act=nn.ReLU6)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


ZOO: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "zoo-mnist-mlp": (mnist_mlp, (1, 1, 28, 28)),
    "zoo-mnist-cnn": (mnist_cnn, (1, 1, 28, 28)),
    "vgg-small": (vgg_small, (1, 3, 32, 32)),
    "resnet18": (ResNet18, (1, 3, 224, 224)),
    "mobilenet-v2": (MobileNetV2, (1, 3, 224, 224)),
}
"""name -> (builder, input shape with batch 1)."""


def names() -> list[str]:
    return list(ZOO)


def _check_name(name: str) -> None:
    if name not in ZOO:
        raise ValueError(f"name={name!r} is not in the shape zoo; allowed: {names()}")


def build(name: str, *, electronic_ends: bool = False) -> nn.Module:
    """A fresh model of zoo entry ``name``; ``electronic_ends`` marks the first and last layer electronic."""
    _check_name(name)
    if not isinstance(electronic_ends, bool):
        raise TypeError(f"electronic_ends must be a bool, got {electronic_ends!r}")
    model = ZOO[name][0]()
    if electronic_ends:
        compute = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        compute[0].electronic = True
        compute[-1].electronic = True
    return model


def input_shape(name: str) -> tuple[int, ...]:
    """Input shape (batch 1) of zoo entry ``name``."""
    _check_name(name)
    return ZOO[name][1]
