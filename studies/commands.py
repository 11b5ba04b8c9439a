"""The study commands behind the CLI: ``robinsim run``, ``robinsim mc``, ``robinsim sweep``,
``robinsim sensitivity``, ``robinsim map``, ``robinsim optimize`` and ``robinsim hybrid``.

Each checks its arguments and the output directory before any long work, computes, then writes
``results.csv``, ``report.json``, ``report.md`` and (unless ``figures=False``) the figures into
``out``. The shared steps are :func:`_load_inputs` (presets, BNN, MNIST subset, output directory)
and :func:`_write_report` (report.json, figures, report.md).
"""
from __future__ import annotations

import sys
import time
from os import PathLike
from pathlib import Path

import pandas as pd

from tqdm.auto import tqdm

from mapping.bnn import export_binary
from mapping.networks import data as network_data
from mapping.networks.hybrid import HybridBNN, check_threshold
from studies import figures as figure_files
from studies import memory as run_memory
from studies import claims, hybrid, montecarlo, optimize, precision, report, sensitivity, sweep
from studies.inputs import load_accelerators, load_dataset, load_model, provenance
from mapping.performance.schedule import map_model
from mapping.performance.workload import from_table
from studies.outputs import FLOAT_FORMAT, atomic_write_text, check_out_dir, prepare_out_dir, write_csv, write_json
from studies.plots import count_label

__all__ = ["main_run", "main_mc", "main_sweep", "main_sensitivity", "main_map", "map_layers_text", "main_optimize",
           "main_hybrid"]


def _load_inputs(out, presets, model, images, *, chips: int, scheduler, what: str):
    """Check ``out``, load the accelerators, the BNN and the first ``images`` MNIST test images,
    refuse a run of ``chips`` chips per preset that will not fit in memory (``studies.memory``,
    labelled ``what``), then create ``out``: ``(out, accelerators, torch_model, dataset)``."""
    check_out_dir(out)
    accs = load_accelerators(presets)
    torch_model = load_model(model)
    dataset = load_dataset(None, images)
    run_memory.check_run({repr(name): acc.config for name, acc in accs.items()}, what, folded=export_binary(torch_model),
                         images=len(dataset[1]), chips=chips, kept_floorplans=len(accs) - 1, scheduler=scheduler)
    return prepare_out_dir(out), accs, torch_model, dataset


def _write_report(out: Path, meta: dict, markdown, figures: bool) -> list[Path]:
    """Write report.json, the figures (drawn from the saved files) and report.md (``markdown(meta)``;
    without figures its image links are replaced by a note, ``report.figure_links``)."""
    write_json(out / "report.json", meta)
    paths = figure_files.draw(out) if figures else []
    atomic_write_text(out / "report.md", report.figure_links(markdown(meta), figures, out))
    return paths


def main_run(*, out, presets, model, chips, seed, images, scheduler, resume, progress, echo,
             vary: str = report.VARIATION_SWEEP["parameter"], levels=None, figures: bool = True,
             overwrite: bool = False, claim_parameters=None, compare=()) -> dict:
    """``robinsim run``: compute everything, write the files (and figures) to ``out``; returns report.json's dict.

    ``vary``/``levels``: the compact accuracy-versus-variation sweep (:data:`studies.report.VARIATION_SWEEP`).
    With robin-eo or robin-po and lightbulb among ``presets``, ROBIN's claimed ratios are analysed over
    the declared ranges (:func:`studies.claims.run`, once per run; ``claims_sensitivity.csv`` and
    report.json ``claims_sensitivity``); ``claim_parameters``: the declared ``section.field`` names it
    varies (None: every declared range). ``compare``: other versions of ``model`` (names, paths or
    modules) compared with it on every preset (:func:`studies.precision.compare`; ``precision.csv``).
    """
    defaults = report.VARIATION_SWEEP
    compare_models = {str(name): load_model(name) for name in compare}
    montecarlo.check_parameter(vary)
    if levels is None:
        levels = defaults["levels"] if vary == defaults["parameter"] else montecarlo.default_levels(vary)
    levels = [montecarlo.check_level(vary, lv) for lv in levels]
    out, accs, torch_model, dataset = _load_inputs(out, presets, model, images, chips=chips, scheduler=scheduler,
                                                   what="robinsim run of preset")
    input_shape = (1, *dataset[0].shape[1:])
    energy = {name: report.energy_summary(torch_model, acc, input_shape)
              for name, acc in tqdm(accs.items(), desc="schedule", unit="preset", disable=not progress, file=sys.stderr)}
    claim_start = time.perf_counter()
    claim_results = claims.run({name: acc.config for name, acc in accs.items()}, torch_model, input_shape,
                               parameters=claim_parameters, scheduler=scheduler, progress=progress)
    claim_s = time.perf_counter() - claim_start
    software = report.software_accuracy(torch_model, dataset)
    df = montecarlo.run(torch_model, accs, dataset, chips=chips, seed=seed, scheduler=scheduler,
                        checkpoint=out / "checkpoint", resume=resume, overwrite=overwrite, progress=progress)
    meta = {"kind": "run", "model": str(model), "presets": list(accs), "chips": chips, "seed": seed,
            "images": len(dataset[0]), "software_accuracy": software,
            "results": {name: report.chip_statistics(df[df["preset"] == name], energy[name]) for name in accs},
            "configurations": provenance(accs)}
    if levels:
        sweep_images = min(defaults["images"], len(dataset[0]))
        sweep_chips = min(chips, defaults["chips"])
        sweep_data = (dataset[0][:sweep_images], dataset[1][:sweep_images])
        var = montecarlo.run(torch_model, accs, sweep_data, chips=sweep_chips, seed=seed, parameter=vary, levels=levels,
                             scheduler=scheduler, checkpoint=out / "checkpoint-variation", resume=resume,
                             overwrite=overwrite, progress=progress, desc=f"variation ({vary})")
        write_csv(out / "variation.csv", var, sort_by=["preset", "level", "chip"])
        meta["variation_sweep"] = {"parameter": vary, "levels": levels, "chips": sweep_chips, "images": sweep_images,
                                   "software_accuracy": report.software_accuracy(torch_model, sweep_data),
                                   "file": "variation.csv"}
    spectra, spectra_meta = report.bank_spectra(accs[next(iter(accs))], seed=seed, chip=0)
    atomic_write_text(out / "spectra.csv", spectra.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))
    meta["ring_spectra"] = {**spectra_meta, "file": "spectra.csv"}
    meta["baselines"] = figure_files.published_table().to_dict("records")
    if claim_results:
        write_csv(out / "claims_sensitivity.csv", claims.table(claim_results), sort_by=["claim", "rank"])
        meta["claims_sensitivity"] = [claims.summary(r) for r in claim_results]
    if compare_models:
        table = precision.compare({str(model): torch_model, **compare_models}, accs, dataset, chips=chips, seed=seed,
                                  progress=progress)
        write_csv(out / "precision.csv", table, sort_by=["model", "preset"])
        meta["precision"] = {"file": "precision.csv", "rows": table.to_dict("records")}
    write_csv(out / "results.csv", df, sort_by=["preset", "chip"])
    paths = _write_report(out, meta, report.run_markdown, figures)
    if echo:
        print(report.format_run_summary(meta))
        if claim_results:
            print(f"claims over the declared ranges: {sum(c['evaluations'] for c in meta['claims_sensitivity'])} "
                  f"evaluations in {claim_s:.1f} s")
        print(f"wrote {out}/report.md, report.json, results.csv and {len(paths) // 2} figures (PNG + PDF)")
    return meta


def main_mc(*, out, presets, model, chips, seed, images, parameter, levels, scheduler, resume, progress, echo,
            figures=True, overwrite: bool = False):
    """``robinsim mc``: run, then write results.csv, report.json, report.md and figures to ``out``."""
    montecarlo.check_parameter(parameter)
    levels = list(montecarlo.default_levels(parameter) if levels is None else levels)
    for lv in levels:
        montecarlo.check_level(parameter, lv)
    out, accs, torch_model, dataset = _load_inputs(out, presets, model, images, chips=chips, scheduler=scheduler,
                                                   what="robinsim mc of preset")
    df = montecarlo.run(torch_model, accs, dataset, chips=chips, seed=seed, parameter=parameter, levels=levels,
                        scheduler=scheduler, checkpoint=out / "checkpoint", resume=resume, overwrite=overwrite,
                        progress=progress)
    software = report.software_accuracy(torch_model, dataset)
    summary = montecarlo.summarize(df, by=("preset", "level"))
    write_csv(out / "results.csv", df, sort_by=["preset", "level", "chip"])
    meta = {"kind": "mc", "model": str(model), "presets": list(accs), "parameter": parameter,
            "parameter_description": montecarlo.describe(parameter), "levels": levels, "chips": chips,
            "seed": seed, "images": len(dataset[0]), "software_accuracy": software,
            "common_mode": {name: report.common_mode_label(acc.config) for name, acc in accs.items()},
            "summary": summary.to_dict("records"), "configurations": provenance(accs)}
    paths = _write_report(out, meta, report.mc_markdown, figures)
    if echo:
        print(report.format_mc_summary(summary, parameter, software))
        print(f"wrote {out}/results.csv, report.json, report.md and {len(paths) // 2} figures (PNG + PDF)")
    return df


def main_sweep(*, out, preset, model, chips, seed, images, assignments, file, scheduler, progress, echo, figures=True,
               min_accuracy_pct: float | None = None, resume: bool = False, overwrite: bool = False):
    """``robinsim sweep``: build the grid, run (finished points checkpointed in ``out/checkpoint``;
    ``resume`` continues it, ``overwrite`` discards it), write results.csv, report.json, report.md and figures.

    ``min_accuracy_pct``: designs whose mean accuracy is below this (percent) are kept off the Pareto
    fronts of the report and the figures (stored in report.json as ``min_accuracy``, a fraction)."""
    if min_accuracy_pct is not None:
        if not 0.0 <= float(min_accuracy_pct) <= 100.0:
            raise ValueError(f"--min-accuracy={min_accuracy_pct:g} is out of range; allowed: 0 to 100 (percent)")
        if not chips:
            raise ValueError("--min-accuracy needs accuracy: give --chips >= 1 (with --chips 0 no accuracy is computed)")
    grid, file_preset = ({}, None) if file is None else sweep.load_sweep_file(file)
    for text in assignments:
        name, values = sweep.parse_assignment(text)
        if name in grid:
            raise ValueError(f"--set {name} is given twice ({name}={grid[name]} and {text!r}); allowed: each field once, "
                             f"with all its values in one --set ({name}=V1,V2,...)")
        grid[name] = values
    if not grid:
        raise ValueError("nothing to sweep: give --set FIELD=V1,V2 (repeatable) or --file SWEEP.toml")
    preset = preset or file_preset or "robin-eo"
    check_out_dir(out)
    df = sweep.run(preset, grid, model=model, images=images, chips=chips, seed=seed, scheduler=scheduler,
                   progress=progress, checkpoint=Path(out) / "checkpoint", resume=resume, overwrite=overwrite)
    out = prepare_out_dir(out)
    fields = list(grid)
    write_csv(out / "results.csv", df, sort_by=["point"])
    feasible = df[df["feasible"]]
    meta = {"kind": "sweep", "preset": str(preset), "model": str(model), "fields": fields,
            "grid": {k: list(v) for k, v in grid.items()}, "points": len(df), "feasible_points": int(len(feasible)),
            "chips": chips, "seed": seed, "images": images,
            "min_accuracy": None if min_accuracy_pct is None else float(min_accuracy_pct) / 100.0,
            "configurations": provenance(load_accelerators(preset))}
    paths = _write_report(out, meta, lambda m: sweep.markdown(m, df), figures)
    if echo:
        print(sweep.summary_text(df, fields))
        over = int(df.get("over_package_limit", df["feasible"] & False).fillna(False).astype(bool).sum())
        if over:
            verb = "draws" if over == 1 else "draw"
            print(f"warning: {count_label(over, 'design point')} {verb} more than the package removes "
                  "(package.max_power_w; column over_package_limit)")
        if len(feasible) < len(df):
            print(f"{len(df) - len(feasible)} of {len(df)} design points cannot be built (see the error column)")
        print(f"wrote {out}/results.csv, report.json, report.md and {len(paths) // 2} figures (PNG + PDF)")
    return df


def main_sensitivity(*, out, preset, metric="epb", method="oat", ratio_to=None, target=None, n_base=None,
                     parameters=None, model="mnist-cnn", chips=2, images=200, seed=0, scheduler=None,
                     progress=False, echo=True, figures=True):
    """``robinsim sensitivity``: check ``out``, run :func:`studies.sensitivity.run`, write sensitivity.csv,
    sensitivity.json and the tornado (:func:`studies.sensitivity.write`); returns the table."""
    check_out_dir(out)
    df = sensitivity.run(preset, metric=metric, method=method, ratio_to=ratio_to, target=target, workload=model,
                         n_base=n_base, seed=seed, parameters=parameters, chips=chips, images=images,
                         scheduler=scheduler, progress=progress)
    accs = load_accelerators({"preset": preset, **({} if ratio_to is None else {"ratio_to": ratio_to})})
    paths = sensitivity.write(df, out, figures=figures, configurations=provenance(accs))
    if echo:
        print(sensitivity.summary_text(df))
        print(f"wrote {', '.join(str(p) for p in paths)}")
    return df


#: Columns of the per-layer table ``robinsim map`` prints (all columns go to layers.csv).
_MAP_PRINTED = {"layer": "layer", "name": "name", "kind": "kind", "runs_on": "runs on", "k": "K",
                "out_channels": "C out", "groups": "groups", "positions": "positions", "binary_macs": "binary MACs",
                "cycles": "cycles", "bound": "bound", "latency_us": "latency us", "energy_nj": "energy nJ"}


def _si(value: float, unit: str) -> str:
    """``value`` (in ``unit``) with an SI prefix, 4 significant digits: 4.13e-3 J -> '4.13 mJ'."""
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


def map_layers_text(rep, table_name: str = "") -> str:
    """The per-layer table and the totals ``robinsim map`` prints for a :class:`~mapping.MappingReport`
    (layer rows cover the whole batch; totals per image except the batch latency)."""
    t = rep.layers.assign(layer=range(len(rep.layers)), latency_us=rep.layers["latency_s"] * 1e6,
                          energy_nj=rep.layers["energy_j"] * 1e9)
    table = t[list(_MAP_PRINTED)].rename(columns=_MAP_PRINTED).to_string(index=False, float_format=lambda v: f"{v:.4g}")
    head = f"{table_name}: " if table_name else ""
    lines = [f"{head}{count_label(len(t), 'layer')} on {rep.accelerator}, batch {rep.batch} (layer rows: whole batch)",
             table, "",
             f"energy per bit      {rep.energy_per_bit_j * 1e12:.4g} pJ/bit",
             f"throughput          {rep.fps:.4g} frames/s",
             f"latency (batch)     {_si(rep.latency_s, 's')}",
             f"energy per image    {_si(rep.energy_j, 'J')}",
             f"power               {rep.power_w:.4g} W",
             f"binary MACs / image {rep.binary_macs}",
             f"utilisation         {rep.utilisation * 100:.3g} %",
             "energy breakdown per image:"]
    total = rep.energy_j
    for comp, value in rep.breakdown.items():
        share = value / total * 100 if total > 0 else float("nan")
        per_bit = value / rep.binary_macs * 1e12 if rep.binary_macs else float("nan")
        lines.append(f"  {comp:<20} {_si(value, 'J'):>10}  {per_bit:>10.4g} pJ/bit  {share:>5.1f} %")
    lines += [f"note: {name}: {why}" for name, why in rep.notes]
    return "\n".join(lines)


def main_map(*, out, layers, preset="robin-eo", batch: int = 1, echo: bool = True):
    """``robinsim map``: schedule the layer table ``layers`` (CSV or YAML, :func:`mapping.from_table`) on
    ``preset`` at ``batch`` images per pass; write layers.csv (one row per layer, whole batch, every
    column of ``MappingReport.layers`` plus ``layer``, the row order) and summary.json (totals per
    image, the breakdown, the table path and the preset's provenance) to ``out``. Returns the report."""
    if not isinstance(layers, (str, PathLike, pd.DataFrame)):
        raise TypeError(f"--layers must be a CSV or YAML file path, got {type(layers).__name__}")
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 1 << 20:
        raise ValueError(f"--batch={batch!r} is out of range; allowed: an integer 1 to {1 << 20}")
    check_out_dir(out)
    if isinstance(layers, (str, PathLike)):
        if not str(layers).strip():
            raise ValueError(f"--layers {str(layers)!r} is empty; allowed: a .csv, .yaml or .yml layer table")
        if not Path(layers).is_file():
            raise FileNotFoundError(f"--layers {str(layers)!r}: no such file; allowed: a .csv, .yaml or .yml layer table")
    try:
        workload = from_table(layers)
    except ValueError as exc:
        raise ValueError(f"--layers: {exc}") from None
    try:
        accs = load_accelerators(preset)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise ValueError(f"--preset {str(preset)!r}: {' '.join(str(exc).strip(chr(39) + chr(34)).split())}") from None
    name, acc = next(iter(accs.items()))
    rep = map_model(workload, acc, batch=batch)
    out = prepare_out_dir(out)
    frame = rep.layers.assign(layer=range(len(rep.layers)))
    frame = frame[["layer", *[c for c in frame.columns if c != "layer"]]]
    write_csv(out / "layers.csv", frame, sort_by=["layer"])
    source = "DataFrame" if isinstance(layers, pd.DataFrame) else str(layers)
    meta = {"kind": "map", "layers_table": source, "preset": name, **rep.summary(),
            "input_shape": list(rep.input_shape), "layers": len(frame), "breakdown_j": rep.breakdown,
            "static_power_w": rep.static_power_w, "notes": [list(n) for n in rep.notes], "file": "layers.csv",
            "configurations": provenance(accs)}
    write_json(out / "summary.json", meta)
    if echo:
        print(map_layers_text(rep, Path(source).name if source != "DataFrame" else ""))
        print(f"wrote {out}/layers.csv and summary.json")
    return rep


def main_optimize(*, out, preset="robin-eo", fields=None, objectives="epb,fps", min_accuracy=None, chips=2, images=200,
                  trials=200, generation_size=20, model="mnist-cnn", seed=0, scheduler=None, resume=False,
                  overwrite=False, progress=False, echo=True, figures=True):
    """``robinsim optimize``: :func:`studies.optimize.run` with its checkpoint in ``out/checkpoint``, then
    :func:`studies.optimize.write` (trials.csv, pareto.csv, optimize.json, best.toml, Pareto figure)."""
    df = optimize.run(preset, fields=fields, objectives=objectives, min_accuracy=min_accuracy, chips=chips,
                      images=images, trials=trials, generation_size=generation_size, seed=seed, workload=model,
                      scheduler=scheduler, out=out, resume=resume, overwrite=overwrite, progress=progress)
    paths = optimize.write(df, out, figures=figures)
    if echo:
        print(optimize.summary_text(df))
        print(f"wrote {', '.join(str(p) for p in paths)}")
    return df


def main_hybrid(*, out, preset="robin-eo", model="mnist-hybrid", thresholds=(0.0, 0.5, 1.0, 1.5, 2.0), chips=2, seed=0,
                images=None, data=None, cloud=None, link=None, overwrite=False, progress=False, echo=True, figures=True):
    """``robinsim hybrid``: :func:`studies.hybrid.run` on ``preset``, then hybrid.csv, hybrid.json and
    (unless ``figures=False``) the figures ``hybrid_accuracy_energy`` and ``hybrid_exit_fractions``
    in ``out``. ``data``: a folder of CIFAR-10 python batches (``mapping.networks.data.load_cifar10``,
    test batch; needs a CIFAR architecture), None = MNIST test. An ``out`` that already holds
    hybrid.csv is refused unless ``overwrite``. Returns the table."""
    check_out_dir(out)
    if (Path(out) / "hybrid.csv").exists() and not overwrite:
        raise ValueError(f"--out {str(out)!r} already holds hybrid.csv; allowed: another --out, or --overwrite to replace it")
    try:
        thresholds = [check_threshold(t) for t in thresholds]
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"--thresholds: {exc}") from None
    torch_model = load_model(model)
    if not isinstance(torch_model, HybridBNN):
        raise ValueError(f"--model {str(model)!r} is not an edge-cloud hybrid network (architecture "
                         f"{getattr(torch_model, 'arch', None)!r}); allowed: a hybrid checkpoint such as mnist-hybrid")
    dataset = None
    if data is not None:
        if torch_model.input_shape != (3, 32, 32):
            raise ValueError(f"--data reads CIFAR-10 batches (3x32x32 images) but --model {str(model)!r} takes "
                             f"{torch_model.input_shape}; allowed: a CIFAR architecture or checkpoint (e.g. cifar-hybrid)")
        dataset = network_data.load_cifar10(data, "test")
    elif torch_model.input_shape != (1, 28, 28):
        raise ValueError(f"--model {str(model)!r} takes {torch_model.input_shape} images; without --data the MNIST test "
                         "split is used: give --data PATH (CIFAR-10 python batches) for a CIFAR model")
    try:
        cloud_obj, link_obj = hybrid.load_cloud_link(cloud, link)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise ValueError(f"--cloud/--link: {' '.join(str(exc).split())}") from None
    try:
        accs = load_accelerators(preset)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise ValueError(f"--preset {str(preset)!r}: {' '.join(str(exc).strip(chr(39) + chr(34)).split())}") from None
    df = hybrid.run(torch_model, accs, thresholds, chips=chips, seed=seed, images=images, data=dataset, cloud=cloud_obj,
                    link=link_obj, progress=progress)
    out = prepare_out_dir(out)
    write_csv(out / "hybrid.csv", df, sort_by=["threshold", "chip"])
    meta = {"kind": "hybrid", "model": str(model), "preset": next(iter(accs)), "thresholds": thresholds,
            "chips": chips, "seed": seed, "images": images, "data": None if data is None else str(data),
            "cloud": getattr(getattr(cloud_obj, "config", None), "name", str(cloud)),
            "link": getattr(getattr(link_obj, "config", None), "name", str(link)),
            "exit_names": list(torch_model.exit_names), "costs": dict(df.attrs), "file": "hybrid.csv",
            "configurations": provenance(accs)}
    write_json(out / "hybrid.json", meta)
    paths = figure_files.hybrid_figures(out) if figures else []
    if echo:
        summary = df.groupby("threshold")[["exit_fraction", "accuracy", "total_energy_j", "energy_reduction",
                                           "compute_energy_reduction"]].mean()
        print(summary.to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"wrote {out}/hybrid.csv, hybrid.json and {len(paths) // 2} figures (PNG + PDF)")
    return df
