"""Resolve the inputs of a study: BNN model, MNIST subset and accelerator presets.

Accepts names (as typed on the command line) or ready objects (as passed from Python).
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path

from torch import nn

from accel import Accelerator, presets
from accel.config import AcceleratorConfig
from mapping import bnn
from mapping.networks.data import load_mnist
from photonics.validation import check_int

__all__ = ["load_model", "load_dataset", "load_accelerators", "accelerator_name", "provenance"]

MNIST_INPUT_SHAPE = (1, 1, 28, 28)


def load_model(model):
    """A torch BNN: ``model`` itself, a shipped checkpoint name, or a checkpoint file path."""
    if isinstance(model, nn.Module):
        return model.eval()
    if not isinstance(model, (str, PathLike)):
        raise TypeError(f"model must be a torch.nn.Module, a checkpoint name or a path, got {type(model).__name__}")
    path = Path(model)
    if path.suffix == ".bnn" or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"model {str(model)!r}: no such checkpoint file")
        return bnn.load(path).eval()
    return bnn.load_pretrained(str(model)).eval()


def load_dataset(dataset=None, images: int | None = None):
    """``(images, labels)`` tensors: ``dataset`` itself, or the MNIST test split; first ``images`` only."""
    if dataset is None:
        dataset = load_mnist("test")
    x, y = dataset
    if images is not None:
        check_int("images", images, lo=1, hi=len(x))
        x, y = x[:images], y[:images]
    return x.contiguous(), y.contiguous()


def accelerator_name(acc) -> str:
    """Display name of an ``Accelerator`` or ``AcceleratorConfig`` (its config ``name``)."""
    cfg = getattr(acc, "config", acc)
    return str(cfg.name)


def load_accelerators(accelerators) -> dict:
    """``{name: Accelerator}`` from one or several preset names, TOML paths, configs or Accelerators.

    A mapping keeps its own names. Names must be unique.
    """
    def build(item):
        if isinstance(item, Accelerator):
            return item
        if isinstance(item, AcceleratorConfig):
            return Accelerator(item)
        if isinstance(item, (str, PathLike)):
            return Accelerator(presets.load(item), source=item)
        raise TypeError(f"accelerator must be a preset name, a TOML path, an AcceleratorConfig or an Accelerator, "
                        f"got {type(item).__name__}")

    if isinstance(accelerators, dict):
        return {str(k): build(v) for k, v in accelerators.items()}
    items = [accelerators] if isinstance(accelerators, (str, PathLike, Accelerator, AcceleratorConfig)) else list(accelerators)
    if not items:
        raise ValueError("accelerators is empty; give at least one preset")
    out = {}
    for item in items:
        acc = build(item)
        name = accelerator_name(acc)
        if name in out:
            raise ValueError(f"preset {name!r} given twice; allowed: each preset once")
        out[name] = acc
    return out


def provenance(accs: dict) -> dict:
    """``{name: accel.presets.provenance(...)}`` of ``{name: Accelerator}``: path, base files, content hash
    and resolved configuration, for a study's report.json."""
    return {name: presets.provenance(acc.config, acc.source) for name, acc in accs.items()}
