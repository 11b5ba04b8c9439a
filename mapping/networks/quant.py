"""k-bit layers for the ±1 XNOR engine: activation and weight quantisers (LSQ, DoReFa) and the
bit-plane decomposition that runs them as binary passes.

Integer representation (both quantisers use it, so the hardware needs one scheme):

* activations are unsigned codes ``q_a ∈ {0, …, 2^k_a − 1}`` (:class:`ActQuant` outputs the
  codes themselves; the step ``s_a`` only sets where the input is cut, and the BatchNorm after
  the next layer absorbs the overall scale, so the loss as a function of ``s_a`` is the same as
  with the values ``q_a·s_a``). Bit-planes ``b_i ∈ {0, 1}``, ``q_a = Σ_i 2^i b_i``;
* weights are odd codes ``q_w ∈ {−(2^k_w − 1), …, −1, 1, …, 2^k_w − 1}`` (a uniform symmetric
  quantiser without zero) times a step ``s_w``. Bit-planes ``w_j ∈ {−1, +1}``,
  ``q_w = Σ_j 2^j w_j``; one plane (``k_w = 1``) is the binary layer's ±1 weight.

On the engine the activation rings take ``x_i = 2 b_i − 1 ∈ {−1, +1}`` and one pass returns
``s_ij = Σ_k x_ik w_jk``. Since ``b = (x + 1)/2``, the unsigned product of the planes is
``Σ_k b_ik w_jk = (s_ij + W_j)/2`` with ``W_j = Σ_k w_jk`` (the Σw correction: one constant per
output channel and weight plane, known when the weights are loaded). The digital back end
shift-and-adds the ``k_a·k_w`` passes::

    A = Σ_i Σ_j 2^(i+j) (s_ij + W_j) / 2 = Σ_k q_a,k · q_w,k      (exact integer)

and the layer's output is ``A · s_w`` (one float multiply, :meth:`scale_integer`), so what
follows (BatchNorm and the next Sign or :class:`ActQuant`) is a monotone function of ``A``
alone and folds into integer thresholds exactly. Convolutions pad with code 0: every bit-plane
of a padded input is 0, i.e. ``x = −1`` on the ring (the binary layers' pad value), and adds 0
to ``A``.

Quantisers: ``method="lsq"`` (Esser et al., ICLR 2020: learned step, gradient scale
``1/sqrt(n·Q)``, step initialised to ``2·mean|v|/sqrt(Q)`` on the first training batch) or
``"dorefa"`` (Zhou et al. 2016: activations ``round(clamp(x, 0, 1)·Q)``; weights
``tanh``-normalised to [0, 1] and quantised, which lands exactly on the odd codes with
``s_w = 1/Q``). Rounding passes the gradient straight through.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from photonics.validation import check_int

__all__ = [
    "METHODS", "MAX_BITS", "ActQuant", "QuantConv2d", "QuantLinear", "activation_planes", "weight_planes",
    "plane_sum", "integer_range",
]

METHODS = ("lsq", "dorefa")
#: Largest bit width of a code (the folded thresholds and int8 activation caches assume it).
MAX_BITS = 7


def _check_bits(name: str, bits) -> int:
    return check_int(name, bits, lo=1, hi=MAX_BITS)


def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not a quantiser; allowed: {', '.join(METHODS)}")
    return method


def _round_pass(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity gradient."""
    return (x.round() - x).detach() + x


def _grad_scale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """x forward, gradient times ``scale``."""
    y = x * scale
    return (x - y).detach() + y


class ActQuant(nn.Module):
    """Unsigned k-bit activation quantiser; outputs the codes ``0 … 2^bits − 1`` (float tensor)."""

    def __init__(self, bits: int, method: str = "lsq"):
        super().__init__()
        self.bits = _check_bits("bits", bits)
        self.method = _check_method(method)
        self.levels = 2**self.bits - 1
        self.step = nn.Parameter(torch.ones(())) if method == "lsq" else None
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.levels
        if self.method == "dorefa":
            return _round_pass(torch.clamp(x, 0.0, 1.0) * q)
        if self.training and not bool(self.initialized):
            with torch.no_grad():
                self.step.copy_((2 * x.abs().mean() / q**0.5).clamp_min(1e-4))
                self.initialized.fill_(True)
        step = _grad_scale(self.step, 1.0 / (x[0].numel() * q) ** 0.5)
        return torch.clamp(_round_pass(x / step), 0.0, float(q))

    def extra_repr(self) -> str:
        return f"bits={self.bits}, method={self.method!r}"


class _QuantWeights:
    """Weight quantisation shared by :class:`QuantConv2d` and :class:`QuantLinear`."""

    quantized = True
    binary = False

    def _init_quant(self, weight_bits: int, act_bits: int, method: str) -> None:
        self.weight_bits = _check_bits("weight_bits", weight_bits)
        self.act_bits = _check_bits("act_bits", act_bits)
        self.method = _check_method(method)
        self.weight_levels = 2**self.weight_bits - 1
        if method == "lsq":
            q = self.weight_levels
            self.weight_step = nn.Parameter((2 * self.weight.detach().abs().mean() / q**0.5).clamp_min(1e-4))
        else:
            self.weight_step = None

    def weight_codes(self) -> torch.Tensor:
        """Odd integer codes of the weights (float tensor, gradient straight through)."""
        q = self.weight_levels
        if self.method == "dorefa":
            t = torch.tanh(self.weight)
            t = t / (2 * t.abs().max().detach().clamp_min(1e-12)) + 0.5
            return 2 * _round_pass(t * q) - q
        step = _grad_scale(self.weight_step, 1.0 / (self.weight.numel() * q) ** 0.5)
        odd = 2 * _round_pass((self.weight / step - 1) / 2) + 1
        return torch.clamp(odd, -float(q), float(q))

    def scale(self) -> torch.Tensor:
        """The weight step ``s_w`` (``1/(2^k_w − 1)`` for DoReFa)."""
        if self.method == "dorefa":
            return torch.tensor(1.0 / self.weight_levels)
        return self.weight_step

    def scale_integer(self, a: torch.Tensor) -> torch.Tensor:
        """The layer output ``A · s_w`` for integer accumulations ``A`` (float32)."""
        return a * self.scale().to(a.dtype)

    def integer_weights(self) -> torch.Tensor:
        """Odd codes as int64 (weight shape), for export."""
        with torch.no_grad():
            return self.weight_codes().round().to(torch.int64)


class QuantConv2d(_QuantWeights, nn.Conv2d):
    """Conv2d on k_a-bit activation codes with k_w-bit odd weight codes; pads with code 0; no bias.

    Input: codes from an :class:`ActQuant` of ``act_bits`` bits. Output ``A·s_w`` (module docstring).
    """

    pad_value = 0.0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, *,
                 weight_bits: int = 2, act_bits: int = 2, method: str = "lsq"):
        if isinstance(padding, str):
            raise TypeError(f"padding must be an int or pair of ints, got {padding!r}")
        for name, v in (("stride", stride), ("padding", padding)):
            for item in _pair(v):
                check_int(name, item, lo=1 if name == "stride" else 0)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self._init_quant(weight_bits, act_bits, method)

    def integer_forward(self, codes: torch.Tensor, weight_codes: torch.Tensor) -> torch.Tensor:
        ph, pw = self.padding
        if ph or pw:
            codes = F.pad(codes, (pw, pw, ph, ph), value=self.pad_value)
        return F.conv2d(codes, weight_codes, None, self.stride)

    def forward(self, x):
        return self.scale_integer(self.integer_forward(x, self.weight_codes()))


class QuantLinear(_QuantWeights, nn.Linear):
    """Linear layer on k_a-bit activation codes with k_w-bit odd weight codes; no bias."""

    def __init__(self, in_features: int, out_features: int, *, weight_bits: int = 2, act_bits: int = 2,
                 method: str = "lsq"):
        super().__init__(in_features, out_features, bias=False)
        self._init_quant(weight_bits, act_bits, method)

    def integer_forward(self, codes: torch.Tensor, weight_codes: torch.Tensor) -> torch.Tensor:
        return F.linear(codes, weight_codes)

    def forward(self, x):
        return self.scale_integer(self.integer_forward(x, self.weight_codes()))


# ------------------------------------------------------------------------------ bit-planes
def activation_planes(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """±1 ring inputs ``x_i = 2 b_i − 1`` of the bit-planes of unsigned codes: shape (bits, *codes.shape),
    plane i the bit of weight 2^i. Codes must be integers in [0, 2^bits − 1]."""
    bits = _check_bits("bits", bits)
    c = codes.to(torch.int64)
    if not torch.equal(c.to(codes.dtype), codes) or int(c.min()) < 0 or int(c.max()) > 2**bits - 1:
        raise ValueError(f"codes must be integers in [0, {2**bits - 1}] for bits={bits}, got values in "
                         f"[{float(codes.min())}, {float(codes.max())}]")
    planes = torch.stack([(c >> i) & 1 for i in range(bits)])
    return (2 * planes - 1).to(torch.float32)


def weight_planes(weight_codes: torch.Tensor, bits: int) -> torch.Tensor:
    """±1 bit-planes ``w_j`` of odd codes ``q_w = Σ_j 2^j w_j``: shape (bits, *weight_codes.shape).

    With ``u = (q_w + 2^bits − 1)/2 ∈ [0, 2^bits − 1]``, ``w_j = 2·bit_j(u) − 1``."""
    bits = _check_bits("bits", bits)
    q = weight_codes.to(torch.int64)
    top = 2**bits - 1
    if not torch.equal(q.to(weight_codes.dtype), weight_codes) or bool(((q % 2) == 0).any()) or int(q.abs().max()) > top:
        raise ValueError(f"weight_codes must be odd integers in [-{top}, {top}] for bits={bits}")
    u = (q + top) // 2
    return (2 * torch.stack([(u >> j) & 1 for j in range(bits)]) - 1).to(torch.float32)


def plane_sum(plane_sums, plane_weight_sums: torch.Tensor, act_bits: int, weight_bits: int) -> torch.Tensor:
    """Shift-and-add of the passes: ``A = Σ_ij 2^(i+j) (s_ij + W_j)/2``.

    ``plane_sums[i][j]``: the ±1 sums of activation plane i with weight plane j (any shape, the
    output channel on dim 1); ``plane_weight_sums`` (weight_bits, O): ``W_j`` per output channel.
    """
    total = None
    for i in range(act_bits):
        for j in range(weight_bits):
            s = plane_sums[i][j]
            w = plane_weight_sums[j].to(s.dtype).view((1, -1) + (1,) * (s.dim() - 2))
            term = (s + w) * float(2 ** (i + j - 1))
            total = term if total is None else total + term
    return total


def integer_range(k: int, act_bits: int, weight_bits: int) -> tuple[int, int]:
    """Smallest and largest reachable ``A`` of a dot product of length ``k``."""
    top = k * (2**act_bits - 1) * (2**weight_bits - 1)
    return -top, top
