"""Hybrid-Net layer selection (Chakraborty et al., Nature Machine Intelligence 2020, arXiv 1906.01493):
PCA of each layer's activations in a trained binary network, and the layers to promote to k bits.

The rule (PARAMETERS.md §7, as in the released code): count, per layer, the principal
components that explain a fraction ``variance`` (99.9 %) of the activations' variance; a layer
whose count rises by at least ``margin`` (2) over the previous layer's count is "significant"
and gets k-bit weights and activations; the first and last layers stay full precision.

Which activations are analysed, and why: for each conv/linear layer, the real-valued
pre-activation that its nonlinearity receives, i.e. the BatchNorm output right before the Sign
(or :class:`~mapping.networks.quant.ActQuant`, ReLU, Hardtanh) that follows the layer. That is
the information the layer computes before the sign quantises it; after the sign the values
are ±1, and PCA of them measures the binarisation rather than the layer. A layer with no
nonlinearity after it (the output layer) is analysed at its output (the logits). The
full-precision first layer is included, so the first binary layer has a previous count.
Conv activations (N, C, H, W) become (N·H·W) × C rows (one row per pixel, the channels as
features); linear ones are N × features.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from mapping.networks.layers import Sign, check_input
from mapping.networks.quant import ActQuant
from photonics.validation import check_int, check_range

__all__ = ["component_count", "pca_component_counts", "select_layers"]

#: Nonlinearities whose input is the analysed pre-activation.
_ACTIVATIONS = (Sign, ActQuant, nn.ReLU, nn.Hardtanh)


def _explained(cov: np.ndarray, variance: float) -> tuple[int, float]:
    """(components, explained fraction) of a covariance matrix at threshold ``variance``."""
    cumulative = np.cumsum(np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None))
    if cumulative[-1] == 0.0:
        return 0, 1.0  # constant activations: nothing to explain
    ratio = cumulative / cumulative[-1]  # the last entry is exactly 1
    k = int(np.searchsorted(ratio, variance, side="left"))
    return k + 1, float(ratio[k])


def component_count(matrix, variance: float = 0.999) -> tuple[int, float]:
    """Smallest number of principal components of the rows of ``matrix`` (rows × features,
    centred here) whose cumulative explained variance is >= ``variance``, and that fraction.

    Covariance in NumPy float64, eigenvalues by :func:`numpy.linalg.eigvalsh` (rounding
    negatives clipped to 0); constant data has 0 components.
    """
    variance = check_range("variance", variance, 0.0, 1.0, lo_inclusive=False)
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"matrix must be 2-D with >= 2 rows and >= 1 column, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("matrix contains a non-finite value; allowed: finite real numbers")
    x = x - x.mean(axis=0)
    return _explained(x.T @ x / (len(x) - 1), variance)


class _Moments:
    """Streaming covariance of rows (float64), shifted by the first batch's mean for accuracy."""

    def __init__(self, max_rows: int | None):
        self.max_rows, self.n, self.shift, self.s1, self.s2 = max_rows, 0, None, None, None

    def add(self, rows: np.ndarray) -> None:
        if self.max_rows is not None:
            rows = rows[: self.max_rows - self.n]
        if not len(rows):
            return
        if self.shift is None:
            self.shift = rows.mean(axis=0)
            self.s1 = np.zeros_like(self.shift)
            self.s2 = np.zeros((len(self.shift), len(self.shift)))
        y = rows - self.shift
        self.s1 += y.sum(axis=0)
        self.s2 += y.T @ y
        self.n += len(rows)

    def covariance(self) -> np.ndarray:
        mean = self.s1 / self.n
        return (self.s2 - self.n * np.outer(mean, mean)) / (self.n - 1)


def _rows(name: str, t: torch.Tensor) -> np.ndarray:
    t = t.detach().to(torch.float64)
    if t.dim() == 4:
        return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1]).numpy()
    if t.dim() == 2:
        return t.numpy()
    raise ValueError(f"layer {name!r}: activations of shape {tuple(t.shape)} cannot be analysed; allowed: (N, C, H, W) or (N, F)")


def _analysis_points(model: nn.Module) -> list[tuple[str, nn.Module, str, nn.Module]]:
    """(layer name, layer, probe name, probe) per conv/linear layer in forward order; the probe is
    the nonlinearity after the layer (its input is analysed) or the layer itself (its output)."""
    children = list(model.named_children())
    points = []
    for i, (name, m) in enumerate(children):
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        probe = (name, m)
        for later_name, later in children[i + 1:]:
            if isinstance(later, (nn.Conv2d, nn.Linear)):
                break
            if isinstance(later, _ACTIVATIONS):
                probe = (later_name, later)
                break
        points.append((name, m, *probe))
    return points


def _kind(m: nn.Module) -> str:
    if getattr(m, "binary", False):
        return "binary"
    if getattr(m, "quantized", False):
        return f"{m.weight_bits}-bit"
    return "full precision"


def pca_component_counts(model: nn.Module, images: torch.Tensor, *, variance: float = 0.999, batch_size: int = 250,
                         max_rows: int | None = None) -> pd.DataFrame:
    """Per-layer PCA component counts of a trained network's pre-activations (module docstring).

    ``model``: a :class:`mapping.bnn.BNN` (an ``nn.Sequential`` with ``input_shape``), run in
    eval mode without gradients (its training flag is restored). ``images``: float tensor
    (N, *model.input_shape), finite. ``variance`` in (0, 1]. Rows are accumulated into a float64
    covariance batch by batch, so memory is features² per layer whatever N; ``max_rows`` (>= 2,
    default all) keeps only each layer's first ``max_rows`` rows (image order, then pixel order
    row by row), which bounds the work deterministically.

    Returns one row per conv/linear layer in forward order: ``layer``, ``precision``
    (full precision, binary or k-bit), ``analysed`` (``"input of sign1"`` or ``"output of
    fc_out"``), ``channels`` (features per row), ``rows`` (rows analysed), ``components`` (the
    count) and ``explained_variance`` (fraction explained by that many components).
    """
    if not isinstance(model, nn.Sequential) or not hasattr(model, "input_shape"):
        raise TypeError(f"model must be a mapping.bnn.BNN (an nn.Sequential with input_shape), got {type(model).__name__}")
    variance = check_range("variance", variance, 0.0, 1.0, lo_inclusive=False)
    batch_size = check_int("batch_size", batch_size, lo=1)
    if max_rows is not None:
        max_rows = check_int("max_rows", max_rows, lo=2)
    check_input(images, model.input_shape)
    if not bool(torch.isfinite(images).all()):
        raise ValueError("images contains a non-finite value; allowed: finite real numbers")
    points = _analysis_points(model)
    if not points:
        raise ValueError("model has no conv or linear layer to analyse")
    moments = {name: _Moments(max_rows) for name, *_ in points}
    hooks = []
    for name, layer, probe_name, probe in points:
        def record(_, args, out, name=name, is_layer=probe is layer):
            moments[name].add(_rows(name, out if is_layer else args[0]))
        hooks.append(probe.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(images), batch_size):
                model(images[i : i + batch_size])
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    table = []
    for name, layer, probe_name, probe in points:
        m = moments[name]
        if m.n < 2:
            raise ValueError(f"images gives layer {name!r} only {m.n} activation row(s); allowed: >= 2 (pass more images)")
        components, explained = _explained(m.covariance(), variance)
        table.append({"layer": name, "precision": _kind(layer),
                      "analysed": f"output of {name}" if probe is layer else f"input of {probe_name}",
                      "channels": len(m.s1), "rows": m.n, "components": components, "explained_variance": explained})
    return pd.DataFrame(table)


def select_layers(counts, *, margin: int = 2) -> list[str]:
    """Names of the layers Hybrid-Net promotes to k bits, in forward order.

    ``counts``: the DataFrame of :func:`pca_component_counts` (columns ``layer``,
    ``components``) or a mapping layer name -> count in forward order. A layer is promoted when
    its count exceeds the previous layer's by at least ``margin`` (an int >= 1); the first and
    last layers (full precision) never are.
    """
    margin = check_int("margin", margin, lo=1)
    if isinstance(counts, pd.DataFrame):
        missing = {"layer", "components"} - set(counts.columns)
        if missing:
            raise ValueError(f"counts lacks column(s) {sorted(missing)}; needs 'layer' and 'components'")
        names, values = list(counts["layer"]), list(counts["components"])
    elif isinstance(counts, Mapping):
        names, values = list(counts), list(counts.values())
    else:
        raise TypeError(f"counts must be a pandas DataFrame or a mapping layer -> count, got {type(counts).__name__}")
    if not names:
        raise ValueError("counts is empty; needs at least one layer")
    if len(set(names)) != len(names):
        raise ValueError(f"counts names a layer twice: {names}")
    values = [check_int(f"counts[{name!r}]", v, lo=0) for name, v in zip(names, values)]
    return [names[i] for i in range(1, len(names) - 1) if values[i] - values[i - 1] >= margin]
