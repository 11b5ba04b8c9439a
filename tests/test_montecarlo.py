"""Monte Carlo driver: task dispatch order, checkpoint/resume, Dask equivalence, variation knobs."""
import json

import distributed
import numpy as np
import pytest

from studies.checkpoint import Checkpoint
from studies.dispatch import Task, run_tasks


def _draw(offset, *, chip, seed):
    """A pure task: a few draws from the chip's own SeedSequence child."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(chip + 1)[chip])
    return {"chip": chip, "value": float(offset + rng.standard_normal()), "n": int(rng.integers(0, 100))}


def _tasks(n, seed=7):
    return [Task(f"chip-{c:03d}", {"chip": c, "seed": seed}) for c in range(n)]


def test_rows_come_back_in_task_order_and_match_direct_calls():
    tasks = _tasks(6)[::-1]
    rows = run_tasks(_draw, tasks, shared=(1.5,))
    assert [r["chip"] for r in rows] == [5, 4, 3, 2, 1, 0]
    assert rows == [_draw(1.5, **t.kwargs) for t in tasks]


def test_duplicate_keys_rejected():
    with pytest.raises(ValueError, match="unique"):
        run_tasks(_draw, [Task("a", {"chip": 0, "seed": 0})] * 2, shared=(0.0,))


def test_resume_after_crash_recomputes_only_missing(tmp_path):
    calls, crash = [], [True]

    def flaky(offset, *, chip, seed):
        calls.append(chip)
        if chip == 3 and crash[0]:
            raise RuntimeError("simulated crash")
        return _draw(offset, chip=chip, seed=seed)

    manifest = {"seed": 7, "chips": 6}
    with pytest.raises(RuntimeError):
        run_tasks(flaky, _tasks(6), shared=(0.0,), checkpoint=Checkpoint(tmp_path, manifest))
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [f"chip-{c:03d}.json" for c in range(3)]
    calls.clear()
    crash[0] = False
    rows = run_tasks(flaky, _tasks(6), shared=(0.0,), checkpoint=Checkpoint(tmp_path, manifest, resume=True))
    assert calls == [3, 4, 5]
    assert rows == run_tasks(_draw, _tasks(6), shared=(0.0,))
    # a third pass recomputes nothing and returns the same rows, bit for bit
    calls.clear()
    again = run_tasks(flaky, _tasks(6), shared=(0.0,), checkpoint=Checkpoint(tmp_path, manifest, resume=True))
    assert calls == [] and json.dumps(again) == json.dumps(rows)


def test_resume_with_other_arguments_is_refused_and_plain_rerun_starts_over(tmp_path):
    run_tasks(_draw, _tasks(2), shared=(0.0,), checkpoint=Checkpoint(tmp_path, {"seed": 7}))
    with pytest.raises(ValueError, match=r"seed: 7 -> 8"):
        Checkpoint(tmp_path, {"seed": 8}, resume=True)
    fresh = Checkpoint(tmp_path, {"seed": 8})
    assert fresh.discarded and fresh.done() == {}


def test_dask_local_cluster_gives_identical_rows():
    tasks = _tasks(5)
    expected = run_tasks(_draw, tasks, shared=(0.25,))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert run_tasks(_draw, tasks, shared=(0.25,), scheduler=client) == expected
        assert run_tasks(_draw, tasks, shared=(0.25,), scheduler=cluster.scheduler_address) == expected


def test_bad_scheduler_type():
    with pytest.raises(TypeError, match="scheduler"):
        run_tasks(_draw, _tasks(1), shared=(0.0,), scheduler=3)
