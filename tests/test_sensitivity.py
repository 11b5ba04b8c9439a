"""studies.sensitivity and ``robinsim sensitivity`` (issue 12, item 2).

Checked against independent values: a synthetic linear metric (its coefficients and closed-form
roots), the Ishigami function's known Sobol indices and its Morris elementary effects computed
by hand on the 4-level grid.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accel import presets
from accel.config import ConfigKeyError, Range
from studies import sensitivity
from studies.cli import main

KEYS = ("memory.read_energy_fj_per_bit", "receiver.tia_power_mw", "tuning.to_power_per_fsr_mw", "variation.sigma_gap_nm")


class LinearMetric:
    """``intercept + sum(coef * value)`` of a configuration (per preset name), picklable for Dask."""

    def __init__(self, coefs: dict, intercept: dict):
        self.coefs, self.intercept = coefs, intercept

    def __call__(self, config) -> float:
        c = self.coefs[config.name]
        return self.intercept[config.name] + sum(k * config.value(key) for key, k in c.items())


def _linear(names=("robin-eo",)):
    coefs = {"robin-eo": {KEYS[0]: 0.5, KEYS[1]: -3.0, KEYS[2]: 2.0, KEYS[3]: 7.0},
             "lightbulb": {KEYS[0]: 1.5, KEYS[2]: 0.25},
             "mine": {KEYS[0]: 0.5, KEYS[1]: -3.0, KEYS[2]: 2.0, "tuning.to_max_power_mw": 4.0}}
    intercept = {"robin-eo": 1000.0, "lightbulb": 50.0, "mine": 1000.0}
    return LinearMetric(coefs, intercept)


def test_oat_on_a_linear_metric_recovers_its_coefficients_exactly():
    metric = _linear()
    df = sensitivity.run("robin-eo", evaluate=metric, parameters=list(KEYS), progress=False)
    cfg = presets.load("robin-eo")
    coefs = metric.coefs["robin-eo"]
    nominal = 1000.0 + sum(k * cfg.value(key) for key, k in coefs.items())
    assert df["metric_nominal"].tolist() == pytest.approx([nominal] * 4, rel=1e-15)
    for _, row in df.iterrows():
        slope = (row["metric_high"] - row["metric_low"]) / (row["high"] - row["low"])
        assert slope == pytest.approx(coefs[row["parameter"]], rel=1e-12)
        assert row["swing"] == pytest.approx(abs(coefs[row["parameter"]]) * (row["high"] - row["low"]), rel=1e-12)
        assert row["source"] == cfg.range_of(row["parameter"]).source
    # rank 1 = largest swing: |c| * (high - low): 2 * 77.6, 0.5 * 980, 7 * 5, 3 * 5.9
    assert df["parameter"].tolist() == [KEYS[0], KEYS[2], KEYS[3], KEYS[1]]
    assert df["rank"].tolist() == [1, 2, 3, 4]
    assert df.attrs["evaluations"] == 1 + 2 * 4 and df.attrs["method"] == "oat"


@pytest.fixture()
def mine(tmp_path: Path) -> Path:
    """robin-eo plus one range lightbulb does not declare (applied to the preset only)."""
    path = tmp_path / "mine.toml"
    path.write_text('extends = "robin-eo"\nname = "mine"\n[ranges]\n'
                    '"tuning.to_max_power_mw" = { low = 20.0, high = 100.0, source = "assumption: test" }\n')
    return path


def test_ratio_varies_shared_parameters_in_both_and_solves_targets_in_closed_form(mine):
    metric = _linear()
    keys = [KEYS[0], KEYS[1], "tuning.to_max_power_mw"]
    eo, lb = presets.load(mine), presets.load("lightbulb")
    f_eo = lambda ch: metric(eo.with_values(ch))  # noqa: E731
    f_lb = lambda ch: metric(lb.with_values(ch))  # noqa: E731
    ratio0 = f_lb({}) / f_eo({})
    target = ratio0 * 1.001  # reachable by to_max_power_mw (lowers robin-eo's metric) and read energy
    df = sensitivity.run(mine, ratio_to="lightbulb", target=target, evaluate=metric, parameters=keys,
                         progress=False).set_index("parameter")
    assert df.loc[KEYS[0], "applied_to"] == "both" and df.loc[KEYS[1], "applied_to"] == "both"
    assert df.loc["tuning.to_max_power_mw", "applied_to"] == "preset"
    r_eo, r_lb = eo.range_of(KEYS[0]), lb.range_of(KEYS[0])
    assert df.loc[KEYS[0], "metric_low"] == pytest.approx(f_lb({KEYS[0]: r_lb.low}) / f_eo({KEYS[0]: r_eo.low}))
    assert df.loc[KEYS[0], "metric_high"] == pytest.approx(f_lb({KEYS[0]: r_lb.high}) / f_eo({KEYS[0]: r_eo.high}))
    assert df.loc["tuning.to_max_power_mw", "metric_low"] == pytest.approx(ratio0 * f_eo({}) / f_eo(
        {"tuning.to_max_power_mw": 20.0}))
    # closed form of the preset-only parameter: ratio(x) = A / (B + 4 (x - x0)) = target
    x0, A, B = eo.tuning.to_max_power_mw, f_lb({}), f_eo({})
    expected = x0 + (A / target - B) / 4.0
    assert 20.0 <= expected <= 100.0
    assert df.loc["tuning.to_max_power_mw", "target_value"] == pytest.approx(expected, rel=1e-5)
    assert df.loc["tuning.to_max_power_mw", "target_note"] == "reached"
    # tia_power only lowers robin-eo's metric more as it rises (c = -3): never reaches a lower ratio than...
    far = sensitivity.run(mine, ratio_to="lightbulb", target=1e6, evaluate=metric, parameters=keys, progress=False)
    assert (far["target_note"] == sensitivity.NOT_REACHABLE).all() and far["target_value"].isna().all()


def ishigami(x, a=7.0, b=0.1):
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


ISHIGAMI = [Range(f"x{i}", -math.pi, math.pi, "Ishigami & Homma 1990") for i in (1, 2, 3)]


def test_sobol_on_ishigami_matches_its_known_indices():
    df = sensitivity.indices(ISHIGAMI, ishigami, "sobol", n_base=4096, seed=1)
    s1, st = [0.3139, 0.4424, 0.0], [0.5576, 0.4424, 0.2437]  # a = 7, b = 0.1 (closed form)
    assert np.all(np.abs(df["S1"] - s1) <= np.maximum(2 * df["S1_conf"], 0.02))
    assert np.all(np.abs(df["ST"] - st) <= np.maximum(2 * df["ST_conf"], 0.02))
    assert df.attrs == {"base_samples": 4096, "evaluations": 4096 * 5}


def test_morris_on_ishigami_matches_its_elementary_effects_on_the_grid():
    """4 levels {-pi, -pi/3, pi/3, pi}, step 2/3 of the range: |d sin x1| = sqrt(3)/2 and |d sin^2 x2| = 3/4
    on every step, |d x3^4| = pi^4 (1 - 3^-4); the other inputs sit on each level with probability 1/4."""
    n = 1000
    df = sensitivity.indices(ISHIGAMI, ishigami, "morris", n_base=n, seed=3)
    delta = 2.0 / 3.0
    x3_4 = [math.pi ** 4, (math.pi / 3) ** 4]
    ee1 = [math.sqrt(3) / 2 * (1 + 0.1 * v) / delta for v in x3_4]           # two equally likely values
    ee3 = [0.0, 0.1 * (math.pi ** 4 - (math.pi / 3) ** 4) * math.sqrt(3) / 2 / delta]
    mu_star = [np.mean(ee1), 7.0 * 0.75 / delta, np.mean(ee3)]
    se = [np.std(ee1) / math.sqrt(n), 0.0, np.std(ee3) / math.sqrt(n)]
    assert df["mu_star"].iloc[1] == pytest.approx(mu_star[1], rel=1e-9)
    for i in (0, 2):
        assert abs(df["mu_star"].iloc[i] - mu_star[i]) <= 4 * se[i]
    assert df.attrs["evaluations"] == n * 4


def test_run_morris_states_its_base_sample_size(tmp_path):
    df = sensitivity.run("robin-eo", method="morris", n_base=4, evaluate=_linear(), parameters=list(KEYS), progress=False)
    assert {"mu_star", "mu_star_conf", "sigma", "base_samples", "evaluations"} <= set(df.columns)
    assert (df["base_samples"] == 4).all() and (df["evaluations"] == 4 * 5).all()
    assert df.attrs["base_samples"] == 4
    assert df["rank"].tolist() == list(df["mu_star"].rank(ascending=False, method="first").astype(int))
    sensitivity.write(df, tmp_path, figures=False)
    csv = pd.read_csv(tmp_path / "sensitivity.csv")
    assert (csv["base_samples"] == 4).all()


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(metric="energy"), ValueError, ["metric='energy'", "epb"]),
    (dict(method="fast"), ValueError, ["method='fast'", "oat"]),
    (dict(method="morris", metric="accuracy"), ValueError, ["method='morris'", "accuracy", "oat"]),
    (dict(method="sobol", n_base=6), ValueError, ["n_base=6", "power of two"]),
    (dict(n_base=8), ValueError, ["n_base=8", "oat"]),
    (dict(target="big"), TypeError, ["target", "'big'"]),
    (dict(parameters=["losses.ring_through_db"]), ConfigKeyError, ["losses.ring_through_db", "no declared range"]),
    (dict(seed=-1), ValueError, ["seed=-1", ">= 0"]),
    (dict(parameters="losses.coupler_db"), TypeError, ["parameters", "'losses.coupler_db'"]),
    (dict(metric="accuracy", chips=0), ValueError, ["chips=0", ">= 1"]),
    (dict(metric="accuracy", images=0), ValueError, ["images=0", ">= 1"]),
])
def test_bad_arguments_are_rejected_before_any_evaluation(kwargs, exc, words, rejected):
    with rejected(exc, *words):
        sensitivity.run("robin-eo", evaluate=_linear(), progress=False, **kwargs)


def test_cli_end_to_end_writes_the_csv_json_and_tornado(tmp_path, capsys):
    out = tmp_path / "sens"
    rc = main(["sensitivity", "--preset", "robin-eo", "--ratio-to", "lightbulb", "--target", "933", "--quiet",
               "--parameters", "memory.read_energy_fj_per_bit,receiver.tia_power_mw", "--out", str(out)])
    assert rc == 0
    df = pd.read_csv(out / "sensitivity.csv")
    assert {"parameter", "low", "high", "metric", "metric_low", "metric_high", "source", "applied_to",
            "target_value", "target_note"} <= set(df.columns)
    assert len(df) == 2 and (df["metric"] == "epb").all() and (df["applied_to"] == "both").all()
    # the ratio is lightbulb's EPB over robin-eo's, as each preset's own schedule gives it
    from accel import Accelerator
    from mapping.bnn import load_pretrained
    from mapping.performance.schedule import map_model

    model = load_pretrained("mnist-cnn").eval()
    epb = {p: map_model(model, Accelerator(presets.load(p)), (1, 1, 28, 28)).energy_per_bit_j for p in ("robin-eo", "lightbulb")}
    assert df["metric_nominal"].iloc[0] == pytest.approx(epb["lightbulb"] / epb["robin-eo"], rel=1e-8)  # CSV: 9 digits
    from studies.outputs import current_umask

    for ext in ("png", "pdf"):
        assert (out / f"tornado.{ext}").stat().st_size > 1000
    for name in ("sensitivity.csv", "sensitivity.json", "tornado.png", "tornado.pdf"):  # atomic, under the umask
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert "oat sensitivity of epb(lightbulb) / epb(robin-eo)" in capsys.readouterr().out
    assert main(["plot", str(out), "--out", str(tmp_path / "again")]) == 0  # redrawn from the saved files
    assert (tmp_path / "again" / "tornado.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, words", [
    (["--method", "sobol", "--metric", "accuracy"], ["method='sobol'", "accuracy"]),
    (["--method", "sobol", "--n-base", "12"], ["n_base=12", "power of two"]),
    (["--parameters", "losses.nonsense_db"], ["losses.nonsense_db"]),
    (["--metric", "speed"], ["--metric", "speed"]),
])
def test_cli_bad_arguments_exit_2_naming_them(argv, words, tmp_path, capsys):
    assert main(["sensitivity", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


@pytest.mark.slow
def test_accuracy_oat_states_its_standard_error():
    df = sensitivity.run("robin-eo", metric="accuracy", parameters=["thermal.post_lock_drift_sigma_K"], chips=2,
                         images=20, progress=False)  # 6 chips of robin-eo on 20 images
    row = df.iloc[0]
    for col in ("metric_nominal", "metric_low", "metric_high"):
        assert 0.0 <= row[col] <= 1.0
        # at least the binomial error of 20 images, at most it plus half a range of chip spread
        p = row[col]
        assert math.sqrt(p * (1 - p) / 20) - 1e-12 <= row[f"{col}_se"] <= math.sqrt(p * (1 - p) / 20) + 0.5
    assert df.attrs["chips"] == 2 and df.attrs["images"] == 20


def test_local_and_dask_give_identical_tables():
    distributed = pytest.importorskip("distributed")
    kwargs = dict(ratio_to="lightbulb", parameters=["memory.read_energy_fj_per_bit", "receiver.tia_power_mw"],
                  progress=False)
    ratio = sensitivity.run("robin-eo", **kwargs)
    kwargs["target"] = float(ratio["metric_nominal"].iloc[0]) * 1.01
    local = sensitivity.run("robin-eo", **kwargs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = sensitivity.run("robin-eo", scheduler=client, **kwargs)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert local["target_note"].tolist().count("reached") >= 1
