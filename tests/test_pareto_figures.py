"""Pareto figures of sweeps (issue 14, item 14): a minimum accuracy keeps designs off the front,
markers encode the second swept field, point labels stay clear of the title, "1 chip"."""
import numpy as np
import pandas as pd
import pytest

from studies import figures, plots, sweep
from studies.cli import main
from studies.pareto import pareto_front


def _front_offsets(ax):
    (front,) = [c for c in ax.collections if c.get_label().startswith("Pareto front")]
    return {tuple(np.round(p, 9)) for p in front.get_offsets()}


def _sweep_table():
    # Four designs over N and bit rate; design 3 has the best EPB and FPS but 60 % accuracy.
    return pd.DataFrame({
        "point": [0, 1, 2, 3], "N": [8, 8, 16, 16], "bit_rate_gbps": [5, 10, 5, 10],
        "feasible": [True] * 4, "error": [""] * 4,
        "fps": [1e5, 2e5, 3e5, 9e5], "energy_per_bit_j": [4e-12, 3e-12, 2e-12, 1e-12],
        "fps_per_w": [1.0, 2.0, 3.0, 4.0], "area_mm2": [1.0] * 4, "over_package_limit": [False] * 4,
        "accuracy_mean": [0.99, 0.985, 0.97, 0.60],
    })


def test_pareto_front_without_ineligible_points():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    # point 2 dominates nothing here; with x maximised and y minimised point 2 dominates all
    assert pareto_front(x, y, minimize_x=False, minimize_y=True).tolist() == [False, False, True]
    assert pareto_front(x, y, minimize_x=False, minimize_y=True, eligible=[True, True, False]).tolist() == \
        [False, True, False]
    with pytest.raises(ValueError, match="eligible"):
        pareto_front(x, y, minimize_x=False, minimize_y=True, eligible=[True, False])


def test_min_accuracy_keeps_designs_off_the_front():
    df = _sweep_table()
    meta = {"preset": "robin-eo", "fields": ["N", "bit_rate_gbps"], "chips": 2, "min_accuracy": 0.95,
            "points": 4, "feasible_points": 4, "model": "m"}
    figs = figures._sweep_figures(meta, df)
    # without the threshold design 3 alone dominates on EPB vs FPS; with it, design 2 (97 %) leads
    assert _front_offsets(figs["pareto_epb_fps"].axes[0]) == {(3e5, 2.0)}
    acc_front = _front_offsets(figs["pareto_accuracy_epb"].axes[0])
    assert (1.0, 60.0) not in acc_front and (2.0, 97.0) in acc_front
    no_threshold = figures._sweep_figures({**meta, "min_accuracy": None}, df)
    assert _front_offsets(no_threshold["pareto_epb_fps"].axes[0]) == {(9e5, 1.0)}
    md = sweep.markdown(meta, df)
    front_rows = [line for line in md.splitlines() if line.startswith("| 16")]
    assert front_rows and all("0.6 |" not in line for line in front_rows)
    assert "95 %" in md


def test_markers_encode_the_second_swept_field():
    df = _sweep_table()
    meta = {"preset": "robin-eo", "fields": ["N", "bit_rate_gbps"], "chips": 2, "points": 4, "feasible_points": 4}
    ax = figures._sweep_figures(meta, df)["pareto_epb_fps"].axes[0]
    marker_of = {}
    for c in ax.collections:
        if c.get_label().startswith("Pareto front") or not len(c.get_offsets()):
            continue
        verts = tuple(np.round(c.get_paths()[0].vertices.ravel(), 6))
        for x, _ in c.get_offsets():
            rate = int(df.loc[np.isclose(df["fps"], x), "bit_rate_gbps"].iloc[0])
            marker_of.setdefault(rate, set()).add(verts)
    assert sorted(marker_of) == [5, 10]
    assert all(len(v) == 1 for v in marker_of.values())  # one marker per bit rate
    assert marker_of[5] != marker_of[10]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("bit_rate_gbps = 5" in t for t in labels) and any("N = 8" in t for t in labels)


def test_point_labels_do_not_collide_with_the_title():
    df = pd.DataFrame({"energy_per_bit_j": [1e-12, 2e-12, 3e-12, 4e-12], "accuracy_mean": [0.6, 0.9, 0.99, 1.0],
                       "label": ["N=8, bit_rate_gbps=5", "N=8, bit_rate_gbps=10", "N=16, bit_rate_gbps=5",
                                 "N=16, bit_rate_gbps=10"]})
    fig = plots.pareto(df, "energy_per_bit_j", "accuracy_mean", minimize_x=True, minimize_y=False, x_scale=1e12,
                       y_scale=100.0, y_max=100.5, title="Design space around robin-eo: accuracy vs energy per bit")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    title = ax.title.get_window_extent(r)
    top = ax.get_window_extent(r).y1
    annotations = [t for t in ax.texts if t.get_text().startswith("N=")]
    assert len(annotations) == 4
    for t in annotations:
        box = t.get_window_extent(r)
        assert not box.overlaps(title), t.get_text()
        assert box.y1 <= top + 0.5, t.get_text()


def test_one_chip_is_singular():
    df = _sweep_table()
    meta = {"preset": "robin-eo", "fields": ["N"], "chips": 1, "points": 4, "feasible_points": 4}
    ax = figures._sweep_figures(meta, df)["pareto_accuracy_epb"].axes[0]
    assert ax.get_ylabel() == "mean accuracy over 1 chip (%)"
    assert figures._sweep_figures({**meta, "chips": 2}, df)["pareto_accuracy_epb"].axes[0].get_ylabel() == \
        "mean accuracy over 2 chips (%)"
    mc = pd.DataFrame({"preset": ["a", "a"], "level": [0.0, 1.0], "chip": [0, 0], "accuracy": [0.9, 0.8],
                       "tuning_power_w": [1e-3, 2e-3]})
    labels = [ln.get_label() for ln in plots.accuracy_vs_variation(mc, "width_sigma_nm").axes[0].get_lines()]
    assert "a (median of 1 chip)" in labels
    hist = plots.tuning_power_hist(mc[mc.level == 0])
    assert [t.get_text() for t in hist.axes[0].get_legend().get_texts()][0].endswith("(1 chip)")


@pytest.mark.parametrize("args,needle", [
    (["--min-accuracy", "150"], "--min-accuracy=150"),
    (["--min-accuracy", "x"], "--min-accuracy='x'"),
    (["--min-accuracy", "90", "--chips", "0"], "--min-accuracy needs accuracy"),
])
def test_min_accuracy_argument_errors(tmp_path, capsys, args, needle):
    argv = ["sweep", "--set", "N=8,10", "--out", str(tmp_path / "o"), "--quiet", "--no-figures", *args]
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
