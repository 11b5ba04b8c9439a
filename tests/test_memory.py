"""Memory estimate before a run (issue #14 item 6): refuse what will not fit, with the estimate and the limit."""
import gc
import os
import resource
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from accel import Accelerator, memory, presets
from accel.floorplan import build_floorplan

ROOT = Path(__file__).resolve().parents[1]


def _rings(cfg):
    return cfg.architecture.units * cfg.architecture.vdus_per_unit * cfg.architecture.wavelengths_per_vdu * 2


def _tracemalloc_peak(fn):
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_byte_model_bounds_the_measured_peak():
    # The stated per-ring figures must cover what the arrays really take (tracemalloc, new allocations).
    cfg = presets.load("robin-eo").with_values({"units": 300})
    n = _rings(cfg)  # 300 units x 10 VDUs x 10 channels x 2 rings
    assert n == 60000
    fp_peak = _tracemalloc_peak(lambda: build_floorplan(cfg))
    assert 48 * n <= fp_peak <= memory.FLOORPLAN_BYTES_PER_RING * n  # six 8-byte arrays at least
    acc = Accelerator(cfg)
    acc.floorplan
    acc.components.tuner.nominal()
    chip_peak = _tracemalloc_peak(lambda: acc.sample_chip(0, 0))
    assert chip_peak <= memory.CHIP_BYTES_PER_RING * n


def test_accelerator_entry_points_refuse_beyond_the_limit(monkeypatch):
    cfg = presets.load("robin-eo").with_values({"units": 5000})  # 1,000,000 rings
    limit = 10 * 2**20
    monkeypatch.setattr(memory, "available_bytes", lambda: (limit, "test limit"))
    acc = Accelerator(cfg)
    for call in (lambda: acc.floorplan, lambda: acc.components.tuner.nominal()):
        with pytest.raises(memory.MemoryLimitError, match=r"needs an estimated .* for 1,000,000 rings .*10\.0 MiB \(test limit\)"):
            call()
    assert isinstance(memory.MemoryLimitError("x"), ValueError)
    # one chip of the pipeline on a floorplan that fits: 640 B x 1e6 rings = 610.4 MiB
    monkeypatch.setattr(memory, "available_bytes", lambda: (600 * 2**20, "test limit"))
    small = Accelerator(presets.load("robin-eo").with_values({"units": 2}))
    small.sample_chip(0, 0)  # 4,000 rings fit
    acc.__dict__["floorplan"] = build_floorplan(cfg)
    with pytest.raises(memory.MemoryLimitError, match=r"chip 0 .* needs an estimated 610\.4 MiB"):
        acc.sample_chip(0, 0)


def test_available_bytes_respects_rlimit_as():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    before, _ = memory.available_bytes()
    used = memory._address_space_used()
    cap = used + 300 * 2**20
    if hard != resource.RLIM_INFINITY and hard < cap:
        pytest.skip("hard RLIMIT_AS below the test's cap")
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        after, source = memory.available_bytes()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert "RLIMIT_AS" in source
    assert 0 < after <= 300 * 2**20 < before


CHILD = textwrap.dedent("""
    import sys
    from studies.cli import main
    big, small = sys.argv[1], sys.argv[2]
    common = ["--chips", "1", "--images", "20", "--model", "mnist-mlp", "--quiet", "--no-figures"]
    print("rc", main(["sweep", "--set", "units=20000", "--out", big, *common]), flush=True)
    print("rc", main(["sweep", "--set", "units=2", "--out", small, *common]), flush=True)
""")


def test_refusal_under_a_memory_rlimit(tmp_path):
    # Under RLIMIT_AS = 3 GiB, units=20000 (4e6 rings, ~2.4 GiB for one chip) is refused with the estimate
    # and the limit instead of a MemoryError; a small sweep still runs under the same limit.
    limit = 3 * 2**30

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("ROBINSIM_TRACEBACK", None)
    big, small = tmp_path / "big", tmp_path / "small"
    res = subprocess.run([sys.executable, "-c", CHILD, str(big), str(small)], capture_output=True, text=True,
                         cwd=ROOT, env=env, preexec_fn=cap, timeout=180)
    assert res.returncode == 0, res.stderr
    assert [line for line in res.stdout.splitlines() if line.startswith("rc ")] == ["rc 2", "rc 0"], res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in res.stderr and "MemoryError" not in res.stderr
    assert "design point 0" in err[0] and "4,000,000 rings (units x M x N x 2 = 20000 x 10 x 10 x 2)" in err[0]
    assert "needs an estimated" in err[0] and "RLIMIT_AS 3.0 GiB" in err[0]
    assert not big.exists()  # refused before anything was written
    assert (small / "results.csv").read_text().count("\n") == 2  # header + 1 point


@pytest.fixture
def small_limit(monkeypatch):
    limit = 50 * 2**20
    monkeypatch.setattr(memory, "available_bytes", lambda: (limit, "test limit"))
    return presets.load("robin-eo").with_values({"units": 2000})  # 400,000 rings: one chip 640 B x 4e5 = 244.1 MiB


def test_montecarlo_and_sensitivity_api_refuse_before_running(small_limit, monkeypatch):
    from studies import montecarlo, sensitivity

    ran = []
    monkeypatch.setattr(montecarlo, "_chip_row", lambda *a, **k: ran.append(1))
    with pytest.raises(memory.MemoryLimitError, match=r"Monte Carlo of preset 'big' needs an estimated .* for 400,000 "
                                                      r"rings .*chip pipeline 244\.1 MiB.*50\.0 MiB \(test limit\)"):
        montecarlo.run("mnist-mlp", {"big": small_limit}, chips=1, images=10)
    assert ran == []
    # floorplan 64 B x 4e5 rings = 24.4 MiB, plus the nominal tuning the schedule metrics sample:
    # 80 B x 4e5 rings + 64 MiB = 94.5 MiB; 118.9 MiB in all
    with pytest.raises(memory.MemoryLimitError, match=r"sensitivity evaluation .*needs an estimated 118\.9 MiB .*"
                                                      r"floorplan 24\.4 MiB, nominal tuning 94\.5 MiB"):
        sensitivity.run(small_limit, metric="epb", parameters=[sensitivity.declared(small_limit)[0].key])


def test_mc_command_refuses_before_creating_its_output(small_limit, tmp_path, capsys):
    from accel import presets as preset_files
    from studies.cli import main

    path = tmp_path / "big.toml"
    path.write_text('extends = "robin-eo"\nname = "big"\n[architecture]\nunits = 2000\n')
    assert preset_files.load(path).units == 2000
    out = tmp_path / "out"
    assert main(["mc", "--preset", str(path), "--model", "mnist-mlp", "--chips", "1", "--images", "10",
                 "--levels", "1", "--out", str(out), "--quiet", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "robinsim mc of preset" in err and "400,000 rings" in err and "test limit" in err
    assert not out.exists()
