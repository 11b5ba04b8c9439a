"""The robinsim command line, run as a subprocess (``python -m studies``)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Small but real: one preset, a few chips, a slice of the MNIST test set.
TINY = ["--preset", "robin-eo", "--model", "mnist-mlp", "--chips", "2", "--images", "48", "--levels", "0,8",
        "--quiet", "--no-figures"]


def robinsim(*args, timeout=240):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ROBINSIM_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "studies", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


def assert_one_line_error(result, *needles):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize("command", [[], ["run"], ["mc"], ["sweep"], ["map"], ["plot"], ["presets"], ["hybrid"]])
def test_help_everywhere(command):
    result = robinsim(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: robinsim")


def test_presets_show_prints_a_configuration_that_loads_back(tmp_path):
    import tomllib

    from accel import presets

    result = robinsim("presets", "--show", "robin-po")
    assert result.returncode == 0, result.stderr
    head = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert head[0] == f"# file: {presets.PRESET_DIR.resolve() / 'robin-po.toml'}"
    assert head[1] == f"# extends: {presets.PRESET_DIR.resolve() / 'robin-eo.toml'}"
    assert presets.from_dict(tomllib.loads(result.stdout)) == presets.load("robin-po")
    assert_one_line_error(robinsim("presets", "--show", str(tmp_path / "none.toml")), "none.toml")


def test_presets_lists_published_configurations():
    result = robinsim("presets")
    assert result.returncode == 0
    rows = {line.split()[0]: line.split()[1:4] for line in result.stdout.splitlines()[1:]}
    # N, M, units of the OXBNN-simulator models of ROBIN-EO/PO and LightBulb (docs/references.md §6)
    assert rows["robin-eo"] == ["10", "10", "183"]
    assert rows["robin-po"] == ["50", "10", "37"]
    assert rows["lightbulb"] == ["16", "4", "227"]


@pytest.mark.parametrize("args, needle", [
    (["run", "--preset", "robin-xx"], "robin-xx"),
    (["run", "--chips", "0"], "--chips"),
    (["sweep", "--set", "warp_factor=1,2"], "unknown sweep field 'warp_factor'"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_arguments_one_line_error_subprocess(tmp_path, args, needle):
    assert_one_line_error(robinsim(*args, "--out", str(tmp_path / "o")) if args[0] != "frobnicate" else robinsim(*args),
                          needle)
    assert not (tmp_path / "o").exists()


def test_bad_arguments_one_line_error_in_process(tmp_path, capsys):
    from studies.cli import main

    a_file = tmp_path / "file.txt"
    a_file.write_text("not a directory")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[grid\nN = [8,")
    wrong_key = tmp_path / "wrong.toml"
    wrong_key.write_text("colour = 'red'\n[grid]\nN = [8]\n")
    cases = [
        (["run", "--out", str(a_file)], "is an existing file"),
        (["run", "--seed", "abc"], "--seed"),
        (["run", "--levels", "1,x"], "--levels"),
        (["sweep", "--file", str(bad_toml), "--out", str(tmp_path / "s")], "not valid TOML"),
        (["sweep", "--file", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "s")], "no such file"),
        (["sweep", "--file", str(wrong_key), "--out", str(tmp_path / "s")], "unknown key 'colour'"),
        (["sweep", "--set", "N=8,ten", "--out", str(tmp_path / "s")], "'ten' is not a valid int"),
        (["sweep", "--out", str(tmp_path / "s")], "nothing to sweep"),
        (["mc", "--vary", "humidity", "--out", str(tmp_path / "m")], "humidity"),
        (["mc", "--levels", "-1", "--out", str(tmp_path / "m")], "out of range"),
        (["plot", str(tmp_path / "nowhere")], "no such file or directory"),
        (["plot", str(tmp_path)], "no report.json"),
    ]
    for args, needle in cases:
        assert main(args) != 0, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err, (args, err)
    assert not (tmp_path / "s").exists() and not (tmp_path / "m").exists()


def test_run_writes_every_file_and_results_are_byte_identical(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    r1 = robinsim("run", "--out", str(first), *TINY)
    assert r1.returncode == 0, r1.stderr
    from studies.cli import main

    assert main(["run", "--out", str(second), *TINY]) == 0  # the same command in this process
    assert (first / "results.csv").read_bytes() == (second / "results.csv").read_bytes()
    for name in ("report.md", "report.json", "results.csv", "variation.csv", "spectra.csv"):
        assert (first / name).stat().st_size > 0, name
    df = pd.read_csv(first / "results.csv")
    assert list(df[["preset", "chip"]].itertuples(index=False, name=None)) == [("robin-eo", 0), ("robin-eo", 1)]
    assert df["accuracy"].between(0, 1).all() and (df["tuning_power_w"] >= 0).all()
    meta = json.loads((first / "report.json").read_text())
    energy = meta["results"]["robin-eo"]["energy"]
    assert sum(energy["breakdown_j_per_bit"].values()) == pytest.approx(energy["energy_per_bit_j"], rel=1e-9)
    assert meta["results"]["robin-eo"]["accuracy"]["min"] == df["accuracy"].min()
    # provenance: the preset file, a content hash and the resolved configuration that loads back
    from accel import presets

    conf = meta["configurations"]["robin-eo"]
    assert Path(conf["path"]) == presets.PRESET_DIR.resolve() / "robin-eo.toml" and conf["extends"] == []
    assert presets.from_dict(conf["configuration"]) == presets.load("robin-eo")
    assert conf["sha256"] == presets.provenance(presets.load("robin-eo"))["sha256"]
    assert conf["sha256"][:16] in (first / "report.md").read_text()
    energy = meta["results"]["robin-eo"]["energy"]
    assert energy["package_max_power_w"] == presets.load("robin-eo").package.max_power_w
    assert f"`robin-eo` {energy['power_w']:.4g} W of {energy['package_max_power_w']:.4g} W" in (first / "report.md").read_text()
    # `plot` draws every figure from the saved files alone
    r3 = robinsim("plot", str(first / "report.json"))
    assert r3.returncode == 0, r3.stderr
    for stem in ("energy_comparison", "epb_breakdown", "accuracy_per_chip", "accuracy_vs_variation",
                 "tuning_power_hist", "ring_spectra"):
        assert (first / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (first / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"


def _done(out: Path) -> int:
    done = out / "checkpoint" / "done"
    return len(list(done.glob("*.json"))) if done.is_dir() else 0


def test_mc_killed_then_resumed_equals_uninterrupted_run(tmp_path, capsys):
    args = ["mc", "--preset", "robin-eo", "--model", "mnist-mlp", "--chips", "3", "--levels", "0,8", "--images", "32",
            "--quiet", "--no-figures"]
    total = 6
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "studies", *args, "--out", str(killed)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while _done(killed) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_before = {p.name: p.stat().st_mtime_ns for p in (killed / "checkpoint" / "done").glob("*.json")}
    assert 2 <= len(finished_before) < total, "the run must be interrupted mid-way"
    assert not (killed / "results.csv").exists()

    resumed = robinsim(*args, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    # finished chips were neither recomputed nor rewritten
    after = {p.name: p.stat().st_mtime_ns for p in (killed / "checkpoint" / "done").glob("*.json")}
    assert all(after[name] == mtime for name, mtime in finished_before.items())
    assert len(after) == total

    from studies.cli import main

    straight = tmp_path / "straight"
    assert main([*args, "--out", str(straight)]) == 0  # uninterrupted, in this process
    assert (killed / "results.csv").read_bytes() == (straight / "results.csv").read_bytes()
    df = pd.read_csv(straight / "results.csv")
    assert len(df) == total and sorted(df["level"].unique()) == [0, 8]

    # resuming with other arguments is refused, naming the argument that differs (more chips is allowed)
    capsys.readouterr()
    assert main([*args, "--seed", "1", "--out", str(killed), "--resume"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seed: 0 -> 1" in err[0], err
    # rerunning into it without --resume is refused instead of wiping it; --overwrite starts over
    assert main([*args, "--out", str(killed)]) != 0
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--out", str(killed), "--overwrite"]) == 0
    assert (killed / "results.csv").read_bytes() == (straight / "results.csv").read_bytes()


# ------------------------------------------------------------------------------ robustness of the command line
def test_levels_parse_negative_values_and_reject_empty_items_and_zero_counts():
    import argparse

    from studies.cli import _float_list, _join_negative_values, build_parser

    args = build_parser().parse_args(_join_negative_values(["mc", "--vary", "temperature_offset_k", "--levels", "-2,0,2"]))
    assert args.levels == [-2.0, 0.0, 2.0]
    assert _float_list("-4:4:3") == [-4.0, 0.0, 4.0]
    for text, words in (("1,,2", "empty item"), ("0:8:0", "count 0"), ("1:2", "start:stop:count"), ("a,b", "not a")):
        with pytest.raises(argparse.ArgumentTypeError, match=words):
            _float_list(text)


@pytest.mark.parametrize("args, needle", [
    (["--out", ""], "--out '' is empty"),
    (["--out", "/proc/robinsim-x/y"], "--out '/proc/robinsim-x/y' cannot be created"),
    (["--scheduler", "notanaddress"], "--scheduler"),
])
def test_output_and_scheduler_errors_name_their_option(tmp_path, capsys, args, needle):
    from studies.cli import main

    base = ["mc", "--preset", "robin-eo", "--model", "mnist-mlp", "--chips", "1", "--images", "8", "--levels", "0",
            "--quiet", "--no-figures"]
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "o")]
    assert main([*base, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_written_files_respect_the_umask(tmp_path):
    from studies.outputs import atomic_write_text, write_json

    old = os.umask(0o027)
    try:
        a = atomic_write_text(tmp_path / "a.txt", "x")
        b = write_json(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert a.stat().st_mode & 0o777 == 0o640 and b.stat().st_mode & 0o777 == 0o640
    old = os.umask(0o002)
    try:
        assert atomic_write_text(tmp_path / "c.txt", "x").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_no_figures_leaves_no_broken_image_links(tmp_path):
    import re

    from studies.cli import main

    out = tmp_path / "m"
    assert main(["mc", "--preset", "robin-eo", "--model", "mnist-mlp", "--chips", "1", "--images", "8", "--levels", "0",
                 "--quiet", "--no-figures", "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (out / target).exists(), target
    assert "robinsim plot" in text


@pytest.mark.parametrize("command", ["sweep", "sensitivity", "optimize"])
def test_api_defaults_are_the_command_defaults(command):
    """`sweep.run` took chips=0 while `robinsim sweep` took 2: each study's API now defaults to the
    command's chips, seed and images (`sweep.run`'s images=None stands for the command's 1000 when
    no dataset is given), and its progress bars to the command's rule (None: only on a terminal)."""
    import inspect

    from studies import optimize, sensitivity, sweep
    from studies.cli import build_parser

    args = build_parser().parse_args([command])
    params = inspect.signature({"sweep": sweep.run, "sensitivity": sensitivity.run,
                                "optimize": optimize.run}[command]).parameters
    assert (params["chips"].default, params["seed"].default) == (args.chips, args.seed)
    assert params["images"].default == (None if command == "sweep" else args.images)
    assert params["progress"].default is None


def test_sweep_api_takes_the_commands_1000_images_by_default(monkeypatch):
    """`sweep.run` without images or dataset evaluates accuracy on the first 1000 MNIST test
    images, as `robinsim sweep` does (its --images default)."""
    from studies import sweep
    from studies.cli import build_parser

    asked = []

    def stop(dataset, images):  # records the request, then ends the run before any chip
        asked.append((dataset, images))
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "load_dataset", stop)
    with pytest.raises(KeyboardInterrupt):
        sweep.run("robin-eo", {"N": [8]}, model="mnist-mlp", progress=False)
    assert asked == [(None, build_parser().parse_args(["sweep"]).images)] == [(None, 1000)]


def test_quiet_keeps_the_summary_in_percent_and_piped_runs_draw_no_bars(tmp_path, capsys):
    """`--quiet` used to hide the summary table along with the bars, a piped run's stderr filled
    with ``\\r`` progress lines, and the sweep printed accuracy as a fraction where mc and run print
    percent. Under capsys stderr is not a terminal, as in a pipe."""
    from studies.cli import main

    args = ["sweep", "--set", "N=8,10", "--chips", "1", "--images", "48", "--model", "mnist-mlp", "--no-figures"]
    for quiet, out in ((["--quiet"], tmp_path / "quiet"), ([], tmp_path / "piped")):
        assert main([*args, *quiet, "--out", str(out)]) == 0
        printed = capsys.readouterr()
        assert "\r" not in printed.err and "chips" not in printed.err  # no progress bar
        lines = printed.out.splitlines()
        head = next(i for i, line in enumerate(lines) if "accuracy %" in line)  # the summary table
        shown = [float(lines[head + 1 + k].split()[-1]) for k in range(2)]
        fractions = pd.read_csv(out / "results.csv")["accuracy_mean"].to_numpy()
        assert shown == pytest.approx(100 * fractions, rel=1e-3)
