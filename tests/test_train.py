"""mapping.networks.training and scripts/train_pretrained.py on a few hundred real MNIST images."""
import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mapping.networks import architectures
from mapping.bnn import load
from mapping.networks.data import load_mnist
from mapping.networks.training import evaluate, train

ROOT = Path(__file__).resolve().parents[1]


def _subset(n=300):
    images, labels = load_mnist("train")
    return images[:n], labels[:n]


def _batch_loss(model, images, labels):
    """Cross-entropy with batch statistics on a copy, so the model's running stats stay untouched."""
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        return float(F.cross_entropy(probe(images), labels))


def test_one_epoch_reduces_loss_and_keeps_latent_weights_clipped():
    images, labels = _subset()
    torch.manual_seed(0)
    model = architectures.build("mnist-mlp", hidden=128)
    before_loss = _batch_loss(model, images, labels)
    before_w = model.fc2.weight.detach().clone()
    history = train(model, images, labels, epochs=1, batch_size=20, lr=5e-3, seed=0, progress=False)
    after_loss = _batch_loss(model, images, labels)
    assert after_loss < 0.5 * before_loss  # chance-level start: ln 10 ≈ 2.3
    assert len(history) == 1 and history[0]["epoch"] == 1 and history[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    for m in (model.fc2, model.fc3):
        assert float(m.weight.detach().abs().max()) <= 1.0
    assert bool((torch.sign(model.fc2.weight) != torch.sign(before_w)).any())  # binary weights actually moved
    assert not model.training


def test_training_is_reproducible_for_a_seed():
    images, labels = _subset(200)
    weights = []
    for _ in range(2):
        torch.manual_seed(1)
        model = architectures.build("mnist-mlp", hidden=64)
        train(model, images, labels, epochs=1, batch_size=50, seed=3, progress=False)
        weights.append(model.state_dict())
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key].numpy(), weights[1][key].numpy())


def test_train_rejects_bad_arguments():
    images, labels = _subset(20)
    model = architectures.build("mnist-mlp", hidden=16)
    with pytest.raises(ValueError, match="epochs=0 is out of range"):
        train(model, images, labels, epochs=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        train(model, images, labels, epochs=1, seed=1.5)
    with pytest.raises(ValueError, match="lr=-0.1 is out of range"):
        train(model, images, labels, epochs=1, lr=-0.1)
    bad = labels.clone()
    bad[5] = 12
    with pytest.raises(ValueError, match=r"labels contain 12 \(at index 5\)"):
        train(model, images, bad, epochs=1)
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 28, 28\)"):
        evaluate(model, images.view(20, 28, 28), labels)


def _script():
    spec = importlib.util.spec_from_file_location("train_pretrained", ROOT / "scripts" / "train_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_command_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "tiny.bnn"
    argv = ["--model", "mnist-mlp", "--epochs", "1", "--seed", "2", "--train-limit", "300", "--out", str(out), "--no-progress"]
    assert _script().main(argv) == out
    model = load(out, arch="mnist-mlp")
    test_images, test_labels = load_mnist("test")
    assert model.metadata["test_accuracy"] == pytest.approx(evaluate(model, test_images, test_labels), abs=1e-12)
    assert model.metadata["command"] == "python scripts/train_pretrained.py " + " ".join(argv)
    assert (model.metadata["train_images"], model.metadata["seed"], model.metadata["epochs"]) == (300, 2, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.bnn"]


@pytest.mark.parametrize("argv", [["--model", "mnist-mlp", "--epochs", "0"], ["--model", "mnist-vgg"],
                                  ["--model", "mnist-cnn", "--seed", "-1"], ["--model", "mnist-cnn", "--lr", "0"]])
def test_training_command_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit):
        _script().parse_args(argv)
    assert argv[-1].lstrip("-") in capsys.readouterr().err
