"""Print the tables of docs/comparison.md from the current code (markdown on stdout).

    python scripts/comparison_tables.py            # all tables, about a minute on 2 cores
    python scripts/comparison_tables.py --only configurations

Every number comes from the public API: ``accel.Accelerator`` / ``accel.presets`` (shipped
presets), ``accel.energy`` (laser budget, nominal tuning power), ``mapping.models`` (the shape
zoo) and ``mapping.schedule.map_model`` (batch 1). Nothing is measured; these are model outputs.
"""
from __future__ import annotations

import argparse
import sys

from accel import Accelerator, presets
from accel.energy import laser_budget, nominal_tuning_power_w
from mapping import models
from mapping.schedule import map_model
from photonics.tuning import TuningModel

PRESETS = ("robin-eo", "robin-po", "lightbulb")
COMPONENTS = ("laser", "tuning", "modulation", "weight_programming", "receiver", "adc_dac", "accumulation", "memory",
              "electronic")
TABLES = ("configurations", "nominal", "no-tuning", "sensitivity", "single")


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _g(x: float, digits: int = 3) -> str:
    return f"{x:,.{digits}g}" if abs(x) < 1e5 else f"{x:.{digits}g}"


def _report(acc, name, tuning_power_w=None, electronic_ends=False):
    return map_model(models.build(name, electronic_ends=electronic_ends), acc, models.input_shape(name),
                     tuning_power_w=tuning_power_w)


def _shares(rep) -> str:
    total = sum(rep.breakdown.values())
    return " / ".join(f"{100 * rep.breakdown.get(c, 0.0) / total:.0f}" for c in COMPONENTS)


def configurations(accs) -> str:
    rows = []
    for name, acc in accs.items():
        cfg, laser = acc.config, laser_budget(acc.config)
        rings = cfg.N * cfg.M * cfg.units * cfg.architecture.rings_per_cell
        tuning_w = acc.power_model.nominal_tuning_power_w
        rows.append([name, cfg.N, cfg.M, cfg.units, _g(cfg.bit_rate_gbps), f"{acc.peak_binary_macs_per_s / 1e12:.1f}",
                     f"{rings:,}", f"{laser.laser_wavelengths:,}", f"{laser.path_loss_db:.1f}",
                     f"{laser.received_power_per_wavelength_w * 1e6:.2f}", f"{laser.electrical_power_per_wavelength_w * 1e3:.2f}",
                     f"{laser.total_electrical_power_w:.2f}", f"{tuning_w:.3g} ({tuning_w / rings * 1e3:.3g})",
                     f"{acc.area_mm2:.0f}"])
    return _table(["preset", "N", "M", "units", "Gb/s", "peak binary MAC/s (×10¹²)", "rings", "laser lines",
                   "worst-path loss (dB)", "received / line (µW)", "laser / line, electrical (mW)", "laser total (W)",
                   "nominal tuning, W (mW per ring)", "area (mm²)"], rows)


def results(accs, tuning_power_w=None) -> str:
    rows = []
    for model in models.names():
        for name, acc in accs.items():
            rep = _report(acc, model, tuning_power_w)
            row = [model, name, f"{rep.energy_per_bit_j * 1e15:,.0f}", f"{rep.fps:,.0f}", _g(rep.fps_per_w)]
            if tuning_power_w is None:
                row.append(f"{rep.latency_s * 1e6:.3g}")
            row += [_g(rep.energy_j * 1e6), _g(rep.power_w)]
            if tuning_power_w is None:
                row.append(f"{rep.utilisation:.2f}")
            rows.append(row + [_shares(rep)])
    header = ["model", "preset", "EPB (fJ)", "FPS", "FPS/W"] + (["latency (µs)"] if tuning_power_w is None else [])
    header += ["energy (µJ)", "power (W)"] + (["utilisation"] if tuning_power_w is None else []) + ["shares (%)"]
    return _table(header, rows)


def _cell(rep) -> str:
    return f"{rep.energy_per_bit_j * 1e15:,.0f} fJ / {rep.fps:,.0f} / {rep.fps_per_w:,.0f}"


def sensitivity(accs) -> str:
    fixed_grid = TuningModel(track_common_mode=False)
    scenarios = [
        ("nominal (Monte Carlo tuning, laser grid follows each chip)", lambda acc: _report(acc, "resnet18")),
        ("tuning power 0", lambda acc: _report(acc, "resnet18", 0.0)),
        ("laser grid fixed at the design wavelengths (`track_common_mode = false`)",
         lambda acc: _report(acc, "resnet18", nominal_tuning_power_w(acc.config, fixed_grid))),
        ("tuning at the OXBNN per-ring constant (1.375 mW TO + 1.6 µW EO)",
         lambda acc: _report(Accelerator(acc.config.with_values({"tuning.fixed_power_per_ring_mw": 1.375 + 1.6e-3})),
                             "resnet18")),
        ("tuning 0, laser fixed at the OXBNN 1.274 mW optical per line",
         lambda acc: _report(Accelerator(acc.config.with_values({"laser.fixed_optical_power_per_wavelength_mw": 1.274})),
                             "resnet18", 0.0)),
    ]
    rows = [[label] + [_cell(fn(acc)) for acc in accs.values()] for label, fn in scenarios]
    return _table(["scenario"] + list(accs), rows)


def single(accs) -> str:
    """Single-assumption changes, ResNet-18, tuning power 0 (EPB in fJ)."""
    lb, eo, po = accs["lightbulb"], accs["robin-eo"], accs["robin-po"]
    rx = lb.config.receiver
    lines = []
    rep = _report(Accelerator(lb.config.with_values({"receiver.pd_power_mw": rx.pd_power_mw * 10,
                                                     "receiver.tia_power_mw": rx.tia_power_mw * 10})), "resnet18", 0.0)
    lines.append(f"* LightBulb with PD and TIA power x10 (the same energy per cycle as at 5 Gb/s): "
                 f"{rep.energy_per_bit_j * 1e15:,.0f} fJ (receiver {100 * rep.breakdown['receiver'] / rep.energy_j:.0f} %).")
    rep = _report(Accelerator(lb.config.with_values({"memory.read_energy_fj_per_bit": 0.0})), "resnet18", 0.0)
    lines.append(f"* LightBulb with a free weight memory: {rep.energy_per_bit_j * 1e15:,.0f} fJ.")
    free_rx = {"receiver.pd_power_mw": 0.0, "receiver.tia_power_mw": 0.0}
    eo0 = _report(Accelerator(eo.config.with_values(free_rx)), "resnet18", 0.0)
    po0 = _report(Accelerator(po.config.with_values(free_rx)), "resnet18", 0.0)
    lines.append(f"* ROBIN with no PD/TIA power: robin-eo {eo0.energy_per_bit_j * 1e15:,.0f} fJ, "
                 f"robin-po {po0.energy_per_bit_j * 1e15:,.0f} fJ (activation modulation "
                 f"{100 * eo0.breakdown['modulation'] / eo0.energy_j:.0f} / {100 * po0.breakdown['modulation'] / po0.energy_j:.0f} %).")
    ends = {name: _report(acc, "resnet18", 0.0, electronic_ends=True) for name, acc in accs.items()}
    lines.append("* First and last layers electronic (`electronic_ends=True`): FPS "
                 + " / ".join(f"{r.fps:,.0f}" for r in ends.values()) + ", EPB "
                 + " / ".join(f"{r.energy_per_bit_j * 1e15:,.0f}" for r in ends.values()) + " fJ ("
                 + " / ".join(ends) + ").")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=TABLES, nargs="+", default=list(TABLES), help="tables to print (default: all)")
    args = parser.parse_args(argv)
    accs = {name: Accelerator(presets.load(name)) for name in PRESETS}
    makers = {
        "configurations": ("The three configurations", lambda: configurations(accs)),
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
