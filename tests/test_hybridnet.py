"""Hybrid-Net layer selection (mapping.networks.hybridnet) on data of known spectrum and rank, the
mnist-cnn-mixed / mnist-cnn-fp architectures and their checkpoints, and scripts/hybrid_net.py."""
import importlib.util
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import mapping
from mapping.networks import architectures
from mapping.bnn import BNN, BinaryConv2d, BinaryLinear, ExactBatchNorm1d, ExactBatchNorm2d, Sign, electronic, load, save
from mapping.networks.hybridnet import component_count, pca_component_counts, select_layers
from mapping.networks.quant import ActQuant, QuantConv2d, QuantLinear

ROOT = Path(__file__).resolve().parents[1]


def _low_rank(rows, channels, rank, seed, noise=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, rank)) @ rng.normal(size=(rank, channels)) + rng.normal(size=channels)
    return x + noise * rng.normal(size=x.shape)


def _identity(layer):
    with torch.no_grad():
        layer.weight.copy_(torch.eye(layer.weight.shape[0]).view(layer.weight.shape))
    return layer


def _conv_model(channels):
    """1x1 identity conv -> BN (fresh: a constant scale) -> sign -> binary conv -> BN -> sign -> linear."""
    return BNN(OrderedDict([
        ("conv1", _identity(electronic(nn.Conv2d(channels, channels, 1, bias=False)))),
        ("bn1", ExactBatchNorm2d(channels)), ("sign1", Sign()),
        ("conv2", BinaryConv2d(channels, 6, 1)), ("bn2", ExactBatchNorm2d(6)), ("sign2", Sign()),
        ("flatten", nn.Flatten()), ("fc_out", electronic(nn.Linear(6 * 4 * 4, 3))),
    ]), arch="test", hparams={}, input_shape=(channels, 4, 4)).eval()


def _linear_model(features):
    return BNN(OrderedDict([
        ("fc1", _identity(electronic(nn.Linear(features, features, bias=False)))),
        ("bn1", ExactBatchNorm1d(features)), ("sign1", Sign()),
        ("fc2", BinaryLinear(features, 8)), ("bn2", ExactBatchNorm1d(8)), ("sign2", Sign()),
        ("fc_out", electronic(nn.Linear(8, 3))),
    ]), arch="test", hparams={}, input_shape=(features,)).eval()


def _as_images(rows, n, h, w):
    """(n·h·w, C) rows, image-major then pixel order, as (n, C, h, w) images."""
    return torch.tensor(rows, dtype=torch.float32).view(n, h, w, -1).permute(0, 3, 1, 2).contiguous()


# ------------------------------------------------------------------------------ component_count
def test_component_count_on_a_known_spectrum():
    # Orthogonal zero-mean ±1 columns (Sylvester-Hadamard without the all-ones column) scaled by
    # sqrt(variance): the covariance eigenvalues are the chosen variances, summing to 100.
    h = np.array([[1.0]])
    for _ in range(3):
        h = np.block([[h, h], [h, -h]])
    lam = np.array([50.0, 30.0, 15.0, 4.0, 0.9, 0.1, 0.0])
    x = np.tile(h[:, 1:] * np.sqrt(lam), (5, 1))  # cumulative fractions .5 .8 .95 .99 .999 1 1
    for variance, expected in [(0.4, 1), (0.8, 2), (0.9, 3), (0.96, 4), (0.995, 5), (0.9985, 5), (0.9995, 6), (1.0, 6)]:
        count, explained = component_count(x, variance)
        assert count == expected, variance
        assert explained == pytest.approx(lam[:expected].sum() / 100, abs=1e-12)
    assert component_count(np.ones((10, 3)), 0.5) == (0, 1.0)


@pytest.mark.parametrize("rank", [1, 3, 7])
def test_component_count_of_low_rank_data_is_the_rank(rank):
    assert component_count(_low_rank(400, 16, rank, seed=rank), 0.999)[0] == rank
    assert component_count(_low_rank(400, 16, rank, seed=rank, noise=1e-4), 0.999)[0] == rank


# ------------------------------------------------------------------------------ pca_component_counts
@pytest.mark.parametrize("rank", [2, 5])
def test_conv_counts_equal_the_rank_of_the_pre_sign_rows(rank):
    n, channels = 30, 12
    rows = _low_rank(n * 16, channels, rank, seed=10 + rank, noise=1e-5)
    model = _conv_model(channels).train()
    table = pca_component_counts(model, _as_images(rows, n, 4, 4), batch_size=7)
    assert model.training and not model.sign1._forward_hooks  # flag restored, hook removed
    assert list(table["layer"]) == ["conv1", "conv2", "fc_out"]
    first = table.iloc[0]
    assert (first["analysed"], first["channels"], first["rows"], first["components"]) == ("input of sign1", channels, n * 16, rank)
    assert list(table["analysed"][1:]) == ["input of sign2", "output of fc_out"]
    assert list(table["precision"]) == ["full precision", "binary", "full precision"]


def test_linear_counts_and_the_row_cap_takes_the_first_rows():
    features, first_rank = 20, 3
    rows = np.vstack([_low_rank(60, features, first_rank, seed=1), _low_rank(60, features, 9, seed=2)])
    images = torch.tensor(rows, dtype=torch.float32)
    whole = pca_component_counts(_linear_model(features), images, batch_size=25)
    assert (whole.iloc[0]["rows"], whole.iloc[0]["components"]) == (120, component_count(rows.astype(np.float32), 0.999)[0])
    capped = pca_component_counts(_linear_model(features), images, batch_size=25, max_rows=60)
    assert (capped.iloc[0]["rows"], capped.iloc[0]["components"]) == (60, first_rank)


def test_lazy_reexports():
    assert mapping.pca_component_counts is pca_component_counts and mapping.select_layers is select_layers


def test_pca_bad_inputs_are_named():
    model = _linear_model(4)
    good = torch.zeros(5, 4)
    for variance in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="variance"):
            pca_component_counts(model, good, variance=variance)
    with pytest.raises(ValueError, match=r"shape \(B, 4\)"):
        pca_component_counts(model, torch.zeros(5, 3))
    with pytest.raises(TypeError, match="floating-point"):
        pca_component_counts(model, torch.zeros(5, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="images contains a non-finite"):
        pca_component_counts(model, torch.full((5, 4), float("inf")))
    with pytest.raises(ValueError, match="images gives layer 'fc1' only 1 activation row"):
        pca_component_counts(model, torch.zeros(1, 4))
    with pytest.raises(ValueError, match="max_rows=1"):
        pca_component_counts(model, good, max_rows=1)
    with pytest.raises(TypeError, match="model must be"):
        pca_component_counts(nn.Linear(4, 4), good)
    with pytest.raises(ValueError, match="matrix must be 2-D"):
        component_count(np.zeros(5))


# ------------------------------------------------------------------------------ select_layers
def test_select_layers_on_hand_written_counts():
    counts = {"a": 5, "b": 8, "c": 9, "d": 20, "e": 30}  # rises 3, 1, 11, 10 (e is last)
    assert select_layers(counts) == ["b", "d"]
    assert select_layers(counts, margin=3) == ["b", "d"]
    assert select_layers(counts, margin=4) == ["d"]
    assert select_layers(counts, margin=12) == []
    assert select_layers({"a": 10, "b": 4, "c": 6, "d": 1}) == ["c"]  # a rise of exactly the margin counts
    assert select_layers({"a": 50, "b": 1, "c": 2}) == []  # the first layer is never promoted
    assert select_layers({"a": 1, "b": 40}) == [] and select_layers({"a": 3}) == []
    frame = pd.DataFrame({"layer": list(counts), "components": list(counts.values()), "rows": 1})
    assert select_layers(frame) == ["b", "d"]


def test_select_layers_bad_inputs_are_named():
    with pytest.raises(ValueError, match="margin=0"):
        select_layers({"a": 1, "b": 5, "c": 1}, margin=0)
    with pytest.raises(TypeError, match="margin must be an int"):
        select_layers({"a": 1, "b": 5, "c": 1}, margin=2.0)
    with pytest.raises(ValueError, match=r"counts\['b'\]=-1"):
        select_layers({"a": 1, "b": -1, "c": 1})
    with pytest.raises(TypeError, match=r"counts\['b'\] must be an int"):
        select_layers({"a": 1, "b": 2.5, "c": 1})
    with pytest.raises(ValueError, match="counts is empty"):
        select_layers({})
    with pytest.raises(ValueError, match="lacks column"):
        select_layers(pd.DataFrame({"layer": ["a"]}))
    with pytest.raises(TypeError, match="counts must be"):
        select_layers([("a", 1)])


# ------------------------------------------------------------------------------ architectures
def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _warm(model, seed=0):
    """One training-mode forward (initialises LSQ steps, moves BN statistics), then eval."""
    with torch.no_grad():
        model.train()(torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(seed)))
    return model.eval()


@pytest.mark.parametrize("promote", [["conv2"], ["fc3"], ("conv2", "fc3")])
def test_mixed_keeps_mnist_cnn_names_and_shapes_and_quantises_promoted_inputs(promote):
    binary = _shapes(architectures.build("mnist-cnn"))
    model = architectures.build("mnist-cnn-mixed", promote=promote, bits=3)
    assert {k: s for k, s in _shapes(model).items() if k in binary} == binary
    children = list(model.named_children())
    for i, (name, m) in enumerate(children):
        if name in promote:
            assert isinstance(m, (QuantConv2d, QuantLinear)) and (m.weight_bits, m.act_bits) == (3, 3)
            feeder = next(f for _, f in reversed(children[:i]) if not isinstance(f, (nn.MaxPool2d, nn.Flatten)))
            assert isinstance(feeder, ActQuant) and feeder.bits == 3
        elif name in ("conv2", "fc3"):
            assert getattr(m, "binary", False)


def test_mixed_promoting_nothing_is_mnist_cnn():
    torch.manual_seed(0)
    binary = _warm(architectures.build("mnist-cnn"))
    mixed = architectures.build("mnist-cnn-mixed")
    mixed.load_state_dict(binary.state_dict())
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(mixed.eval()(x), binary(x))


def test_fp_has_no_binary_or_quantised_layer():
    model = architectures.build("mnist-cnn-fp", activation="hardtanh")
    weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == 4 and all(getattr(m, "electronic", False) for m in weighted)
    assert not any(isinstance(m, (Sign, ActQuant)) for m in model.modules())
    binary = _shapes(architectures.build("mnist-cnn"))
    assert all(_shapes(model)[k] == binary[k] for k in ("conv1.weight", "conv2.weight", "fc3.weight", "fc_out.weight"))


@pytest.mark.parametrize("arch,hparams", [("mnist-cnn-mixed", {"promote": ("conv2", "fc3"), "hidden": 32}),
                                          ("mnist-cnn-mixed", {"promote": ["fc3"], "method": "dorefa", "hidden": 32}),
                                          ("mnist-cnn-fp", {"hidden": 32})])
def test_checkpoint_round_trip(tmp_path, arch, hparams):
    torch.manual_seed(1)
    model = _warm(architectures.build(arch, **hparams))
    back = load(save(model, tmp_path / "m.bnn", {"note": 1}), arch=arch)
    assert (back.arch, back.hparams, back.metadata) == (arch, model.hparams, {"note": 1})
    binary = {f"{n}.weight" for n, m in model.named_modules() if getattr(m, "binary", False)}  # stored as their signs
    for key, t in model.state_dict().items():
        assert torch.equal(back.state_dict()[key], torch.where(t >= 0, 1.0, -1.0) if key in binary else t), key
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(back(x), model(x))


def test_mixed_bad_hyper_parameters_are_named():
    with pytest.raises(TypeError, match="promote must be a list or tuple"):
        architectures.build("mnist-cnn-mixed", promote="conv2")
    with pytest.raises(ValueError, match="promote contains 'conv1'"):
        architectures.build("mnist-cnn-mixed", promote=["conv1"])
    with pytest.raises(ValueError, match="names a layer twice"):
        architectures.build("mnist-cnn-mixed", promote=["fc3", "fc3"])
    with pytest.raises(ValueError, match="bits=9"):
        architectures.build("mnist-cnn-mixed", promote=["fc3"], bits=9)
    with pytest.raises(ValueError, match="method='xnor'"):
        architectures.build("mnist-cnn-mixed", method="xnor")
    with pytest.raises(ValueError, match="activation='gelu'"):
        architectures.build("mnist-cnn-fp", activation="gelu")


# ------------------------------------------------------------------------------ the script
def _script():
    spec = importlib.util.spec_from_file_location("hybrid_net", ROOT / "scripts" / "hybrid_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_both_checkpoints_with_the_selection(tmp_path):
    script = _script()
    argv = ["--train-limit", "200", "--eval-limit", "200", "--pca-images", "300", "--epochs-mixed", "1", "--epochs-fp", "1",
            "--out-dir", str(tmp_path), "--no-progress"]
    results = script.main(argv)
    mixed, fp = load(tmp_path / "mnist-cnn-mixed.bnn"), load(tmp_path / "mnist-cnn-fp.bnn")
    counts = pd.DataFrame(mixed.metadata["pca_counts"])
    assert mixed.metadata["selection"] == select_layers(counts, margin=2)
    assert mixed.hparams["promote"] == mixed.metadata["promoted"] and mixed.hparams["bits"] == 2
    assert fp.metadata["command"] == "python scripts/hybrid_net.py " + " ".join(argv)
    assert (results["mnist-cnn-mixed"], results["mnist-cnn-fp"]) == (mixed.metadata["test_accuracy"], fp.metadata["test_accuracy"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist-cnn-fp.bnn", "mnist-cnn-mixed.bnn"]


def test_script_promotes_the_largest_rise_when_the_selection_is_empty():
    counts = pd.DataFrame({"layer": ["a", "b", "c", "d"], "components": [10, 11, 12, 40]})  # rises 1, 1 (d is last)
    assert _script().promotion(counts, []) == (["b"], "selection empty: promoted b, the layer with the largest count rise (1)")
    assert _script().promotion(counts, ["c"]) == (["c"], "Hybrid-Net selection")
