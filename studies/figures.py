"""Figures of a saved study, drawn only from its files (``robinsim plot`` and the end of every run).

A study directory holds ``report.json`` (``kind``: run, mc or sweep, plus the aggregated
numbers) and ``results.csv`` (one row per chip or design point); a run also ``spectra.csv`` and,
with ROBIN's and LightBulb's presets, ``claims_sensitivity.csv`` (its figures:
``claims_tornado_<claim>``, one per report.json ``claims_sensitivity`` entry).
A ``robinsim sensitivity`` directory holds ``sensitivity.json`` and ``sensitivity.csv`` instead
(its figure: ``tornado``), a ``robinsim optimize`` one ``optimize.json`` and ``trials.csv`` (its
figure: ``pareto``), a ``robinsim hybrid`` one ``hybrid.json`` and ``hybrid.csv`` (its figures:
``hybrid_accuracy_energy``, ``hybrid_exit_fractions``).
Published baselines come from :mod:`accel.baselines` (static data, nothing is recomputed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from accel import baselines
from studies import plots
from studies.outputs import prepare_out_dir, read_json, save_figure

__all__ = ["draw", "redraw", "published_table", "tornado_labels", "claim_tornado", "hybrid_figures", "FIGURES"]

#: Figure stems written for each kind of study.
FIGURES = {
    "run": ("energy_comparison", "epb_breakdown", "accuracy_per_chip", "accuracy_vs_variation",
            "tuning_power_hist", "ring_spectra"),
    "mc": ("accuracy_vs_variation", "tuning_power_hist"),
    "sweep": ("pareto_epb_fps", "pareto_accuracy_epb"),
}


def published_table() -> pd.DataFrame:
    """Published baselines with an energy per bit, FPS or FPS/W figure (``accel.baselines``)."""
    t = baselines.table()
    fps_per_w = t["kfps_per_w"] * 1e3
    derived = t["fps"] / t["power_w"]
    t = t.assign(fps_per_w=fps_per_w.where(fps_per_w.notna(), derived),
                 kind=np.where(t["technology"].str.contains("photonic"), "optical", "electronic"))
    keep = t[["energy_per_bit_j", "fps", "fps_per_w"]].notna().any(axis=1)
    return t.loc[keep, ["name", "kind", "energy_per_bit_j", "fps", "fps_per_w", "workload", "source"]].reset_index(drop=True)


def _load(results_dir: Path):
    report_path = results_dir / "report.json"
    if not report_path.is_file():
        raise FileNotFoundError(f"{results_dir} holds no report.json; allowed: the output directory of "
                                "'robinsim run', 'robinsim mc' or 'robinsim sweep'")
    meta = read_json(report_path)
    if meta.get("kind") not in FIGURES:
        raise ValueError(f"{report_path}: kind={meta.get('kind')!r} is unknown; allowed: {sorted(FIGURES)}")
    csv = results_dir / "results.csv"
    if not csv.is_file():
        raise FileNotFoundError(f"{results_dir} holds no results.csv")
    try:
        df = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{csv} is not a readable CSV table ({' '.join(str(exc).split())})") from None
    return meta, df


def draw(results_dir, out_dir=None) -> list[Path]:
    """Draw every figure of the study in ``results_dir`` into ``out_dir`` (default: the same)."""
    results_dir = Path(results_dir)
    out_dir = results_dir if out_dir is None else Path(out_dir)
    if not (results_dir / "report.json").is_file() and (results_dir / "sensitivity.json").is_file():
        return _sensitivity_figures(results_dir, out_dir)
    if not (results_dir / "report.json").is_file() and (results_dir / "optimize.json").is_file():
        meta = read_json(results_dir / "optimize.json")
        trials = pd.read_csv(results_dir / meta["files"]["trials"])
        return save_figure(plots.optimize_pareto(trials, meta), out_dir, "pareto")
    if not (results_dir / "report.json").is_file() and (results_dir / "hybrid.json").is_file():
        return hybrid_figures(results_dir, out_dir)
    meta, df = _load(results_dir)
    kind = meta["kind"]
    if "preset" in df.columns and meta.get("presets"):
        df = _in_preset_order(df, meta["presets"])
    figs = {}
    if kind == "run":
        figs = _run_figures(meta, df, results_dir)
    elif kind == "mc":
        figs["accuracy_vs_variation"] = plots.accuracy_vs_variation(df, meta["parameter"], meta.get("software_accuracy"))
        top = df[df["level"] == max(meta["levels"])]
        figs["tuning_power_hist"] = plots.tuning_power_hist(top)
        figs["tuning_power_hist"].axes[0].set_title(
            f"Tuning power per chip at {plots.parameter_label(meta['parameter'])} = {max(meta['levels']):g}",
            fontsize=10)
    else:
        figs = _sweep_figures(meta, df)
    paths = []
    for stem, fig in figs.items():
        paths += save_figure(fig, out_dir, stem)
    return paths


_SENSITIVITY_METRICS = {"epb": "energy per bit", "fps": "throughput", "power": "total power", "area": "chip area",
                        "accuracy": "mean accuracy over sampled chips"}


def hybrid_figures(results_dir, out_dir=None) -> list[Path]:
    """The two figures of a ``robinsim hybrid`` directory (hybrid.json + hybrid.csv)."""
    results_dir = Path(results_dir)
    out_dir = results_dir if out_dir is None else Path(out_dir)
    meta = read_json(results_dir / "hybrid.json")
    df = pd.read_csv(results_dir / meta.get("file", "hybrid.csv"))
    where = f"{meta['model']} on {meta['preset']}"
    return (save_figure(plots.hybrid_accuracy_energy(df, title=f"Accuracy versus energy per sample, {where}\n"
                                                               "(point labels: entropy threshold, nats)"),
                        out_dir, "hybrid_accuracy_energy")
            + save_figure(plots.hybrid_exit_fractions(df, meta["exit_names"], title=f"Where samples leave, {where}\n"
                                                      "(at the first edge exit with entropy < threshold)"),
                          out_dir, "hybrid_exit_fractions"))


def tornado_labels(meta) -> dict:
    """Keyword arguments of ``studies.plots.tornado`` for a run's facts ``meta`` (``df.attrs`` or sensitivity.json)."""
    metric = meta.get("metric", "epb")
    scale, unit = {"epb": (1e12, "pJ/bit"), "power": (1.0, "W"), "fps": (1.0, "frames/s"), "area": (1.0, "mm²"),
                   "accuracy": (100.0, "%")}[metric]
    label = f"{_SENSITIVITY_METRICS[metric]} ({unit})"
    if meta.get("ratio_to"):
        scale, label = 1.0, f"{metric} ratio {meta['ratio_to']} / {meta['preset']}"
    what = f"{meta['ratio_to']} / {meta.get('preset')}" if meta.get("ratio_to") else meta.get("preset")
    title = f"{what}: {meta.get('method', 'oat').upper()} sensitivity over the declared ranges"
    target = meta.get("target")
    return {"scale": scale, "x_label": label, "title": title, "target": None if target is None else target * scale}


def claim_tornado(entry: dict, df: pd.DataFrame):
    """The tornado of one of ROBIN's claimed ratios over the declared ranges, the claimed ratio dashed
    and the most favourable combination's ratio dotted; ``entry``: its report.json
    ``claims_sensitivity`` entry, ``df``: its rows of claims_sensitivity.csv."""
    from matplotlib.lines import Line2D

    title = f"{entry['label']}: one parameter at a time over the declared ranges"
    fig = plots.tornado(df, x_label=f"{entry['ratio']} (claimed {entry['claimed']:.3g}, dashed)", title=title,
                        target=entry["claimed"])
    best = (entry.get("favourable") or {}).get("ratio")
    if best is not None and np.isfinite(best):
        ax = fig.axes[0]
        ax.axvline(best, color="#2ca02c", lw=1.2, ls=":", zorder=3)
        legend = ax.get_legend()
        handles = list(legend.legend_handles)
        for h in handles:
            if h.get_label().startswith("target"):
                h.set_label(f"claimed ({entry['claimed']:.3g})")
        handles += [Line2D([], [], color="#2ca02c", lw=1.2, ls=":",
                                                        label=f"all at the favourable end ({best:.3g})")]
        ax.legend(handles=handles, frameon=False, fontsize=7, loc="lower right")
    return fig


def _sensitivity_figures(results_dir: Path, out_dir: Path) -> list[Path]:
    """The tornado of a ``robinsim sensitivity`` directory (sensitivity.json + sensitivity.csv)."""
    meta = read_json(results_dir / "sensitivity.json")
    df = pd.read_csv(results_dir / meta.get("file", "sensitivity.csv"))
    return save_figure(plots.tornado(df, **tornado_labels(meta)), out_dir, "tornado")


def redraw(results, out=None) -> list[Path]:
    """``robinsim plot``: ``results`` is a study directory or a file inside it."""
    path = Path(results)
    if not path.exists():
        raise FileNotFoundError(f"RESULTS {str(path)!r}: no such file or directory")
    results_dir = path if path.is_dir() else path.parent
    out_dir = results_dir if out is None else prepare_out_dir(out)
    return draw(results_dir, out_dir)


def _run_figures(meta: dict, df: pd.DataFrame, results_dir: Path) -> dict:
    presets = meta["presets"]
    energy = {p: meta["results"][p]["energy"] for p in presets}
    sim = pd.DataFrame([{"name": p, "energy_per_bit_j": e["energy_per_bit_j"], "fps": e["fps"],
                         "fps_per_w": e["fps_per_w"]} for p, e in energy.items()])
    label = f"simulated here ({meta['model']} on MNIST)"
    figs = {"energy_comparison": plots.energy_comparison(sim, published_table(), simulated_label=label)}
    breakdown = pd.DataFrame({p: e["breakdown_j_per_bit"] for p, e in energy.items()}).T
    figs["epb_breakdown"] = plots.epb_breakdown(breakdown)
    figs["accuracy_per_chip"] = plots.accuracy_per_chip(df, meta.get("software_accuracy"))
    var_csv = results_dir / "variation.csv"
    if var_csv.is_file() and meta.get("variation_sweep"):
        var = _in_preset_order(pd.read_csv(var_csv), meta["presets"])
        figs["accuracy_vs_variation"] = plots.accuracy_vs_variation(
            var, meta["variation_sweep"]["parameter"], meta["variation_sweep"].get("software_accuracy"))
    figs["tuning_power_hist"] = plots.tuning_power_hist(df)
    claims_csv = results_dir / "claims_sensitivity.csv"
    if meta.get("claims_sensitivity") and claims_csv.is_file():
        rows = pd.read_csv(claims_csv)
        for entry in meta["claims_sensitivity"]:
            figs[entry["figure"]] = claim_tornado(entry, rows[rows["claim"] == entry["claim"]])
    spec = meta.get("ring_spectra")
    spectra_csv = results_dir / "spectra.csv"
    if spec and spectra_csv.is_file():
        s = pd.read_csv(spectra_csv)
        n = len(spec["channel"])
        before = np.stack([s[f"before_{i}"].to_numpy() for i in range(n)])
        after = np.stack([s[f"after_{i}"].to_numpy() for i in range(n)])
        title = (f"{spec['preset']}: drop spectra of the rings of one bank (unit {spec['unit']}, VDU {spec['vdu']}) "
                 f"on sampled chip {spec['chip']}")
        figs["ring_spectra"] = plots.ring_spectra(s["wavelength_nm"].to_numpy(), before, after, spec["channels_nm"],
                                                  spec["channel"], spec["role"],
                                                  grid_offset_nm=spec.get("grid_offset_nm", 0.0), title=title)
    return figs


def _sweep_figures(meta: dict, df: pd.DataFrame) -> dict:
    """EPB-vs-FPS and accuracy-vs-EPB Pareto figures: colour = first swept field, marker = second;
    with ``meta["min_accuracy"]`` (fraction) designs below it are crosses, off both fronts."""
    ok = df[df["feasible"].astype(bool)].copy()
    fields = meta["fields"]
    ok["label"] = [", ".join(f"{f}={_fmt(r[f])}" for f in fields) for _, r in ok.iterrows()]
    color_by = fields[0] if len(fields) else None
    marker_by = fields[1] if len(fields) > 1 else None
    has_accuracy = "accuracy_mean" in ok.columns and ok["accuracy_mean"].notna().any()
    min_accuracy = meta.get("min_accuracy")
    eligible, eligible_label = None, ""
    if min_accuracy is not None and has_accuracy:
        eligible = (ok["accuracy_mean"] >= min_accuracy).to_numpy()
        eligible_label = f"below {min_accuracy * 100:g} % mean accuracy (off the front)"
    common = dict(color_by=color_by, marker_by=marker_by, eligible=eligible, eligible_label=eligible_label)
    figs = {"pareto_epb_fps": plots.pareto(
        ok, "fps", "energy_per_bit_j", minimize_x=False, minimize_y=True, **common,
        x_label="throughput (frames/s)", y_label="energy per bit (pJ/bit)", y_scale=1e12,
        title=f"Design space around {meta['preset']}: energy per bit vs throughput")}
    if has_accuracy:
        figs["pareto_accuracy_epb"] = plots.pareto(
            ok, "energy_per_bit_j", "accuracy_mean", minimize_x=True, minimize_y=False, **common,
            x_label="energy per bit (pJ/bit)",
            y_label=f"mean accuracy over {plots.count_label(meta['chips'], 'chip')} (%)",
            x_scale=1e12, y_scale=100.0, y_max=100.5,
            title=f"Design space around {meta['preset']}: accuracy vs energy per bit")
        if eligible is not None:
            figs["pareto_accuracy_epb"].axes[0].axhline(min_accuracy * 100, color="#b0b0b0", ls="--", lw=1.0, zorder=1)
    return figs


def _in_preset_order(df: pd.DataFrame, presets: list[str]) -> pd.DataFrame:
    """Rows ordered by the study's preset order (so every figure gives a preset the same colour)."""
    rank = {p: i for i, p in enumerate(presets)}
    return df.sort_values("preset", key=lambda col: col.map(rank), kind="mergesort").reset_index(drop=True)


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)
