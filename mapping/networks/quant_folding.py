"""Folding of multi-level optical layers: a binary or k-bit layer whose output is a k-bit code
(:class:`mapping.networks.quant.ActQuant`) or whose operands are k-bit codes.

The integer sum of such a layer is ``s = Σ a·w`` (±1 input, ±1 weights: a binary layer
followed by an ActQuant) or ``A = Σ q_a·q_w`` (:class:`QuantConv2d`/:class:`QuantLinear`,
:mod:`mapping.networks.quant`). Everything after it up to the next activation (the layer's
``scale_integer``, the optional BatchNorm, then Sign or ActQuant) is a monotone function of
that integer, so the output code is the number of integer thresholds it passes
(:func:`fold_levels`, which evaluates the model's own float ops on every reachable integer).

Σw correction: the hardware returns per pass ``s_ij = Σ x_i·w_j`` (``x_i = 2 b_i − 1``); the
back end forms ``A = Σ_ij 2^(i+j−1)(s_ij + W_j)`` with ``W_j = Σ_k w_jk`` per output channel
and weight plane (as :func:`mapping.networks.quant.plane_sum`; :meth:`QuantLayerSpec.pass_term`
adds one pass at a time), i.e. the shift-add of the passes plus one constant per output
channel, ``Σ_ij 2^(i+j−1) W_j``, loaded with the weights. The thresholds of
:class:`QuantLayerSpec` apply to ``A`` itself (the constant is not folded into them), so the
folded thresholds, the ideal sums and the hardware's accumulations all speak of the same ``A``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import torch

from mapping.networks.layers import layer_dot
from mapping.networks.quant import activation_planes, weight_planes

__all__ = ["QuantLayerSpec", "fold_levels", "count_passed"]

#: Largest |integer sum| folded: float32 (the model's own arithmetic) is exact up to here.
MAX_EXACT_SUM = 2**24
#: Float elements evaluated per block of levels (bounds memory; fixed so results do not depend on RAM).
_BLOCK_ELEMENTS = 2**22


def count_passed(s: torch.Tensor, threshold: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Number of thresholds passed per element of ``s`` (B, O, ...): ``Σ_t [s >= T_t]`` or, for
    flipped channels, ``Σ_t [s <= T_t]``. ``threshold`` (O,) or (O, L); returns int64."""
    t = threshold if threshold.dim() == 2 else threshold[:, None]
    shape = (1, -1) + (1,) * (s.dim() - 2)
    total = torch.zeros(s.shape, dtype=torch.int64)
    for level in range(t.shape[1]):
        tl = t[:, level].to(s.dtype).view(shape)
        total += torch.where(flip.view(shape), s <= tl, s >= tl)
    return total


def fold_levels(lo: int, hi: int, step: int, evaluate: Callable[[torch.Tensor], torch.Tensor], channels: int,
                top: int, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer thresholds (channels, top) and flip (channels,) of a monotone map from integer sums to codes.

    ``evaluate(levels)`` maps float32 levels (n,) to int64 codes (n, channels) in 0..top; the sums
    are ``lo, lo + step, …, hi``, evaluated in blocks. Each channel's codes must be monotone in
    the sum (RuntimeError naming ``name`` otherwise). Non-decreasing channels (flip False) give
    ``code = Σ_t [s >= T_t]``, non-increasing ones ``Σ_t [s <= T_t]``; with ``step = 2`` a
    threshold sits midway between two reachable sums, as
    :func:`mapping.networks.folding.fold_threshold` places them.
    """
    if max(abs(lo), abs(hi)) > MAX_EXACT_SUM:
        raise ValueError(f"layer '{name}': integer sums reach {max(abs(lo), abs(hi))}, beyond {MAX_EXACT_SUM} where "
                         "float32 (the model's arithmetic) is exact; allowed: fewer bits or a shorter dot product")
    n = (hi - lo) // step + 1
    block = max(1, _BLOCK_ELEMENTS // channels)
    counts = torch.zeros(channels * (top + 1), dtype=torch.int64)
    up = torch.ones(channels, dtype=torch.bool)
    down = torch.ones(channels, dtype=torch.bool)
    channel = torch.arange(channels).view(1, -1)
    last = torch.zeros(0, channels, dtype=torch.int64)
    for start in range(0, n, block):
        levels = lo + step * torch.arange(start, min(n, start + block), dtype=torch.float64)
        codes = evaluate(levels.to(torch.float32))
        if int(codes.min()) < 0 or int(codes.max()) > top:
            raise RuntimeError(f"layer '{name}': output codes outside 0..{top}")
        seq = torch.cat([last, codes])
        up &= torch.all(seq[1:] >= seq[:-1], dim=0)
        down &= torch.all(seq[1:] <= seq[:-1], dim=0)
        last = codes[-1:]
        counts += torch.bincount((codes + (top + 1) * channel).flatten(), minlength=counts.numel())
    if not torch.all(up | down):
        raise RuntimeError(f"layer '{name}': the output is not monotone in the integer sum for channels "
                           f"{(~(up | down)).nonzero().flatten().tolist()}; cannot fold into thresholds")
    hist = counts.view(channels, top + 1)
    at_least = hist.flip(1).cumsum(1).flip(1)[:, 1:]  # levels with code >= t, t = 1..top
    threshold = torch.where(up[:, None], lo + step * (n - at_least) - (step - 1), lo + step * at_least - 1)
    return threshold.to(torch.int64), ~up


@dataclass(frozen=True, eq=False)
class QuantLayerSpec:
    """One folded optical layer with multi-bit operands or a multi-level output.

    ``weight_codes``: float odd integer codes in torch weight shape (±1 when ``weight_bits`` = 1);
    ``act_bits``: bits of the input codes, or None for ±1 input (a binary layer followed by an
    ActQuant); ``weight_scale``: ``s_w`` (the layer's float output is ``A·s_w``; 1.0 for a binary
    layer). ``threshold`` (int64) / ``flip`` (bool) per output channel: (O,) for a Sign output
    (+1 iff one threshold passed), (O, 2^out_bits − 1) for an ActQuant output with ``out_bits``
    (``out_bits`` None: Sign); the output code is :func:`count_passed`. Padding is ``pad_value``
    (code 0, or −1 for ±1 input); ``K`` the dot-product length; shapes per image.
    """

    name: str
    kind: str
    weight_codes: torch.Tensor
    weight_bits: int
    act_bits: int | None
    weight_scale: float
    threshold: torch.Tensor
    flip: torch.Tensor
    out_bits: int | None
    stride: tuple
    padding: tuple
    pad_value: float
    in_shape: tuple
    out_shape: tuple
    K: int

    @property
    def act_planes(self) -> int:
        """Activation bit-planes streamed per weight plane (1 for ±1 input)."""
        return 1 if self.act_bits is None else self.act_bits

    @property
    def passes(self) -> int:
        """±1 passes per dot product: ``act_planes · weight_bits``."""
        return self.act_planes * self.weight_bits

    @cached_property
    def weight_planes(self) -> torch.Tensor:
        """±1 weight planes (weight_bits, O, K) (:func:`mapping.networks.quant.weight_planes`)."""
        o = self.weight_codes.shape[0]
        return weight_planes(self.weight_codes, self.weight_bits).reshape(self.weight_bits, o, -1)

    @cached_property
    def plane_weight_sums(self) -> torch.Tensor:
        """``W_j = Σ_k w_jk`` (weight_bits, O), the Σw correction of each pass."""
        return self.weight_planes.sum(dim=2)

    def input_planes(self, h: torch.Tensor) -> torch.Tensor:
        """±1 ring inputs (act_planes, B, *in_shape) of the layer input ``h`` (±1 or codes)."""
        return h.unsqueeze(0) if self.act_bits is None else activation_planes(h, self.act_bits)

    def pass_term(self, i: int, j: int, s: torch.Tensor) -> torch.Tensor:
        """Back-end contribution of pass (activation plane i, weight plane j) with ±1 sums ``s``
        (B, O, ...): ``2^(i+j−1)·(s + W_j)`` (the shift-add with the Σw correction; module
        docstring), or ``s`` itself for ±1 input. Summed over all passes it is the integer sum."""
        if self.act_bits is None:
            return s
        w = self.plane_weight_sums[j].to(s.dtype).view((1, -1) + (1,) * (s.dim() - 2))
        return (s + w) * float(2 ** (i + j - 1))

    def ideal_sum(self, h: torch.Tensor) -> torch.Tensor:
        """Exact integer sums (float64) of input ``h`` (B, *in_shape): ±1 activations or codes."""
        return layer_dot(self, h.to(torch.float64), self.weight_codes.to(torch.float64))

    def activate(self, s: torch.Tensor) -> torch.Tensor:
        """Output activations (float32) of integer sums ``s``: ±1 (Sign) or codes (ActQuant)."""
        code = count_passed(s, self.threshold, self.flip)
        return (code if self.out_bits is not None else 2 * code - 1).to(torch.float32)
