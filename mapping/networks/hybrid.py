"""Conditionally deep hybrid networks (Long, Chakraborty, Roy 2020, arXiv 2005.10851).

A :class:`HybridBNN` has an edge trunk, a chain of foldable segments (``nn.Sequential``: an
electronic full-precision first layer or a leading :class:`Sign`, binary layers, a Sign at the
segment's end, so its output is ±1), one exit head after each segment (small full-precision
layers run by the edge electronics) and a full-precision cloud part that takes the last
segment's output, the activation at the cut. ``forward`` returns the logits of every exit, the
edge exits in trunk order and the cloud exit last.

Exit rule (BranchyNet, Teerapittayanon et al. 2016): a sample leaves at the first edge exit whose
softmax entropy (nats, unnormalised, so in [0, ln C] for C classes) is strictly below a
threshold shared by all edge exits, otherwise at the cloud exit (:func:`exit_index`).
Training minimises ``Σ_i w_i · CE(exit i)`` (:func:`joint_loss`; the paper weights exits by
0.3–0.6).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mapping.networks.data import check_dataset
from mapping.networks.folding import FoldedBNN, export_binary
from mapping.networks.layers import Sign, check_input
from photonics.validation import check_int

__all__ = ["HybridBNN", "entropy_nats", "exit_index", "exit_predictions", "joint_loss", "evaluate_exits", "fold_edge",
           "check_threshold", "leading_sign_dropped"]


class HybridBNN(nn.Module):
    """Edge segments, one exit head per segment, and the cloud part (module docstring).

    ``arch``/``hparams``/``input_shape``/``metadata`` as for :class:`mapping.networks.layers.BNN`;
    ``exit_names``: ``edge1``, ``edge2``, ... then ``cloud``.
    """

    def __init__(self, segments: Sequence[nn.Sequential], heads: Sequence[nn.Module], cloud: nn.Module, *,
                 arch: str, hparams: dict, input_shape: tuple):
        super().__init__()
        if not 1 <= len(segments) == len(heads):
            raise ValueError(f"a hybrid network needs one exit head per edge segment and at least one segment, "
                             f"got {len(segments)} segments and {len(heads)} heads")
        for i, seg in enumerate(segments):
            if not isinstance(seg, nn.Sequential) or not len(seg):
                raise TypeError(f"edge segment {i} must be a non-empty nn.Sequential (foldable), got {type(seg).__name__}")
        self.segments = nn.ModuleList(segments)
        self.heads = nn.ModuleList(heads)
        self.cloud = cloud
        self.arch = arch
        self.hparams = dict(hparams)
        self.input_shape = tuple(input_shape)
        self.metadata: dict = {}

    @property
    def exit_names(self) -> tuple[str, ...]:
        return tuple(f"edge{i + 1}" for i in range(len(self.segments))) + ("cloud",)

    def edge(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The ±1 output of every edge segment (the last is the activation at the cut)."""
        check_input(x, self.input_shape)
        outs = []
        for seg in self.segments:
            x = seg(x)
            outs.append(x)
        return outs

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        cuts = self.edge(x)
        return tuple(head(h) for head, h in zip(self.heads, cuts)) + (self.cloud(cuts[-1]),)


def check_threshold(threshold) -> float:
    """An entropy threshold in nats: a finite real number >= 0 (ValueError/TypeError naming ``threshold``)."""
    try:
        if isinstance(threshold, (bool, str, bytes)):
            raise TypeError
        value = float(threshold)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"threshold must be a real number (nats), got {type(threshold).__name__} {threshold!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"threshold={value!r} is out of range; allowed: a finite entropy in nats >= 0")
    return value


def _check_logits(logits_per_exit) -> list[torch.Tensor]:
    if isinstance(logits_per_exit, torch.Tensor) or not isinstance(logits_per_exit, (list, tuple)) or not logits_per_exit:
        raise TypeError("logits_per_exit must be a non-empty list or tuple of (B, C) logit tensors, one per exit, the "
                        f"cloud exit last; got {type(logits_per_exit).__name__}")
    shape = None
    for i, t in enumerate(logits_per_exit):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() != 2:
            raise TypeError(f"logits_per_exit[{i}] must be a floating-point (B, C) tensor, got "
                            f"{type(t).__name__}{tuple(t.shape) if isinstance(t, torch.Tensor) else ''}")
        if bool(torch.isnan(t).any()):
            raise ValueError(f"logits_per_exit[{i}] holds NaN; allowed: logits without NaN")
        if shape is not None and tuple(t.shape) != shape:
            raise ValueError(f"logits_per_exit[{i}] has shape {tuple(t.shape)}; every exit must have shape {shape}")
        shape = tuple(t.shape)
    return list(logits_per_exit)


def entropy_nats(logits: torch.Tensor) -> torch.Tensor:
    """Softmax entropy ``−Σ p ln p`` (nats, float64) of every row of (B, C) logits."""
    logp = F.log_softmax(logits.double(), dim=-1)
    p = logp.exp()
    return -torch.where(p > 0, p * logp, 0.0).sum(-1)  # 0 · ln 0 = 0


def exit_index(logits_per_exit, threshold) -> torch.Tensor:
    """Exit taken by each sample (int64, (B,)): the first edge exit ``i`` (all entries but the last)
    with ``entropy_nats(logits_per_exit[i]) < threshold``, else the cloud exit ``len - 1``.

    Threshold 0 sends every sample to the cloud (an entropy is never negative); a threshold above
    ``ln C`` sends every sample to the first exit.
    """
    logits = _check_logits(logits_per_exit)
    threshold = check_threshold(threshold)
    n = len(logits)
    index = torch.full((logits[0].shape[0],), n - 1, dtype=torch.int64)
    for i in reversed(range(n - 1)):
        index = torch.where(entropy_nats(logits[i]) < threshold, i, index)
    return index


def exit_predictions(logits_per_exit, index: torch.Tensor) -> torch.Tensor:
    """Class predicted at each sample's exit ``index`` (from :func:`exit_index`)."""
    logits = _check_logits(logits_per_exit)
    if not isinstance(index, torch.Tensor) or index.dtype != torch.int64 or tuple(index.shape) != (logits[0].shape[0],):
        raise TypeError(f"index must be an int64 tensor of shape ({logits[0].shape[0]},)")
    if len(index) and (int(index.min()) < 0 or int(index.max()) >= len(logits)):
        bad = int(index[(index < 0) | (index >= len(logits))][0])
        raise ValueError(f"index holds exit {bad}, out of range; allowed: 0..{len(logits) - 1}")
    preds = torch.stack([t.argmax(1) for t in logits], dim=1)
    return preds.gather(1, index.view(-1, 1)).flatten()


def joint_loss(weights: Sequence[float]) -> Callable:
    """Loss ``Σ_i weights[i] · cross_entropy(logits_i, labels)`` over the exits (cloud last)."""
    weights = [float(w) for w in weights]
    if not weights or any(not math.isfinite(w) or w < 0 for w in weights) or not any(weights):
        raise ValueError(f"weights={weights} are out of range; allowed: one finite weight >= 0 per exit, not all 0")

    def loss(outputs, labels):
        if len(outputs) != len(weights):
            raise ValueError(f"the model has {len(outputs)} exits but {len(weights)} loss weights were given")
        return sum(w * F.cross_entropy(out, labels) for w, out in zip(weights, outputs))

    return loss


def _logits(model: HybridBNN, images: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [model(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return [torch.cat(p) for p in zip(*parts)]


def evaluate_exits(model: HybridBNN, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 250) -> dict[str, float]:
    """Eval-mode accuracy of every exit (``{exit name: fraction correct}``)."""
    batch_size = check_int("batch_size", batch_size, lo=1)
    images, labels = check_dataset(images, labels, image_shape=model.input_shape)
    return {name: float((out.argmax(1) == labels).double().mean())
            for name, out in zip(model.exit_names, _logits(model, images, batch_size))}


def fold_edge(model: HybridBNN, probe: torch.Tensor | None = None) -> list[FoldedBNN]:
    """Fold every edge segment (``export_binary``, which checks the folded segment's signs equal
    the model's); segment ``i`` is probed with the model's segment ``i - 1`` outputs of ``probe``
    (default: 64 seeded uniform [0, 1] images)."""
    if not isinstance(model, HybridBNN):
        raise TypeError(f"model must be a HybridBNN, got {type(model).__name__}")
    if probe is None:
        probe = torch.rand((64,) + model.input_shape, generator=torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            cuts = model.edge(probe)
    finally:
        model.train(was_training)
    folded, x = [], probe
    for seg, out in zip(model.segments, cuts):
        f = export_binary(seg, probe=x, input_shape=tuple(x.shape[1:]))
        if not torch.equal(f(x), out):
            raise RuntimeError(f"folded edge segment {len(folded)} does not reproduce the model's activation")
        folded.append(f)
        x = out
    return folded


def leading_sign_dropped(segment: nn.Sequential) -> nn.Sequential:
    """``segment`` without a leading :class:`Sign` (the identity on the ±1 activation it receives)."""
    return segment[1:] if isinstance(segment[0], Sign) else segment
