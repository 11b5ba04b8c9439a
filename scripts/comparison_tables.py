"""Print the tables of docs/comparison.md from the current code (markdown on stdout).

    python scripts/comparison_tables.py            # all tables, about a minute (longer on a cold Numba cache)
    python scripts/comparison_tables.py --only configurations tuning

Every number comes from the public API: ``accel.Accelerator`` / ``accel.presets`` (shipped
presets), ``accel.components`` (laser budget, nominal tuning power), ``photonics.tuning`` (heater
efficiency), ``mapping.performance.shape_zoo`` (the shape zoo) and ``mapping.performance.schedule.map_model`` (batch 1).
Nothing is measured; these are model outputs.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from accel import Accelerator, Conditions, presets
from accel.components import Tuner
from mapping.performance import shape_zoo
from mapping.performance.schedule import COMPONENTS, map_model

PRESETS = ("robin-eo", "robin-po", "lightbulb")
TABLES = ("configurations", "laser", "tuning", "nominal", "no-tuning", "sensitivity", "single")
OXBNN_TUNING_MW_PER_RING = 1.375 + 1.6e-3  # TO 1.375 mW + EO 1.6 µW per ring, docs/references.md §4
OXBNN_LASER_MW_PER_LINE = 1.274  # optical, docs/references.md §5
MANY_CHIPS = 256  # chips for the sampling-spread check of the nominal tuning power (the presets cap at 256)


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _g(x: float, digits: int = 3) -> str:
    return f"{x:,.{digits}g}" if abs(x) < 1e5 else f"{x:.{digits}g}"


def _fj(rep) -> str:
    return f"{rep.energy_per_bit_j * 1e15:,.0f}"


def _pct(rep, component) -> str:
    return f"{100 * rep.breakdown[component] / rep.energy_j:.0f}"


def _rings(cfg) -> int:
    return cfg.N * cfg.M * cfg.units * cfg.architecture.rings_per_cell


def _fixed_grid(cfg) -> Conditions:
    """The preset's conditions with the laser grid at the design wavelengths."""
    return Conditions(tuning=dataclasses.replace(Conditions().resolve(cfg).tuning, common_mode="none"))


def _nominal_tuning_w(cfg, conditions=None) -> float:
    return Tuner(cfg).nominal_power_w(conditions)


def _report(acc, name, tuning_power_w=None, electronic_ends=False):
    return map_model(shape_zoo.build(name, electronic_ends=electronic_ends), acc, shape_zoo.input_shape(name),
                     tuning_power_w=tuning_power_w)


def _with(acc, values) -> Accelerator:
    return Accelerator(acc.config.with_values(values))


def configurations(accs) -> str:
    rows = []
    for name, acc in accs.items():
        cfg = acc.config
        lam = cfg.wavelength.center_wavelength_nm
        act, wt = cfg.activation_ring.design(lam), cfg.weight_ring.design(lam)
        heater = Conditions().resolve(cfg).tuning
        mw_per_nm = [1e3 / float(heater.to_efficiency_nm_per_w(d.fsr_nm)) for d in (act, wt)]
        rows.append([name, cfg.N, cfg.M, cfg.units, _g(cfg.bit_rate_gbps), f"{acc.peak_binary_macs_per_s / 1e12:.1f}",
                     f"{_rings(cfg):,}", f"{acc.area_mm2:.0f}", _g(cfg.activation_ring.radius_um),
                     f"{cfg.activation_ring.width_nm:.0f} / {cfg.weight_ring.width_nm:.0f}", _g(cfg.activation_ring.kappa2_in),
                     _g(cfg.wavelength.channel_spacing_nm), f"{act.fsr_nm:.1f} / {wt.fsr_nm:.1f}",
                     f"{act.q_loaded:,.0f}", f"{act.fwhm_nm:.2f}", f"{mw_per_nm[0]:.2f} / {mw_per_nm[1]:.2f}"])
    return _table(["preset", "N", "M", "units", "Gb/s", "peak binary MAC/s (×10¹²)", "rings", "area (mm²)",
                   "ring radius (µm)", "ring width, act / weight (nm)", "κ² (in = drop)", "channel spacing (nm)",
                   "FSR, act / weight (nm)", "loaded Q (act)", "FWHM (act, nm)", "heater, mW per nm (act / weight)"], rows)


def laser_table(accs) -> str:
    rows = []
    for name, acc in accs.items():
        laser = acc.components.laser.budget
        rows.append([name, f"{laser.laser_wavelengths:,}", f"{laser.path_loss_db:.1f}",
                     f"{dict(laser.loss_terms_db)['splitter_fanout']:.1f}",
                     f"{laser.received_power_per_wavelength_w * 1e6:.2f}", f"{laser.optical_power_per_wavelength_w * 1e6:.0f}",
                     f"{laser.electrical_power_per_wavelength_w * 1e3:.2f}", f"{laser.total_electrical_power_w:.2f}"])
    return _table(["preset", "laser lines", "worst-path loss (dB)", "of which 1:M split (dB)", "received / line (µW)",
                   "laser / line, optical (µW)", "laser / line, electrical (mW)", "laser total (W)"], rows)


def tuning_table(accs) -> str:
    def watts(power_w, rings):
        return f"{power_w:,.3g} ({power_w / rings * 1e3:.3g})"

    rows = []
    for name, acc in accs.items():
        cfg = acc.config
        rings = _rings(cfg)
        many = _nominal_tuning_w(cfg.with_values({"tuning.variation_chips": MANY_CHIPS}))
        single = [_nominal_tuning_w(cfg.with_values({"tuning.variation_chips": 1, "tuning.variation_seed": seed}))
                  / rings * 1e3 for seed in range(MANY_CHIPS)]
        rows.append([name, cfg.tuning.variation_chips, watts(acc.components.tuner.static_power_w, rings),
                     watts(many, rings), f"{min(single):.2g} – {max(single):.3g}",
                     watts(_nominal_tuning_w(cfg, _fixed_grid(cfg)), rings)])
    return _table(["preset", "chips sampled", "nominal: W (mW per ring)", f"{MANY_CHIPS} chips: W (mW per ring)",
                   f"one chip, {MANY_CHIPS} seeds: min – max (mW per ring)", "grid fixed: W (mW per ring)"], rows)


def results(accs, tuning_power_w=None) -> str:
    nominal = tuning_power_w is None
    rows = []
    for model in shape_zoo.names():
        for name, acc in accs.items():
            rep = _report(acc, model, tuning_power_w)
            row = [model, name, _fj(rep), f"{rep.fps:,.0f}", _g(rep.fps_per_w)]
            row += [f"{rep.latency_s * 1e6:.3g}"] if nominal else []
            row += [_g(rep.energy_j * 1e6), _g(rep.power_w)]
            row += [f"{rep.utilisation:.2f}"] if nominal else []
            rows.append(row + [" / ".join(_pct(rep, c) for c in COMPONENTS)])
    header = ["model", "preset", "EPB (fJ)", "FPS", "FPS/W"] + (["latency (µs)"] if nominal else [])
    header += ["energy (µJ)", "power (W)"] + (["utilisation"] if nominal else []) + ["shares (%)"]
    return _table(header, rows)


def sensitivity(accs) -> str:
    def cell(rep):
        return f"{_fj(rep)} fJ / {rep.fps:,.0f} / {rep.fps_per_w:,.0f}"

    scenarios = [
        ("nominal (Monte Carlo tuning, laser grid within its ±4 nm)", lambda acc: _report(acc, "resnet18")),
        ("tuning power 0", lambda acc: _report(acc, "resnet18", 0.0)),
        (f"tuning averaged over {MANY_CHIPS} chips (`tuning.variation_chips = {MANY_CHIPS}`)",
         lambda acc: _report(_with(acc, {"tuning.variation_chips": MANY_CHIPS}), "resnet18")),
        ("laser grid fixed at the design wavelengths (`tuning.common_mode = 'none'`)",
         lambda acc: _report(acc, "resnet18", _nominal_tuning_w(acc.config, _fixed_grid(acc.config)))),
        ("tuning at the OXBNN per-ring constant (1.375 mW TO + 1.6 µW EO)",
         lambda acc: _report(_with(acc, {"tuning.fixed_power_per_ring_mw": OXBNN_TUNING_MW_PER_RING}), "resnet18")),
        ("tuning 0, laser fixed at the OXBNN 1.274 mW optical per line",
         lambda acc: _report(_with(acc, {"laser.fixed_optical_power_per_wavelength_mw": OXBNN_LASER_MW_PER_LINE}),
                             "resnet18", 0.0)),
    ]
    rows = [[label] + [cell(fn(acc)) for acc in accs.values()] for label, fn in scenarios]
    return _table(["scenario"] + list(accs), rows)


def single(accs) -> str:
    """Single-assumption changes, ResNet-18, tuning power 0 (EPB in fJ)."""
    lb, eo, po = accs["lightbulb"], accs["robin-eo"], accs["robin-po"]
    rx = lb.config.receiver
    rep = _report(_with(lb, {"receiver.tia_rate_exponent": 0.0}), "resnet18", 0.0)
    lines = [f"* LightBulb with its TIA at the 5 Gb/s power ({rx.tia_power_mw:g} mW, not scaled to 50 Gb/s): {_fj(rep)} fJ "
             f"(receiver {_pct(rep, 'receiver')} %)."]
    rep = _report(_with(lb, {"memory.read_energy_fj_per_bit": 0.0}), "resnet18", 0.0)
    lines.append(f"* LightBulb with a free weight memory: {_fj(rep)} fJ.")
    free_rx = {"receiver.pd_bias_v": 0.0, "receiver.tia_power_mw": 0.0}
    eo0, po0 = (_report(_with(acc, free_rx), "resnet18", 0.0) for acc in (eo, po))
    lines.append(f"* ROBIN with no PD/TIA power: robin-eo {_fj(eo0)} fJ, robin-po {_fj(po0)} fJ (activation modulation "
                 f"{_pct(eo0, 'modulation')} / {_pct(po0, 'modulation')} %).")
    ends = [_report(acc, "resnet18", 0.0, electronic_ends=True) for acc in accs.values()]
    lines.append("* First and last layers electronic (`electronic_ends=True`): FPS "
                 + " / ".join(f"{r.fps:,.0f}" for r in ends) + ", EPB " + " / ".join(_fj(r) for r in ends)
                 + " fJ (" + " / ".join(accs) + ").")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=TABLES, nargs="+", default=list(TABLES), help="tables to print (default: all)")
    args = parser.parse_args(argv)
    accs = {name: Accelerator(presets.load(name)) for name in PRESETS}
    makers = {
        "configurations": ("The three configurations", lambda: configurations(accs)),
        "laser": ("Laser budget", lambda: laser_table(accs)),
        "tuning": ("Tuning power (laser grid within its range unless fixed)", lambda: tuning_table(accs)),
        "nominal": ("Results with nominal tuning power (shares: " + " / ".join(COMPONENTS) + ")", lambda: results(accs)),
        "no-tuning": ("Results without tuning power", lambda: results(accs, 0.0)),
        "sensitivity": ("Sensitivity on ResNet-18 (EPB / FPS / FPS/W)", lambda: sensitivity(accs)),
        "single": ("Single-assumption changes, ResNet-18, tuning power 0", lambda: single(accs)),
    }
    for key in args.only:
        title, make = makers[key]
        print(f"## {title}\n\n{make()}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
