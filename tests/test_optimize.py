"""studies.optimize and ``robinsim optimize`` (issue 12, item 3).

Checked against independent values: a synthetic two-objective problem whose Pareto front is known
in closed form (front and dominance checked by brute force here), reproducibility invariants (same
seed: same bytes, locally, on Dask and after a resume), and a real run whose exported best.toml is
re-evaluated through map_model.
"""
from __future__ import annotations

import math
from pathlib import Path

import os

import numpy as np
import pandas as pd
import pytest

from accel import Accelerator, presets
from mapping.performance.schedule import map_model
from studies import optimize
from studies.cli import main

KEYS = ("tuning.to_power_per_fsr_mw", "memory.read_energy_fj_per_bit", "receiver.tia_power_mw")
FILES = ("trials.csv", "pareto.csv", "optimize.json", "best.toml")


def _position(config, key):
    """Relative log position of a field in its declared range (0: low, 1: high), computed here."""
    r = config.range_of(key)
    return (math.log(config.value(key)) - math.log(r.low)) / (math.log(r.high) - math.log(r.low))


class Synthetic:
    """Known front: epb = t0 + g, power = 1 - sqrt(t0) + g, g = t1^2 + t2^2 (t: log positions of KEYS);
    Pareto-optimal exactly where g = 0, i.e. power = 1 - sqrt(epb). ``fail_after`` calls raise (an
    interruption); accuracy = 1 - t1 (for the constraint). Picklable for Dask."""

    def __init__(self, fail_after=None):
        self.fail_after, self.calls = fail_after, 0

    def __call__(self, config, seed):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("interrupted")
        t = [_position(config, k) for k in KEYS]
        g = t[1] ** 2 + t[2] ** 2
        return {"epb": t[0] + g, "power": 1.0 - math.sqrt(t[0]) + g, "fps": 1.0 + t[0], "area": 1.0,
                "accuracy": 1.0 - t[1]}


def _run(tmp_path, name, **kw):
    kw = {"fields": list(KEYS), "objectives": ("epb", "power"), "trials": 40, "generation_size": 10,
          "progress": False, "evaluate": Synthetic(), **kw}
    out = tmp_path / name
    df = optimize.run("robin-eo", out=out, **kw)
    optimize.write(df, out, figures=False)
    return df, out


def _bytes(out: Path) -> dict:
    return {f: (out / f).read_bytes() for f in FILES}


def test_fixed_seed_is_byte_identical_and_another_seed_differs(tmp_path):
    a, out_a = _run(tmp_path, "a")
    b, out_b = _run(tmp_path, "b")
    assert _bytes(out_a) == _bytes(out_b)
    c, _ = _run(tmp_path, "c", seed=1)
    assert not np.array_equal(a[list(KEYS)].to_numpy(), c[list(KEYS)].to_numpy())
    # every trial inside its declared range; generations of generation_size in trial order
    cfg = presets.load("robin-eo")
    for k in KEYS:
        r = cfg.range_of(k)
        assert ((a[k] >= r.low) & (a[k] <= r.high)).all()
    assert a["trial"].tolist() == list(range(40)) and a["generation"].tolist() == [i // 10 for i in range(40)]
    # per-trial seeds from SeedSequence(0): spawn(3)[1].spawn(trials)
    ss = np.random.SeedSequence(0).spawn(3)[1].spawn(40)
    assert a["trial_seed"].tolist() == [int(s.generate_state(1, dtype=np.uint32)[0]) for s in ss]
    # the preset is not seeded into the population: no trial has all the preset's values
    assert not any(all(row[k] == cfg.value(k) for k in KEYS) for _, row in a.iterrows())


def test_files_are_written_with_the_process_umask(tmp_path):
    old = os.umask(0o027)
    try:
        _, out = _run(tmp_path, "mask")
    finally:
        os.umask(old)
    for f in FILES:
        assert (out / f).stat().st_mode & 0o777 == 0o640
    assert not list(out.glob(".*.tmp"))


def test_local_and_dask_give_identical_bytes(tmp_path):
    distributed = pytest.importorskip("distributed")
    _, local = _run(tmp_path, "local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        _, remote = _run(tmp_path, "remote", scheduler=client)
    assert _bytes(local) == _bytes(remote)


def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path):
    _, whole = _run(tmp_path, "whole")
    out = tmp_path / "part"
    # preset + 2 generations of 10, then the third generation is interrupted
    with pytest.raises(RuntimeError, match="interrupted"):
        _run(tmp_path, "part", evaluate=Synthetic(fail_after=1 + 20 + 5))
    assert sorted(p.name for p in (out / "checkpoint" / "done").glob("*.json")) == \
        ["gen00000.json", "gen00001.json", "preset.json"]
    with pytest.raises(ValueError, match="resume"):  # neither --resume nor --overwrite
        _run(tmp_path, "part")
    with pytest.raises(ValueError, match="trials"):  # another argument set
        _run(tmp_path, "part", resume=True, trials=50)
    ev = Synthetic()
    _run(tmp_path, "part", resume=True, evaluate=ev)
    assert ev.calls == 20  # generations 2 and 3 only
    assert _bytes(out) == _bytes(whole)
    _run(tmp_path, "part", overwrite=True)  # discards the checkpoint and reruns
    assert _bytes(out) == _bytes(whole)


def _dominates(a, b):
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def test_found_front_of_a_known_problem_is_non_dominated_and_close(tmp_path):
    df, _ = _run(tmp_path, "zdt", trials=600, generation_size=20)
    pts = df[["energy_per_bit_j", "power_w"]].to_numpy()
    front = df["pareto"].to_numpy()
    # brute force over all pairs: front points undominated, every other point dominated by some trial
    le = np.all(pts[:, None, :] <= pts[None, :, :], axis=2)  # le[j, i]: j at least as good as i everywhere
    lt = np.any(pts[:, None, :] < pts[None, :, :], axis=2)
    dominated = np.any(le & lt, axis=0)
    assert (dominated == ~front).all()
    f1, f2 = pts[front, 0], pts[front, 1]
    # distance to the true front power = 1 - sqrt(epb) (g >= 0 lifts both objectives)
    gap = f2 - (1.0 - np.sqrt(np.clip(f1, 0.0, 1.0)))
    assert front.sum() >= 20
    assert gap.min() >= -1e-12 and gap.max() < 0.05 and np.median(gap) < 0.01
    assert f1.min() < 0.05 and f1.max() > 0.9  # spread along the front


def test_accuracy_constraint_marks_infeasible_trials_and_best_is_feasible(tmp_path):
    df, out = _run(tmp_path, "acc", min_accuracy=0.7)
    cfg = presets.load("robin-eo")
    t1 = np.array([(math.log(v) - math.log(cfg.range_of(KEYS[1]).low)) /
                   (math.log(cfg.range_of(KEYS[1]).high) - math.log(cfg.range_of(KEYS[1]).low)) for v in df[KEYS[1]]])
    assert df["feasible"].tolist() == (1.0 - t1 >= 0.7).tolist()
    assert (~df["feasible"]).any() and not (df["pareto"] & ~df["feasible"]).any()
    best = df[df["trial"] == df.attrs["best_trial"]].iloc[0]
    assert best["feasible"] and best["energy_per_bit_j"] == df[df["feasible"]]["energy_per_bit_j"].min()
    assert df.attrs["trials_to_best"] == df.attrs["best_trial"] + 1
    assert "over 2 chips x 200 images" in optimize.summary_text(df)
    one, _ = _run(tmp_path, "one", min_accuracy=0.7, chips=1, trials=10)
    assert "over 1 chip x 200 images" in optimize.summary_text(one)  # was "1 chips"


def test_real_run_best_toml_loads_and_reproduces_its_metrics(tmp_path):
    out = tmp_path / "real"
    fields = ["weight_ring.width_nm", "tuning.to_power_per_fsr_mw"]
    df = optimize.run("robin-eo", fields=fields, trials=4, generation_size=2, out=out, progress=False)
    optimize.write(df, out)
    for f in (*FILES, "pareto.png", "pareto.pdf"):
        assert (out / f).stat().st_size > 0
    cfg = presets.load(out / "best.toml")
    best = df[df["trial"] == df.attrs["best_trial"]].iloc[0]
    assert cfg.name == "robin-eo-optimized"
    for k in fields:
        assert cfg.value(k) == best[k]
    acc = Accelerator(cfg)
    from mapping.bnn import export_binary
    from studies.inputs import load_model

    model = export_binary(load_model("mnist-cnn"))
    rep = map_model(model.source, acc, (1, *model.input_shape))
    assert rep.energy_per_bit_j == pytest.approx(best["energy_per_bit_j"], rel=1e-12)
    # and the values reported in trials.csv / the best.toml header (9 significant digits)
    csv = pd.read_csv(out / "trials.csv").set_index("trial").loc[df.attrs["best_trial"]]
    header = (out / "best.toml").read_text().splitlines()[1]
    for col, value in (("energy_per_bit_j", rep.energy_per_bit_j), ("fps", rep.fps), ("power_w", rep.power_w),
                       ("area_mm2", acc.area_mm2)):
        assert csv[col] == pytest.approx(value, rel=1e-8)
        assert f"{col} = {value:.9g}" in header
    assert rep.fps == pytest.approx(best["fps"], rel=1e-12)
    assert acc.area_mm2 == pytest.approx(best["area_mm2"], rel=1e-12)
    # the preset's own point is the shipped preset's schedule
    base = Accelerator(presets.load("robin-eo"))
    rep0 = map_model(model.source, base, (1, *model.input_shape))
    assert df.attrs["preset_metrics"]["energy_per_bit_j"] == pytest.approx(rep0.energy_per_bit_j, rel=1e-12)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(objectives=("epb", "accuracy")), ValueError, ["objectives", "'accuracy'", "epb", "fps"]),
    (dict(objectives=()), ValueError, ["objectives", "empty"]),
    (dict(fields=["architecture.units"]), KeyError, ["fields", "architecture.units", "no declared range"]),
    (dict(fields=[KEYS[0], KEYS[0]]), ValueError, ["fields", KEYS[0], "twice"]),
    (dict(trials=0), ValueError, ["trials", "0", ">= 1"]),
    (dict(generation_size=1), ValueError, ["generation_size", "1", ">= 2"]),
    (dict(min_accuracy=1.5), ValueError, ["min_accuracy", "1.5", "0 < min_accuracy <= 1"]),
    (dict(seed=-1), ValueError, ["seed", "-1"]),
    (dict(resume=True), ValueError, ["resume", "out"]),
])
def test_bad_arguments_are_rejected_by_name(kwargs, exc, words, rejected):
    with rejected(exc, *words):
        optimize.run("robin-eo", **{"evaluate": Synthetic(), "progress": False, **kwargs})


def test_plot_redraws_the_pareto_figure_from_the_saved_files(tmp_path, capsys):
    df, out = _run(tmp_path, "fig")
    optimize.write(df, out)
    drawn = (out / "pareto.png").read_bytes()
    (out / "pareto.png").unlink()
    assert main(["plot", str(out)]) == 0
    assert (out / "pareto.png").read_bytes() == drawn and (out / "pareto.pdf").stat().st_size > 0


def test_cli_rejects_bad_arguments_by_name(tmp_path, capsys):
    cases = [(["--trials", "0"], "--trials"), (["--objectives", "epb,speed"], "'speed'"),
             (["--fields", "architecture.units"], "architecture.units"), (["--min-accuracy", "2"], "--min-accuracy")]
    for args, word in cases:
        assert main(["optimize", "--out", str(tmp_path / "x"), *args]) == 2
        err = capsys.readouterr().err
        assert word in err and "Traceback" not in err
