"""mapping.networks.checkpoints: round trip, shipped checkpoints' accuracy, every error case, atomic save."""
import hashlib
import json
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from mapping.networks import architectures, checkpoints
from mapping.bnn import BNN, export_binary, load, load_pretrained, save
from mapping.networks.data import load_mnist
from mapping.networks.training import evaluate

# Published targets of issue 4 (section 2): MNIST test accuracy of the shipped checkpoints.
TARGET_ACCURACY = {"mnist-mlp": 0.975, "mnist-cnn": 0.985}
MAGIC_LEN = len(b"ROBINSIM-BNN\x00")


def _random_model(arch="mnist-mlp", seed=0, **hparams):
    torch.manual_seed(seed)
    model = architectures.build(arch, **hparams)
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.normal_(0, 3, generator=gen)
                m.running_var.uniform_(0.5, 9, generator=gen)
                m.weight.normal_(0, 1, generator=gen)
                m.bias.normal_(0, 1, generator=gen)
    return model.eval()


def _split(path):
    """(header dict, data start, raw bytes), parsed here independently of checkpoints.load."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[MAGIC_LEN : MAGIC_LEN + 8], "little")
    return json.loads(raw[MAGIC_LEN + 8 : MAGIC_LEN + 8 + n]), MAGIC_LEN + 8 + n, raw


def _rewrite(path, header, data: bytes):
    blob = json.dumps(header).encode()
    path.write_bytes(b"ROBINSIM-BNN\x00" + len(blob).to_bytes(8, "little") + blob + data)


@pytest.mark.parametrize("name", sorted(TARGET_ACCURACY))
def test_shipped_checkpoint_reaches_published_accuracy(name):
    images, labels = load_mnist("test")
    model = load_pretrained(name)
    accuracy = evaluate(model, images, labels)
    assert accuracy >= TARGET_ACCURACY[name]
    assert model.metadata["test_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert model.arch == name and "scripts/train_pretrained.py" in model.metadata["command"]
    export_binary(model, probe=images[:2000])  # folded network == model, image for image


def test_shipped_names_and_unknown_name():
    assert set(TARGET_ACCURACY) <= set(checkpoints.pretrained_names())
    with pytest.raises(ValueError, match=r"name='mnist-vgg' is not a shipped checkpoint; allowed: .*mnist-cnn"):
        load_pretrained("mnist-vgg")


@pytest.mark.parametrize("arch", ["mnist-mlp", "mnist-cnn"])
def test_save_load_round_trip(tmp_path, arch):
    model = _random_model(arch, hidden=32)
    path = save(model, tmp_path / "m.bnn", {"note": "round trip", "acc": 0.5})
    back = load(path)
    assert (back.arch, back.hparams, back.metadata) == (arch, model.hparams, {"note": "round trip", "acc": 0.5})
    binary = {f"{n}.weight" for n, m in model.named_modules() if getattr(m, "binary", False)}
    for key, t in model.state_dict().items():
        expected = torch.where(t >= 0, 1.0, -1.0) if key in binary else t
        np.testing.assert_array_equal(back.state_dict()[key].float().numpy(), expected.float().numpy())
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        np.testing.assert_array_equal(back(x).numpy(), model(x).numpy())
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not the 0600 temp file


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"checkpoint file {tmp_path / 'nope.bnn'} does not exist"):
        load(tmp_path / "nope.bnn")


def test_truncated_file_names_file_and_layer(tmp_path):
    path = save(_random_model(), tmp_path / "m.bnn")
    header, start, raw = _split(path)
    entry = next(e for e in header["tensors"] if e["name"] == "fc2.weight")
    cuts = {5: "shorter than its", MAGIC_LEN + 10: "truncated inside its header",
            start + entry["offset"] + entry["nbytes"] // 2: r"tensor 'fc2.weight' of layer 'fc2' \(BinaryLinear\) needs bytes"}
    for cut, what in cuts.items():
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=f"checkpoint file {path} is truncated.*") as err:
            load(path)
        assert err.match(what)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="is truncated"):
        load(path)


def test_corrupt_bytes_and_foreign_files_are_named(tmp_path):
    path = save(_random_model(), tmp_path / "m.bnn")
    header, start, raw = _split(path)
    entry = next(e for e in header["tensors"] if e["name"] == "bn3.running_var")
    pos = start + entry["offset"] + 1
    path.write_bytes(raw[:pos] + bytes([raw[pos] ^ 0xFF]) + raw[pos + 1 :])
    with pytest.raises(ValueError, match=rf"{path} is corrupt: tensor 'bn3.running_var' of layer 'bn3' \(ExactBatchNorm1d\)"):
        load(path)
    other = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match=f"checkpoint file {other} is not a robinsim BNN checkpoint"):
        load(other)


def test_other_architecture_names_file_and_layer(tmp_path):
    path = save(_random_model("mnist-mlp"), tmp_path / "mlp.bnn")
    with pytest.raises(ValueError, match=rf"{path} holds architecture 'mnist-mlp', not 'mnist-cnn': layer 'conv1' \(Conv2d\)"):
        load(path, arch="mnist-cnn")
    # same name, different hyper-parameters: tensors no longer fit the rebuilt layers
    header, start, raw = _split(path)
    header["hparams"]["hidden"] = 256
    _rewrite(path, header, raw[start:])
    with pytest.raises(ValueError, match=rf"{path} does not match architecture 'mnist-mlp'.*layer 'fc1' \(Linear\)"):
        load(path)
    header["arch"] = "resnet-9"
    _rewrite(path, header, raw[start:])
    with pytest.raises(ValueError, match=rf"{path} holds architecture 'resnet-9', which is not registered"):
        load(path)


def test_non_binary_weights_name_file_and_layer(tmp_path):
    path = save(_random_model(), tmp_path / "m.bnn")
    header, start, raw = _split(path)
    entry = next(e for e in header["tensors"] if e["name"] == "fc3.weight")
    data = bytearray(raw[start:])
    data[entry["offset"] + 7] = 0  # a weight of 0 in a binary layer
    entry["sha256"] = hashlib.sha256(bytes(data[entry["offset"] : entry["offset"] + entry["nbytes"]])).hexdigest()
    _rewrite(path, header, bytes(data))
    with pytest.raises(ValueError, match=rf"{path}: layer 'fc3' \(BinaryLinear\) has non-binary weight 0 \(at flat index 7\)"):
        load(path)
    entry["dtype"] = "float32"  # real-valued weights where int8 ±1 are expected
    _rewrite(path, header, bytes(data))
    with pytest.raises(ValueError, match=rf"{path}: tensor 'fc3.weight' of layer 'fc3' \(BinaryLinear\) has dtype float32"):
        load(path)


def test_interrupted_save_leaves_no_half_written_file(tmp_path, monkeypatch):
    model = _random_model()
    path = tmp_path / "m.bnn"

    def fail_mid_write(f, chunks):
        for chunk in chunks[:3]:
            f.write(chunk)
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "_write_chunks", fail_mid_write)
    with pytest.raises(OSError, match="disk full"):
        save(model, path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    save(model, path, {"v": 1})
    before = path.read_bytes()
    monkeypatch.setattr(checkpoints, "_write_chunks", fail_mid_write)
    with pytest.raises(OSError, match="disk full"):
        save(model, path, {"v": 2})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.bnn"]


def test_save_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="model must be a mapping.bnn.BNN"):
        save(nn.Linear(2, 2), tmp_path / "x.bnn")
    unregistered = BNN(OrderedDict(f=nn.Flatten()), arch="mine", hparams={}, input_shape=(1, 28, 28))
    with pytest.raises(TypeError, match="arch='mine'"):
        save(unregistered, tmp_path / "x.bnn")
    with pytest.raises(TypeError, match=r"metadata\['when'\]"):
        save(_random_model(), tmp_path / "x.bnn", {"when": object()})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(_random_model(), tmp_path / "sub" / "x.bnn")
    assert list(tmp_path.iterdir()) == []
