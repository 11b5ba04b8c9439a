"""Workload of a torch model or a layer table: what each layer asks of the accelerator.

Two sources give the same :class:`Workload`: a traced ``nn.Module`` (:func:`extract_workload`,
below) and a layer table in CSV or YAML, the format architecture simulators use (:func:`from_table`:
type, channels, kernel, stride, padding, groups, input size per row; conv, depthwise/grouped conv and
linear rows only).

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
  is treated as binarized (optical) and ``flagged``. A k-bit layer (``quantized = True``,
  ``mapping.networks.quant.QuantConv2d``/``QuantLinear``) runs optically as
  ``act_bits * weight_bits`` bit-plane passes (``quantized``, ``weight_bits``, ``act_bits``;
  ``mapping.performance.schedule``).
* ``out_bits`` of an optical conv/linear: the bits each of its outputs is written with, set by
  the last activation between it and the next conv/linear: ``bits`` for an ``ActQuant`` (a k-bit
  code, ``2^k - 1`` folded thresholds), 1 for any other activation (a sign). With no activation
  before the next conv/linear (or the end), a binary layer keeps 1 (its one digital compare) and
  a k-bit layer gets 0: its raw integer result is written (the network's output).
* ``pool`` (pooling modules: ``out_numel * prod(kernel)`` ops, adaptive ``in_numel``;
  functional pooling and ``mean``: ``in_numel``), ``add`` (tensor + tensor in forward code:
  ``out_numel`` ops), ``threshold`` (BatchNorm: ``out_numel`` ops), ``activation``
  (``out_numel`` ops; ``ActQuant`` is one too): electronic. A BatchNorm or activation whose latest conv/linear ran
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
(``binary``/``electronic`` set on the instance, or a bit width changed) or a weight changes shape; changing a layer's
hyper-parameters in place (e.g. ``conv.stride``) needs a fresh model.
"""
from __future__ import annotations

import io
import math
import threading
import weakref
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from mapping.networks.quant import MAX_BITS, ActQuant
from photonics.validation import check_int

__all__ = ["LayerWork", "Workload", "extract_workload", "from_table", "TABLE_TYPES", "TABLE_COLUMNS"]

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
    ordinary convolutions. ``quantized``: a k-bit layer of ``weight_bits``-bit weights and
    ``act_bits``-bit activations (both 1 for binary and electronic layers); ``out_bits``: bits per
    output written (module docstring; 0: a k-bit layer's raw integer result)."""

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
    quantized: bool = False
    weight_bits: int = 1
    act_bits: int = 1
    out_bits: int = 1

    @property
    def passes(self) -> int:
        """Bit-plane passes of an optical layer, ``act_bits * weight_bits`` (1 when binary), else 0."""
        return self.act_bits * self.weight_bits if self.runs_on == "optical" else 0

    @property
    def logical_macs(self) -> int:
        """Multiply-accumulates of an optical layer at its own precision, ``dot_products * k``, else 0."""
        return self.dot_products * self.k if self.runs_on == "optical" else 0

    @property
    def binary_macs(self) -> int:
        """XNOR-popcount bit operations the engine performs, ``dot_products * k * passes`` for an
        optical layer (``dot_products * k`` when binary), else 0."""
        return self.logical_macs * self.passes


@dataclass(frozen=True, eq=False)
class Workload:
    """All layers of one traced forward pass (:func:`extract_workload`) or of one layer table
    (:func:`from_table`); ``batch`` is ``input_shape[0]``."""

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
    def logical_macs(self) -> int:
        """MACs of the optical layers at their own precision (whole batch); ``binary_macs`` for a BNN."""
        return int(sum(layer.logical_macs for layer in self.layers))

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
                "weight_numel", "weight_bits", "act_bits", "out_bits", "passes")
        out = {c: np.array([getattr(layer, c) for layer in self.layers], dtype=np.int64) for c in cols}
        out["quantized"] = np.array([layer.quantized for layer in self.layers], dtype=bool)
        out["runs_on"] = np.array([layer.runs_on for layer in self.layers], dtype=object)
        out["optical"] = out["runs_on"] == "optical"
        out["electronic"] = out["runs_on"] == "electronic"
        for arr in out.values():
            arr.setflags(write=False)
        return out

    def with_batch(self, batch: int) -> "Workload":
        """This workload for ``batch`` images per pass: from a batch-1 workload every per-image count
        (positions, dot products, electronic ops and MACs, element counts) times ``batch``; weights
        and dot-product lengths unchanged. Exact for every record kind (each is per image)."""
        batch = check_int("batch", batch, lo=1, hi=1 << 20)
        if batch == self.batch:
            return self
        if self.batch != 1:
            raise ValueError(f"batch={batch}: this workload has batch {self.batch}; allowed: {self.batch}, or a "
                             "workload of batch 1 (from_table(..., batch=1) or input_shape with batch 1)")
        scaled = ("positions", "dot_products", "ops", "macs", "in_numel", "out_numel")
        layers = tuple(replace(layer, **{c: getattr(layer, c) * batch for c in scaled}) for layer in self.layers)
        return Workload(layers=layers, input_shape=(batch, *self.input_shape[1:]))

    def to_frame(self) -> pd.DataFrame:
        """One row per record with every :class:`LayerWork` field, ``passes`` and ``binary_macs``."""
        rows = [{**layer.__dict__, "passes": layer.passes, "binary_macs": layer.binary_macs} for layer in self.layers]
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


_SUPPORTED = ("Conv1d/Conv2d/Conv3d, Linear (binary, k-bit or electronic), pooling, BatchNorm/LayerNorm/GroupNorm, "
              "parameter-free element-wise activations, ActQuant and shape-only modules")


class _Unsupported(Exception):
    """A layer the workload cannot schedule (raised as ValueError by :func:`extract_workload`)."""

    def __init__(self, name: str, module: nn.Module, why: str):
        super().__init__(f"layer {name!r} ({type(module).__name__}) is not supported: {why}; allowed: {_SUPPORTED}")


def _leaf_modules(model: nn.Module):
    return [(name or type(model).__name__, m) for name, m in model.named_modules() if not any(True for _ in m.children())]


_OWN_PARAMS_OK = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
                  nn.PReLU, ActQuant)


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
    optical = None  # [index in out, out_bits of its latest activation or None] of the latest optical conv/linear
    seen: dict[str, int] = {}

    def close():  # the output precision of the latest optical layer (module docstring)
        if optical is not None:
            i, bits = optical
            out[i] = replace(out[i], out_bits=bits if bits is not None else 0 if out[i].quantized else 1)

    for name, kind, module, data in events:
        if module is None:  # functional op named kind#i: data = (ops, out numel, in numel)
            seen[kind] = seen.get(kind, 0) + 1
            name = f"{kind}#{seen[kind]}"
            ops, out_numel, in_numel = data
            folded = kind == "activation" and last_compute == "optical"
            if folded:
                optical[1] = 1
            out.append(LayerWork(name=name, kind=kind, runs_on="folded" if folded else "electronic",
                                 ops=0 if folded else int(ops), in_numel=int(in_numel), out_numel=int(out_numel)))
            continue
        rec = _module_record(name, module, *data, last_compute)
        if rec is not None:
            if rec.kind in ("conv", "linear"):
                close()
                last_compute = rec.runs_on
                optical = [len(out), None] if rec.runs_on == "optical" else None
            elif rec.kind == "activation" and rec.runs_on == "folded":
                optical[1] = module.bits if isinstance(module, ActQuant) else 1
            out.append(rec)
    close()
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
        quantized = bool(getattr(m, "quantized", False)) and not binary
        runs_on = "electronic" if electronic and not binary else "optical"
        flagged = runs_on == "optical" and not binary and not quantized
        bits = {"weight_bits": int(m.weight_bits), "act_bits": int(m.act_bits)} if quantized else {}
        if flagged:
            notes.insert(0, "plain torch layer (not binary) treated as binarized and run optically")
        positions = out_numel // c_out
        dots = c_out * positions
        return LayerWork(
            name=name, kind=kind, runs_on=runs_on, k=k, out_channels=c_out, positions=positions, dot_products=dots,
            weight_shape=tuple(m.weight.shape), groups=int(groups), binary=binary, flagged=flagged,
            macs=dots * k if runs_on == "electronic" else 0, in_numel=in_numel, out_numel=out_numel,
            weight_numel=m.weight.numel(), note="; ".join(notes), quantized=quantized, **bits,
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
    shapes, so replacing, adding, removing or re-flagging a module, changing its bit widths, or resizing a
    weight, is seen."""
    return tuple(
        (name, id(m), m.__dict__.get("binary"), m.__dict__.get("electronic"),
         *(m.__dict__.get(a) for a in ("quantized", "weight_bits", "act_bits", "bits")),
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


# ------------------------------------------------------------------------------ layer tables

#: Row ``type`` values of a layer table and the kind they map to.
TABLE_TYPES = {"conv": "conv", "conv2d": "conv", "dwconv": "conv", "depthwise": "conv", "linear": "linear",
               "fc": "linear"}
#: Columns of a layer table: name -> (required, default). ``input_size`` is the square shorthand
#: of ``input_h``/``input_w``; ``kernel`` is square (``kernel_h``/``kernel_w`` for rectangles).
TABLE_COLUMNS = ("name", "type", "in_channels", "out_channels", "kernel", "kernel_h", "kernel_w", "stride", "padding",
                 "groups", "input_size", "input_h", "input_w", "electronic", "weight_bits", "act_bits")
_TABLE_REFUSED = ("pooling, residual additions, BatchNorm, activations, attention, recurrent, transposed or dilated "
                  "convolutions, Conv1d/Conv3d")
_TABLE_LIMIT = 1 << 20  # largest size accepted in a table cell (channels, pixels, kernel)


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


class _Row:
    """One table row with its position, for error messages naming row, column, value and range."""

    def __init__(self, index: int, values: dict, source: str):
        self.index, self.values, self.source = index, values, source
        self.where = f"{source}row {index}"

    def error(self, column: str, value, allowed: str, why: str = "") -> ValueError:
        name = self.values.get("name")
        label = f" ({str(name).strip()!r})" if not _is_blank(name) else ""
        why = f" {why}" if why else ""
        shown = f"{column} (empty cell or absent column)" if _is_blank(value) else f"{column}={value!r}"
        return ValueError(f"layer table {self.where}{label}: {shown}{why}; allowed: {allowed}")

    def get_int(self, column: str, default=None, lo: int = 1, hi: int = _TABLE_LIMIT) -> int | None:
        value = self.values.get(column)
        if _is_blank(value):
            return default
        allowed = f"an integer in [{lo}, {hi}]"
        if isinstance(value, (bool, np.bool_)):
            raise self.error(column, value, allowed, "is not an integer")
        if isinstance(value, str):
            text = value.strip()
            try:
                number = int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    raise self.error(column, value, allowed, "is not an integer") from None
        else:
            number = value
        if isinstance(number, (float, np.floating)):
            if not np.isfinite(number) or not float(number).is_integer():
                raise self.error(column, value, allowed, "is not an integer")
            number = int(number)
        if not isinstance(number, (int, np.integer)):
            raise self.error(column, value, allowed, "is not an integer")
        number = int(number)
        if number < lo or number > hi:
            raise self.error(column, number, allowed, "is out of range")
        return number

    def get_bool(self, column: str) -> bool:
        value = self.values.get(column)
        if _is_blank(value):
            return False
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        text = str(value).strip().lower()
        if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
            return bool(value)
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise self.error(column, value, "true/false, yes/no or 1/0 (empty: false)")


def _table_rows(table) -> tuple[list[dict], str]:
    """``(rows as dicts, source prefix for messages)`` of a path (CSV, YAML) or a DataFrame."""
    from os import PathLike
    from pathlib import Path

    if isinstance(table, pd.DataFrame):
        return table.to_dict("records"), ""
    if not isinstance(table, (str, PathLike)):
        raise TypeError(f"table must be a path to a CSV or YAML file or a pandas DataFrame, got {type(table).__name__}")
    path = Path(table)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise ValueError(f"layer table {str(path)!r}: suffix {path.suffix!r} is not a table format; allowed: .csv, "
                         ".yaml, .yml")
    if not path.is_file():
        raise FileNotFoundError(f"layer table {str(path)!r}: no such file")
    where = f"{path}: "
    if suffix == ".csv":
        try:
            # whole-line comments (first non-blank character '#') are skipped; a '#' inside a cell is kept
            text = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                           if not line.lstrip().startswith("#"))
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"layer table {str(path)!r} is not a readable CSV table "
                             f"({' '.join(str(exc).split())})") from None
        df.columns = [str(c).strip() for c in df.columns]
        return df.to_dict("records"), where
    import yaml  # PyYAML, only for YAML tables

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"layer table {str(path)!r} is not valid YAML ({' '.join(str(exc).split())})") from None
    if isinstance(data, dict) and set(data) == {"layers"}:
        data = data["layers"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError(f"layer table {str(path)!r}: the YAML document must be a list of layer mappings (or "
                         f"{{layers: [...]}}), got {type(data).__name__}")
    return [{str(k): v for k, v in r.items()} for r in data], where


def _square_pair(row, square: str, pair: tuple[str, str], what: str) -> tuple[int, int]:
    """(height, width) of a table row: the ``pair`` columns, each defaulting to the ``square`` column."""
    side = row.get_int(square)
    values = tuple(row.get_int(column, default=side) for column in pair)
    for column, v in zip(pair, values):
        if v is None:
            raise row.error(column, row.values.get(column), f"an integer in [1, {_TABLE_LIMIT}] (or {square} for a "
                                                            f"square {what})", "is missing")
    return values


def _table_record(row: _Row, batch: int) -> tuple[LayerWork, tuple[int, ...]]:
    """The :class:`LayerWork` of one validated table row and the row's per-image input shape."""
    ltype = row.values.get("type")
    allowed_types = ", ".join(TABLE_TYPES)
    if _is_blank(ltype):
        raise row.error("type", ltype, allowed_types, "is missing")
    ltype_key = str(ltype).strip().lower()
    if ltype_key not in TABLE_TYPES:
        raise row.error("type", ltype, allowed_types, f"is not a supported layer type (refused: {_TABLE_REFUSED})")
    kind = TABLE_TYPES[ltype_key]
    for column in ("in_channels", "out_channels"):
        if _is_blank(row.values.get(column)):
            raise row.error(column, row.values.get(column), f"an integer in [1, {_TABLE_LIMIT}]", "is missing")
    c_in, c_out = row.get_int("in_channels"), row.get_int("out_channels")
    electronic = row.get_bool("electronic")
    bits = {column: row.get_int(column, default=1, hi=MAX_BITS) for column in ("weight_bits", "act_bits")}
    for column, b in bits.items():
        if electronic and b != 1:
            raise row.error(column, b, "empty or 1 for an electronic row (electronic layers run at full precision)",
                            "is above 1")
    quantized = bits["weight_bits"] > 1 or bits["act_bits"] > 1
    name = row.values.get("name")
    name = f"{ltype_key}{row.index}" if _is_blank(name) else str(name).strip()
    if kind == "linear":
        neutral = {"kernel": 1, "kernel_h": 1, "kernel_w": 1, "stride": 1, "padding": 0, "groups": 1,
                   "input_size": 1, "input_h": 1, "input_w": 1}
        for column, ok in neutral.items():
            v = row.values.get(column)
            if not _is_blank(v) and row.get_int(column, lo=0) != ok:
                raise row.error(column, v, f"empty or {ok} for a {ltype_key} row (a linear layer's in_channels is its "
                                           "in_features; flatten a feature map into in_channels = C*H*W)")
        k, groups, positions, in_shape = c_in, 1, batch, (c_in,)
        weight_shape = (c_out, c_in)
        in_numel = batch * c_in
    else:
        h, w = _square_pair(row, "input_size", ("input_h", "input_w"), "input")
        kh, kw = _square_pair(row, "kernel", ("kernel_h", "kernel_w"), "kernel")
        stride = row.get_int("stride", default=1)
        padding = row.get_int("padding", default=0, lo=0)
        depthwise = ltype_key in ("dwconv", "depthwise")
        groups = row.get_int("groups", default=c_in if depthwise else 1)
        if depthwise and groups != c_in:
            raise row.error("groups", groups, f"empty or in_channels={c_in} for a {ltype_key} row")
        if c_in % groups or c_out % groups:
            raise row.error("groups", groups, f"a divisor of both in_channels={c_in} and out_channels={c_out}",
                            "does not divide the channels")
        ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
        if h + 2 * padding < kh or w + 2 * padding < kw:
            raise row.error("kernel", (kh, kw), f"at most the padded input ({h + 2 * padding}, {w + 2 * padding}) "
                                                f"(input_h, input_w = {h}, {w}; padding {padding})",
                            "does not fit the input")
        k, positions, in_shape = c_in // groups * kh * kw, batch * ho * wo, (c_in, h, w)
        weight_shape = (c_out, c_in // groups, kh, kw)
        in_numel = batch * c_in * h * w
    dots = c_out * positions
    runs_on = "electronic" if electronic else "optical"
    return LayerWork(
        name=name, kind=kind, runs_on=runs_on, k=int(k), out_channels=c_out, positions=int(positions),
        dot_products=int(dots), weight_shape=weight_shape, groups=int(groups),
        binary=not electronic and not quantized, flagged=False, macs=int(dots * k) if electronic else 0,
        in_numel=int(in_numel), out_numel=int(dots), weight_numel=int(math.prod(weight_shape)), quantized=quantized,
        **bits,
    ), in_shape


def from_table(table, *, batch: int = 1) -> Workload:
    """The :class:`Workload` of a layer table: a CSV or YAML file path, or a pandas DataFrame.

    One row per compute layer, in execution order (the OXBNN/Timeloop style of layer table).
    Columns (header names; unknown columns are refused, so a misspelt one is not silently ignored):

    * ``type`` (required): ``conv``/``conv2d`` (2-D convolution, ``groups`` allowed), ``dwconv``/
      ``depthwise`` (``groups = in_channels``), ``linear``/``fc``. Refused: pooling, residual
      additions, BatchNorm, activations, attention, recurrent, transposed or dilated convolutions,
      Conv1d/Conv3d. A table lists only the optical (or electronic) compute layers: the electronic
      pooling and residual additions a traced module adds are not counted, and each layer's
      BatchNorm + sign is taken as folded into its threshold (as for a traced BNN).
    * ``in_channels``, ``out_channels`` (required; for linear rows in/out features);
    * conv rows: ``kernel`` (square) or ``kernel_h`` + ``kernel_w``; ``input_size`` (square) or
      ``input_h`` + ``input_w``, the layer's input feature map; ``stride`` (default 1),
      ``padding`` (zeros on each side, default 0), ``groups`` (default 1; must divide both channel
      counts). Output size ``(input + 2*padding - kernel) // stride + 1`` as in ``nn.Conv2d``.
      Linear rows leave them empty (or neutral: 1, padding 0).
    * ``name`` (default ``<type><row>``), ``electronic`` (true/false, default false: the layer runs
      optically as a binary layer; true: full-precision MACs in electronics, e.g. the first and
      last layer).
    * ``weight_bits``, ``act_bits`` (integers in [1, 7], default 1; empty or 1 on electronic rows):
      a row with either above 1 is a k-bit layer run as ``act_bits * weight_bits`` bit-plane passes
      (as a traced ``QuantConv2d``/``QuantLinear``); both 1 is a binary layer. Each row's outputs
      are taken as the next row's inputs: an optical row's ``out_bits`` is the next row's
      ``act_bits`` (1: a sign); the last row's is 1 when binary and 0 (raw integer result) when
      k-bit, as for a traced module whose last layer has no activation after it.

    CSV lines whose first non-blank character is ``#`` are comments. Rows are counted from 1
    (header and comments excluded; YAML: list items). Successive rows are not checked
    to chain (a residual shortcut reads an earlier feature map). ``batch``: images per pass; the
    workload's ``input_shape`` is ``(batch, *first row's input)``.

    Raises ValueError naming the row, column, value and allowed range for an unknown type, a
    missing column, a non-integer or non-positive size, groups not dividing the channels, a kernel
    larger than the padded input, a bit width outside [1, 7] (or above 1 on an electronic row), an
    unknown column or a repeated name; FileNotFoundError for a
    missing file.
    """
    batch = check_int("batch", batch, lo=1, hi=_TABLE_LIMIT)
    rows, where = _table_rows(table)
    if not rows:
        raise ValueError(f"layer table {where or 'DataFrame '}has no rows; allowed: one row per conv/linear layer")
    columns = list(dict.fromkeys(c for r in rows for c in r))
    unknown = [c for c in columns if c not in TABLE_COLUMNS]
    if unknown:
        raise ValueError(f"layer table {where}column(s) {unknown} are unknown; allowed: {list(TABLE_COLUMNS)}")
    if "type" not in columns:
        raise ValueError(f"layer table {where}column 'type' is missing; allowed types: {', '.join(TABLE_TYPES)}")
    layers, shapes, seen = [], [], {}
    for i, values in enumerate(rows, start=1):
        row = _Row(i, values, where)
        rec, in_shape = _table_record(row, batch)
        if rec.name in seen:
            raise row.error("name", rec.name, "a name not used by an earlier row", f"repeats row {seen[rec.name]}")
        seen[rec.name] = i
        layers.append(rec)
        shapes.append(in_shape)
    nxt_bits = [nxt.act_bits for nxt in layers[1:]] + [None]  # None: the last row (the network's output)
    layers = [rec if rec.runs_on != "optical" else replace(rec, out_bits=(0 if rec.quantized else 1) if b is None else b)
              for rec, b in zip(layers, nxt_bits)]
    return Workload(layers=tuple(layers), input_shape=(batch, *shapes[0]))
