"""Figures of robinsim studies (matplotlib, headless: ``Figure`` objects, no pyplot state).

Every function takes tidy tables (pandas DataFrames) and returns a ``matplotlib.figure.Figure``;
:func:`studies.outputs.save_figure` writes it as PNG and PDF. Energies are shown in pJ/bit,
powers in mW or W, accuracies in percent.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter

from accel.components import CATEGORIES
from studies.pareto import pareto_front

__all__ = [
    "BREAKDOWN_COMPONENTS",
    "parameter_label",
    "count_label",
    "energy_comparison",
    "epb_breakdown",
    "accuracy_per_chip",
    "accuracy_vs_variation",
    "tuning_power_hist",
    "ring_spectra",
    "pareto",
    "optimize_pareto",
    "tornado",
    "hybrid_accuracy_energy",
    "hybrid_exit_fractions",
]

#: Colour of each energy-breakdown category; keys exactly ``accel.components.CATEGORIES``.
_CATEGORY_COLORS = {
    "laser": "#d62728",
    "tuning": "#bcbd22",
    "common_mode": "#7f7f7f",
    "modulation": "#ff7f0e",
    "weight_programming": "#e377c2",
    "receiver": "#2ca02c",
    "adc_dac": "#17becf",
    "accumulation": "#8c564b",
    "memory": "#1f77b4",
    "electronic": "#9467bd",
}
#: Energy categories of the EPB breakdown (``accel.components.CATEGORIES``), in stacking order,
#: with their colours.
BREAKDOWN_COMPONENTS = {category: _CATEGORY_COLORS[category] for category in CATEGORIES}
_COMPONENT_LABELS = {"common_mode": "common-mode tracking (TEC)", "adc_dac": "ADC/DAC", "electronic": "electronic layers", "weight_programming": "weight programming",
                     "accumulation": "partial-sum accumulation"}

_PARAMETER_LABELS = {
    "width_sigma_nm": "width variation σ (nm)",
    "thickness_sigma_nm": "thickness variation σ (nm)",
    "temperature_offset_k": "ambient temperature offset (K)",
    "variation_scale": "fabrication variation (× default σ)",
    "temperature_sigma_k": "chip-to-chip σ of ambient temperature (K)",
    "gap_sigma_nm": "coupling-gap variation σ (nm)",
    "post_lock_drift_k": "ambient drift after the lock, σ (K)",
    "laser_drift_pm": "laser line wander σ (pm)",
    "heater_dac_bits": "heater DAC resolution (bits)",
    "lock_residual_pm": "closed-loop lock residual σ (pm)",
}

_SIM_COLOR = "#1f77b4"
_PUB_COLOR = "#9a9a9a"


def parameter_label(name: str) -> str:
    """Axis label (with unit) of a swept variation parameter or configuration field."""
    return _PARAMETER_LABELS.get(name, name)


def count_label(n, word: str) -> str:
    """``"1 chip"``, ``"2 chips"``: a count with its noun in the right number (plural: ``word + "s"``)."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _figure(width_in: float, height_in: float, ncols: int = 1, nrows: int = 1, **kw):
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes.ravel()


def _preset_colors(names):
    cmap = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    return {n: cmap[i % len(cmap)] for i, n in enumerate(names)}


def energy_comparison(simulated: pd.DataFrame, published: pd.DataFrame | None = None,
                      simulated_label: str = "simulated here") -> Figure:
    """Energy per bit, throughput and efficiency of simulated presets next to published values.

    ``simulated``: one row per preset with ``name``, ``energy_per_bit_j``, ``fps``, ``fps_per_w``.
    ``published``: same columns (NaN where a paper gives no figure) plus ``kind``
    ('optical' or 'electronic'). Simulated bars are solid blue, published bars grey and hatched;
    all three axes are logarithmic. ``simulated_label`` names the simulated bars in the legend.
    """
    rows = [dict(r, source="simulated") for r in simulated.to_dict("records")]
    if published is not None and len(published):
        rows += [dict(r, source="published") for r in published.to_dict("records")]
    table = pd.DataFrame(rows)
    panels = [
        ("energy_per_bit_j", 1e12, "energy per bit (pJ/bit)\nlower is better"),
        ("fps", 1.0, "throughput (frames/s)\nhigher is better"),
        ("fps_per_w", 1e-3, "efficiency (kFPS/W)\nhigher is better"),
    ]
    n = len(table)
    fig, axes = _figure(13.0, 1.2 + 0.32 * n, ncols=3, sharey=True)
    y = np.arange(n)[::-1]
    for ax, (col, scale, label) in zip(axes, panels):
        values = pd.to_numeric(table.get(col), errors="coerce").to_numpy(dtype=float) * scale
        ok = np.isfinite(values) & (values > 0)
        for i in np.flatnonzero(ok):
            sim = table["source"].iloc[i] == "simulated"
            ax.barh(y[i], values[i], color=_SIM_COLOR if sim else _PUB_COLOR,
                    hatch=None if sim else "//", edgecolor="white" if sim else "#555555", height=0.7)
        for i in np.flatnonzero(~ok):
            ax.text(0.02, y[i], "n/a", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=8, color="#777777")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(axis="x", which="major", alpha=0.3)
        if ok.any():
            lo, hi = values[ok].min(), values[ok].max()
            ax.set_xlim(lo / 3, hi * 3)
    n_sim = int((table["source"] == "simulated").sum())
    for ax in axes:
        if 0 < n_sim < n:
            ax.axhline(y[n_sim - 1] - 0.5, color="black", lw=0.8)
    names = [f"{r['name']} ({r['kind']})" if r["source"] == "published" and isinstance(r.get("kind"), str)
             else str(r["name"]) for r in table.to_dict("records")]
    axes[0].set_yticks(y, names)
    handles = [Patch(color=_SIM_COLOR, label=simulated_label),
               Patch(facecolor=_PUB_COLOR, hatch="//", edgecolor="#555555",
                     label="published (paper's own workload)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle("Simulated accelerators vs published optical and electronic BNN/CNN accelerators")
    return fig


def _short(x: float) -> str:
    """A number with 3 significant digits, without exponent between 1e-3 and 1e5."""
    if x == 0 or not np.isfinite(x):
        return f"{x:g}"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:,.{max(0, 2 - int(np.floor(np.log10(abs(x)))))}f}"
    return f"{x:.2e}"


def epb_breakdown(breakdown: pd.DataFrame) -> Figure:
    """Energy-per-bit breakdown per preset: stacked bars (pJ/bit) and every component on a log axis.

    ``breakdown``: index = preset names, columns ⊆ :data:`BREAKDOWN_COMPONENTS` in J per bit.
    The log panel keeps small components readable when one (often tuning) dominates.
    """
    unknown = [c for c in breakdown.columns if c not in BREAKDOWN_COMPONENTS]
    if unknown:
        raise ValueError(f"breakdown columns {unknown} are not energy components; allowed: {list(BREAKDOWN_COMPONENTS)}")
    data = breakdown.reindex(columns=list(BREAKDOWN_COMPONENTS)).fillna(0.0) * 1e12
    total = data.sum(axis=1)
    presets = list(data.index)
    fig, axes = _figure(12.0, 4.8, ncols=2, width_ratios=[1, 1.4])
    ax = axes[0]
    x = np.arange(len(data))
    bottom = np.zeros(len(data))
    for comp, color in BREAKDOWN_COMPONENTS.items():
        ax.bar(x, data[comp].to_numpy(), bottom=bottom, color=color, width=0.6, label=_COMPONENT_LABELS.get(comp, comp))
        bottom += data[comp].to_numpy()
    ax.set_xticks(x, presets)
    ax.set_ylabel("energy per bit (pJ/bit)")
    ax.grid(axis="y", alpha=0.3)
    for xi, t in zip(x, total.to_numpy()):
        ax.annotate(_short(t), (xi, t), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, total.max() * 1.12 if total.max() > 0 else 1)
    ax.set_title("stacked (total on top)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()

    ax = axes[1]
    comps = list(BREAKDOWN_COMPONENTS)
    height = 0.8 / max(1, len(presets))
    hatches = ["", "////", "....", "xxxx", "\\\\", "oo", "++", "--"]
    comp_colors = [BREAKDOWN_COMPONENTS[c] for c in comps]
    for i, p in enumerate(presets):
        y = np.arange(len(comps)) + (i - (len(presets) - 1) / 2) * height
        v = data.loc[p, comps].to_numpy(dtype=float)
        ax.barh(y, np.where(v > 0, v, np.nan), height=height * 0.95, color=comp_colors,
                hatch=hatches[i % len(hatches)], edgecolor="white", lw=0)
    preset_handles = [Patch(facecolor="#9a9a9a", hatch=hatches[i % len(hatches)], edgecolor="white", label=p)
                      for i, p in enumerate(presets)]
    ax.set_yticks(np.arange(len(comps)), [_COMPONENT_LABELS.get(c, c) for c in comps])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("energy per bit (pJ/bit, log scale)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("per component", fontsize=10)
    ax.legend(handles=preset_handles, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="preset (bar order)")
    fig.legend(handles, labels, loc="outside lower center", ncols=5, frameon=False, fontsize=8, title="component")
    fig.suptitle("Energy-per-bit breakdown per accelerator")
    return fig


def accuracy_per_chip(df: pd.DataFrame, software_accuracy: float | None = None) -> Figure:
    """Accuracy of every sampled chip per preset (dots + box), against the software BNN.

    ``df``: columns ``preset``, ``chip``, ``accuracy`` (fraction 0-1).
    """
    presets = list(dict.fromkeys(df["preset"]))
    colors = _preset_colors(presets)
    fig, (ax,) = _figure(1.8 + 1.5 * len(presets), 4.0)
    rng = np.random.default_rng(0)
    for i, p in enumerate(presets):
        acc = df.loc[df["preset"] == p, "accuracy"].to_numpy(dtype=float) * 100
        ax.boxplot([acc], positions=[i], widths=0.5, showfliers=False,
                   medianprops={"color": "black"}, boxprops={"color": colors[p]})
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(acc)), acc, s=14, color=colors[p], alpha=0.7, zorder=3)
    if software_accuracy is not None:
        ax.axhline(software_accuracy * 100, color="black", ls="--", lw=1, label="software BNN (ideal)")
        fig.legend(loc="outside lower center", frameon=False)
    ax.set_xticks(range(len(presets)), presets)
    ax.set_xlim(-0.6, len(presets) - 0.4)
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, 0.0), min(hi, 100.0 + 0.02 * (hi - lo)))  # no axis beyond 100 %
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy per sampled chip under fabrication and thermal variation", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _power_scale(values_w) -> tuple[float, str]:
    """(factor, unit) to show powers: mW below 1 W, else W."""
    v = np.asarray(values_w, dtype=float)
    v = v[np.isfinite(v)]
    return (1.0, "W") if v.size and np.median(np.abs(v)) >= 1.0 else (1e3, "mW")


def accuracy_vs_variation(df: pd.DataFrame, parameter: str, software_accuracy: float | None = None) -> Figure:
    """Accuracy and tuning power versus a swept variation level, with the spread across chips.

    ``df``: columns ``preset``, ``level``, ``chip``, ``accuracy`` (0-1), ``tuning_power_w``.
    Lines are medians over chips, dark bands the inter-quartile range, light bands min-max.
    """
    presets = list(dict.fromkeys(df["preset"]))
    colors = _preset_colors(presets)
    p_scale, p_unit = _power_scale(df["tuning_power_w"])
    fig, axes = _figure(11.0, 4.2, ncols=2)
    levels = np.unique(df["level"].to_numpy(dtype=float))
    span = float(np.ptp(levels)) if levels.size > 1 else 1.0
    markers = "osD^vP*X"
    for i, p in enumerate(presets):
        sub = df[df["preset"] == p]
        # each preset a marker and a small sideways offset, so coinciding curves stay visible
        shift = (i - (len(presets) - 1) / 2) * 0.012 * span
        for ax, col, scale in ((axes[0], "accuracy", 100.0), (axes[1], "tuning_power_w", p_scale)):
            g = sub.groupby("level")[col]
            lv = np.asarray(list(g.groups), dtype=float)
            q = g.quantile([0.0, 0.25, 0.5, 0.75, 1.0]).unstack().to_numpy() * scale
            ax.fill_between(lv, q[:, 0], q[:, 4], color=colors[p], alpha=0.12, lw=0)
            ax.fill_between(lv, q[:, 1], q[:, 3], color=colors[p], alpha=0.3, lw=0)
            n = int(g.size().min())
            ax.plot(lv + shift, q[:, 2], "-", marker=markers[i % len(markers)], color=colors[p], ms=5,
                    label=f"{p} (median of {count_label(n, 'chip')})")
    if software_accuracy is not None:
        axes[0].axhline(software_accuracy * 100, color="black", ls="--", lw=1, label="software BNN (ideal)")
    lo, hi = axes[0].get_ylim()
    axes[0].set_ylim(lo, min(hi, 100.0 + 0.02 * (hi - lo)))
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].set_ylabel(f"tuning power per chip ({p_unit})")
    if (df["tuning_power_w"] > 0).all():
        axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel(parameter_label(parameter))
        ax.grid(alpha=0.3)
    axes[0].set_title("accuracy (bands: inter-quartile, min-max)", fontsize=10)
    axes[1].set_title("tuning power to lock every ring", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    fig.suptitle(f"Monte Carlo over chips versus {parameter_label(parameter)}")
    return fig


def tuning_power_hist(df: pd.DataFrame) -> Figure:
    """Histogram of the per-chip tuning power for each preset (``preset``, ``tuning_power_w``), in mW or W."""
    presets = list(dict.fromkeys(df["preset"]))
    colors = _preset_colors(presets)
    p_scale, p_unit = _power_scale(df["tuning_power_w"])
    p_shown = df["tuning_power_w"].to_numpy(dtype=float) * p_scale
    positive = p_shown[p_shown > 0]
    log = positive.size == p_shown.size and positive.size > 0 and positive.max() / positive.min() > 20
    if log:
        bins = np.geomspace(positive.min() / 1.05, positive.max() * 1.05, 30)
    else:
        lo, hi = (p_shown.min(), p_shown.max()) if p_shown.size else (0.0, 1.0)
        bins = np.linspace(lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12), 25)
    fig, (ax,) = _figure(7.0, 4.0)
    for p in presets:
        v = df.loc[df["preset"] == p, "tuning_power_w"].to_numpy(dtype=float) * p_scale
        ax.hist(v, bins=bins, histtype="stepfilled", alpha=0.35, color=colors[p])
        ax.hist(v, bins=bins, histtype="step", lw=1.5, color=colors[p],
                label=f"{p}: median {np.median(v):.3g} {p_unit} ({count_label(len(v), 'chip')})")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(f"tuning power per chip ({p_unit})")
    ax.set_ylabel("number of chips")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Power to tune every ring back to its channel (EO + TO)", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def ring_spectra(wavelength_nm, before, after, channels_nm, channel, role, grid_offset_nm: float = 0.0,
                 title: str = "") -> Figure:
    """Drop spectra of the rings of one bank before and after tuning.

    ``before``/``after``: arrays (n_rings, n_wavelengths) of drop-port power (0-1);
    ``channels_nm``: the laser channel grid; ``channel`` (channel index) and ``role``
    (0 activation, 1 weight) per ring. A ring takes the colour of its channel; weight rings are dashed.
    ``grid_offset_nm``: shift of the laser grid after tuning (common-mode tracking), drawn in the lower panel.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    channels = np.asarray(channels_nm, dtype=float)
    channel = np.asarray(channel, dtype=int)
    role = np.asarray(role, dtype=int)
    colors = _hsv(len(channels))
    fig, axes = _figure(10.0, 6.0, nrows=2, sharex=True)
    after_label = "after tuning" + (f" (laser grid shifted by {grid_offset_nm:+.2f} nm to follow the chip)"
                                    if grid_offset_nm else "")
    panels = ((axes[0], before, "before tuning", 0.0), (axes[1], after, after_label, grid_offset_nm))
    for ax, spectra, label, offset in panels:
        for c, x in enumerate(channels):
            ax.axvline(x + offset, color=colors[c], lw=1.0, alpha=0.7, ls=":")
        for s, ch, r in zip(np.atleast_2d(spectra), channel, role):
            ax.plot(wl, s, color=colors[ch], lw=1.0, ls="--" if r == 1 else "-")
        ax.set_ylabel("drop-port transmission")
        ax.set_ylim(0, 1.05)
        ax.set_title(label, loc="left", fontsize=10, fontweight="bold")
        ax.grid(alpha=0.25)
    axes[1].set_xlabel("wavelength (nm)")
    axes[1].set_xlim(wl.min(), wl.max())
    handles = [Line2D([], [], color="black", ls=":", lw=1.0, label="laser channel (colour = channel)"),
               Line2D([], [], color="black", ls="-", label="activation ring"),
               Line2D([], [], color="black", ls="--", label="weight ring")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(title or "Ring resonances of one bank on one sampled chip")
    return fig


def _hsv(n: int):
    cm = colormaps["turbo"]
    return [cm(0.05 + 0.9 * i / max(1, n - 1)) for i in range(max(n, 1))]


def _auto_log(values, log):
    if log is not None:
        return log
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size) and v.min() > 0 and v.max() / v.min() > 10


_MARKERS = "osD^vP*X"


def _value_label(field: str, v) -> str:
    return f"{field} = {v:g}" if isinstance(v, (int, float, np.number)) else f"{field} = {v}"


def pareto(df: pd.DataFrame, x: str, y: str, *, minimize_x: bool, minimize_y: bool, color_by: str | None = None,
           marker_by: str | None = None, eligible=None, eligible_label: str = "",
           x_label: str = "", y_label: str = "", x_scale: float = 1.0, y_scale: float = 1.0,
           log_x: bool | None = None, log_y: bool | None = None, y_max: float | None = None,
           title: str = "") -> Figure:
    """Scatter of design points with the Pareto front highlighted and its points labelled.

    ``color_by``: a column; up to 8 distinct values get a legend, more a colour bar. ``marker_by``:
    a second column shown by the marker shape (up to 8 distinct values, each its own marker, in the
    legend; more values repeat the markers). ``eligible``: boolean mask; points outside it are
    drawn as grey crosses (legend: ``eligible_label``) and are neither on the front nor dominate
    (:func:`studies.pareto.pareto_front`). ``log_x`` / ``log_y``: None = logarithmic when the
    values span more than a decade; ``y_max`` caps the axis. Labels of front points (column
    ``label``) sit above their point, or below it in the top fifth of the axes, so they stay inside
    the axes and clear of the title.
    """
    xv = df[x].to_numpy(dtype=float) * x_scale
    yv = df[y].to_numpy(dtype=float) * y_scale
    ok = np.ones(len(df), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    front = pareto_front(xv, yv, minimize_x=minimize_x, minimize_y=minimize_y, eligible=ok)
    fig, (ax,) = _figure(8.0, 5.0)
    handles = []
    if marker_by is not None and marker_by in df.columns:
        m_values = df[marker_by]
        m_distinct = list(dict.fromkeys(m_values.sort_values().tolist()))
        markers = {v: _MARKERS[i % len(_MARKERS)] for i, v in enumerate(m_distinct)}
        point_marker = np.array([markers[v] for v in m_values], dtype=object)
    else:
        m_distinct, markers, point_marker = [], {}, np.full(len(df), "o", dtype=object)
    colour_handles = []
    if color_by is not None and color_by in df.columns:
        values = df[color_by]
        distinct = list(dict.fromkeys(values.sort_values().tolist()))
        if len(distinct) <= 8:
            colors = _preset_colors(distinct)
            point_color = [colors[v] for v in values]
            colour_handles = [Line2D([], [], ls="", marker="o", color=colors[v], label=_value_label(color_by, v))
                              for v in distinct]
            mappable = None
        else:
            numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            mappable = (numeric, np.nanmin(numeric), np.nanmax(numeric))
            point_color = None
    else:
        point_color, mappable = ["#7f7f7f"] * len(df), None
        colour_handles = [Line2D([], [], ls="", marker="o", color="#7f7f7f", label="design point")]
    sc = None
    for marker in dict.fromkeys(point_marker.tolist()):
        sel = (point_marker == marker) & ok
        if not sel.any():
            continue
        if mappable is None:
            ax.scatter(xv[sel], yv[sel], s=26, marker=marker, color=[point_color[i] for i in np.flatnonzero(sel)],
                       alpha=0.85, zorder=2)
        else:
            numeric, lo, hi = mappable
            sc = ax.scatter(xv[sel], yv[sel], c=numeric[sel], vmin=lo, vmax=hi, cmap="viridis", marker=marker, s=22,
                            alpha=0.8, zorder=2)
    if mappable is not None and sc is not None:
        fig.colorbar(sc, ax=ax, label=parameter_label(color_by))
    handles += colour_handles
    handles += [Line2D([], [], ls="", marker=markers[v], color="black", mfc="none", label=_value_label(marker_by, v))
                for v in m_distinct]
    if (~ok).any():
        ax.scatter(xv[~ok], yv[~ok], s=26, marker="x", color="#b0b0b0", zorder=2)
        handles.append(Line2D([], [], ls="", marker="x", color="#b0b0b0",
                              label=eligible_label or "excluded from the front"))
    order = np.argsort(xv[front])
    ax.plot(xv[front][order], yv[front][order], "-", color="black", lw=1.0, zorder=3)
    n_front = int(front.sum())
    fc = ax.scatter(xv[front], yv[front], s=90, facecolors="none", edgecolors="black", lw=1.3, zorder=4,
                    label=f"Pareto front ({count_label(n_front, 'point')})")
    handles.append(fc)
    log_x, log_y = _auto_log(xv, log_x), _auto_log(yv, log_y)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    for axis, log, v in ((ax.xaxis, log_x, xv), (ax.yaxis, log_y, yv)):
        if not log and np.nanmax(np.abs(v)) >= 1e4:
            axis.set_major_formatter(EngFormatter(sep=" "))
    ax.margins(x=0.12, y=0.12)
    if y_max is not None:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, min(hi, y_max))
    ax.get_xlim(), ax.get_ylim()  # final limits, so that axes fractions below are those drawn
    if "label" in df.columns:
        finite = np.isfinite(xv)
        mid = (np.log10(xv[finite & (xv > 0)]).mean() if log_x else xv[finite].mean()) if finite.any() else 0.0
        to_axes = ax.transAxes.inverted()
        for i in np.flatnonzero(front):
            right = (np.log10(xv[i]) if log_x else xv[i]) > mid
            high = to_axes.transform(ax.transData.transform((xv[i], yv[i])))[1] > 0.8
            ax.annotate(str(df["label"].iloc[i]), (xv[i], yv[i]), fontsize=7,
                        xytext=(-6 if right else 6, -5 if high else 5), textcoords="offset points", color="#333333",
                        ha="right" if right else "left", va="top" if high else "bottom")
    ax.set_xlabel(x_label or x)
    ax.set_ylabel(y_label or y)
    ax.grid(alpha=0.3, which="both")
    ax.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title, fontsize=10)
    return fig


#: trials.csv column of an optimisation objective -> (axis label, scale)
_OBJECTIVE_AXES = {"energy_per_bit_j": ("energy per bit (pJ/bit)", 1e12), "fps": ("throughput (frames/s)", 1.0),
                   "power_w": ("total power (W)", 1.0), "area_mm2": ("chip area (mm²)", 1.0)}


def optimize_pareto(df: pd.DataFrame, meta: dict) -> Figure:
    """The feasible trials of a ``robinsim optimize`` run (``df``: trials.csv; ``meta``: its facts, optimize.json)
    in the first two objectives (one objective: against the trial index, whose front is the best so far),
    coloured by generation, with the Pareto front and the preset's own point (red star, or a dashed line) marked."""
    cols, directions = meta["objective_columns"], meta["directions"]
    ok = df[df["feasible"].astype(bool)].copy()
    pm = meta.get("preset_metrics") or {}
    if len(cols) >= 2:
        (xcol, ycol), minx = cols[:2], directions[0] == "minimize"
        (xl, xs), (yl, ys) = _OBJECTIVE_AXES[xcol], _OBJECTIVE_AXES[ycol]
        px = pm.get(xcol)
    else:
        (ycol,), xcol, minx, (xl, xs), (yl, ys), px = cols, "trial", True, ("trial", 1.0), _OBJECTIVE_AXES[cols[0]], None
    py = pm.get(ycol)
    title = (f"robinsim optimize: {meta['preset']}, {len(df)} trials ({int(len(ok))} feasible), "
             f"NSGA-II seed {meta['seed']}")
    fig = pareto(ok, xcol, ycol, minimize_x=minx, minimize_y=directions[min(1, len(cols) - 1)] == "minimize",
                 color_by="generation", x_label=xl, y_label=yl, x_scale=xs, y_scale=ys, title=title)
    ax = fig.axes[0]
    if py is not None:
        if px is not None:
            ax.scatter([px * xs], [py * ys], marker="*", s=220, color="#d62728", edgecolors="black", zorder=5,
                       label=f"preset {meta['preset']}")
        else:
            ax.axhline(py * ys, color="#d62728", ls="--", lw=1.0, label=f"preset {meta['preset']}")
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def tornado(df: pd.DataFrame, *, scale: float = 1.0, x_label: str = "", title: str = "", target: float | None = None,
            top: int = 30, log_x: bool | None = None) -> Figure:
    """Tornado of a sensitivity table (``studies.sensitivity.run``): one bar per parameter from the
    metric at its low end to the metric at its high end, largest effect (``rank`` 1) on top, the
    nominal value as a vertical line (and ``target``, if given, in the scaled units, as a dashed
    one). ``scale`` multiplies the values (1e12: J/bit to pJ/bit); ``top``: at most this many parameters;
    ``log_x``: None = logarithmic when the values span more than a decade."""
    d = df.sort_values("rank", kind="mergesort").head(top) if "rank" in df else df.head(top)
    lo = d["metric_low"].to_numpy(dtype=float) * scale
    hi = d["metric_high"].to_numpy(dtype=float) * scale
    nominal = float(d["metric_nominal"].iloc[0]) * scale if len(d) else float("nan")
    n = len(d)
    fig, (ax,) = _figure(8.5, max(2.5, 0.32 * n + 1.4))
    y = np.arange(n)[::-1]
    for yi, a, b in zip(y, lo, hi):
        for end, color in ((a, "#1f77b4"), (b, "#d62728")):
            if np.isfinite(end):
                ax.barh(yi, end - nominal, left=nominal, height=0.7, color=color, alpha=0.85, zorder=2)
    ax.axvline(nominal, color="black", lw=1.0, zorder=3)
    if target is not None:
        ax.axvline(target, color="#555555", lw=1.0, ls="--", zorder=3)
    labels = [f"{p}  [{_short(a)} – {_short(b)}]" for p, a, b in zip(d["parameter"], d["low"], d["high"])]
    ax.set_yticks(y, labels, fontsize=7)
    values = np.concatenate([lo, hi, [nominal], [] if target is None else [target]])
    if _auto_log(values, log_x):
        ax.set_xscale("log")
    ax.set_xlabel(x_label or "metric")
    ax.grid(alpha=0.3, axis="x", which="both")
    handles = [Patch(color="#1f77b4", label="parameter at its low end"),
               Patch(color="#d62728", label="parameter at its high end"),
               Line2D([], [], color="black", lw=1.0, label=f"nominal ({nominal:.4g})")]
    if target is not None:
        handles.append(Line2D([], [], color="#555555", lw=1.0, ls="--", label=f"target ({target:g})"))
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def hybrid_accuracy_energy(df: pd.DataFrame, title: str = "") -> Figure:
    """Accuracy versus total energy per sample over the entropy thresholds of an edge-cloud study.

    ``df``: columns ``threshold``, ``chip``, ``accuracy`` (0-1), ``total_energy_j`` and
    ``baseline_energy_j``. Points are means over chips (error bars: min-max over chips), each
    labelled with its threshold (nats); the dashed line is the all-cloud baseline's energy.
    """
    g = df.groupby("threshold")
    mean = g[["accuracy", "total_energy_j"]].mean()
    lo, hi = g[["accuracy", "total_energy_j"]].min(), g[["accuracy", "total_energy_j"]].max()
    scale, unit = _energy_scale(pd.concat([df["total_energy_j"], df["baseline_energy_j"]]))
    fig, (ax,) = _figure(6.4, 4.4)
    x, y = mean["total_energy_j"].to_numpy() * scale, mean["accuracy"].to_numpy() * 100
    xerr = np.vstack([x - lo["total_energy_j"].to_numpy() * scale, hi["total_energy_j"].to_numpy() * scale - x])
    yerr = np.vstack([y - lo["accuracy"].to_numpy() * 100, hi["accuracy"].to_numpy() * 100 - y])
    n = int(g.size().min())
    ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="-o", color=_SIM_COLOR, ms=4, capsize=2, lw=1,
                label=f"edge-cloud (mean of {count_label(n, 'chip')}, bars min-max)")
    groups: list[list] = []  # thresholds at one point share a label ("1.6–2")
    for t, xi, yi in zip(mean.index, x, y):
        if groups and np.isclose(groups[-1][1], xi, rtol=1e-9) and np.isclose(groups[-1][2], yi, rtol=1e-9):
            groups[-1][0].append(t)
        else:
            groups.append([[t], xi, yi])
    for ts, xi, yi in groups:
        label = f"{ts[0]:g}" if len(ts) == 1 else f"{ts[0]:g}–{ts[-1]:g}"
        ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.axvline(float(df["baseline_energy_j"].iloc[0]) * scale, color="black", ls="--", lw=1,
               label="all in the cloud (full precision)")
    ax.set_xscale("log")
    ax.set_xlabel(f"total energy per sample ({unit}; edge + link + cloud)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title or "Accuracy versus energy over entropy thresholds\n(point labels: threshold, nats)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    return fig


def _energy_scale(values_j) -> tuple[float, str]:
    peak = float(np.nanmax(np.abs(np.asarray(values_j, dtype=float))))
    for factor, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if peak >= factor:
            return 1.0 / factor, unit
    return 1e15, "fJ"


def hybrid_exit_fractions(df: pd.DataFrame, exit_names, title: str = "") -> Figure:
    """Fraction of samples leaving at each exit versus the entropy threshold, stacked (mean over chips).

    ``df``: columns ``threshold`` and ``exit_<name>_fraction`` for every name of ``exit_names``
    (edge exits first, the cloud exit last).
    """
    cols = [f"exit_{name}_fraction" for name in exit_names]
    mean = df.groupby("threshold")[cols].mean()
    t = mean.index.to_numpy(dtype=float)
    edge = colormaps["Blues"](np.linspace(0.45, 0.85, max(len(cols) - 1, 1)))
    colors = [*edge[: len(cols) - 1], "#ff7f0e"]
    fig, (ax,) = _figure(6.4, 4.0)
    ax.stackplot(t, *(mean[c].to_numpy() * 100 for c in cols), labels=list(exit_names), colors=colors, alpha=0.85)
    if len(t) > 1:
        ax.set_xlim(t.min(), t.max())
    ax.set_ylim(0, 100)
    ax.set_xlabel("entropy threshold (nats)")
    ax.set_ylabel("samples leaving at the exit (%)")
    ax.set_title(title or "Where samples leave (a sample exits at the first edge exit with entropy < threshold)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=len(cols), frameon=False)
    return fig
