"""Monte Carlo driver: task dispatch order, checkpoint/resume, Dask equivalence, variation knobs."""
import json

import distributed
import numpy as np
import pandas
import pandas.testing
import pytest

from studies.resume import Checkpoint
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


def test_resume_with_other_arguments_is_refused_and_a_plain_rerun_needs_overwrite(tmp_path):
    run_tasks(_draw, _tasks(2), shared=(0.0,), checkpoint=Checkpoint(tmp_path, {"seed": 7}))
    with pytest.raises(ValueError, match=r"seed: 7 -> 8"):
        Checkpoint(tmp_path, {"seed": 8}, resume=True)
    with pytest.raises(ValueError, match="--resume.*--overwrite"):  # a plain rerun no longer wipes the earlier run
        Checkpoint(tmp_path, {"seed": 8})
    assert len(Checkpoint(tmp_path, {"seed": 7}, resume=True).done()) == 2
    fresh = Checkpoint(tmp_path, {"seed": 8}, overwrite=True)
    assert fresh.discarded and fresh.done() == {}


def test_resume_with_more_chips_computes_only_the_new_ones(tiny, tmp_path):
    from studies import montecarlo

    folded, accs, data = tiny
    kwargs = dict(seed=2, parameter="variation_scale", levels=[1.0], checkpoint=tmp_path / "c")
    first = montecarlo.run(folded, accs, data, chips=2, **kwargs)
    done = sorted(p.name for p in (tmp_path / "c" / "done").iterdir())
    more = montecarlo.run(folded, accs, data, chips=3, resume=True, **kwargs)
    added = sorted(set(p.name for p in (tmp_path / "c" / "done").iterdir()) - set(done))
    assert len(done) == 2 and len(added) == 1 and "chip00002" in added[0]
    pandas.testing.assert_frame_equal(more.iloc[:2].reset_index(drop=True), first, check_exact=True)
    fresh = montecarlo.run(folded, accs, data, chips=3, seed=2, parameter="variation_scale", levels=[1.0])
    pandas.testing.assert_frame_equal(more, fresh, check_exact=True)


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


# ------------------------------------------------------------------------------ variation parameters
def test_variation_at_sets_totals_and_keeps_the_level_split():
    from photonics.variation import FabricationModel, ThermalModel
    from studies.montecarlo import variation_at

    default = FabricationModel()
    v = variation_at("width_sigma_nm", 2.0)
    assert v.fab.sigma_w_total_nm == pytest.approx(2.0, rel=1e-12)
    assert v.fab.sigma_t_total_nm == pytest.approx(default.sigma_t_total_nm, rel=1e-12)
    assert v.fab.sigma_w_die_nm / v.fab.sigma_w_total_nm == pytest.approx(
        default.sigma_w_die_nm / default.sigma_w_total_nm, rel=1e-12)
    t = variation_at("thickness_sigma_nm", 0.0)
    assert t.fab.sigma_t_total_nm == 0.0 and t.fab.sigma_w_total_nm == pytest.approx(default.sigma_w_total_nm)
    s = variation_at("variation_scale", 2.0)
    assert s.fab.sigma_w_total_nm == pytest.approx(2 * default.sigma_w_total_nm, rel=1e-12)
    assert s.fab.sigma_t_total_nm == pytest.approx(2 * default.sigma_t_total_nm, rel=1e-12)
    assert s.fab.corr_length_um == default.corr_length_um
    hot = variation_at("temperature_offset_k", 15.0)
    assert hot.thermal.ambient_mean_K == 15.0
    assert hot.thermal.ambient_sigma_K == ThermalModel().ambient_sigma_K
    assert variation_at("temperature_sigma_k", 3.0).thermal.ambient_sigma_K == 3.0


@pytest.mark.parametrize("parameter, level, match", [
    ("humidity", 1.0, "humidity"),
    ("width_sigma_nm", -1.0, "width_sigma_nm level"),
    ("temperature_offset_k", 500.0, "temperature_offset_k level"),
])
def test_variation_at_rejects_bad_input(parameter, level, match):
    from studies.montecarlo import variation_at

    with pytest.raises(ValueError, match=match):
        variation_at(parameter, level)


def test_summarize_matches_numpy():
    import pandas as pd

    from studies.montecarlo import summarize

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"preset": ["a"] * 7 + ["b"] * 5, "chip": list(range(7)) + list(range(5)),
                       "accuracy": rng.random(12), "tuning_power_w": rng.random(12),
                       "energy_per_bit_j": rng.random(12), "rings_out_of_range": rng.integers(0, 3, 12)})
    s = summarize(df).set_index("preset")
    # with levels, the default groups by level too instead of pooling them
    leveled = df.assign(level=[0.0, 1.0] * 6)
    assert list(summarize(leveled).columns[:2]) == ["preset", "level"] and len(summarize(leveled)) == 4
    for p in ("a", "b"):
        acc = df.loc[df.preset == p, "accuracy"].to_numpy()
        assert s.loc[p, "chips"] == len(acc)
        assert s.loc[p, "accuracy_p5"] == pytest.approx(np.percentile(acc, 5), rel=1e-12)
        assert s.loc[p, "accuracy_p95"] == pytest.approx(np.percentile(acc, 95), rel=1e-12)
        assert s.loc[p, "accuracy_std"] == pytest.approx(np.std(acc, ddof=1), rel=1e-12)
        assert s.loc[p, "accuracy_min"] == acc.min()


# ------------------------------------------------------------------------------ the real simulator, tiny
@pytest.fixture(scope="module")
def tiny(mlp, robin_eo, mnist_test):
    """The shipped MLP, robin-eo and the first 16 MNIST test images."""
    images, labels = mnist_test
    return mlp, {"robin-eo": robin_eo}, (images[:16].contiguous(), labels[:16].contiguous())


def test_run_rows_are_the_chips_of_simulate_chip_and_epb_grows_with_tuning_power(tiny):
    from mapping.functional import simulate_chip
    from mapping.performance.schedule import map_model
    from studies import montecarlo

    folded, accs, data = tiny
    df = montecarlo.run(folded, accs, data, chips=2, seed=11, parameter="variation_scale", levels=[0.0, 1.0])
    assert list(zip(df.level, df.chip)) == [(0.0, 0), (0.0, 1), (1.0, 0), (1.0, 1)]
    row = df.iloc[3]
    direct = simulate_chip(folded, accs["robin-eo"], data, chip=1, seed=11,
                           variation=montecarlo.variation_at("variation_scale", 1.0))
    for key, value in direct.items():
        assert row[key] == value, key
    # variation-aware EPB: the chip's tuning power replaces the nominal one in the energy model
    epb = map_model(folded.source, accs["robin-eo"], (1, 1, 28, 28), tuning_power_w=row.tuning_power_w)
    assert row.energy_per_bit_j == epb.energy_per_bit_j
    order = np.argsort(df.tuning_power_w.to_numpy())
    assert np.all(np.diff(df.energy_per_bit_j.to_numpy()[order]) >= 0)


def test_run_on_dask_local_cluster_equals_in_process(tiny):
    from studies import montecarlo

    folded, accs, data = tiny
    kwargs = dict(chips=2, seed=5, parameter="width_sigma_nm", levels=[1.0, 6.0])
    expected = montecarlo.run(folded, accs, data, **kwargs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        got = montecarlo.run(folded, accs, data, scheduler=client, **kwargs)
    import pandas.testing

    pandas.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("parameter, level", [("heater_dac_bits", 6), ("lock_residual_pm", 30.0)])
def test_tuning_fields_vary_through_the_configuration(tiny, parameter, level):
    """A tuning field's level gives the rows of the preset rebuilt with that value."""
    from accel import Accelerator
    from mapping.functional import simulate_chip
    from studies import montecarlo

    folded, accs, data = tiny
    df = montecarlo.run(folded, accs, data, chips=1, seed=4, parameter=parameter, levels=[float(level)])
    assert df.level.tolist() == [level]
    varied = Accelerator(accs["robin-eo"].config.with_values({parameter: level}))
    direct = simulate_chip(folded, varied, data, chip=0, seed=4)
    for key, value in direct.items():
        assert df.iloc[0][key] == value, key
    with pytest.raises(ValueError, match="tuning field"):
        montecarlo.variation_at(parameter, level)


def test_tuning_field_levels_are_checked_before_any_chip(tiny):
    from studies import montecarlo

    folded, accs, data = tiny
    with pytest.raises(TypeError, match="heater_dac_bits level must be an int"):
        montecarlo.run(folded, accs, data, chips=1, parameter="heater_dac_bits", levels=[8.5])
    with pytest.raises(ValueError, match="heater_dac_bits"):
        montecarlo.run(folded, accs, data, chips=1, parameter="heater_dac_bits", levels=[40])


def test_checkpoint_files_are_verified_against_their_digest(tmp_path, rejected):
    from studies.resume import Checkpoint

    ck = Checkpoint(tmp_path / "c", {"run": 1})
    ck.add("a", {"accuracy": 0.5, "chip": 0})
    ck.add("b", {"accuracy": 0.25, "chip": 1})
    again = Checkpoint(tmp_path / "c", {"run": 1}, resume=True)
    assert again.done() == {"a": {"accuracy": 0.5, "chip": 0}, "b": {"accuracy": 0.25, "chip": 1}}
    path = tmp_path / "c" / "done" / "a.json"
    path.write_text(path.read_text().replace("0.5", "0.9"))  # hand-edited
    with rejected(ValueError, "a.json", "digest"):
        again.done()
    path.write_text('{"key": "a", "row": {"accur')  # truncated
    with rejected(ValueError, "a.json", "not valid JSON"):
        again.done()
