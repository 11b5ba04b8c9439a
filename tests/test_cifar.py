"""mapping.networks.data.load_cifar10 on a tiny fake ``cifar-10-batches-py`` folder written in
the python batches' format: shapes, dtypes, pixel layout, split order and the errors."""
import os
import pickle

import numpy as np
import pytest
import torch

from mapping.networks.data import CIFAR10_DIR, cifar10_label_names, load_cifar10

PER_BATCH = 6
# batches.meta of the real data set (Krizhevsky 2009).
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
BATCH_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _dump(path, obj, protocol=2):
    """Pickle ``obj`` at protocol 2, the one the published batches use."""
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)


@pytest.fixture
def cifar(tmp_path):
    """A fake folder: six batch files of PER_BATCH random images each, plus batches.meta; returns
    (parent folder, {file name: (data, labels)})."""
    folder = tmp_path / CIFAR10_DIR
    folder.mkdir()
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    batches = {}
    for name in BATCH_FILES:
        data = rng.integers(0, 256, size=(PER_BATCH, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=PER_BATCH)]
        _dump(folder / name, {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                              b"filenames": [f"img_{i}.png".encode() for i in range(PER_BATCH)]})
        batches[name] = (data, labels)
    _dump(folder / "batches.meta", {b"num_cases_per_batch": PER_BATCH, b"label_names": [n.encode() for n in LABEL_NAMES],
                                    b"num_vis": 3072})
    return tmp_path, batches


def _expected(rows: np.ndarray) -> np.ndarray:
    """Images (B, 3, 32, 32) from rows of 3072 bytes, pixel (c, y, x) = byte c*1024 + y*32 + x, / 255."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(32), np.arange(32), indexing="ij")
    return rows[:, c * 1024 + y * 32 + x].astype(np.float64) / 255.0


def test_test_split_shapes_dtypes_pixels_and_labels(cifar):
    parent, batches = cifar
    images, labels = load_cifar10(parent / CIFAR10_DIR, "test")
    data, expected_labels = batches["test_batch"]
    assert images.shape == (PER_BATCH, 3, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (PER_BATCH,) and labels.dtype == torch.int64
    np.testing.assert_allclose(images.numpy(), _expected(data), rtol=1e-6, atol=0)
    assert labels.tolist() == expected_labels
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_train_split_concatenates_the_five_batches_in_order(cifar):
    parent, batches = cifar
    images, labels = load_cifar10(parent, "train")  # the parent folder works too
    names = [f"data_batch_{i}" for i in range(1, 6)]
    assert images.shape == (5 * PER_BATCH, 3, 32, 32)
    np.testing.assert_allclose(images.numpy(), _expected(np.concatenate([batches[n][0] for n in names])), rtol=1e-6, atol=0)
    assert labels.tolist() == [v for n in names for v in batches[n][1]]


def test_default_split_is_test_and_limit_takes_the_first_images(cifar):
    parent, batches = cifar
    images, labels = load_cifar10(parent)
    assert labels.tolist() == batches["test_batch"][1]
    first, first_labels = load_cifar10(parent, "train", limit=PER_BATCH + 2)
    assert first.shape[0] == PER_BATCH + 2
    np.testing.assert_allclose(first[PER_BATCH:].numpy(), _expected(batches["data_batch_2"][0][:2]), rtol=1e-6, atol=0)
    assert first_labels.tolist() == batches["data_batch_1"][1] + batches["data_batch_2"][1][:2]


def test_limit_reads_only_the_batches_it_needs(cifar):
    parent, _ = cifar
    (parent / CIFAR10_DIR / "data_batch_3").write_bytes(b"not a pickle")
    assert load_cifar10(parent, "train", limit=2 * PER_BATCH)[0].shape[0] == 2 * PER_BATCH


def test_a_batch_pickled_at_the_highest_protocol_loads(cifar):
    parent, batches = cifar
    data, labels = batches["test_batch"]
    _dump(parent / CIFAR10_DIR / "test_batch", {b"data": data, b"labels": np.array(labels)}, pickle.HIGHEST_PROTOCOL)
    images, loaded = load_cifar10(parent)
    np.testing.assert_allclose(images.numpy(), _expected(data), rtol=1e-6, atol=0)
    assert loaded.tolist() == labels


def test_label_names_come_from_batches_meta(cifar):
    assert cifar10_label_names(cifar[0]) == LABEL_NAMES


def test_missing_folder_and_files_are_named(tmp_path, cifar, rejected):
    with rejected(FileNotFoundError, "nowhere", CIFAR10_DIR, "test_batch"):
        load_cifar10(tmp_path / "nowhere")
    parent, _ = cifar
    os.remove(parent / CIFAR10_DIR / "test_batch")
    with rejected(FileNotFoundError, "missing file 'test_batch'", "data_batch_1", "batches.meta"):
        load_cifar10(parent, "test")


@pytest.mark.parametrize("batch,words", [
    ({b"data": np.zeros((PER_BATCH, 3000), np.uint8), b"labels": [0] * PER_BATCH}, ("b'data'", "(n, 3072)", "(6, 3000)")),
    ({b"data": np.zeros((PER_BATCH, 3072), np.float32), b"labels": [0] * PER_BATCH}, ("b'data'", "uint8", "float32")),
    ({b"data": np.zeros((PER_BATCH, 3072), np.uint8), b"labels": [0] * 5}, ("b'labels'", "6 integers", "(5,)")),
    ({b"data": np.zeros((PER_BATCH, 3072), np.uint8), b"labels": [0, 1, 2, 10, 4, 5]}, ("labels", "10", "index 3", "0..9")),
    ({"data": np.zeros((PER_BATCH, 3072), np.uint8), "labels": [0] * PER_BATCH}, ("keys b'data' and b'labels'", "'data'")),
])
def test_malformed_batches_are_refused(cifar, rejected, batch, words):
    parent, _ = cifar
    _dump(parent / CIFAR10_DIR / "test_batch", batch)
    with rejected(ValueError, "test_batch", *words):
        load_cifar10(parent, "test")


def test_a_file_naming_other_globals_is_refused_unrun(cifar, rejected):
    parent, _ = cifar
    _dump(parent / CIFAR10_DIR / "test_batch", {b"data": os.getcwd, b"labels": []})
    with rejected(ValueError, "test_batch", "not allowed", "getcwd"):
        load_cifar10(parent, "test")


def test_bad_arguments_are_named(cifar, rejected):
    parent, _ = cifar
    with rejected(ValueError, "split='val'", "'train', 'test'"):
        load_cifar10(parent, "val")
    with rejected(ValueError, "limit=0", ">= 1"):
        load_cifar10(parent, limit=0)
    with rejected(TypeError, "path", "int"):
        load_cifar10(3)
