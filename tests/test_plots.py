"""Figures of studies.plots on synthetic tables: units, scales, data drawn, legends clear of data."""
import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from studies import plots
from studies.outputs import save_figure

PRESETS = ["robin-eo", "robin-po", "lightbulb"]


def _sim():
    return pd.DataFrame({"name": PRESETS, "energy_per_bit_j": [2e-13, 8e-13, 3e-11],
                         "fps": [2e5, 6e5, 1e6], "fps_per_w": [1e5, 5e4, 3e3]})


def _published():
    # CrossLight (DAC 2021) table, docs/references.md §6: EPB in pJ/bit, efficiency in kFPS/W.
    return pd.DataFrame({"name": ["NVIDIA P100", "CrossLight", "FINN"],
                         "energy_per_bit_j": [971.31e-12, 28.78e-12, np.nan],
                         "fps": [np.nan, np.nan, 12.3e6], "fps_per_w": [24.9e3, 52.59e3, np.nan],
                         "kind": ["electronic", "optical", "electronic"]})


def _mc_table(rng):
    rows = [dict(preset=p, level=lv, chip=c, accuracy=0.98 - 0.01 * lv * rng.random(),
                 tuning_power_w=1e-3 * (1 + lv) * rng.random())
            for p, lv, c in itertools.product(PRESETS[:2], [0, 2, 4], range(6))]
    return pd.DataFrame(rows)


def _bar_widths(ax):
    return sorted(p.get_width() for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0)


def _legends_outside_axes(fig):
    """Every figure-level legend lies outside every axes (so it cannot cover data)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    for leg in fig.legends:
        lb = leg.get_window_extent(r)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            if lb.overlaps(ax.get_window_extent(r)):
                return False
    return True


def test_energy_comparison_bars_in_pj_and_log_scale():
    fig = plots.energy_comparison(_sim(), _published())
    epb_ax, fps_ax, eff_ax = fig.axes[:3]
    assert all(ax.get_xscale() == "log" for ax in (epb_ax, fps_ax, eff_ax))
    assert "pJ/bit" in epb_ax.get_xlabel() and "frames/s" in fps_ax.get_xlabel() and "kFPS/W" in eff_ax.get_xlabel()
    # every finite value is drawn once, converted to the axis unit (pJ/bit, FPS, kFPS/W)
    expected_epb = sorted([0.2, 0.8, 30.0, 971.31, 28.78])
    np.testing.assert_allclose(_bar_widths(epb_ax), expected_epb, rtol=1e-12)
    np.testing.assert_allclose(_bar_widths(fps_ax), sorted([2e5, 6e5, 1e6, 12.3e6]), rtol=1e-12)
    np.testing.assert_allclose(_bar_widths(eff_ax), sorted([100.0, 50.0, 3.0, 24.9, 52.59]), rtol=1e-12)
    # simulated and published are told apart: solid vs hatched, and a legend says which is which
    hatches = {bool(p.get_hatch()) for p in epb_ax.patches}
    assert hatches == {True, False}
    labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert any("simulated" in t for t in labels) and any("published" in t for t in labels)
    assert _legends_outside_axes(fig)


def test_epb_breakdown_stacks_sum_to_total_and_log_panel_shows_each_component():
    rng = np.random.default_rng(0)
    comps = list(plots.BREAKDOWN_COMPONENTS)
    bd = pd.DataFrame(rng.uniform(1e-15, 1e-13, (3, len(comps))), index=PRESETS, columns=comps)
    bd.iloc[0, 1] = 1e-9  # one dominant component, 4-6 decades above the rest
    fig = plots.epb_breakdown(bd)
    ax_stack, ax_log = fig.axes[:2]
    assert "pJ/bit" in ax_stack.get_ylabel() and "pJ/bit" in ax_log.get_xlabel() and ax_log.get_xscale() == "log"
    for i, preset in enumerate(PRESETS):
        bars = [p for p in ax_stack.patches if abs(p.get_x() + p.get_width() / 2 - i) < 1e-9]
        top = max(p.get_y() + p.get_height() for p in bars)
        assert top == pytest.approx(bd.loc[preset].sum() * 1e12, rel=1e-12)
    # the log panel draws every (preset, component) value once, in pJ/bit
    np.testing.assert_allclose(_bar_widths(ax_log), np.sort(bd.to_numpy().ravel() * 1e12), rtol=1e-12)
    assert _legends_outside_axes(fig)


def test_epb_breakdown_rejects_unknown_component():
    with pytest.raises(ValueError, match="photons"):
        plots.epb_breakdown(pd.DataFrame({"photons": [1e-13]}, index=["x"]))


def test_accuracy_vs_variation_median_line_and_units():
    df = _mc_table(np.random.default_rng(1))
    fig = plots.accuracy_vs_variation(df, "width_sigma_nm", software_accuracy=0.99)
    acc_ax, pow_ax = fig.axes[:2]
    assert acc_ax.get_xlabel() == "width variation σ (nm)"
    assert "%" in acc_ax.get_ylabel() and "mW" in pow_ax.get_ylabel()
    line = [ln for ln in acc_ax.get_lines() if ln.get_label().startswith("robin-eo")][0]
    expected = df[df.preset == "robin-eo"].groupby("level")["accuracy"].median().to_numpy() * 100
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)
    levels = np.sort(df.level.unique())
    np.testing.assert_allclose(line.get_xdata(), levels, atol=0.03 * np.ptp(levels))  # offset at most 3 % of the range
    assert _legends_outside_axes(fig)


def test_tuning_power_hist_covers_every_chip():
    df = _mc_table(np.random.default_rng(2))
    fig = plots.tuning_power_hist(df)
    ax = fig.axes[0]
    assert "mW" in ax.get_xlabel() and "chips" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    lo, hi = ax.get_xlim()
    for p in PRESETS[:2]:
        v = df.loc[df.preset == p, "tuning_power_w"].to_numpy() * 1e3
        assert f"{p}: median {np.median(v):.3g} mW ({len(v)} chips)" in labels
        assert lo <= v.min() and v.max() <= hi
    assert max(ax.get_ylim()) >= 1


def test_ring_spectra_and_accuracy_per_chip():
    wl = np.linspace(1549, 1553, 400)
    ch = np.array([1550.0, 1551.0, 1552.0])
    peaks_before = np.array([1549.6, 1550.4, 1550.9, 1551.5, 1552.2, 1552.6])
    lor = lambda centres: 1 / (1 + ((wl[None] - centres[:, None]) / 0.05) ** 2)  # noqa: E731
    fig = plots.ring_spectra(wl, lor(peaks_before), lor(np.repeat(ch, 2)), ch, np.repeat([0, 1, 2], 2),
                             np.tile([0, 1], 3))
    assert fig.axes[1].get_xlabel() == "wavelength (nm)"
    assert _legends_outside_axes(fig)
    fig2 = plots.accuracy_per_chip(_mc_table(np.random.default_rng(3)).query("level == 0"), 0.99)
    assert "%" in fig2.axes[0].get_ylabel()
    lo, hi = fig2.axes[0].get_ylim()
    assert 99.0 < hi < 101.0 and lo >= 0.0  # the axis stops just above 100 % (a 2 % margin)


def test_coinciding_accuracy_curves_stay_visible():
    """Two presets with identical accuracy: different markers and a sideways offset, same medians."""
    df = _mc_table(np.random.default_rng(4))
    a, b = PRESETS[:2]
    df.loc[df.preset == b, "accuracy"] = df.loc[df.preset == a, "accuracy"].to_numpy()
    fig = plots.accuracy_vs_variation(df, "width_sigma_nm")
    lines = {ln.get_label().split()[0]: ln for ln in fig.axes[0].get_lines() if ln.get_label().split()[0] in (a, b)}
    np.testing.assert_array_equal(lines[a].get_ydata(), lines[b].get_ydata())
    assert lines[a].get_marker() != lines[b].get_marker()
    assert not np.array_equal(lines[a].get_xdata(), lines[b].get_xdata())


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig = plots.pareto(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0], "label": ["p", "q", "r"]}),
                       "a", "b", minimize_x=True, minimize_y=True, x_label="a (s)", y_label="b (J)")
    png, pdf = save_figure(fig, tmp_path, "fig")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.pdf", "fig.png"]  # no temporary files left
