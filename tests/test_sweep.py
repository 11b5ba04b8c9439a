"""Design-space sweeps: field names, sweep files, grids, evaluation and Dask equivalence."""
import distributed
import numpy as np
import pandas.testing
import pytest

from studies import pareto, sweep


def test_parse_assignment_converts_to_field_types():
    assert sweep.parse_assignment("N=8,10,16") == ("N", [8, 10, 16])
    name, values = sweep.parse_assignment("bit_rate_gbps=5,12.5")
    assert name == "bit_rate_gbps" and values == [5.0, 12.5] and all(isinstance(v, float) for v in values)
    assert sweep.parse_assignment("floorplan.ring_pitch_um = 5, 10") == ("floorplan.ring_pitch_um", [5.0, 10.0])


@pytest.mark.parametrize("text, match", [
    ("warp=1", "unknown sweep field 'warp'"),
    ("N", "FIELD=V1,V2"),
    ("N=8,ten", "'ten' is not a valid int"),
    ("architecture.nothing=1", "unknown sweep field"),
])
def test_parse_assignment_errors(text, match):
    with pytest.raises(ValueError, match=match):
        sweep.parse_assignment(text)


def test_sweep_file_grid_dotted_keys_and_errors(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('preset = "robin-po"\n[grid]\nN = [8, 10]\n"floorplan.ring_pitch_um" = 7\n'
                 "[grid.weight_ring]\nwidth_nm = [700, 900]\n")
    grid, preset = sweep.load_sweep_file(f)
    assert preset == "robin-po"
    assert grid == {"N": [8, 10], "floorplan.ring_pitch_um": [7.0], "weight_ring.width_nm": [700.0, 900.0]}
    f.write_text("[grid]\nwarp = [1]\n")
    with pytest.raises(ValueError, match=r"s\.toml: unknown sweep field 'warp'"):
        sweep.load_sweep_file(f)
    f.write_text("[grid]\n")
    with pytest.raises(ValueError, match="non-empty"):
        sweep.load_sweep_file(f)
    f.write_bytes(b"\xff\xfe[grid")
    with pytest.raises(ValueError, match="not valid TOML"):
        sweep.load_sweep_file(f)


def test_expand_is_the_cartesian_product_in_field_order():
    points = sweep.expand({"N": [8, 10], "M": [2, 4, 6]})
    assert points == [{"N": 8, "M": 2}, {"N": 8, "M": 4}, {"N": 8, "M": 6},
                      {"N": 10, "M": 2}, {"N": 10, "M": 4}, {"N": 10, "M": 6}]
    assert sweep.expand([{"N": 8}, {"M": 3}]) == [{"N": 8}, {"M": 3}]
    with pytest.raises(ValueError, match="non-empty list"):
        sweep.expand({"N": []})


def test_apply_sets_every_aliased_field():
    from accel import presets

    base = presets.load("robin-eo")
    # ring pitch 12.5 um: above the outer diameter 2*5 um + 0.65 um plus the 0.7 um smallest gap
    cfg = sweep.apply(base, {"N": 8, "ring_width_nm": 650, "ring_pitch_um": 12.5, "bit_rate_gbps": 10})
    assert cfg.N == 8 and cfg.bit_rate_gbps == 10.0 and cfg.floorplan.ring_pitch_um == 12.5 and cfg.ring_pitch_um == 12.5
    assert cfg.activation_ring.width_nm == 650.0 and cfg.weight_ring.width_nm == 650.0
    assert cfg.M == base.M and cfg.units == base.units


def test_adc_bits_is_a_sweep_field():
    from accel import presets

    assert sweep.resolve_field("adc_bits") == ("converters.adc_bits",)
    cfg = sweep.apply(presets.load("robin-eo"), {"adc_bits": 3})
    assert cfg.converters.adc_bits == 3


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(4)
    x, y = rng.random(60), rng.random(60)
    x[5] = np.nan
    mask = pareto.pareto_front(x, y, minimize_x=False, minimize_y=True)
    for i in range(60):
        if not np.isfinite(x[i]):
            assert not mask[i]
            continue
        others = [j for j in range(60) if j != i and np.isfinite(x[j])]
        dominated = any(x[j] >= x[i] and y[j] <= y[i] and (x[j] > x[i] or y[j] < y[i]) for j in others)
        assert mask[i] == (not dominated)


@pytest.fixture(scope="module")
def folded(mlp):
    return mlp


def test_run_rows_feasibility_and_physical_invariants(folded):
    from accel import Accelerator, presets
    from mapping.performance.schedule import map_model

    grid = {"N": [8, 10, 64], "bit_rate_gbps": [5.0, 10.0]}
    df = sweep.run("robin-eo", grid, model=folded, chips=0)
    assert list(df["point"]) == list(range(6))
    infeasible = df[~df["feasible"]]
    assert list(infeasible["N"]) == [64, 64]  # 64 channels at 1.6 nm do not fit in an ~18 nm FSR
    assert infeasible["error"].str.contains("FSR").all()
    ok = df[df["feasible"]]
    base = presets.load("robin-eo")
    for r in ok.itertuples():
        acc = Accelerator(sweep.apply(base, {"N": r.N, "bit_rate_gbps": r.bit_rate_gbps}))
        assert r.energy_per_bit_j == map_model(folded.source, acc, (1, 1, 28, 28)).energy_per_bit_j
        # roofline: never faster than N*M*units*bit rate binary MACs per second
        assert r.fps <= r.N * base.M * base.units * r.bit_rate_gbps * 1e9 / r.binary_macs
    parts = ok[[c for c in ok.columns if c.startswith("epb_")]].sum(axis=1)
    np.testing.assert_allclose(parts, ok["energy_per_bit_j"], rtol=1e-12)


def test_run_with_accuracy_on_dask_processes_equals_in_process(folded):
    from studies.inputs import load_dataset

    data = load_dataset(None, 16)
    kwargs = dict(model=folded, dataset=data, chips=1, seed=3)
    grid = {"M": [5, 10]}
    expected = sweep.run("robin-eo", grid, **kwargs)
    assert expected["accuracy_mean"].between(0, 1).all()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        got = sweep.run("robin-eo", grid, scheduler=cluster.scheduler_address, **kwargs)
    pandas.testing.assert_frame_equal(got, expected, check_exact=True)


def test_every_configuration_error_still_fails_early():
    with pytest.raises(ValueError, match="no design point"):
        sweep.run("robin-eo", {"N": [64, 128]}, model="mnist-mlp")


# ------------------------------------------------------------------------------ one namespace: --set, sweep files, --vary
def test_two_names_for_one_field_in_a_grid_are_an_error(rejected, tmp_path):
    with rejected(ValueError, "'N'", "'architecture.wavelengths_per_vdu'", "both set"):
        sweep.expand({"N": [8], "architecture.wavelengths_per_vdu": [10]})
    with rejected(ValueError, "'ring_width_nm'", "'weight_ring.width_nm'"):
        sweep.expand([{"ring_width_nm": 600.0, "weight_ring.width_nm": 700.0}])
    f = tmp_path / "s.toml"
    f.write_text("[grid]\nM = [4]\n[grid.architecture]\nvdus_per_unit = [8]\n")
    grid, _ = sweep.load_sweep_file(f)
    with rejected(ValueError, "'M'", "'architecture.vdus_per_unit'"):
        sweep.expand(grid)


def test_variation_fields_and_derived_names_are_sweep_fields(robin_eo_config):
    name, values = sweep.parse_assignment("width_sigma_nm=1,2.5")
    assert name == "width_sigma_nm" and values == [1.0, 2.5] and all(isinstance(v, float) for v in values)
    assert sweep.parse_assignment("thermal.ambient_sigma_K=0,2") == ("thermal.ambient_sigma_K", [0.0, 2.0])
    assert sweep.parse_assignment("tuning.reassign_order=true,false")[1] == [True, False]
    cfg = sweep.apply(robin_eo_config, {"variation_scale": 0.5, "thermal.ambient_mean_K": 2.0})
    assert cfg.variation.sigma_w_die_nm == 0.5 * robin_eo_config.variation.sigma_w_die_nm
    assert cfg.thermal.ambient_mean_K == 2.0


def test_vary_takes_any_variation_or_thermal_field(rejected, robin_eo_config):
    from studies import montecarlo

    for name in ("variation.sigma_w_die_nm", "thermal.ambient_sigma_K", *montecarlo.PARAMETERS):
        assert montecarlo.check_parameter(name) == name
    for name in ("N", "architecture.units", "ring_width_nm"):
        with rejected(ValueError, f"variation parameter {name!r} is unknown", "width_sigma_nm", "variation.<field>"):
            montecarlo.check_parameter(name)
    assert montecarlo.describe("width_sigma_nm") == montecarlo.PARAMETERS["width_sigma_nm"][0]
    assert montecarlo.default_levels("temperature_sigma_k") == [0.0, 1.0, 2.0, 5.0, 10.0]
    with rejected(ValueError, "'variation.sigma_w_die_nm' has no default levels"):
        montecarlo.default_levels("variation.sigma_w_die_nm")
    with rejected(ValueError, "variation.sigma_w_die_nm level=-1.0", ">= 0.0 nm"):
        montecarlo.check_level("variation.sigma_w_die_nm", -1.0)
    v = montecarlo.variation_at("variation.sigma_w_die_nm", 0.2)
    assert v.fab.sigma_w_die_nm == 0.2 and v.fab.sigma_w_ring_nm == robin_eo_config.variation.sigma_w_ring_nm
    assert v.thermal is None  # left to the preset
    hot = robin_eo_config.with_values({"thermal.ambient_sigma_K": 4.0})
    t = montecarlo.variation_at("temperature_offset_k", 5.0, config=hot)
    assert (t.thermal.ambient_mean_K, t.thermal.ambient_sigma_K) == (5.0, 4.0) and t.fab is None


def test_the_same_set_twice_is_an_error_and_a_scalar_is_one_value_everywhere(tmp_path, capsys):
    from studies.cli import main

    assert main(["sweep", "--set", "N=8", "--set", "N=10", "--chips", "0", "--quiet", "--no-figures",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--set N is given twice" in capsys.readouterr().err
    f = tmp_path / "s.toml"
    f.write_text("[grid]\nN = 8\n")
    grid, _ = sweep.load_sweep_file(f)
    assert sweep.expand(grid) == sweep.expand({"N": 8}) == sweep.expand({"N": [8]})


def test_designs_above_the_package_limit_are_flagged(folded, tmp_path, capsys):
    """N=512-class power: a point that draws more than package.max_power_w is kept but flagged."""
    df = sweep.run("robin-eo", {"units": [10, 183], "package.max_power_w": [100.0]}, model=folded, chips=0)
    assert list(df["over_package_limit"]) == list(df["power_w"] > 100.0)
    assert df["over_package_limit"].any() and not df["over_package_limit"].all()
    from studies.cli import main

    assert main(["sweep", "--set", "units=10,183", "--set", "package.max_power_w=100", "--chips", "0", "--quiet",
                 "--no-figures", "--model", "mnist-mlp", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 design point draws more than the package removes" in out
    assert "more than the package removes" in (tmp_path / "o" / "report.md").read_text()
