"""Binary layers of a BNN: the sign activation with its straight-through gradient, ±1-weight
convolution and linear layers, exactly foldable BatchNorm, and the ``BNN`` container.

A binary layer computes ``s = Σ a·w`` with activations ``a`` and weights ``w`` in {−1, +1}
(``sign(0) = +1`` everywhere); the latent real weights are what training updates, their sign is
what the hardware holds. Folding a trained network into thresholds is :mod:`mapping.networks.folding`.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from photonics.validation import check_int

__all__ = [
    "PAD_VALUE",
    "sign_ste",
    "Sign",
    "BinaryConv2d",
    "BinaryLinear",
    "ExactBatchNorm1d",
    "ExactBatchNorm2d",
    "electronic",
    "BNN",
    "check_input",
    "layer_dot",
    "passes_threshold",
    "float_cut",
    "pm1_from_signs",
]

PAD_VALUE = -1.0  # binary convs pad with bit 0 = −1, so every optical input is ±1


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """±1 sign with sign(0) = +1; straight-through gradient: 1 where |x| <= 1, else 0."""
    return _SignSTE.apply(x)


class Sign(nn.Module):
    """Sign activation (:func:`sign_ste`) as a layer."""

    def forward(self, x):
        return sign_ste(x)


class BinaryConv2d(nn.Conv2d):
    """Conv2d with ±1 weights (sign of the latent real weights) and −1 padding; no bias.

    ``padding`` keeps its torch meaning (``self.padding``); the padded border is filled with
    ``pad_value = −1`` instead of 0.
    """

    binary = True
    pad_value = PAD_VALUE

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = False):
        if bias:
            raise ValueError("bias=True is not allowed for BinaryConv2d; allowed: False (the BatchNorm after it supplies the offset)")
        if isinstance(padding, str):
            raise TypeError(f"padding must be an int or pair of ints, got {padding!r}")
        for name, v in (("stride", stride), ("padding", padding)):
            for item in _pair(v):
                check_int(name, item, lo=1 if name == "stride" else 0)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)

    def forward(self, x):
        ph, pw = self.padding
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph), value=self.pad_value)
        return F.conv2d(x, sign_ste(self.weight), None, self.stride)


class BinaryLinear(nn.Linear):
    """Linear layer with ±1 weights (sign of the latent real weights); no bias."""

    binary = True

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        if bias:
            raise ValueError("bias=True is not allowed for BinaryLinear; allowed: False (the BatchNorm after it supplies the offset)")
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x):
        return F.linear(x, sign_ste(self.weight))


class _ExactEval:
    """Eval-mode BatchNorm as separately rounded float ops: ``(x − μ)·(γ/√(σ²+ε)) + β``.

    Each elementwise op is correctly rounded whatever the tensor layout, so folding reproduces
    the model's signs bit for bit. Training mode is the ordinary BatchNorm.
    """

    def eval_scale(self) -> torch.Tensor:
        root = torch.sqrt(self.running_var + self.eps)
        return self.weight / root if self.affine else 1.0 / root

    def forward(self, x):
        if self.training or self.running_mean is None:
            return super().forward(x)
        self._check_input_dim(x)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        y = (x - self.running_mean.view(shape)) * self.eval_scale().view(shape)
        return y + self.bias.view(shape) if self.affine else y


class ExactBatchNorm1d(_ExactEval, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` whose eval-mode output folds exactly into sign thresholds."""


class ExactBatchNorm2d(_ExactEval, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose eval-mode output folds exactly into sign thresholds."""


def electronic(layer: nn.Module) -> nn.Module:
    """Mark a full-precision ``nn.Conv2d``/``nn.Linear`` as running in electronics; returns it."""
    if not isinstance(layer, (nn.Conv2d, nn.Linear)) or getattr(layer, "binary", False):
        raise TypeError(f"electronic() takes a plain nn.Conv2d or nn.Linear, got {type(layer).__name__}")
    layer.electronic = True
    return layer


class BNN(nn.Sequential):
    """A named architecture: layers run in order; records what a checkpoint needs to rebuild it.

    ``arch`` is the registered architecture name, ``hparams`` its builder arguments,
    ``input_shape`` the per-image shape, ``metadata`` free-form facts (e.g. test accuracy).
    """

    def __init__(self, layers: "OrderedDict[str, nn.Module]", *, arch: str, hparams: dict, input_shape: tuple):
        super().__init__(layers)
        self.arch = arch
        self.hparams = dict(hparams)
        self.input_shape = tuple(input_shape)
        self.metadata: dict = {}

    def forward(self, x):
        check_input(x, self.input_shape)
        return super().forward(x)


def check_input(x, input_shape: tuple) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (B, {', '.join(map(str, input_shape))}), got {type(x).__name__}")
    if x.dim() != len(input_shape) + 1 or tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"x must have shape (B, {', '.join(map(str, input_shape))}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")


def layer_dot(spec, h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``h`` (B, *in_shape) against weights ``w`` for a folded layer ``spec``: a linear layer, or a
    conv with ``spec.stride`` after padding ``spec.padding`` with ``spec.pad_value``."""
    if spec.kind == "linear":
        return F.linear(h, w)
    ph, pw = spec.padding
    if ph or pw:
        h = F.pad(h, (pw, pw, ph, ph), value=spec.pad_value)
    return F.conv2d(h, w, None, spec.stride)


def passes_threshold(s: torch.Tensor, threshold: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """The folded sign rule: True where ``s >= threshold``, or ``s <= threshold`` where ``flip``
    (``threshold`` int64 and ``flip`` bool, both broadcastable against ``s``, which is float or
    integer). One comparison and an in-place XOR: ``s >= t`` is ``s > t⁻`` (t⁻ the next
    representable value below t: ``t − 1`` for integers) and ``s <= t`` is ``not s > t``."""
    if s.is_floating_point():
        return torch.gt(s, float_cut(threshold, flip, s.dtype)).logical_xor_(flip)
    t, below = threshold, threshold - 1
    info = torch.iinfo(s.dtype)
    if (below < info.min).any() or (t > info.max).any():
        s = s.to(torch.int64)
    return torch.gt(s, torch.where(flip, t, below).to(s.dtype)).logical_xor_(flip)


def float_cut(threshold: torch.Tensor, flip: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The value ``c`` (``dtype``, the shape of ``threshold``) with :func:`passes_threshold` =
    ``(s > c) XOR flip`` for float sums ``s`` of that dtype: ``t`` where flipped, else the next
    representable value below ``t``."""
    t = threshold.to(dtype)
    return torch.where(flip, t, torch.nextafter(t, torch.tensor(float("-inf"), dtype=dtype)))


def pm1_from_signs(plus: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """±1 activations (``dtype``) of the bool signs ``plus``: one conversion and two in-place
    passes, about twice as fast as ``torch.where(plus, 1.0, -1.0)``."""
    return plus.view(torch.uint8).to(dtype).mul_(2).sub_(1)
