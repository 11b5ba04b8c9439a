"""Dense ADC readouts: the fused Numba kernel against a plain torch baseline on LightBulb's conv2.

Shape: mnist-cnn conv2 on LightBulb (N = 16 cells per chunk, 18 chunks, 64 outputs, 14x14
positions), every readout on the dense path with receiver noise σ = 0.142 and a crosstalk
offset of 0.045 per cell (the preset's nominal values). Baseline: im2col, one batched matmul,
a Gaussian draw for every readout (``torch.randn``), quantise, sum over chunks - what the
simulator did before ``mapping.functional.readout_noise``. Both give the same noiseless sums; with noise
both sample the same distribution (tests/test_readout_noise.py).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import ndtr

from bench import best_of
from mapping.functional import readout_noise

IMAGES = 500
CIN, H, W, KH, KW = 32, 14, 14, 3, 3
N, OUTS = 16, 64
SIGMA = 0.142
BETA = 0.045


def _case():
    rng = np.random.default_rng(0)
    a = np.where(rng.random((IMAGES, CIN, H + 2, W + 2)) < 0.5, -1.0, 1.0).astype(np.float32)
    k_total = CIN * KH * KW
    chunks = -(-k_total // N)
    w = np.zeros((chunks * N, OUTS), dtype=np.float32)
    w[:k_total] = np.where(rng.random((k_total, OUTS)) < 0.5, -1.0, 1.0) + BETA
    return a, w.reshape(1, chunks, N, OUTS), k_total, chunks


def _torch_baseline(a, weight, k_total, chunks, generator, sigma=SIGMA):
    cols = F.unfold(torch.from_numpy(a), (KH, KW))  # (B, K, L)
    cols = F.pad(cols, (0, 0, 0, chunks * N - k_total))
    b, _, l = cols.shape
    x = cols.reshape(b, chunks, N, l).permute(1, 0, 3, 2).reshape(chunks, b * l, N)
    r = torch.bmm(x, torch.from_numpy(weight[0]))
    if sigma:
        r.add_(torch.randn(r.shape, generator=generator).mul_(sigma))
    lengths = torch.full((chunks, 1, 1), float(N))
    lengths[-1] = k_total - N * (chunks - 1)
    codes = r.add_(lengths).div_(2.0).round_().clamp_(0, 31).sum(0)
    return codes.mul_(2.0).sub_(float(k_total)).view(b, l, OUTS).transpose(1, 2)


def main() -> None:
    a, weight, k_total, chunks = _case()
    k = np.arange(chunks * N)
    offsets = np.where(k < k_total, ((k // (KH * KW)) * (H + 2) + (k // KW) % KH) * (W + 2) + k % KW, -1)
    pos = np.arange(H * W)
    base = (pos // W) * (W + 2) + pos % W
    lengths = np.full(chunks, N)
    lengths[-1] = k_total - N * (chunks - 1)
    bias = np.zeros((1, chunks, OUTS), dtype=np.float32)
    sigma = np.full(chunks, SIGMA)
    p_max = 2 * ndtr(-(1 - N * BETA) / SIGMA)  # margin = 1 - Σ|w_dev| per pair

    def kernel(s):
        return readout_noise.adc_digital_sums(a, offsets, base, weight, bias, lengths, s, p_max, 2.0, 32, k_total, key=1)

    kernel(sigma)  # compile / load the cache
    readouts = IMAGES * H * W * chunks * OUTS
    same = np.array_equal(kernel(np.zeros(chunks)), _torch_baseline(a, weight, k_total, chunks, None, sigma=0.0).numpy())
    gen = torch.Generator().manual_seed(0)
    base_s = best_of(lambda: _torch_baseline(a, weight, k_total, chunks, gen), 3)
    kern_s = best_of(lambda: kernel(sigma), 3)
    print(f"dense ADC readouts, LightBulb conv2 shape, {IMAGES} images = {readouts / 1e6:.0f} M readouts "
          f"(noise candidates p_max = {p_max:.3f}); torch threads {torch.get_num_threads()}")
    print(f"  torch baseline (matmul + randn per readout): {base_s:.2f} s = {base_s / readouts * 1e9:.2f} ns/readout")
    print(f"  readout_noise kernel:                        {kern_s:.2f} s = {kern_s / readouts * 1e9:.2f} ns/readout")
    print(f"  speed-up: {base_s / kern_s:.1f}x; noiseless sums identical to the baseline: {same}")


if __name__ == "__main__":
    main()
