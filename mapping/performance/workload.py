"""Workload of a torch model: what each layer asks of the accelerator, from one traced forward pass.

``extract_workload(model, input_shape)`` runs the model once (eval mode, no grad, zeros of
``input_shape``, batch first) with forward hooks on every leaf module and a torch-function
mode that sees the tensor operations written directly in ``forward`` code (residual
additions, functional pooling). Each record is a :class:`LayerWork`:

* ``conv``/``linear`` (``nn.Conv*d``/``nn.Linear`` and subclasses): dot-product length
  ``k = in_channels/groups * prod(kernel)`` (``in_features``), ``out_channels``, ``positions``
  (output elements per output channel, batch included), ``dot_products``, weight shape and
  ``groups`` (a grouped convolution's output channel ``o`` reads only the input channels of its
  group ``o // (out_channels/groups)``; depthwise: ``groups = in_channels``; 1 otherwise). A
  layer with ``binary = True`` runs optically; one with ``electronic = True`` runs in
  electronics as ``macs = dot_products * k`` full-precision MACs; a plain layer with neither
  is treated as binarized (optical) and ``flagged``.
* ``pool`` (pooling modules: ``out_numel * prod(kernel)`` ops, adaptive ``in_numel``;
  functional pooling and ``mean``: ``in_numel``), ``add`` (tensor + tensor in forward code:
  ``out_numel`` ops), ``threshold`` (BatchNorm: ``out_numel`` ops), ``activation``
  (``out_numel`` ops): electronic. A BatchNorm or activation whose latest conv/linear ran
  optically is ``folded`` into that layer's comparator/digital threshold (no energy of its own).

Shape-only modules (Flatten, Dropout, Identity, ...) are not recorded. Anything else is refused
with a ``ValueError`` naming the layer and its type, never dropped: a leaf module whose output
is not a tensor (``nn.LSTM``, ``nn.MultiheadAttention``), a transposed convolution, a module
with parameters of its own that is none of the above (``nn.Embedding``, recurrent cells), or a
parameter-free module that changes the number of elements without being pooling. LayerNorm and
GroupNorm run electronically (``norm``). Cases that are scheduled but approximated carry a
``note`` with the reason (and appear in ``Workload.notes``): a plain conv/linear treated as
binarized (``flagged``), Conv1d/Conv3d (the functional simulator runs Conv2d only) and dilated
convolutions (counts exact; the functional simulator runs dilation 1 only). Results are cached per
(model, input_shape) and recomputed when a module is replaced, added, removed or re-flagged
(``binary``/``electronic`` set on the instance) or a weight changes shape; changing a layer's
hyper-parameters in place (e.g. ``conv.stride``) needs a fresh model.
"""
from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from photonics.validation import check_int

__all__ = ["LayerWork", "Workload", "extract_workload"]

_SHAPE_ONLY = (nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity, nn.Sequential)  # a leaf Sequential is empty
_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)
_ADAPTIVE = (
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
)
_ADD_NAMES = {"add", "add_", "__add__", "__radd__", "__iadd__", "sub", "sub_", "__sub__", "__rsub__", "__isub__"}
_POOL_NAMES = {
    "max_pool1d", "max_pool2d", "max_pool3d", "_max_pool1d", "_max_pool2d", "_max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "mean", "amax",
}
_ACT_NAMES = {"relu", "relu_", "relu6", "hardtanh", "hardtanh_", "sign", "sigmoid", "tanh", "gelu", "silu", "leaky_relu"}


@dataclass(frozen=True)
class LayerWork:
    """One layer or electronic operation, in execution order; counts cover the whole input batch.

    ``groups``: convolution groups (``out_channels`` is a multiple of it); 1 for linear layers and
    ordinary convolutions."""

    name: str
    kind: str
    runs_on: str
    k: int = 0
    out_channels: int = 0
    positions: int = 0
    dot_products: int = 0
    weight_shape: tuple = ()
    groups: int = 1
    binary: bool = False
    flagged: bool = False
    ops: int = 0
    macs: int = 0
    in_numel: int = 0
    out_numel: int = 0
    weight_numel: int = 0
    note: str = ""

    @property
    def binary_macs(self) -> int:
        """XNOR-popcount bit operations, ``dot_products * k`` for an optical layer, else 0."""
        return self.dot_products * self.k if self.runs_on == "optical" else 0


@dataclass(frozen=True, eq=False)
class Workload:
    """All layers of one traced forward pass; ``batch`` is ``input_shape[0]``."""

    layers: tuple[LayerWork, ...]
    input_shape: tuple[int, ...]

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    @cached_property
    def binary_macs(self) -> int:
        """Binary MACs of the whole batch."""
        return int(sum(layer.binary_macs for layer in self.layers))

    @cached_property
    def flagged(self) -> tuple[str, ...]:
        """Names of plain torch layers treated as binarized."""
        return tuple(layer.name for layer in self.layers if layer.flagged)

    @cached_property
    def notes(self) -> tuple[tuple[str, str], ...]:
        """``(layer name, reason)`` of every record scheduled with an approximation (module docstring)."""
        return tuple((layer.name, layer.note) for layer in self.layers if layer.note)

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """Column arrays (int64/bool/str) over all layers, for vectorised scheduling."""
        cols = ("k", "out_channels", "positions", "dot_products", "groups", "ops", "macs", "in_numel", "out_numel",
                "weight_numel")
        out = {c: np.array([getattr(layer, c) for layer in self.layers], dtype=np.int64) for c in cols}
        out["runs_on"] = np.array([layer.runs_on for layer in self.layers], dtype=object)
        out["optical"] = out["runs_on"] == "optical"
        out["electronic"] = out["runs_on"] == "electronic"
        for arr in out.values():
            arr.setflags(write=False)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per record with every :class:`LayerWork` field and ``binary_macs``."""
        rows = [{**layer.__dict__, "binary_macs": layer.binary_macs} for layer in self.layers]
        return pd.DataFrame(rows)


def _numel(shape) -> int:
    return int(math.prod(shape))


class _Tracer(TorchFunctionMode):
    """Records tensor additions and functional pooling/activations written in forward code."""

    def __init__(self, state):
        super().__init__()
        self.state = state

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.state["depth"] == 0 and isinstance(out, torch.Tensor):
            name = getattr(func, "__name__", "")
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            kind = None
            if name in _ADD_NAMES and len(tensors) == 2 and out.numel() > 1:
                kind, ops = "add", out.numel()
            elif name in _POOL_NAMES and tensors and out.numel() < tensors[0].numel():
                kind, ops = "pool", tensors[0].numel()
            elif name in _ACT_NAMES and tensors:
                kind, ops = "activation", out.numel()
            if kind is not None:
                self.state["events"].append((kind, kind, None, (ops, out.numel(), tensors[0].numel())))
        return out


_SUPPORTED = ("Conv1d/Conv2d/Conv3d, Linear (binary or electronic), pooling, BatchNorm/LayerNorm/GroupNorm, "
              "parameter-free element-wise activations and shape-only modules")


class _Unsupported(Exception):
    """A layer the workload cannot schedule (raised as ValueError by :func:`extract_workload`)."""

    def __init__(self, name: str, module: nn.Module, why: str):
        super().__init__(f"layer {name!r} ({type(module).__name__}) is not supported: {why}; allowed: {_SUPPORTED}")


def _leaf_modules(model: nn.Module):
    return [(name or type(model).__name__, m) for name, m in model.named_modules() if not any(True for _ in m.children())]


_OWN_PARAMS_OK = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
                  nn.PReLU)


def _check_supported(model: nn.Module) -> None:
    """Refuse, before tracing, any module with parameters of its own whose computation the leaf
    hooks would not see (``nn.MultiheadAttention`` computes with its own weights, ``nn.LSTM``...)."""
    for name, m in model.named_modules():
        if any(True for _ in m.parameters(recurse=False)) and not isinstance(m, _OWN_PARAMS_OK):
            raise ValueError(str(_Unsupported(name or type(model).__name__, m, "it computes with parameters of its own "
                                              "and is not a convolution, linear or norm layer")))


def _trace(model: nn.Module, input_shape: tuple[int, ...]) -> Workload:
    _check_supported(model)
    state = {"depth": 0, "events": []}

    def pre_hook(module, args):
        state["depth"] += 1

    def make_hook(name):
        def hook(module, args, output):
            state["depth"] -= 1
            x = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if not isinstance(output, torch.Tensor):
                raise _Unsupported(name, module, f"its output is a {type(output).__name__}, not a tensor "
                                                 "(recurrent and attention layers are not supported)")
            state["events"].append((name, "module", module, (output, x)))

        return hook

    handles = []
    for name, m in _leaf_modules(model):
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(make_hook(name)))
    param = next(model.parameters(), None)
    x = torch.zeros(input_shape, device=param.device if param is not None else "cpu",
                    dtype=param.dtype if param is not None and param.is_floating_point() else torch.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _Tracer(state):
            model(x)
    except _Unsupported as exc:
        raise ValueError(str(exc)) from None
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"input_shape={input_shape} does not fit the model: {exc}") from exc
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    try:
        return Workload(layers=tuple(_records(state["events"])), input_shape=input_shape)
    except _Unsupported as exc:
        raise ValueError(str(exc)) from None


def _records(events) -> list[LayerWork]:
    out: list[LayerWork] = []
    last_compute = None  # runs_on of the latest conv/linear
    seen: dict[str, int] = {}
    for name, kind, module, data in events:
        if module is None:  # functional op named kind#i: data = (ops, out numel, in numel)
            seen[kind] = seen.get(kind, 0) + 1
            name = f"{kind}#{seen[kind]}"
            ops, out_numel, in_numel = data
            folded = kind == "activation" and last_compute == "optical"
            out.append(LayerWork(name=name, kind=kind, runs_on="folded" if folded else "electronic",
                                 ops=0 if folded else int(ops), in_numel=int(in_numel), out_numel=int(out_numel)))
            continue
        rec = _module_record(name, module, *data, last_compute)
        if rec is not None:
            if rec.kind in ("conv", "linear"):
                last_compute = rec.runs_on
            out.append(rec)
    return out


def _module_record(name: str, m: nn.Module, y: torch.Tensor, x: torch.Tensor | None, last_compute) -> LayerWork | None:
    out_numel = y.numel()
    in_numel = x.numel() if x is not None else 0
    if isinstance(m, nn.modules.conv._ConvTransposeNd):
        raise _Unsupported(name, m, "transposed convolutions are not scheduled")
    if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
        notes = []
        if isinstance(m, nn.Linear):
            kind, k, c_out, groups = "linear", m.in_features, m.out_features, 1
        else:
            kind, k, c_out, groups = "conv", m.in_channels // m.groups * _numel(m.kernel_size), m.out_channels, m.groups
            if not isinstance(m, nn.Conv2d):
                notes.append(f"{type(m).__name__} scheduled by its dot products; the functional simulator runs Conv2d only")
            if any(d != 1 for d in np.atleast_1d(m.dilation)):
                notes.append(f"dilation {m.dilation} scheduled exactly; the functional simulator (export_binary) runs dilation 1 only")
        binary, electronic = bool(getattr(m, "binary", False)), bool(getattr(m, "electronic", False))
        runs_on = "electronic" if electronic and not binary else "optical"
        flagged = runs_on == "optical" and not binary
        if flagged:
            notes.insert(0, "plain torch layer (not binary) treated as binarized and run optically")
        positions = out_numel // c_out
        dots = c_out * positions
        return LayerWork(
            name=name, kind=kind, runs_on=runs_on, k=k, out_channels=c_out, positions=positions, dot_products=dots,
            weight_shape=tuple(m.weight.shape), groups=int(groups), binary=binary, flagged=flagged,
            macs=dots * k if runs_on == "electronic" else 0, in_numel=in_numel, out_numel=out_numel,
            weight_numel=m.weight.numel(), note="; ".join(notes),
        )
    if isinstance(m, _SHAPE_ONLY):
        return None
    if isinstance(m, _ADAPTIVE):
        return LayerWork(name=name, kind="pool", runs_on="electronic", ops=in_numel, in_numel=in_numel, out_numel=out_numel)
    if isinstance(m, _POOLS):
        window = _numel(np.broadcast_to(m.kernel_size, (y.dim() - 2,)))
        return LayerWork(name=name, kind="pool", runs_on="electronic", ops=out_numel * window, in_numel=in_numel, out_numel=out_numel)
    # any other module with parameters of its own was refused before tracing (_check_supported)
    if isinstance(m, nn.modules.batchnorm._NormBase):
        kind = "threshold"
    elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
        return LayerWork(name=name, kind="norm", runs_on="electronic", ops=out_numel, in_numel=in_numel,
                         out_numel=out_numel)
    else:  # PReLU or parameter-free
        if x is not None and out_numel != in_numel:
            raise _Unsupported(name, m, f"it maps {in_numel} elements to {out_numel} and is not a pooling layer")
        if x is not None and tuple(y.shape) != tuple(x.shape):
            return None  # a parameter-free reshape
        kind = "activation"
    folded = kind in ("threshold", "activation") and last_compute == "optical"
    return LayerWork(name=name, kind=kind, runs_on="folded" if folded else "electronic", ops=0 if folded else out_numel,
                     in_numel=in_numel, out_numel=out_numel)


_CACHE: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()
_TRACE_LOCK = threading.RLock()


def _fingerprint(model: nn.Module) -> tuple:
    """Identity of the model's structure: each module (by identity) with its flags and parameter
    shapes, so replacing, adding, removing or re-flagging a module, or resizing a weight, is seen."""
    return tuple(
        (name, id(m), m.__dict__.get("binary"), m.__dict__.get("electronic"),
         tuple(p.shape for p in m._parameters.values() if p is not None))
        for name, m in model.named_modules()
    )


def extract_workload(model: nn.Module, input_shape) -> Workload:
    """The :class:`Workload` of ``model`` on an input of ``input_shape`` (batch first); cached."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__iter__"):
        raise TypeError(f"input_shape must be a tuple of ints (batch first), got {input_shape!r}")
    shape = tuple(check_int("input_shape[%d]" % i, d, lo=1) for i, d in enumerate(input_shape))
    if len(shape) < 2:
        raise ValueError(f"input_shape={shape} must have a batch dimension and at least one more; allowed: length >= 2")
    # One trace at a time: tracing registers hooks on the (shared) model, so two threads tracing it at
    # once (a threaded Dask worker) would record each other's layers.
    with _TRACE_LOCK:
        per_model = _CACHE.setdefault(model, {})
        key = (_fingerprint(model), shape)
        if key not in per_model:
            if len(per_model) >= 16:
                per_model.clear()
            per_model[key] = _trace(model, shape)
        return per_model[key]
