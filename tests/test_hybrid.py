"""Edge-cloud conditionally deep hybrid networks: architecture, exit rule, hardware edge, costs, CLI.

Oracles: NumPy entropies and a loop implementation of the first-exit rule; the closed-form
limits of the rule (entropy >= 0, entropy <= ln C); exact equality of the ideal noiseless chip
with the software network; MAC counts written out by hand from the layer shapes; and fake
linear cloud/link models whose costs are known in closed form.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from accel.conditions import Conditions
from mapping import functional
from mapping.networks import architectures, checkpoints, hybrid
from mapping.networks.data import load_mnist
from mapping.networks.training import train
from studies import hybrid as study

E_MAC_J = 3e-12  # fake cloud: energy per MAC
MACS_PER_S = 1e12
E_BIT_J = 2e-9  # fake link: energy per bit
BITS_PER_S = 1e6
LINK_S = 1e-3


class FakeCloud:
    def energy_j(self, macs):
        return macs * E_MAC_J

    def latency_s(self, macs):
        return macs / MACS_PER_S


class FakeLink:
    def energy_j(self, bits):
        return bits * E_BIT_J

    def latency_s(self, bits):
        return LINK_S + bits / BITS_PER_S


TINY = {"channels1": 8, "channels2": 16, "cloud_channels": 16}


@pytest.fixture(scope="module")
def tiny():
    """A small mnist-hybrid trained on 300 images on the joint loss, and 120 test images."""
    torch.manual_seed(0)
    model = architectures.build("mnist-hybrid", **TINY)
    x, y = load_mnist("train")
    train(model, x[:300], y[:300], epochs=3, lr=5e-3, progress=False, loss=hybrid.joint_loss([0.5, 1.0]))
    xt, yt = load_mnist("test")
    return model.eval(), (xt[:120], yt[:120])


def _entropy_np(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)


def test_entropy_and_exit_rule_against_numpy_oracle():
    gen = torch.Generator().manual_seed(1)
    logits = [torch.randn(400, 10, generator=gen) * s for s in (3.0, 1.0, 2.0)]
    for t in logits:
        np.testing.assert_allclose(hybrid.entropy_nats(t).numpy(), _entropy_np(t.double().numpy()), rtol=1e-12)
    uniform = torch.zeros(1, 10)
    assert float(hybrid.entropy_nats(uniform)) == pytest.approx(math.log(10), rel=1e-14)
    one_hot = torch.tensor([[0.0, -math.inf, -math.inf]])  # 0 · ln 0 = 0: a certain sample has entropy 0
    assert float(hybrid.entropy_nats(one_hot)) == 0.0
    for threshold in (0.0, 0.7, 1.3, 2.0, 5.0):
        ent = [_entropy_np(t.double().numpy()) for t in logits[:-1]]
        oracle = np.full(400, 2)
        for i in reversed(range(2)):
            oracle = np.where(ent[i] < threshold, i, oracle)
        assert np.array_equal(hybrid.exit_index(logits, threshold).numpy(), oracle)
    # strict <: a sample whose entropy equals the threshold does not leave
    h = float(hybrid.entropy_nats(logits[0][:1]))
    assert int(hybrid.exit_index([logits[0][:1], logits[2][:1]], h)) == 1
    assert int(hybrid.exit_index([logits[0][:1], logits[2][:1]], math.nextafter(h, math.inf))) == 0


def test_threshold_limits_reproduce_the_cloud_and_the_first_exit(tiny, robin_eo):
    model, (x, _) = tiny
    with torch.no_grad():
        soft = model(x)
    # the ideal chip without noise is the software network, exit by exit
    hw = study.hardware_logits(model, robin_eo, x, chip=None, seed=0, conditions=Conditions(noise=False))
    assert all(torch.equal(a, b) for a, b in zip(hw, soft))
    for logits in (soft, hw):
        nobody = hybrid.exit_index(logits, 0.0)
        assert torch.equal(nobody, torch.full((len(x),), 1))
        assert torch.equal(hybrid.exit_predictions(logits, nobody), soft[-1].argmax(1))
        everybody = hybrid.exit_index(logits, math.log(10) + 1)
        assert torch.equal(everybody, torch.zeros(len(x), dtype=torch.int64))
        assert torch.equal(hybrid.exit_predictions(logits, everybody), soft[0].argmax(1))


def test_simulate_outputs_on_the_ideal_chip_is_the_folded_forward(tiny, robin_eo, lightbulb):
    model, (x, _) = tiny
    (folded,) = hybrid.fold_edge(model, probe=x)
    for acc in (robin_eo, lightbulb):
        out = functional.simulate_outputs(folded, acc, x, chip=None, seed=3, conditions=Conditions(noise=False))
        assert torch.equal(out, folded(x))
    with torch.no_grad():
        assert torch.equal(folded(x), model.edge(x)[-1])


def test_simulate_outputs_stream_zero_gives_the_predictions_of_predict(cnn, robin_eo, mnist_test):
    x = mnist_test[0][:30]
    chip = functional.sample_chip_state(robin_eo, seed=2, chip=1)
    out = functional.simulate_outputs(cnn, robin_eo, x, chip=1, seed=2)
    assert torch.equal(out.argmax(1), functional.predict(cnn, robin_eo, x, chip_sample=chip))


def test_run_costs_in_closed_form_and_monotone_exits(tiny, robin_eo):
    model, data = tiny
    thresholds = [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, math.log(10) + 1]
    df = study.run(model, robin_eo, thresholds, chips=2, seed=0, data=data, cloud=FakeCloud(), link=FakeLink(),
                   progress=False)
    assert list(df.columns) == study.columns(model)
    assert len(df) == len(thresholds) * 2
    parts = df["edge_energy_j"] + df["link_energy_j"] + df["cloud_energy_j"]
    np.testing.assert_allclose(df["total_energy_j"], parts, rtol=1e-12)
    np.testing.assert_allclose(df["exit_edge1_fraction"] + df["exit_cloud_fraction"], 1.0, rtol=1e-12)
    for _, g in df.groupby("chip"):
        g = g.sort_values("threshold")
        assert np.all(np.diff(g["exit_fraction"].to_numpy()) >= 0)
        assert g["exit_fraction"].iloc[0] == 0.0 and g["exit_fraction"].iloc[-1] == 1.0
    # hand-counted MACs of the tiny model: conv1 28x28x8 outputs of 9, conv2 14x14x16 of 8*9,
    # cloud conv 7x7x16 of 16*9 and fc 10 of 16*3*3
    trunk = 28 * 28 * 8 * 9 + 14 * 14 * 16 * 72
    cloud = 7 * 7 * 16 * 144 + 10 * 144
    baseline = E_MAC_J * (trunk + cloud) + E_BIT_J * 8 * 28 * 28
    np.testing.assert_allclose(df["baseline_energy_j"], baseline, rtol=1e-12)
    to_cloud = df["exit_cloud_fraction"]
    cut_bits = 16 * 7 * 7
    np.testing.assert_allclose(df["link_energy_j"], to_cloud * cut_bits * E_BIT_J, rtol=1e-12)
    np.testing.assert_allclose(df["cloud_energy_j"], to_cloud * cloud * E_MAC_J, rtol=1e-12)
    edge = df.loc[df["threshold"] == 0.0, "edge_energy_j"]
    np.testing.assert_allclose(df["edge_energy_j"], edge.iloc[0], rtol=1e-12)  # every sample runs edge1 + its head
    np.testing.assert_allclose(df["energy_reduction"], baseline / df["total_energy_j"], rtol=1e-12)
    np.testing.assert_allclose(df["compute_energy_reduction"],
                               E_MAC_J * (trunk + cloud) / (df["edge_energy_j"] + df["cloud_energy_j"]), rtol=1e-12)
    edge_s = df.attrs["edge_latency_s"][0]
    np.testing.assert_allclose(df["latency_s"], edge_s + to_cloud * (LINK_S + cut_bits / BITS_PER_S + cloud / MACS_PER_S),
                               rtol=1e-12)


def test_two_exit_and_cifar_architectures_fold_and_cost(robin_eo):
    model = architectures.build("mnist-hybrid", exits=2, **TINY).eval()
    assert model.exit_names == ("edge1", "edge2", "cloud")
    x = load_mnist("test")[0][:40]
    folded = hybrid.fold_edge(model, probe=x)
    with torch.no_grad():
        cuts = model.edge(x)
    h = x
    for f, cut in zip(folded, cuts):
        h = f(h)
        assert torch.equal(h, cut)
    c = study.costs(model, robin_eo, FakeCloud(), FakeLink())
    assert len(c["edge_energy_j"]) == 2 and all(e > 0 for e in c["edge_energy_j"])
    assert c["cut_bits"] == 16 * 7 * 7
    assert c["trunk_macs"] == 28 * 28 * 8 * 9 + 14 * 14 * 16 * 72 + 7 * 7 * 16 * 144
    cifar = architectures.build("cifar-hybrid").eval()
    assert cifar.input_shape == (3, 32, 32)
    probe = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert [tuple(t.shape) for t in cifar(probe)] == [(8, 10), (8, 10)]
    (edge,) = hybrid.fold_edge(cifar, probe=probe)
    assert edge.input_shape == (3, 32, 32)


def test_two_exit_run_charges_the_segments_a_sample_passes(robin_eo):
    model = architectures.build("mnist-hybrid", exits=2, **TINY).eval()
    x, y = load_mnist("test")
    df = study.run(model, robin_eo, [0.0, 1.0, 3.0], chips=1, data=(x[:30], y[:30]), cloud=FakeCloud(),
                   link=FakeLink(), progress=False)
    seg = df.attrs["edge_energy_j"]
    fractions = df[["exit_edge1_fraction", "exit_edge2_fraction", "exit_cloud_fraction"]].to_numpy()
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(df["edge_energy_j"], fractions[:, 0] * seg[0] + (1 - fractions[:, 0]) * (seg[0] + seg[1]),
                               rtol=1e-12)
    assert df["exit_edge1_fraction"].iloc[-1] == 1.0 and df["exit_cloud_fraction"].iloc[0] == 1.0


def test_checkpoint_round_trip_keeps_every_exit(tiny, tmp_path):
    model, (x, _) = tiny
    model.metadata = {"exit_test_accuracy": hybrid.evaluate_exits(model, *tiny[1])}
    path = checkpoints.save(model, tmp_path / "h.bnn")
    back = checkpoints.load(path, arch="mnist-hybrid")
    assert isinstance(back, hybrid.HybridBNN) and back.hparams == model.hparams
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(back(x), model(x)))
    assert back.metadata == model.metadata


def test_shipped_checkpoint_records_every_exit_and_folds_exactly(mnist_test):
    model = checkpoints.load_pretrained("mnist-hybrid")
    acc = model.metadata["exit_test_accuracy"]
    assert set(acc) == set(model.exit_names)
    x, y = mnist_test[0][:200], mnist_test[1][:200]
    (folded,) = hybrid.fold_edge(model, probe=x)
    with torch.no_grad():
        assert torch.equal(folded(x), model.edge(x)[-1])
    assert min(acc.values()) >= 0.98 and "scripts/train_pretrained.py" in model.metadata["command"]
    assert min(hybrid.evaluate_exits(model, x, y).values()) >= 0.95


def test_bad_inputs_name_the_argument(tiny, robin_eo, rejected):
    model, data = tiny
    logits = [torch.zeros(3, 10), torch.zeros(3, 10)]
    with rejected(ValueError, "threshold", "-0.5", ">= 0"):
        hybrid.exit_index(logits, -0.5)
    with rejected(ValueError, "threshold", "nan"):
        hybrid.exit_index(logits, float("nan"))
    with rejected(ValueError, "threshold", "inf"):
        hybrid.exit_index(logits, float("inf"))
    with rejected(TypeError, "threshold"):
        hybrid.exit_index(logits, "1")
    with rejected(TypeError, "threshold"):
        hybrid.exit_index(logits, torch.zeros(2))
    with rejected(ValueError, "logits_per_exit[0]", "NaN"):
        hybrid.exit_index([torch.full((3, 10), float("nan")), torch.zeros(3, 10)], 1.0)
    with rejected(ValueError, "index", "exit 2", "0..1"):
        hybrid.exit_predictions(logits, torch.tensor([0, 2, 1]))
    with rejected(ValueError, "logits_per_exit[1]"):
        hybrid.exit_index([torch.zeros(3, 10), torch.zeros(4, 10)], 1.0)
    with rejected(ValueError, "weights"):
        hybrid.joint_loss([-1.0, 1.0])
    with rejected(ValueError, "threshold", "-1.0"):
        study.run(model, robin_eo, [0.5, -1.0], chips=1, data=data, cloud=FakeCloud(), link=FakeLink(), progress=False)
    with rejected(ValueError, "hybrid"):
        study.run("mnist-cnn", robin_eo, [0.5], chips=1, data=data, cloud=FakeCloud(), link=FakeLink(), progress=False)
    with rejected(TypeError, "link", "energy_j"):
        study.run(model, robin_eo, [0.5], chips=1, data=data, cloud=FakeCloud(), link=object(), progress=False)
    with rejected(ValueError, "exits"):
        architectures.build("mnist-hybrid", exits=3)


def test_cli_writes_hybrid_csv_with_the_required_columns(tiny, tmp_path, capsys):
    from studies.cli import main

    model, _ = tiny
    ckpt = checkpoints.save(model, tmp_path / "tiny.bnn")
    out = tmp_path / "out"
    args = ["hybrid", "--preset", "robin-eo", "--model", str(ckpt), "--thresholds", "0:2:3", "--chips", "1",
            "--images", "40", "--out", str(out), "--quiet"]
    assert main(args) == 0
    df = pd.read_csv(out / "hybrid.csv")
    assert list(df.columns) == ["threshold", "chip", "exit_fraction", "accuracy", "edge_energy_j", "link_energy_j",
                                "cloud_energy_j", "total_energy_j", "latency_s", "exit_edge1_fraction",
                                "exit_cloud_fraction", "baseline_energy_j", "energy_reduction",
                                "compute_energy_reduction"]
    assert df["threshold"].tolist() == [0.0, 1.0, 2.0] and df["chip"].tolist() == [0, 0, 0]
    for stem in ("hybrid_accuracy_energy", "hybrid_exit_fractions"):
        assert (out / f"{stem}.png").stat().st_size > 0 and (out / f"{stem}.pdf").stat().st_size > 0
    assert main(["plot", str(out), "--out", str(tmp_path / "redrawn")]) == 0  # robinsim plot redraws both
    assert sorted(p.name for p in (tmp_path / "redrawn").iterdir()) == sorted(p.name for p in out.glob("*.p[nd][gf]"))
    capsys.readouterr()
    assert main(args) == 2  # an earlier hybrid.csv is kept unless --overwrite
    assert "--overwrite" in capsys.readouterr().err
    first = (out / "hybrid.csv").read_bytes()
    assert main([*args, "--overwrite", "--no-figures"]) == 0
    assert (out / "hybrid.csv").read_bytes() == first  # same seed, same bytes
    capsys.readouterr()
    assert main([*args[:6], "-1,0.5", *args[7:], "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "--thresholds" in err and "-1.0" in err


def test_cifar_recipe_reads_the_users_python_batches(tmp_path):
    """robinsim hybrid --data: a CIFAR hybrid checkpoint on a made-up cifar-10-batches-py folder
    (the format of the published batches), default cloud and link presets."""
    import pickle

    import numpy as np

    from mapping.networks import architectures, checkpoints
    from mapping.networks.data import CIFAR10_DIR
    from studies.commands import main_hybrid

    folder = tmp_path / CIFAR10_DIR
    folder.mkdir()
    rng = np.random.default_rng(np.random.SeedSequence(7))
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as fh:
            pickle.dump({b"labels": [int(v) for v in rng.integers(0, 10, 8)],
                         b"data": rng.integers(0, 256, size=(8, 3072), dtype=np.uint8)}, fh, protocol=2)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [b"c%d" % i for i in range(10)]}, fh, protocol=2)
    torch.manual_seed(0)
    model = architectures.build("cifar-hybrid", width=4, blocks=1)
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model(torch.rand(16, 3, 32, 32))
    model.eval()
    ckpt = checkpoints.save(model, tmp_path / "cifar.bnn")
    df = main_hybrid(out=tmp_path / "out", preset="robin-eo", model=str(ckpt), thresholds=[0.0, 5.0], chips=1,
                     data=tmp_path, echo=False, figures=False)
    assert sorted(df["threshold"]) == [0.0, 5.0]
    assert df.loc[df["threshold"] == 0.0, "exit_fraction"].item() == 0.0
    assert df.loc[df["threshold"] == 5.0, "exit_fraction"].item() == 1.0  # above ln 10: everybody exits at the edge
    assert (tmp_path / "out" / "hybrid.csv").is_file()
    with pytest.raises(ValueError, match="--data"):
        main_hybrid(out=tmp_path / "out2", model="mnist-hybrid", data=tmp_path, echo=False, figures=False)
