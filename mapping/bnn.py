"""The BNN toolkit in one namespace (``from mapping import bnn``): binary layers
(:mod:`mapping.networks.layers`), folding and export (:mod:`mapping.networks.folding`; k-bit
layers: :mod:`mapping.networks.quant_folding`) and checkpoint I/O (:mod:`mapping.networks.checkpoints`).
"""
from mapping.networks.checkpoints import load, load_pretrained, save
from mapping.networks.folding import BinaryLayerSpec, FoldedBNN, export_binary, fold_threshold
from mapping.networks.layers import (
    BNN,
    BinaryConv2d,
    BinaryLinear,
    ExactBatchNorm1d,
    ExactBatchNorm2d,
    Sign,
    electronic,
    sign_ste,
)
from mapping.networks.quant_folding import QuantLayerSpec

__all__ = [
    "sign_ste",
    "Sign",
    "BinaryConv2d",
    "BinaryLinear",
    "ExactBatchNorm1d",
    "ExactBatchNorm2d",
    "electronic",
    "BNN",
    "BinaryLayerSpec",
    "QuantLayerSpec",
    "FoldedBNN",
    "fold_threshold",
    "export_binary",
    "save",
    "load",
    "load_pretrained",
]
