"""robinsim sweep --resume / --overwrite (issue #14 item 13): only missing points are computed, byte-identical table."""
import pytest

from studies import sweep
from studies.cli import main

COMMON = ["--model", "mnist-mlp", "--chips", "0", "--images", "20", "--quiet", "--no-figures"]
WITH_CHIPS = ["--model", "mnist-mlp", "--chips", "1", "--images", "20", "--quiet", "--no-figures"]
GRID = ["--set", "N=8,9,10,16"]  # N=16 does not fit the FSR: an infeasible row, not a task


class Counting:
    """Wraps the design-point task; raises KeyboardInterrupt (a Ctrl-C) at call ``stop_at`` when given."""

    def __init__(self, fn, stop_at=None):
        self.fn, self.stop_at, self.points = fn, stop_at, []

    def __call__(self, *shared, **kwargs):
        if self.stop_at is not None and len(self.points) == self.stop_at:
            raise KeyboardInterrupt
        self.points.append(kwargs["index"])
        return self.fn(*shared, **kwargs)


SMALL = ["--set", "N=8,10,16"]  # two tasks and an infeasible row; with accuracy (chips 1)


def test_interrupted_sweep_resumes_only_the_missing_points(tmp_path, monkeypatch, capsys):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["sweep", *SMALL, *WITH_CHIPS, "--out", str(full)]) == 0
    original = sweep._evaluate_point

    first = Counting(original, stop_at=1)
    monkeypatch.setattr(sweep, "_evaluate_point", first)
    assert main(["sweep", *SMALL, *WITH_CHIPS, "--out", str(cut)]) == 130
    assert "rerun with --resume" in capsys.readouterr().err
    assert first.points == [0] and not (cut / "results.csv").exists()
    assert len(list((cut / "checkpoint" / "done").glob("*.json"))) == 1

    second = Counting(original)
    monkeypatch.setattr(sweep, "_evaluate_point", second)
    assert main(["sweep", *SMALL, *WITH_CHIPS, "--out", str(cut), "--resume"]) == 0
    assert second.points == [1]  # only the point the interrupted run had not finished
    assert (cut / "results.csv").read_bytes() == (full / "results.csv").read_bytes()

    third = Counting(original)
    monkeypatch.setattr(sweep, "_evaluate_point", third)
    assert main(["sweep", *SMALL, *WITH_CHIPS, "--out", str(cut), "--resume"]) == 0  # all done: nothing recomputed
    assert third.points == []


@pytest.mark.parametrize("change, named", [
    (["--seed", "3"], "seed: 0 -> 3"),
    (["--set", "N=8,10"], "points: "),
    (["--chips", "1"], "chips: 0 -> 1"),
])
def test_resume_with_other_arguments_is_refused_naming_the_change(tmp_path, monkeypatch, capsys, change, named):
    out = tmp_path / "s"
    monkeypatch.setattr(sweep, "_evaluate_point", Counting(sweep._evaluate_point, stop_at=1))
    assert main(["sweep", *GRID, *COMMON, "--out", str(out)]) == 130
    capsys.readouterr()
    args = [*change, *COMMON] if change[0] == "--set" else [*GRID, *COMMON, *change]  # a later option wins
    assert main(["sweep", *args, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "other arguments" in err and named in err


def test_rerun_into_a_checkpoint_needs_resume_or_overwrite(tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    original = sweep._evaluate_point
    monkeypatch.setattr(sweep, "_evaluate_point", Counting(original, stop_at=1))
    assert main(["sweep", *GRID, *COMMON, "--out", str(out)]) == 130
    capsys.readouterr()
    assert main(["sweep", *GRID, *COMMON, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds the checkpoint of an earlier run" in err and "--resume" in err and "--overwrite" in err
    assert len(list((out / "checkpoint" / "done").glob("*.json"))) == 1  # not wiped
    again = Counting(original)
    monkeypatch.setattr(sweep, "_evaluate_point", again)
    assert main(["sweep", *GRID, *COMMON, "--out", str(out), "--overwrite"]) == 0
    assert again.points == [0, 1, 2]  # the earlier checkpoint was discarded: every point recomputed


def test_api_resume_without_checkpoint_is_refused():
    with pytest.raises(ValueError, match="resume=True / overwrite=False without a checkpoint"):
        sweep.run("robin-eo", {"N": [8]}, chips=0, resume=True)


def test_sweep_killed_by_sigkill_resumes_to_the_same_table(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    args = ["sweep", "--set", "N=6,7,8,9,10", *COMMON]  # schedule only: the kill test needs no accuracy
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    done = killed / "checkpoint" / "done"
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "studies", *args, "--out", str(killed)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while (not done.is_dir() or not any(done.glob("*.json"))) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in done.glob("*.json")}
    assert 1 <= len(before) < 5, "the sweep must be killed mid-way"
    assert not (killed / "results.csv").exists()
    assert main([*args, "--out", str(killed), "--resume"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in done.glob("*.json")}
    assert len(after) == 5 and all(after[k] == v for k, v in before.items())  # finished points not recomputed
    assert main([*args, "--out", str(straight)]) == 0
    assert (killed / "results.csv").read_bytes() == (straight / "results.csv").read_bytes()
