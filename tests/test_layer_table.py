"""Layer-table workloads (mapping.from_table), map_model on them and ``robinsim map``."""
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from torch import nn

import mapping
from accel import Accelerator, presets
from mapping.performance import shape_zoo
from mapping.performance.workload import extract_workload, from_table
from studies.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RESNET18 = FIXTURES / "resnet18_layers.csv"


def compute(w):
    return [x for x in w.layers if x.kind in ("conv", "linear")]


def test_resnet18_table_equals_the_traced_module():
    table = from_table(RESNET18)
    traced = extract_workload(shape_zoo.build("resnet18"), shape_zoo.input_shape("resnet18"))
    assert len(table.layers) == len(compute(traced)) == 21  # 20 convs (3 of them 1x1 shortcuts) + fc
    for a, b in zip(table.layers, compute(traced)):
        assert (a.kind, a.k, a.dot_products, a.binary_macs) == (b.kind, b.k, b.dot_products, b.binary_macs), a.name
        assert (a.out_channels, a.positions, a.weight_shape, a.in_numel, a.out_numel) == \
               (b.out_channels, b.positions, b.weight_shape, b.in_numel, b.out_numel), a.name
    # He et al. 2016: ResNet18 is about 1.8 GMACs on 224x224 (the stem alone 118 M = 64*112*112*147).
    assert table.layers[0].binary_macs == 64 * 112 * 112 * 3 * 7 * 7
    assert table.binary_macs == sum(x.binary_macs for x in compute(traced))
    assert table.input_shape == (1, 3, 224, 224) and mapping.from_table is from_table


def test_depthwise_and_grouped_rows_equal_traced_convs():
    df = pd.DataFrame([
        {"name": "dw", "type": "dwconv", "in_channels": 8, "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1,
         "input_size": 10},
        {"name": "g", "type": "conv", "in_channels": 8, "out_channels": 12, "kernel_h": 3, "kernel_w": 1,
         "groups": 4, "input_h": 5, "input_w": 7},
    ])
    w = from_table(df, batch=2)
    (dw,) = extract_workload(nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8), (2, 8, 10, 10)).layers
    (g,) = extract_workload(nn.Conv2d(8, 12, (3, 1), groups=4), (2, 8, 5, 7)).layers
    for a, b in zip(w.layers, (dw, g)):
        for field in ("k", "positions", "dot_products", "groups", "weight_shape", "in_numel", "out_numel",
                      "weight_numel", "binary_macs"):
            assert getattr(a, field) == getattr(b, field), (a.name, field)
    assert w.layers[0].groups == 8 and w.layers[0].k == 9  # depthwise: one input channel per output, 3x3


def test_csv_and_yaml_give_the_same_workload(tmp_path):
    rows = pd.read_csv(RESNET18, comment="#").to_dict("records")  # no "#" inside its cells
    clean = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"layers": clean}))
    (tmp_path / "r.yml").write_text(yaml.safe_dump(clean))
    a = from_table(RESNET18).to_frame()
    pd.testing.assert_frame_equal(a, from_table(tmp_path / "r.yaml").to_frame())
    pd.testing.assert_frame_equal(a, from_table(str(tmp_path / "r.yml")).to_frame())


def test_map_model_takes_a_table_workload_like_the_module():
    acc = Accelerator(presets.load("robin-eo"))
    df = pd.DataFrame([{"type": "conv", "in_channels": 1, "out_channels": 16, "kernel": 3, "padding": 1,
                        "input_size": 12},
                       {"type": "conv", "in_channels": 16, "out_channels": 32, "kernel": 3, "stride": 2,
                        "input_size": 12},
                       {"type": "fc", "in_channels": 32 * 5 * 5, "out_channels": 10, "electronic": "true"}])
    fc = nn.Linear(800, 10)
    fc.electronic = True
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, stride=2), nn.Flatten(), fc)
    for batch in (None, 4):
        t = mapping.map_model(from_table(df), acc, batch=batch)
        m = mapping.map_model(model, acc, (1, 1, 12, 12), batch=batch)
        assert (t.batch, t.binary_macs) == (m.batch, m.binary_macs) == (batch or 1, 16 * 144 * 9 + 32 * 25 * 144)
        for field in ("energy_j", "latency_s", "fps", "energy_per_bit_j"):
            assert getattr(t, field) == pytest.approx(getattr(m, field), rel=1e-12, abs=0), field
        assert list(t.layers["electronic_macs"]) == list(m.layers["electronic_macs"]) == [0, 0, (batch or 1) * 8000]
    with pytest.raises(ValueError, match="batch=4 and the workload's batch 2"):
        mapping.map_model(from_table(df, batch=2), acc, batch=4)
    with pytest.raises(ValueError, match="input_shape"):
        mapping.map_model(from_table(df), acc, (1, 3, 5, 5))


BASE = {"name": "c", "type": "conv", "in_channels": 4, "out_channels": 8, "kernel": 3, "stride": 1, "padding": 1,
        "groups": 1, "input_size": 8}


@pytest.mark.parametrize("change,needles", [
    ({"type": "maxpool"}, ["row 2", "'c'", "type='maxpool'", "allowed: conv", "refused: pooling"]),
    ({"type": "lstm"}, ["row 2", "type='lstm'", "recurrent"]),
    ({"in_channels": None}, ["row 2", "in_channels (empty cell or absent column) is missing"]),
    ({"input_size": None}, ["row 2", "input_h (empty cell or absent column) is missing", "input_size"]),
    ({"kernel": 0}, ["row 2", "kernel=0", "out of range", "[1, "]),
    ({"out_channels": -8}, ["row 2", "out_channels=-8", "[1, "]),
    ({"padding": -1}, ["row 2", "padding=-1", "[0, "]),
    ({"groups": 3}, ["row 2", "groups=3", "divisor of both in_channels=4 and out_channels=8"]),
    ({"stride": 1.5}, ["row 2", "stride=1.5", "not an integer"]),
    ({"out_channels": "eight"}, ["row 2", "out_channels='eight'", "not an integer"]),
    ({"kernel": 11}, ["row 2", "does not fit the input"]),
    ({"electronic": "maybe"}, ["row 2", "electronic='maybe'", "true/false"]),
    ({"type": "fc", "kernel": 3, "input_size": None, "padding": None, "groups": None},
     ["row 2", "kernel=3", "empty or 1 for a fc row"]),
    ({"type": "dwconv", "groups": 2}, ["row 2", "groups=2", "in_channels=4 for a dwconv row"]),
    ({"name": "first"}, ["row 2", "name='first'", "repeats row 1"]),
])
def test_bad_rows_are_rejected_by_name(change, needles):
    df = pd.DataFrame([{**BASE, "name": "first"}, {**BASE, **change}])
    with pytest.raises(ValueError) as info:
        from_table(df)
    for n in needles:
        assert n in str(info.value), (n, str(info.value))


def test_bad_tables_are_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"column\(s\) \['strides'\] are unknown"):
        from_table(pd.DataFrame([{**BASE, "strides": 2}]))
    with pytest.raises(ValueError, match="suffix '.txt'"):
        from_table(tmp_path / "t.txt")
    with pytest.raises(FileNotFoundError, match="no such file"):
        from_table(tmp_path / "t.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("type,in_channels,out_channels,kernel,input_size\nconv,4,8,3,8\nconv,4,8,3,x8\n")
    with pytest.raises(ValueError, match=r"bad.csv: row 2: input_size='x8' is not an integer"):
        from_table(bad)
    (tmp_path / "bad.yaml").write_text("conv: 3\n")
    with pytest.raises(ValueError, match="list of layer mappings"):
        from_table(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="has no rows"):
        from_table(pd.DataFrame(columns=["type"]))


def test_cli_map_end_to_end(tmp_path, capsys):
    table = tmp_path / "tiny.csv"
    table.write_text("name,type,in_channels,out_channels,kernel,stride,padding,groups,input_size\n"
                     "c1,conv,1,16,3,1,1,1,8\ndw,dwconv,16,16,3,2,1,,8\nfc,fc,256,10,,,,,\n")
    out = tmp_path / "out"
    assert main(["map", "--layers", str(table), "--preset", "robin-eo", "--batch", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for needle in ("energy per bit", "pJ/bit", "frames/s", "latency (batch)", "energy breakdown", "tuning", "dw"):
        assert needle in printed
    assert "tiny.csv: 3 layers on robin-eo" in printed
    (tmp_path / "one.csv").write_text("name,type,in_channels,out_channels\nfc,fc,256,10\n")
    one = ["map", "--layers", str(tmp_path / "one.csv"), "--preset", "robin-eo", "--out", str(tmp_path / "o1")]
    assert main(one) == 0
    assert "one.csv: 1 layer on robin-eo" in capsys.readouterr().out  # was "1 layers"
    layers = pd.read_csv(out / "layers.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert list(layers["name"]) == ["c1", "dw", "fc"] and list(layers["layer"]) == [0, 1, 2]
    # hand counts, batch 2: c1 16 x 64 positions x K 9; dw 16 x 16 x 9; fc 10 x 256
    assert list(layers["binary_macs"]) == [2 * 16 * 64 * 9, 2 * 16 * 16 * 9, 2 * 10 * 256]
    assert summary["batch"] == 2 and summary["binary_macs"] == 16 * 64 * 9 + 16 * 16 * 9 + 10 * 256
    assert summary["energy_j"] == pytest.approx(sum(summary["breakdown_j"].values()), rel=1e-12, abs=0)
    assert summary["energy_per_bit_j"] == pytest.approx(summary["energy_j"] / summary["binary_macs"], rel=1e-12, abs=0)
    assert layers["energy_j"].sum() / 2 == pytest.approx(summary["energy_j"], rel=1e-6, abs=0)


@pytest.mark.parametrize("args,needle", [
    (["--layers", "missing.csv"], "--layers 'missing.csv': no such file"),
    (["--batch", "0"], "--batch=0 is out of range"),
    (["--batch", "2000000"], "--batch=2000000 is out of range"),
    (["--out", ""], "--out '' is empty"),
    (["--preset", "nope"], "--preset 'nope': name_or_path='nope' is neither a preset nor a file"),
])
def test_cli_map_errors_name_the_argument(tmp_path, capsys, args, needle):
    table = tmp_path / "t.csv"
    table.write_text("type,in_channels,out_channels\nfc,8,4\n")
    base = {"--layers": str(table), "--out": str(tmp_path / "o")}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    argv = ["map", *[x for kv in base.items() for x in kv]]
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


def test_cli_map_bad_row_names_layers_and_row(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("type,in_channels,out_channels\nfc,8,4\navgpool,8,8\n")
    assert main(["map", "--layers", str(table), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--layers" in err and "row 2" in err and "type='avgpool'" in err
    assert not (tmp_path / "o").exists()  # nothing written for a bad table


def test_csv_comment_lines_are_skipped_and_hash_in_a_name_is_kept(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("# a comment\nname,type,in_channels,out_channels\n  # another\nfc#1,fc,8,4\n")
    (layer,) = from_table(table).layers
    assert (layer.name, layer.k, layer.dot_products) == ("fc#1", 8, 4)
