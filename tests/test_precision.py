"""studies.precision: binary / mixed / full-precision versions of a network side by side."""
import pytest
import torch
from torch import nn

from accel import Accelerator, presets
from mapping.bnn import electronic, load_pretrained
from mapping.functional import simulate_accuracy
from mapping.networks.data import load_mnist
from mapping.performance.schedule import map_model
from studies import precision
from studies.report import precision_markdown

SHAPE = (1, 1, 28, 28)


@pytest.fixture(scope="module")
def data():
    x, y = load_mnist("test")
    return x[:64], y[:64]


@pytest.fixture(scope="module")
def full_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), electronic(nn.Linear(28 * 28, 10))).eval()


def test_precision_of_names_each_kind(full_model):
    assert precision.precision_of(load_pretrained("mnist-mlp"), SHAPE) == ("binary", [])
    assert precision.precision_of(full_model, SHAPE) == ("full", [])


def test_compare_rows_equal_the_simulator_and_the_scheduler(data, full_model):
    acc = Accelerator(presets.load("robin-eo"))
    binary = load_pretrained("mnist-mlp")
    df = precision.compare({"bin": binary, "fp": full_model}, {"robin-eo": acc}, data, chips=2, seed=3)
    assert list(df.columns) == precision.COLUMNS and len(df) == 2
    b, f = df.iloc[0], df.iloc[1]
    chips = simulate_accuracy(binary, acc, data, chips=2, seed=3, progress=False)["accuracy"]
    assert b["accuracy_mean"] == chips.mean() and b["accuracy_min"] == chips.min() and b["chips"] == 2
    assert b["energy_j"] == map_model(binary, acc, SHAPE, batch=1).energy_j
    software = float((full_model(data[0]).argmax(1) == data[1]).double().mean())
    assert f["precision"] == "full" and f["chips"] == 0
    assert f["accuracy_mean"] == f["accuracy_min"] == f["software_accuracy"] == software
    assert f["energy_j"] == map_model(full_model, acc, SHAPE, batch=1).energy_j and f["binary_macs"] == 0
    text = "\n".join(precision_markdown(df.to_dict("records")))
    assert "`bin`" in text and "same (electronic)" in text and "nan" not in text


def test_mixed_checkpoint_is_mixed_and_runs_on_chips(data):
    """The shipped Hybrid-Net network: k-bit conv2/fc3 as bit-plane passes on sampled chips."""
    acc = Accelerator(presets.load("lightbulb"))
    mixed = load_pretrained("mnist-cnn-mixed")
    assert precision.precision_of(mixed, SHAPE) == ("mixed", ["conv2", "fc3"])
    df = precision.compare({"mixed": mixed}, {"lightbulb": acc}, (data[0][:32], data[1][:32]), chips=1, seed=1)
    chips = simulate_accuracy(mixed, acc, (data[0][:32], data[1][:32]), chips=1, seed=1, progress=False)["accuracy"]
    row = df.iloc[0]
    assert row["accuracy_mean"] == chips.mean()
    rep = map_model(mixed, acc, SHAPE, batch=1)
    assert row["binary_macs"] == rep.binary_macs > row["logical_macs"] == rep.logical_macs
