"""What the main study (``robinsim run``, :func:`studies.commands.main_run`) computes per preset,
and the text of every report.

Per preset: the BNN's schedule on the accelerator (energy per bit with breakdown, latency, FPS,
power, FPS/W, area; :func:`energy_summary`), statistics over the sampled chips (accuracy, tuning
power and variation-aware energy per bit; :func:`chip_statistics`), a compact
accuracy-versus-variation sweep (:data:`VARIATION_SWEEP`), and the ring spectra of one bank
before and after tuning on one chip (:func:`bank_spectra`); with ROBIN's and LightBulb's presets,
ROBIN's claimed ratios over the declared ranges (:mod:`studies.claims`, :func:`claims_markdown`).
The markdown and console text of ``run`` and ``mc`` are here too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from accel import presets
from accel.baselines import ROBIN_CLAIMS
from mapping.bnn import FoldedBNN, export_binary
from mapping.performance.schedule import COMPONENTS, map_model
from studies.plots import count_label

__all__ = ["presets_table", "software_accuracy", "common_mode_label", "energy_summary", "chip_statistics", "bank_spectra",
           "VARIATION_SWEEP", "format_run_summary", "format_mc_summary", "run_markdown", "claims_markdown", "claim_verdict",
           "mc_markdown"]

#: Compact variation sweep of ``robinsim run``: parameter, levels, chips per level, images.
#: The default axis is the open-loop ambient drift after the one-time lock: tuning re-locks every
#: fabrication and temperature offset it sees, so only what happens after the lock reaches the
#: cells. Levels from a TEC's ~0.01 K hold up to the several K of a package without re-locking
#: (docs/references.md §7), fixed before any curve was run.
VARIATION_SWEEP = {"parameter": "post_lock_drift_k", "levels": [0.0, 0.5, 1.0, 2.0, 3.0], "chips": 3,
                   "images": 500}


def show_preset(name_or_path) -> str:
    """``robinsim presets --show``: the file (and the files it extends), the content hash and the
    resolved configuration of a preset, as TOML that loads back to the same configuration."""
    config = presets.load(name_or_path)
    info = presets.provenance(config, name_or_path)
    head = [f"# file: {info['path']}"] + [f"# extends: {p}" for p in info["extends"]]
    head.append(f"# sha256 of the resolved configuration: {info['sha256']}")
    return "\n".join(head) + "\n" + presets.to_toml(config)


def presets_table() -> str:
    """``robinsim presets``: one line per shipped preset with its main parameters."""
    names = presets.names()
    w = max(12, *(len(n) for n in names))
    lines = [f"{'name':<{w}} {'N':>4} {'M':>4} {'units':>6} {'Gb/s':>6}  {'cell':<9} description"]
    for name in names:
        c = presets.load(name)
        lines.append(f"{name:<{w}} {c.N:>4} {c.M:>4} {c.units:>6} {c.bit_rate_gbps:>6g}  {c.cell_model:<9} {c.description}")
    return "\n".join(lines)


def software_accuracy(model, dataset) -> float:
    """Accuracy of the software BNN (folded, exact ±1 arithmetic) on ``dataset``."""
    folded = model if isinstance(model, FoldedBNN) else export_binary(model)
    images, labels = dataset
    return float((folded.predict(images) == labels).double().mean())


def common_mode_label(config) -> str:
    """How ``config`` tracks the common-mode shift (``tuning.common_mode``), in words for reports;
    "ideal" is marked as the papers' assumption."""
    t = config.tuning
    return {
        "none": "none (fixed laser grid)",
        "laser": f"laser (comb on its TEC, ±{t.laser_nm_per_k * t.laser_tec_max_dt_k:g} nm)",
        "tec": f"tec (die TEC, ±{t.die_tec_max_dt_k:g} K)",
        "ideal": "ideal (free and unbounded: the papers' assumption, not physical)",
    }[t.common_mode]


#: The throughput batch of the reports (weights loaded once per round serve every image of it).
THROUGHPUT_BATCH = 64


def energy_summary(model, accelerator, input_shape=(1, 1, 28, 28)) -> dict:
    """Schedule-level figures of ``model`` on ``accelerator`` with the nominal tuning power, at
    batch 1 and at ``THROUGHPUT_BATCH`` (``batch_<B>``: its FPS and EPB); ``common_mode``: its
    tracking option (:func:`common_mode_label`)."""
    rep = map_model(model, accelerator, input_shape, batch=1)
    big = map_model(model, accelerator, input_shape, batch=THROUGHPUT_BATCH)
    return {
        f"batch_{THROUGHPUT_BATCH}": {"fps": big.fps, "energy_per_bit_j": big.energy_per_bit_j, "latency_s": big.latency_s},
        "common_mode": common_mode_label(accelerator.config),
        "energy_per_bit_j": rep.energy_per_bit_j,
        "energy_j": rep.energy_j,
        "latency_s": rep.latency_s,
        "fps": rep.fps,
        "power_w": rep.power_w,
        "fps_per_w": rep.fps_per_w,
        "binary_macs": rep.binary_macs,
        "logical_macs": rep.logical_macs,
        "utilisation": rep.utilisation,
        "area_mm2": accelerator.area_mm2,
        "package_max_power_w": accelerator.config.package.max_power_w,
        "nominal_tuning_chips": accelerator.components.tuner.nominal_chips,
        "nominal_tuning_rel_se": accelerator.components.tuner.nominal_rel_se,
        "static_power_w": dict(rep.static_power_w),
        "breakdown_j": dict(rep.breakdown),
        "breakdown_j_per_bit": {k: v / rep.binary_macs if rep.binary_macs else float("nan") for k, v in rep.breakdown.items()},
        "flagged_layers": list(rep.flagged_layers),
        "approximations": [{"layer": name, "reason": why} for name, why in rep.notes],
    }


def precision_markdown(rows: list[dict]) -> list[str]:
    """The "Precision" section of report.md from ``studies.precision.compare`` rows."""
    table = [[f"`{r['model']}`", r["precision"], r["kbit_layers"] or "-", r["preset"], _pct(r["software_accuracy"]),
              (f"{_pct(r['accuracy_mean'])} ({_pct(r['accuracy_min'])}-{_pct(r['accuracy_max'])})" if r["chips"]
               else "same (electronic)"),
              f"{r['energy_j'] * 1e6:.4g}", _pj(r["energy_per_bit_j"]) if r["binary_macs"] else "-", f"{r['fps']:.4g}"]
             for r in rows]
    return ["## Precision: binary, mixed and full", "",
            _md_table(["model", "precision", "k-bit layers", "preset", "software accuracy (%)",
                       "accuracy on chips, mean (min-max) (%)", "energy per image (µJ)", "EPB (pJ/bit)", "FPS"], table), "",
            "Mixed precision runs its k-bit layers as k_a x k_w bit-plane passes on the optical engine; full precision "
            "runs every layer on the electronic engine, so variation cannot change its result. EPB divides by bit-plane "
            "binary MACs: compare energy per image and FPS across precisions (`precision.csv`).", ""]


def bank_spectra(accelerator, *, seed: int, chip: int, unit: int = 0, vdu: int = 0, points: int = 4000):
    """Drop spectra of the 2N rings of one bank before and after tuning on chip ``chip``.

    The chip comes from the accelerator's chip pipeline under the preset's conditions
    (``Accelerator.sample_chip``). With common-mode tracking the laser grid follows the chip by
    ``grid_offset_nm`` and rings are locked to it.
    Returns ``(table, meta)``: ``table`` has ``wavelength_nm`` and ``before_i``/``after_i`` per
    ring i (ordered channel-major, activation ring first); ``meta`` the channel grid, the grid
    offset, each ring's channel and role, and its resonance offset from its channel before
    tuning and from its (shifted) channel after tuning (nm).
    """
    cfg = accelerator.config
    cell = accelerator.components.xnor_cell
    designs = (cell.activation_ring, cell.weight_ring)
    sample = accelerator.sample_chip(seed, chip, coefficients=False)
    grid_offset = sample.grid_offset_nm
    before = sample.shift_nm[unit, vdu]  # (N, 2)
    after = np.stack([sample.act_residual_nm[unit, vdu], sample.weight_residual_nm[unit, vdu]], axis=-1)
    ch = cfg.channels_nm
    spacing = cfg.wavelength.channel_spacing_nm
    wl = np.linspace(ch.min() - spacing + min(0.0, grid_offset), ch.max() + spacing + max(0.0, grid_offset), points)
    table = {"wavelength_nm": wl}
    channel, role, off_before, off_after = [], [], [], []
    for j in range(cfg.N):
        for r in range(2):
            i = len(channel)
            for label, resonance in (("before", ch[j] + before[j, r]), ("after", ch[j] + grid_offset + after[j, r])):
                det = resonance - designs[r].nearest_resonance_nm(resonance)
                table[f"{label}_{i}"] = designs[r].spectrum(wl, detuning_nm=det)[1]
            channel.append(j)
            role.append(r)
            off_before.append(float(before[j, r]))
            off_after.append(float(after[j, r]))
    meta = {"preset": cfg.name, "chip": chip, "seed": seed, "unit": unit, "vdu": vdu, "channels_nm": ch.tolist(),
            "grid_offset_nm": grid_offset, "channel": channel, "role": role, "offset_before_nm": off_before,
            "offset_after_nm": off_after, "fsr_nm": [designs[0].fsr_nm, designs[1].fsr_nm],
            "fwhm_nm": [designs[0].fwhm_nm, designs[1].fwhm_nm]}
    return pd.DataFrame(table), meta


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "min": float(v.min()),
            "p5": float(np.percentile(v, 5)), "median": float(np.median(v)), "p95": float(np.percentile(v, 95)),
            "max": float(v.max())}


def chip_statistics(chips: pd.DataFrame, energy: dict) -> dict:
    """One preset's entry of report.json ``results``: its :func:`energy_summary` and the statistics
    of its sampled chips (rows of :func:`studies.montecarlo.run`)."""
    return {
        "energy": energy,
        "accuracy": _stats(chips["accuracy"]),
        "tuning_power_w": {**_stats(chips["tuning_power_w"]), "per_chip": chips["tuning_power_w"].tolist()},
        "energy_per_bit_j_variation_aware": _stats(chips["energy_per_bit_j"]),
        "rings_out_of_range": _stats(chips["rings_out_of_range"]),
    }


# ------------------------------------------------------------------------------ text
def _pj(x) -> str:
    return f"{x * 1e12:.4g}"


def _pct(x) -> str:
    return f"{x * 100:.2f}"


def format_run_summary(meta: dict) -> str:
    """The short table ``robinsim run`` prints."""
    b = f"batch_{THROUGHPUT_BATCH}"
    head = (f"{'preset':<12} {'EPB pJ/bit':>11} {'FPS':>10} {'FPS/W':>10} {'EPB@' + str(THROUGHPUT_BATCH):>8} "
            f"{'FPS@' + str(THROUGHPUT_BATCH):>10} {'acc mean %':>10} {'acc min %':>9} {'tuning W (median)':>17}")
    lines = [f"software BNN accuracy: {_pct(meta['software_accuracy'])} % on {meta['images']} MNIST test images; "
             f"{count_label(meta['chips'], 'chip')} per preset", head]
    for name in meta["presets"]:
        r = meta["results"][name]
        e = r["energy"]
        lines.append(f"{name:<12} {_pj(e['energy_per_bit_j']):>11} {e['fps']:>10.4g} {e['fps_per_w']:>10.4g} "
                     f"{_pj(e[b]['energy_per_bit_j']) if b in e else '-':>8} {e[b]['fps'] if b in e else float('nan'):>10.4g} "
                     f"{_pct(r['accuracy']['mean']):>10} {_pct(r['accuracy']['min']):>9} "
                     f"{r['tuning_power_w']['median']:>17.4g}")
    lines += [f"common-mode tracking, {name}: {meta['results'][name]['energy'].get('common_mode', 'unknown')}"
              for name in meta["presets"]]
    for c in meta.get("claims_sensitivity") or []:
        fav = c["favourable"]
        lines.append(f"{c['label']} within the declared ranges: nominal {_ratio(c['nominal'])}, most favourable "
                     f"combination {_ratio(fav['ratio'])}, claimed {c['claimed']:.3g}: "
                     + ("reachable" if fav["reachable"] else "not reachable" if np.isfinite(fav["ratio"] or np.nan)
                        else "not evaluated"))
    for name in meta["presets"]:
        e = meta["results"][name]["energy"]
        if "package_max_power_w" in e and e["power_w"] > e["package_max_power_w"]:
            lines.append(f"warning: {name} draws {e['power_w']:.4g} W, more than its package removes "
                         f"({e['package_max_power_w']:.4g} W, package.max_power_w)")
    return "\n".join(lines)


def format_mc_summary(summary: pd.DataFrame, parameter: str, software: float) -> str:
    """The short table ``robinsim mc`` prints."""
    lines = [f"software BNN accuracy: {_pct(software)} %",
             f"{'preset':<12} {parameter:>22} {'acc mean %':>10} {'acc min %':>9} {'tuning W (median)':>17}"]
    for r in summary.to_dict("records"):
        lines.append(f"{r['preset']:<12} {r['level']:>22g} {_pct(r['accuracy_mean']):>10} {_pct(r['accuracy_min']):>9} "
                     f"{r['tuning_power_w_median']:>17.4g}")
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def run_markdown(meta: dict) -> str:
    """report.md of ``robinsim run``."""
    presets = meta["presets"]
    res = meta["results"]
    parts = [
        "# robinsim report",
        "",
        f"Model `{meta['model']}` on {', '.join(f'`{p}`' for p in presets)}; {count_label(meta['chips'], 'sampled chip')} per preset "
        f"(seed {meta['seed']}), accuracy on {meta['images']} MNIST test images. Software BNN accuracy: "
        f"**{_pct(meta['software_accuracy'])} %**.",
        "",
        "## Performance (nominal tuning power)",
        "",
        _md_table(["preset", "EPB (pJ/bit)", "latency (µs)", "FPS", "power (W)", "FPS/W", "area (mm²)", "utilisation",
                   f"EPB at batch {THROUGHPUT_BATCH}", f"FPS at batch {THROUGHPUT_BATCH}"],
                  [[p, _pj(e["energy_per_bit_j"]), f"{e['latency_s'] * 1e6:.4g}", f"{e['fps']:.4g}", f"{e['power_w']:.4g}",
                    f"{e['fps_per_w']:.4g}", f"{e['area_mm2']:.4g}", f"{e['utilisation']:.3f}",
                    _pj(e.get(f"batch_{THROUGHPUT_BATCH}", {}).get("energy_per_bit_j", float("nan"))),
                    f"{e.get(f'batch_{THROUGHPUT_BATCH}', {}).get('fps', float('nan')):.4g}"]
                   for p, e in ((p, res[p]["energy"]) for p in presets)]),
        "",
        f"Batch 1 unless stated; at batch {THROUGHPUT_BATCH} each round's weights serve {THROUGHPUT_BATCH} images.",
        "",
        "Package limit (`package.max_power_w`): " + "; ".join(
            f"`{p}` {res[p]['energy']['power_w']:.4g} W of {res[p]['energy'].get('package_max_power_w', float('nan')):.4g} W"
            + (" **(over)**" if res[p]['energy']['power_w'] > res[p]['energy'].get('package_max_power_w', float('inf')) else "")
            for p in presets) + ".",
        "",
        "Nominal tuning power (the `tuning` static power), sampled over whole-die banks until its standard error over "
        "per-chip means reaches `tuning.variation_target_rel_se` or the chip cap: " + "; ".join(
            f"`{p}` {count_label(res[p]['energy'].get('nominal_tuning_chips', 0), 'chip')}, standard error "
            f"{100 * res[p]['energy'].get('nominal_tuning_rel_se', float('nan')):.1f} %" for p in presets) + ".",
        "",
        "Common-mode tracking (`tuning.common_mode`; its power is the `common_mode` term below, outside the tuning "
        "budget): " + "; ".join(f"`{p}` {res[p]['energy'].get('common_mode', 'unknown')}, "
                                f"{res[p]['energy']['static_power_w'].get('common_mode', 0.0):.3g} W" for p in presets) + ".",
        "",
        "## Energy-per-bit breakdown (pJ/bit)",
        "",
        _md_table(["preset", *COMPONENTS, "total"],
                  [[p, *(_pj(res[p]["energy"]["breakdown_j_per_bit"].get(c, 0.0)) for c in COMPONENTS),
                    _pj(res[p]["energy"]["energy_per_bit_j"])] for p in presets]),
        "",
        "## Accuracy and tuning under fabrication and thermal variation",
        "",
        _md_table(["preset", "acc mean (%)", "std", "min", "p5", "median", "p95", "tuning power per chip (W): median",
                   "min", "max", "EPB with chip's tuning (pJ/bit): mean", "max"],
                  [[p, _pct(r["accuracy"]["mean"]), _pct(r["accuracy"]["std"]), _pct(r["accuracy"]["min"]),
                    _pct(r["accuracy"]["p5"]), _pct(r["accuracy"]["median"]), _pct(r["accuracy"]["p95"]),
                    f"{r['tuning_power_w']['median']:.4g}", f"{r['tuning_power_w']['min']:.4g}",
                    f"{r['tuning_power_w']['max']:.4g}", _pj(r["energy_per_bit_j_variation_aware"]["mean"]),
                    _pj(r["energy_per_bit_j_variation_aware"]["max"])] for p, r in ((p, res[p]) for p in presets)]),
        "",
        "Per-chip values are in `results.csv` (one row per preset and chip).",
        "",
    ]
    claims = []
    if "robin-eo" in res and "lightbulb" in res:
        ratio = res["lightbulb"]["energy"]["energy_per_bit_j"] / res["robin-eo"]["energy"]["energy_per_bit_j"]
        claims.append(["EPB lightbulb ÷ robin-eo (how many times lower robin-eo's EPB is)", f"{ratio:.3g}",
                       f"{1 / ROBIN_CLAIMS['eo_epb_vs_lightbulb']:.3g}"])
    if "robin-po" in res and "lightbulb" in res:
        ratio = res["robin-po"]["energy"]["fps"] / res["lightbulb"]["energy"]["fps"]
        claims.append(["FPS robin-po ÷ lightbulb (speed-up of robin-po)", f"{ratio:.3g}",
                       f"{ROBIN_CLAIMS['po_speedup_vs_lightbulb']:.3g}"])
    if claims:
        parts += ["## Against ROBIN's headline claims", "",
                  _md_table(["ratio", "simulated here", "claimed (ROBIN, TECS 2021)"], claims), "",
                  "The claims compare the papers' own models and workloads; the simulated ratios use this run's "
                  "presets and model.", ""]
        parts += claims_markdown(meta.get("claims_sensitivity") or [])
    if meta.get("variation_sweep"):
        v = meta["variation_sweep"]
        parts += [f"Accuracy versus variation: {v['parameter']} at {', '.join(f'{x:g}' for x in v['levels'])}, "
                  f"{count_label(v['chips'], 'chip')} per level on {v['images']} images (`variation.csv`).", ""]
    if meta.get("precision"):
        parts += precision_markdown(meta["precision"]["rows"])
    approx = [(p, a["layer"], a["reason"]) for p in presets for a in res[p]["energy"].get("approximations", [])]
    if approx:
        parts += ["## Layers scheduled with an approximation", "",
                  _md_table(["preset", "layer", "reason"], [[p, f"`{layer}`", why] for p, layer, why in approx]), ""]
    parts += ["## Published baselines", "",
              _md_table(["name", "kind", "EPB (pJ/bit)", "FPS", "FPS/W", "workload"],
                        [[b["name"], b["kind"], _opt(b["energy_per_bit_j"], 1e12), _opt(b["fps"]), _opt(b["fps_per_w"]),
                          b["workload"]] for b in meta["baselines"]]), "",
              "## Figures", ""]
    captions = {
        "energy_comparison": "Energy per bit, throughput and efficiency: simulated presets vs published accelerators.",
        "epb_breakdown": "Where the energy goes, per preset.",
        "accuracy_per_chip": "Accuracy of every sampled chip.",
        "accuracy_vs_variation": "Accuracy and tuning power versus the variation level.",
        "tuning_power_hist": "Tuning power per chip.",
        "ring_spectra": "Ring resonances of one bank before and after tuning.",
    }
    for stem, text in captions.items():
        parts += [f"![{text}]({stem}.png)", "", f"*{text}* (`{stem}.png`, `{stem}.pdf`)", ""]
    return "\n".join(parts + provenance_markdown(meta))


def _ratio(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.3g}"


def _pct_change(x) -> str:
    pct = x * 100
    return f"{pct:+.0f} %" if abs(pct) >= 10 else f"{pct:+.2g} %"


def _range_text(lo, hi) -> str:
    return f"{lo:.4g} – {hi:.4g}"


def claim_verdict(entry: dict) -> str:
    """The sentence of report.md saying whether ``entry``'s claim (a report.json ``claims_sensitivity``
    entry) is reachable within the declared ranges, from its favourable combination's ratio."""
    fav = entry["favourable"]
    ratio, claimed = fav["ratio"], entry["claimed"]
    combo = (f"with every one of the {entry['parameters']} varied parameters at its end favourable to ROBIN "
             f"({fav['parameters_moved']} of them moved off the preset's value"
             + (f", {len(fav['excluded'])} left there so that both configurations build" if fav.get("excluded") else "")
             + "; neither end of the others raises the ratio), "
             f"evaluated as one configuration of `{entry['preset']}` and one of `{entry['other']}`")
    if ratio is None or not np.isfinite(ratio):
        return (f"**Whether ROBIN's claim that {entry['claim_text']} is reachable within the declared ranges is not "
                f"known**: the most favourable combination cannot be evaluated ({fav.get('error') or 'no value'}).")
    if fav["reachable"]:
        return (f"**ROBIN's claim that {entry['claim_text']} is reachable within the declared ranges**: {combo}, "
                f"{entry['label']} is {_ratio(ratio)}{_values(entry)}, at least the claimed {claimed:.3g}.")
    return (f"**ROBIN's claim that {entry['claim_text']} is not reachable within the declared ranges**: {combo}, "
            f"{entry['label']} is {_ratio(ratio)}{_values(entry)}, {claimed / ratio:.3g}x short of the claimed "
            f"{claimed:.3g} (nominal {_ratio(entry['nominal'])}).")


def _values(entry: dict) -> str:
    """`` (other X unit over preset Y unit in that combination)`` of a claims entry."""
    fav = entry["favourable"]
    scale, unit = {"epb": (1e12, "pJ/bit"), "fps": (1.0, "frames/s")}.get(entry["metric"], (1.0, ""))
    o, p = fav.get("other_metric"), fav.get("preset_metric")
    if o is None or p is None:
        return ""
    return (f" ({entry['metric'].upper()} of `{entry['other']}` {o * scale:.4g} {unit} over `{entry['preset']}` "
            f"{p * scale:.4g} {unit} in that combination)")


def claims_markdown(entries: list[dict]) -> list[str]:
    """report.md lines of the claims' sensitivity over the declared ranges (report.json
    ``claims_sensitivity``, :mod:`studies.claims`): the favourable combinations, whether each claim is
    reachable, and per claim its top parameters and tornado (``claims_tornado_<claim>.png``)."""
    if not entries:
        return []
    rows = [[e["label"], _ratio(e["nominal"]), _ratio(e["favourable"]["ratio"]), f"{e['claimed']:.3g}",
             "yes" if e["favourable"]["reachable"] else "no"] for e in entries]
    parts = ["### Within the declared ranges", "",
             "What would it take? Each ratio one parameter at a time over the presets' declared `[ranges]` "
             "(`studies.sensitivity`, OAT): each parameter at its low and at its high end with every other at the "
             "preset's value; a parameter both presets declare moves in both, to the same relative position of each "
             "one's own range. The most favourable combination puts every parameter at the end that gives the larger "
             "ratio (a parameter neither of whose ends raises it keeps the preset's value) and evaluates that as ONE "
             "configuration per preset: the joint effect, not a product of single ratios. It is the corner the "
             "one-at-a-time directions point to, not a search of the whole box. A shared parameter's favourable end "
             "can be the worse technology for both designs when it hurts LightBulb more. EPB and FPS at batch 1 with "
             "the nominal tuning, as in the performance table; the combinations' values are in report.json "
             "(`claims_sensitivity`).", "",
             _md_table(["ratio", "nominal", "most favourable combination", "claimed", "claim reachable within the ranges"],
                       rows), ""]
    for e in entries:
        parts += [claim_verdict(e), ""]
        out = e["favourable"].get("excluded") or []
        if out:
            parts += [f"Left at the preset's value in the {e['label']} combination, because with the parameters ranked "
                      "above them at their ends a configuration would not build: "
                      + "; ".join(f"`{x['parameter']}` ({x['end']} end: {x['reason']})" for x in out) + ".", ""]
    for e in entries:
        pre, oth = e["preset"], e["other"]
        both = any(t.get("applied_to") == "both" for t in e["top"])
        header = ["rank", "parameter", f"range `{pre}`"] + ([f"range `{oth}`"] if both else []) + [
            "ratio at low", "ratio at high", "favourable end (ratio vs nominal)"]
        rows = []
        for t in e["top"]:
            row = [str(t["rank"]), f"`{t['parameter']}`", _range_text(t["low"], t["high"])]
            if both:
                row.append(_range_text(t["other_low"], t["other_high"]) if t.get("applied_to") == "both" else "not varied")
            end = t["favourable_end"]
            gain = t.get(f"metric_{end}") if end in ("low", "high") else None
            row += [_ratio(t["metric_low"]), _ratio(t["metric_high"]),
                    end + (f" ({_pct_change(gain / e['nominal'] - 1)})" if gain is not None else "")
                    + ("" if t.get("in_combination", True) or end == "nominal" else ", left out")]
            rows.append(row)
        caption = (f"{e['label']} ({e['ratio']}), one parameter at a time over the declared ranges; "
                   f"nominal {_ratio(e['nominal'])} (solid), claimed {e['claimed']:.3g} (dashed), every parameter at its "
                   f"favourable end {_ratio(e['favourable']['ratio'])} (dotted).")
        parts += [f"Top {len(rows)} of {e['parameters']} parameters of {e['label']} (nominal {_ratio(e['nominal'])}; "
                  f"all in `{e['file']}`, {e['evaluations']} evaluations):", "",
                  _md_table(header, rows), "",
                  f"![{caption}]({e['figure']}.png)", "",
                  f"*{caption}* (`{e['figure']}.png`, `{e['figure']}.pdf`)", ""]
    return parts


def figure_links(markdown: str, figures: bool, out) -> str:
    """``markdown`` as is with figures; without them (``--no-figures``) every image line becomes a
    note that ``robinsim plot`` draws it, so report.md has no broken links."""
    if figures:
        return markdown
    lines = [f"*(figure `{line[line.index('](') + 2:-1]}` not drawn: `robinsim plot {out}` draws it)*"
             if line.startswith("![") and line.endswith(")") else line for line in markdown.split("\n")]
    return "\n".join(lines)


def provenance_markdown(meta: dict) -> list[str]:
    """report.md lines naming each configuration's file and content hash (``meta["configurations"]``)."""
    configs = meta.get("configurations") or {}
    if not configs:
        return []
    rows = [[f"`{name}`", f"`{c['path']}`" if c["path"] else "built in Python",
             ", ".join(f"`{p}`" for p in c["extends"]) or "–", f"`{c['sha256'][:16]}`"] for name, c in configs.items()]
    return ["## Configurations", "",
            "The resolved configuration of each preset is in report.json (`configurations`); "
            "`robinsim presets --show NAME|PATH` prints it.", "",
            _md_table(["preset", "file", "extends", "sha256 (resolved configuration)"], rows), ""]


def _opt(x, scale=1.0) -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x * scale:.4g}"


def mc_markdown(meta: dict) -> str:
    """report.md of ``robinsim mc`` (``meta["summary"]``: the records of :func:`studies.montecarlo.summarize`)."""
    rows = [[r["preset"], f"{r['level']:g}", str(r["chips"]), _pct(r["accuracy_mean"]), _pct(r["accuracy_min"]),
             _pct(r["accuracy_p5"]), _pct(r["accuracy_median"]), f"{r['tuning_power_w_median']:.4g}",
             f"{r['tuning_power_w_max']:.4g}", _pj(r["energy_per_bit_j_mean"])] for r in meta["summary"]]
    return "\n".join([
        "# robinsim Monte Carlo",
        "",
        f"Model `{meta['model']}`; varying **{meta['parameter']}** ({meta['parameter_description']}); "
        f"{count_label(meta['chips'], 'chip')} per level (seed {meta['seed']}), {meta['images']} MNIST test images. "
        f"Software BNN accuracy: {_pct(meta['software_accuracy'])} %."
        + ("" if not meta.get("common_mode") else " Common-mode tracking: "
           + "; ".join(f"`{p}` {label}" for p, label in meta["common_mode"].items()) + "."),
        "",
        _md_table(["preset", "level", "chips", "acc mean (%)", "min", "p5", "median", "tuning power median (W)", "max",
                   "EPB mean (pJ/bit)"], rows),
        "",
        "![accuracy and tuning power versus variation](accuracy_vs_variation.png)",
        "",
        "Per-chip rows: `results.csv`. Finished chips are checkpointed in `checkpoint/` (`robinsim mc --resume`).",
        "",
        *provenance_markdown(meta),
    ])
