"""BatchNorm+sign folding and export of a trained BNN to the folded network.

The BatchNorm and sign that follow a binary layer fold into one integer threshold per output
channel: the output is +1 iff ``s >= threshold`` (``flip`` False) or ``s <= threshold``
(``flip`` True, negative BatchNorm scale). Optical layers with k-bit operands
(:class:`mapping.networks.quant.QuantConv2d`/``QuantLinear``) or a k-bit output (an
:class:`~mapping.networks.quant.ActQuant` after the BatchNorm) fold into several thresholds per
channel on their integer sum (:mod:`mapping.networks.quant_folding`). ``export_binary`` builds
that folded network and checks it predicts exactly what the model predicts.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numba as nb
import numpy as np
import torch
from torch import nn

from mapping.networks.layers import (
    PAD_VALUE, BinaryConv2d, BinaryLinear, Sign, check_input, layer_dot, passes_threshold, pm1_from_signs,
)
from mapping.networks.quant import ActQuant, QuantConv2d, QuantLinear, integer_range
from mapping.networks.quant_folding import QuantLayerSpec, fold_levels
from photonics.validation import check_int

__all__ = ["BinaryLayerSpec", "FoldedBNN", "fold_threshold", "export_binary"]


@dataclass(frozen=True, eq=False)
class BinaryLayerSpec:
    """One folded binary layer.

    ``weight_pm1``: float ±1 tensor in torch weight shape; ``threshold`` (int64) and ``flip``
    (bool) per output channel: output +1 iff ``s <= threshold`` (flip) or ``s >= threshold``.
    ``stride``/``padding`` are pairs for a conv and ``()`` for a linear layer; padding is filled
    with ``pad_value`` (−1). ``in_shape``/``out_shape`` are per image (no batch dimension);
    ``K`` is the dot-product length. Thresholds sit midway between two reachable sums (s has the
    parity of K), so analog noise of either sign is tolerated equally.
    """

    name: str
    kind: str
    weight_pm1: torch.Tensor
    threshold: torch.Tensor
    flip: torch.Tensor
    stride: tuple
    padding: tuple
    pad_value: float
    in_shape: tuple
    out_shape: tuple
    K: int

    def _channel_view(self, t: torch.Tensor, ndim: int) -> torch.Tensor:
        return t.view((1, -1) + (1,) * (ndim - 2))

    def ideal_sum(self, a_pm1: torch.Tensor) -> torch.Tensor:
        """Exact integer sums s = Σ a·w (float32) for ±1 activations of shape (B, *in_shape)."""
        return layer_dot(self, a_pm1, self.weight_pm1.to(a_pm1.dtype))

    def binarize(self, s: torch.Tensor) -> torch.Tensor:
        """Compare sums s (B, *out_shape) with the folded thresholds; returns ±1 (dtype of s)."""
        plus = passes_threshold(s, self._channel_view(self.threshold, s.dim()), self._channel_view(self.flip, s.dim()))
        return pm1_from_signs(plus, s.dtype)


class FoldedBNN:
    """The exported network: optical layers as ``BinaryLayerSpec`` (±1 in, sign out) or
    ``QuantLayerSpec`` (k-bit operands or output) + electronic layers in float.

    ``forward(x, dot=None, record=None)``: ``dot(spec, h) -> s`` replaces the ideal integer sums
    (``spec.ideal_sum(h)``: same shape, float) of the layer input ``h`` (±1 or codes); ``record``
    (a dict) receives each optical layer's output (±1 or codes) by name.
    """

    def __init__(self, plan: list, layers: list, input_shape: tuple, source: nn.Module,
                 output_modules: dict[str, nn.Module]):
        self._plan = plan
        self.layers = layers
        self.input_shape = tuple(input_shape)
        self.source = source
        self._output_modules = output_modules

    @property
    def binary_macs(self) -> int:
        """Binary multiply-accumulates per image on the optical engine (Σ over optical layers of
        K · outputs · passes; a k_a-bit × k_w-bit layer makes k_a·k_w ±1 passes)."""
        total = 0
        for spec in self.layers:
            n_out = 1
            for d in spec.out_shape:
                n_out *= d
            total += spec.K * n_out * (spec.passes if isinstance(spec, QuantLayerSpec) else 1)
        return total

    def forward(self, x: torch.Tensor, dot: Callable | None = None, record: dict | None = None) -> torch.Tensor:
        check_input(x, self.input_shape)
        return self.run_steps(x, 0, None, dot, record)

    def step_of(self, name: str) -> int:
        """Position of binary layer ``name`` in the plan (the argument of :meth:`run_steps`)."""
        for position, step in enumerate(self._plan):
            if isinstance(step, int) and self.layers[step].name == name:
                return position
        raise KeyError(f"no binary layer named {name!r}; layers: {[spec.name for spec in self.layers]}")

    def run_steps(self, h: torch.Tensor, start: int, stop: int | None = None, dot: Callable | None = None,
                  record: dict | None = None) -> torch.Tensor:
        """Run plan steps ``start`` up to (not including) ``stop`` (None = to the logits) on ``h``,
        the tensor that step ``start`` takes (``forward`` is ``run_steps(x, 0)``)."""
        with torch.no_grad():
            for step in self._plan[start:stop]:
                if isinstance(step, int):
                    spec = self.layers[step]
                    s = spec.ideal_sum(h) if dot is None else dot(spec, h)
                    expected = (h.shape[0],) + tuple(spec.out_shape)
                    if tuple(s.shape) != expected:
                        raise ValueError(f"dot returned shape {tuple(s.shape)} for layer '{spec.name}'; expected {expected}")
                    h = spec.activate(s) if isinstance(spec, QuantLayerSpec) else spec.binarize(s)
                    if record is not None:
                        record[spec.name] = h
                else:
                    h = step(h)
        return h

    def run_signs(self, plus: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor:
        """:meth:`run_steps` of the ±1 activations whose signs are ``plus`` (bool, True = +1):
        the leading steps that commute with the map from signs to ±1 (:class:`MaxPool2x2`, a
        maximum of ±1 values being the OR of their signs; ``Flatten``; ``Identity``) run on the
        bool signs, a quarter of the float32 bytes, before the conversion (the same values)."""
        plan = self._plan[start:stop]
        k = 0
        while k < len(plan) and type(plan[k]) in (MaxPool2x2, nn.Flatten, nn.Identity):
            plus = plan[k](plus)
            k += 1
        return self.run_steps(pm1_from_signs(plus), start + k, stop)

    def sign_steps(self, plus: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor | None:
        """The bool signs after :meth:`run_steps` ``start``..``stop`` of the ±1 activations whose
        signs are ``plus``, when every one of those steps commutes with the map from signs to ±1
        (as in :meth:`run_signs`); None otherwise."""
        plan = self._plan[start:stop]
        if not all(type(step) in (MaxPool2x2, nn.Flatten, nn.Identity) for step in plan):
            return None
        for step in plan:
            plus = step(plus)
        return plus

    __call__ = forward

    def predict(self, x: torch.Tensor, dot: Callable | None = None, batch_size: int = 250) -> torch.Tensor:
        """Class predictions (int64), evaluated in batches."""
        batch_size = check_int("batch_size", batch_size, lo=1)
        return torch.cat([self.forward(x[i : i + batch_size], dot).argmax(1) for i in range(0, len(x), batch_size)])

    def verify(self, images: torch.Tensor, batch_size: int = 250) -> int:
        """Check that every optical layer's outputs (signs or codes) and every prediction equal the source model's.

        Returns the number of images checked; raises RuntimeError naming the first differing layer.
        """
        batch_size = check_int("batch_size", batch_size, lo=1)
        check_input(images, self.input_shape)
        model = self.source
        was_training = model.training
        model.eval()
        seen: dict[str, torch.Tensor] = {}
        hooks = [m.register_forward_hook(lambda _m, _i, out, n=n: seen.__setitem__(n, out)) for n, m in self._output_modules.items()]
        try:
            with torch.no_grad():
                for start in range(0, len(images), batch_size):
                    x = images[start : start + batch_size]
                    ours: dict[str, torch.Tensor] = {}
                    folded_logits = self.forward(x, record=ours)
                    model_logits = model(x)
                    for spec in self.layers:
                        diff = int((ours[spec.name] != seen[spec.name]).sum())
                        if diff:
                            raise RuntimeError(f"folded layer '{spec.name}' differs from the model on {diff} activations "
                                               f"in images {start}..{start + len(x) - 1}")
                    bad = (folded_logits.argmax(1) != model_logits.argmax(1)).nonzero()
                    if len(bad):
                        raise RuntimeError(f"folded network predicts differently from the model on image {start + int(bad[0])}")
        finally:
            for h in hooks:
                h.remove()
            model.train(was_training)
        return len(images)


def fold_threshold(K: int, bn: nn.Module | None = None, channels: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold ``sign(bn(s))`` for every reachable sum s ∈ {−K, −K+2, …, K} into (threshold, flip).

    ``bn`` is evaluated (eval mode) on all K+1 levels; its output is monotone in s, so the +1 set
    is an upper run (flip False) or a lower run (flip True). ``bn=None`` means sign(s) for each
    of ``channels`` outputs.
    """
    K = check_int("K", K, lo=1)
    levels = torch.arange(-K, K + 1, 2, dtype=torch.float32)
    if bn is None:
        pos = (levels >= 0).view(-1, 1).expand(-1, check_int("channels", channels, lo=1))
    else:
        n_ch = bn.num_features
        shape = (len(levels), n_ch, 1, 1) if isinstance(bn, nn.BatchNorm2d) else (len(levels), n_ch)
        grid = levels.view((-1, 1) + (1,) * (len(shape) - 2)).expand(shape).contiguous()
        was_training = bn.training
        bn.eval()
        try:
            with torch.no_grad():
                y = bn(grid)
        finally:
            bn.train(was_training)
        pos = (y >= 0).reshape(len(levels), n_ch)
    up = torch.all(pos[1:] >= pos[:-1], dim=0)
    down = torch.all(pos[1:] <= pos[:-1], dim=0)
    if not torch.all(up | down):
        raise RuntimeError(f"sign(BatchNorm(s)) is not monotone in s for channels {(~(up | down)).nonzero().flatten().tolist()}")
    n_pos = pos.sum(0).to(torch.int64)
    threshold = torch.where(up, K + 1 - 2 * n_pos, -K - 1 + 2 * n_pos)
    return threshold, ~up


class MaxPool2x2(nn.Module):
    """``nn.MaxPool2d(2)`` (stride 2, no padding, floor mode) as two elementwise maxima, rows then
    columns: the same values (a maximum is exact; NaN propagates as in max_pool2d) at about
    2.5x the speed of ``max_pool2d`` on the ±1 maps of a folded network. Bool maps (the signs of
    ``FoldedBNN.run_signs``) take one parallel pass that ORs each 2x2 window (about 2x the maxima;
    maps of even width, whose window rows are read as one uint16 each, about 4x faster again)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        if not h or not w:  # as max_pool2d, which refuses an empty output
            raise ValueError(f"a 2x2 max pool needs maps of at least 2x2, got {tuple(x.shape[-2:])}")
        if x.dtype == torch.bool and x.dim() >= 3 and x.is_contiguous():
            maps = x.reshape(-1, *x.shape[-2:]).numpy()
            out = np.empty((maps.shape[0], h // 2, w // 2), dtype=np.bool_)
            if x.shape[-1] % 2 == 0:  # each window row's two bytes as one uint16
                _or_pool_pairs(maps.view(np.uint16), out.view(np.uint8))
            else:
                _or_pool(maps, out)
            return torch.from_numpy(out).reshape(*x.shape[:-2], h // 2, w // 2)
        x = x[..., :h, :w]
        rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        return torch.maximum(rows[..., 0::2], rows[..., 1::2])


@nb.njit(cache=True, parallel=True)
def _or_pool(maps, out):
    """``out[m, y, x]``: the OR of the 2x2 window at (2y, 2x) of bool map ``m``."""
    n_maps, oh, ow = out.shape
    for m in nb.prange(n_maps):
        for y in range(oh):
            for x in range(ow):
                out[m, y, x] = (maps[m, 2 * y, 2 * x] | maps[m, 2 * y, 2 * x + 1]
                                | maps[m, 2 * y + 1, 2 * x] | maps[m, 2 * y + 1, 2 * x + 1])


@nb.njit(cache=True, parallel=True)
def _or_pool_pairs(pairs, out):
    """:func:`_or_pool` of bool maps of even width given as ``pairs`` (maps, h, w / 2) uint16 (the
    two bytes of a window's row in one: the OR of its rows' words, then of the two bytes), ``out``
    (maps, h // 2, w / 2) uint8 (bool bytes: 0 or 1)."""
    n_maps, oh, ow = out.shape
    for m in nb.prange(n_maps):
        for y in range(oh):
            for x in range(ow):
                v = pairs[m, 2 * y, x] | pairs[m, 2 * y + 1, x]
                out[m, y, x] = (v | (v >> 8)) & 0xFF


def _is_pool2x2(m: nn.Module) -> bool:
    """True for an ``nn.MaxPool2d`` that :class:`MaxPool2x2` reproduces exactly."""
    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    return (type(m) is nn.MaxPool2d and pair(m.kernel_size) == (2, 2) and pair(m.stride) == (2, 2)
            and pair(m.padding) == (0, 0) and pair(m.dilation) == (1, 1) and not m.ceil_mode and not m.return_indices)


_FLOAT_OK = (nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Identity, nn.Dropout, nn.ReLU, nn.Hardtanh,
             nn.BatchNorm1d, nn.BatchNorm2d, Sign, ActQuant)
_KEEPS_PM1 = (nn.MaxPool2d, nn.Flatten, nn.Identity, nn.Dropout)  # keep ±1 values and codes alike
_OPTICAL = (BinaryConv2d, BinaryLinear, QuantConv2d, QuantLinear)


def _flat_layers(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    out = []
    for name, m in model.named_children():
        full = f"{prefix}{name}"
        if isinstance(m, nn.Sequential):
            out.extend(_flat_layers(m, full + "."))
        else:
            out.append((full, m))
    return out


def _is_optical(m: nn.Module) -> bool:
    return isinstance(m, _OPTICAL) and (getattr(m, "binary", False) or getattr(m, "quantized", False))


def _check_optical_input(name: str, m: nn.Module, value: tuple, source: str) -> None:
    """``value``: what the layer input holds, ("pm1",), ("codes", bits) or ("float",)."""
    label = f"'{name}' ({type(m).__name__})"
    if isinstance(m, (BinaryConv2d, BinaryLinear)):
        if value[0] != "pm1":
            raise ValueError(f"binary layer {label} gets non-±1 input from {source}; put a Sign before it")
        return
    want = f"{m.act_bits}-bit codes from an ActQuant(bits={m.act_bits})"
    if value[0] == "pm1":
        raise ValueError(f"quant layer {label} gets ±1 input from {source}; it takes {want} (act_bits={m.act_bits})")
    if value[0] == "float":
        raise ValueError(f"quant layer {label} gets non-code input from {source}; "
                         f"put an ActQuant(bits={m.act_bits}) before it")
    if value[1] != m.act_bits:
        raise ValueError(f"quant layer {label} gets {value[1]}-bit codes from {source}; "
                         f"act_bits={m.act_bits} needs {want}")


def export_binary(model: nn.Module, probe: torch.Tensor | None = None, input_shape: tuple | None = None) -> FoldedBNN:
    """Fold a sequential BNN into a :class:`FoldedBNN` and verify it.

    Each optical layer (BinaryConv2d/BinaryLinear, QuantConv2d/QuantLinear) must be followed by an
    optional BatchNorm and a :class:`Sign` (±1 output) or an :class:`ActQuant` (code output). A
    binary layer must get ±1 input (from a Sign), a quant layer codes of exactly its ``act_bits``
    (from an ActQuant); only MaxPool2d/Flatten/Identity/Dropout may sit in between. Other layers
    must be electronic (``electronic = True``) or parameter-free/BatchNorm/ActQuant. Violations
    raise ValueError naming the layer. A binary layer with BatchNorm and Sign folds into a
    :class:`BinaryLayerSpec`, any other optical layer into a :class:`QuantLayerSpec`.
    The folded network is checked on ``probe`` images (default: 64 seeded uniform [0, 1] images)
    to give exactly the model's activations and predictions; RuntimeError otherwise.
    Bitwise equality is guaranteed with :class:`ExactBatchNorm1d`/``2d``; plain ``nn.BatchNorm``
    layers fold too but rely on the probe check.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential (layers run in order), got {type(model).__name__}")
    input_shape = tuple(input_shape if input_shape is not None else getattr(model, "input_shape", ()))
    if not input_shape:
        raise ValueError("input_shape is required (per-image shape, e.g. (1, 28, 28)) when the model has no input_shape")
    items = _flat_layers(model)
    shapes = _trace_shapes(model, items, input_shape)
    plan: list = []
    specs: list = []
    output_modules: dict[str, nn.Module] = {}
    value, source = ("float",), "the model input"
    i = 0
    while i < len(items):
        name, m = items[i]
        if _is_optical(m):
            _check_optical_input(name, m, value, source)
            bn, j = None, i + 1
            if j < len(items) and isinstance(items[j][1], (nn.BatchNorm1d, nn.BatchNorm2d)):
                bn, j = items[j][1], j + 1
            if j >= len(items) or not isinstance(items[j][1], (Sign, ActQuant)):
                after = f"'{items[j][0]}' ({type(items[j][1]).__name__})" if j < len(items) else "the end of the model"
                kind = "binary" if getattr(m, "binary", False) else "quant"
                raise ValueError(f"{kind} layer '{name}' ({type(m).__name__}) must be followed by [BatchNorm and] Sign or "
                                 f"ActQuant to fold; found {after}")
            if bn is not None:
                _check_bn(items[i + 1][0], bn, m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)
            act = items[j][1]
            if isinstance(m, (BinaryConv2d, BinaryLinear)) and isinstance(act, Sign):
                specs.append(_spec(name, m, bn, shapes[name]))
            else:
                specs.append(_quant_spec(name, m, bn, act, shapes[name]))
            output_modules[name] = act
            plan.append(len(specs) - 1)
            value, source = (("pm1",) if isinstance(act, Sign) else ("codes", act.bits)), f"'{name}'"
            i = j + 1
            continue
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not getattr(m, "binary", False):
            if not getattr(m, "electronic", False):
                raise TypeError(f"layer '{name}' ({type(m).__name__}) is neither binary nor marked electronic = True; "
                                "use BinaryConv2d/BinaryLinear or mapping.bnn.electronic(layer)")
        elif not isinstance(m, _FLOAT_OK):
            raise TypeError(f"unsupported layer '{name}' ({type(m).__name__}); supported: BinaryConv2d, BinaryLinear, "
                            f"QuantConv2d, QuantLinear, electronic Conv2d/Linear, {', '.join(t.__name__ for t in _FLOAT_OK)}")
        plan.append(MaxPool2x2() if _is_pool2x2(m) else copy.deepcopy(m).eval())
        if isinstance(m, Sign):
            value, source = ("pm1",), f"'{name}'"
        elif isinstance(m, ActQuant):
            value, source = ("codes", m.bits), f"'{name}'"
        elif not isinstance(m, _KEEPS_PM1):
            value, source = ("float",), f"'{name}' ({type(m).__name__})"
        i += 1
    if not specs:
        raise ValueError("model has no optical layers (BinaryConv2d/BinaryLinear/QuantConv2d/QuantLinear) to export")
    folded = FoldedBNN(plan, specs, input_shape, model, output_modules)
    if probe is None:
        probe = torch.rand((64,) + input_shape, generator=torch.Generator().manual_seed(0))
    folded.verify(probe)
    return folded


def _check_bn(name: str, bn: nn.Module, n_out: int) -> None:
    if bn.running_mean is None or bn.num_features != n_out:
        raise ValueError(f"BatchNorm '{name}' must track running stats over {n_out} channels to fold "
                         f"(num_features={bn.num_features}, track_running_stats={bn.track_running_stats})")
    for pname, t in (("running_mean", bn.running_mean), ("running_var", bn.running_var)) + (
            (("weight", bn.weight), ("bias", bn.bias)) if bn.affine else ()):
        if not torch.all(torch.isfinite(t)):
            raise ValueError(f"BatchNorm '{name}' has a non-finite {pname}; cannot fold")


def _layout(name: str, m: nn.Module) -> tuple[int, str, tuple, tuple]:
    """K, kind, stride and padding of an optical conv or linear layer."""
    if isinstance(m, nn.Conv2d):
        if m.groups != 1 or m.dilation != (1, 1):
            kind = "binary" if getattr(m, "binary", False) else "quant"
            raise ValueError(f"{kind} layer '{name}' has groups={m.groups}, dilation={m.dilation}; allowed: groups=1, dilation=(1, 1)")
        return m.in_channels * m.kernel_size[0] * m.kernel_size[1], "conv", tuple(m.stride), tuple(m.padding)
    return m.in_features, "linear", (), ()


def _spec(name: str, m: nn.Module, bn, shapes: tuple) -> BinaryLayerSpec:
    w = m.weight.detach()
    weight_pm1 = torch.where(w >= 0, 1.0, -1.0).to(torch.float32)
    K, kind, stride, padding = _layout(name, m)
    threshold, flip = fold_threshold(K, bn, channels=weight_pm1.shape[0])
    in_shape, out_shape = shapes
    return BinaryLayerSpec(name, kind, weight_pm1, threshold, flip, stride, padding, PAD_VALUE, in_shape, out_shape, K)


def _quant_spec(name: str, m: nn.Module, bn, act: nn.Module, shapes: tuple) -> QuantLayerSpec:
    """Fold a quant layer (or a binary layer followed by an ActQuant) with its BatchNorm and Sign/ActQuant."""
    K, kind, stride, padding = _layout(name, m)
    quant = isinstance(m, (QuantConv2d, QuantLinear))
    if quant:
        weight_codes = m.integer_weights().to(torch.float32)
        weight_bits, act_bits, pad_value = m.weight_bits, m.act_bits, float(getattr(m, "pad_value", 0.0))
        lo, hi = integer_range(K, act_bits, weight_bits)
        step = 1
    else:
        weight_codes = torch.where(m.weight.detach() >= 0, 1.0, -1.0).to(torch.float32)
        weight_bits, act_bits, pad_value = 1, None, PAD_VALUE
        lo, hi, step = -K, K, 2
    channels = weight_codes.shape[0]
    top = act.levels if isinstance(act, ActQuant) else 1
    modules = [x for x in (m, bn, act) if x is not None]
    states = [x.training for x in modules]

    def evaluate(levels: torch.Tensor) -> torch.Tensor:
        shape = (len(levels), channels) + ((1, 1) if kind == "conv" else ())
        y = levels.view((-1,) + (1,) * (len(shape) - 1)).expand(shape).contiguous()
        if quant:
            y = m.scale_integer(y)
        if bn is not None:
            y = bn(y)
        y = act(y) if isinstance(act, ActQuant) else (y >= 0).to(y.dtype)
        return y.reshape(len(levels), channels).round().to(torch.int64)

    for x in modules:
        x.eval()
    try:
        with torch.no_grad():
            threshold, flip = fold_levels(lo, hi, step, evaluate, channels, top, name)
            scale = float(m.scale().detach()) if quant else 1.0
    finally:
        for x, state in zip(modules, states):
            x.train(state)
    out_bits = act.bits if isinstance(act, ActQuant) else None
    if out_bits is None:
        threshold = threshold[:, 0]
    in_shape, out_shape = shapes
    return QuantLayerSpec(name, kind, weight_codes, weight_bits, act_bits, scale, threshold, flip, out_bits, stride,
                          padding, pad_value, in_shape, out_shape, K)


def _trace_shapes(model: nn.Module, items: list, input_shape: tuple) -> dict[str, tuple]:
    shapes: dict[str, tuple] = {}
    hooks = [m.register_forward_hook(lambda _m, inp, out, n=n: shapes.__setitem__(n, (tuple(inp[0].shape[1:]), tuple(out.shape[1:]))))
             for n, m in items if isinstance(m, _OPTICAL)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape)))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return shapes
