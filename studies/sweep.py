"""Design-space sweeps: evaluate a grid of accelerator configurations on one BNN.

A grid maps configuration fields to lists of values; every combination is one design point.
Fields are the short names of ``accel.config.ALIASES`` (``N``, ``M``, ``units``,
``bit_rate_gbps``, ``ring_width_nm``, ``ring_pitch_um``, ...) or any ``section.field`` of
:class:`accel.config.AcceleratorConfig`; two names for the same field are an error. Each point gives energy per bit (with breakdown),
latency, FPS, power and area from ``mapping.map_model`` and, with ``chips > 0``, the accuracy
over that many sampled chips. Points that no configuration can realise (for example N channels
that do not fit in the ring FSR) are kept as rows with ``feasible = False`` and the reason.
A sweep whose estimated memory does not fit (``studies.memory``) is refused before any point runs.
With a ``checkpoint`` directory each finished point is recorded (``studies.resume``), so a killed
sweep resumes with only the missing points computed and gives the same table.
"""
from __future__ import annotations

import itertools
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from accel import Accelerator
from accel.conditions import Conditions
from accel.config import ALIASES, PARAMETERS, ConfigKeyError, check_request, name_spec, resolve_name
from mapping.bnn import FoldedBNN, export_binary
from mapping.functional import _PREPARED_MAX, simulate_chip
from mapping.performance.schedule import map_model
from photonics.validation import check_int, check_seed, check_value, parse_text
from studies import memory as run_memory
from studies.dispatch import Task, run_tasks
from studies.inputs import load_accelerators, load_dataset, load_model
from studies.montecarlo import _digest
from studies.pareto import pareto_front
from studies.report import provenance_markdown
from studies.resume import Checkpoint

__all__ = ["ALIASES", "resolve_field", "parse_assignment", "load_sweep_file", "expand", "apply", "run",
           "fields_table", "summary_text", "markdown"]

def resolve_field(name: str) -> tuple[str, ...]:
    """Configuration keys (``section.field``) set by the sweep field ``name`` (``accel.config.resolve_name``)."""
    try:
        return resolve_name(name)
    except ConfigKeyError:
        raise ValueError(f"unknown sweep field {name!r}; allowed: {', '.join(ALIASES)} or any 'section.field' of the "
                         "configuration (list them with 'robinsim sweep --fields')") from None


def _convert(name: str, value):
    """``value`` (text, or a TOML/Python value) as the kind of field ``name``; bounds are checked when a
    point's configuration is built (a point out of bounds is an infeasible row, not an error)."""
    resolve_field(name)
    spec = name_spec(name)
    key = f"sweep field {name}"
    if isinstance(value, str):
        value = parse_text(key, value, spec)
    elif spec.kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    return check_value(key, value, spec, bounds=False)


def parse_assignment(text: str) -> tuple[str, list]:
    """``"N=8,10,16"`` -> ``("N", [8, 10, 16])`` (values converted to the field's type)."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name or not values.strip():
        raise ValueError(f"--set {text!r} is not FIELD=V1,V2,...")
    resolve_field(name)
    return name, [_convert(name, v) for v in values.split(",") if v.strip()]


_FILE_KEYS = {"preset", "grid"}


def load_sweep_file(path) -> tuple[dict, str | None]:
    """Read a TOML sweep file: ``(grid, preset)``.

    Format: an optional top-level ``preset = "robin-eo"`` (base configuration) and a ``[grid]``
    table of ``field = [values]`` (a scalar means one value; dotted keys such as
    ``floorplan.ring_pitch_um`` may be quoted or written as nested tables).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"sweep file {str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"sweep file {str(path)!r} is a directory; allowed: a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"sweep file {path} is not valid TOML: not UTF-8 text") from None
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"sweep file {path}: unknown key {unknown[0]!r}; allowed: {sorted(_FILE_KEYS)}")
    grid_table = data.get("grid")
    if not isinstance(grid_table, dict) or not grid_table:
        raise ValueError(f"sweep file {path}: needs a non-empty [grid] table of field = [values]")
    preset = data.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise TypeError(f"sweep file {path}: preset must be a string, got {preset!r}")

    def flatten(table, prefix=""):
        for key, value in table.items():
            full = f"{prefix}{key}"
            if isinstance(value, dict):
                yield from flatten(value, full + ".")
            else:
                yield full, value

    grid = {}
    for name, values in flatten(grid_table):
        try:
            resolve_field(name)
        except ValueError as exc:
            raise ValueError(f"sweep file {path}: {exc}") from None
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"sweep file {path}: grid field {name} has no values")
        grid[name] = [_convert(name, v) for v in values]
    return grid, preset


def expand(grid) -> list[dict]:
    """Design points of ``grid``: the cartesian product of ``{field: values}`` in the given order
    (a scalar value is a one-value list, as in a sweep file), or a list of point dicts as given."""
    if isinstance(grid, dict):
        if not grid:
            raise ValueError("grid is empty; give at least one field with values")
        grid = {name: [values] if isinstance(values, (int, float, str, bool)) else values
                for name, values in grid.items()}
        for name, values in grid.items():
            resolve_field(name)
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"grid field {name}: values must be a non-empty list or one value, got {values!r}")
        names = list(grid)
        check_request(names)
        return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]
    points = [dict(p) for p in grid]
    if not points:
        raise ValueError("grid is empty; give at least one design point")
    for p in points:
        for name in p:
            resolve_field(name)
        check_request(p)
    return points


def apply(config, point: dict):
    """``config`` with the fields of ``point`` set (re-validated; two names for one field are an error)."""
    return config.with_values({name: _convert(name, value) for name, value in point.items()})


def fields_table() -> str:
    """Text listing the sweepable fields (short names, then every ``section.field`` with its kind,
    unit, allowed bounds and doc)."""
    lines = ["short names:"]
    lines += [f"  {a:<26} -> {', '.join(alias.keys)}{'' if alias.rule == 'set' else f' ({alias.rule})'}: {alias.doc}"
              for a, alias in ALIASES.items()]
    lines.append("configuration fields (section.field):")
    for key, spec in PARAMETERS.items():
        unit = f" [{spec.unit}]" if spec.unit else ""
        lines.append(f"  {key:<46} {spec.kind.__name__}{unit}, {spec.allowed_text()}{'; ' + spec.doc if spec.doc else ''}")
    return "\n".join(lines)


_ENERGY_FIELDS = ("energy_per_bit_j", "energy_j", "latency_s", "fps", "power_w", "fps_per_w", "binary_macs",
                  "utilisation")


def _evaluate_point(folded, dataset, base, *, index, point, chips, seed, input_shape, conditions):
    """One task: schedule (and with ``chips``, simulate) design point ``point`` (a pure function)."""
    acc = Accelerator(apply(base, point))
    rep = map_model(folded.source, acc, input_shape)
    row = {"point": index, **point, "feasible": True, "error": ""}
    row.update({k: getattr(rep, k) for k in _ENERGY_FIELDS})
    row["area_mm2"] = acc.area_mm2
    row["package_max_power_w"] = acc.config.package.max_power_w
    row["over_package_limit"] = bool(rep.power_w > acc.config.package.max_power_w)
    row["tuning_power_w_nominal"] = rep.static_power_w["tuning"]
    row["tuning_nominal_chips"] = acc.components.tuner.nominal_chips
    row["tuning_nominal_rel_se"] = acc.components.tuner.nominal_rel_se
    row.update({f"epb_{k}_j": v / rep.binary_macs for k, v in rep.breakdown.items()})
    if chips:
        chip_rows = [simulate_chip(folded, acc, dataset, chip=c, seed=seed, conditions=conditions) for c in range(chips)]
        acc_values = np.array([r["accuracy"] for r in chip_rows])
        power = np.array([r["tuning_power_w"] for r in chip_rows])
        row.update(accuracy_mean=float(acc_values.mean()), accuracy_min=float(acc_values.min()),
                   tuning_power_w_mean=float(power.mean()),
                   rings_out_of_range_mean=float(np.mean([r["rings_out_of_range"] for r in chip_rows])))
    return row


def _manifest(folded, data, base_config, points, chips, seed, conditions) -> dict:
    """What fixes each design point's row (a resumed sweep must match it; module docstring of studies.resume)."""
    model_arrays = [t for spec in folded.layers
                    for t in (spec.weight_pm1 if hasattr(spec, "weight_pm1") else spec.weight_codes,
                              spec.threshold, spec.flip)]
    config_text = json.dumps(base_config.to_dict(), sort_keys=True, default=str).encode()
    return {
        "kind": "sweep",
        "model": _digest(*model_arrays, *[p for p in folded.source.state_dict().values()]),
        "dataset": None if data is None else _digest(*data),
        "base_configuration": _digest(np.frombuffer(config_text, dtype=np.uint8)),
        "points": points, "chips": chips, "seed": seed,
        "variation": repr(conditions.variation), "tuning": repr(conditions.tuning), "noise": repr(conditions.noise),
    }


def run(base, grid, *, model="mnist-cnn", dataset=None, images: int | None = None, chips: int = 2, seed: int = 0,
        variation=None, tuning=None, noise=None, scheduler=None, progress: bool | None = None,
        conditions=None, checkpoint=None, resume: bool = False, overwrite: bool = False) -> pd.DataFrame:
    """Evaluate every design point of ``grid`` around the configuration ``base``; one row per point.

    ``base``: preset name, TOML path, ``AcceleratorConfig`` or ``Accelerator``. ``grid``: ``{field:
    [values]}`` (cartesian product, see :func:`expand`) or a list of point dicts. ``model``: torch BNN
    or shipped checkpoint name. With ``chips > 0`` each point also gets the accuracy over chips
    ``0..chips-1`` of ``seed`` on ``dataset`` (default: the MNIST test set, first ``images``) under
    ``variation``/``tuning``/``noise`` or ``conditions`` (as in :mod:`mapping.functional`).
    ``scheduler``: None (this process), a Dask scheduler address or a ``distributed.Client``.
    ``checkpoint``: directory recording each finished design point (``studies.resume``); ``resume=True``
    continues it, computing only the missing points (the same table as an uninterrupted run; other
    arguments, grid, model, data, base configuration or conditions are refused, naming what changed),
    ``overwrite=True`` discards an earlier one (without either, a directory holding one is refused).
    A run whose estimated memory does not fit is refused first (``studies.memory``).
    Defaults as ``robinsim sweep``: 2 chips on 1000 images (``images`` None: 1000 of the MNIST test set,
    or all of a given ``dataset``); ``chips=0`` skips accuracy. ``progress``:
    a progress bar (None: when stderr is a terminal).

    Columns: ``point``, the swept fields, ``feasible``, ``error`` (why a point cannot be built),
    ``energy_per_bit_j``, ``energy_j``, ``latency_s``, ``fps``, ``power_w``, ``fps_per_w``,
    ``binary_macs``, ``utilisation``, ``area_mm2``, ``package_max_power_w``, ``over_package_limit`` (a warning:
    ``power_w`` above ``package.max_power_w``), ``tuning_power_w_nominal`` with ``tuning_nominal_chips`` and
    ``tuning_nominal_rel_se`` (chips it sampled, its relative standard error), ``epb_<component>_j``
    and, with chips, ``accuracy_mean``, ``accuracy_min``, ``tuning_power_w_mean``, ``rings_out_of_range_mean``.
    """
    chips = check_int("chips", chips, lo=0)
    seed = check_seed("seed", seed)
    if checkpoint is None and (resume or overwrite):
        raise ValueError(f"resume={resume!r} / overwrite={overwrite!r} without a checkpoint; allowed: checkpoint=DIRECTORY "
                         "with them")
    progress = sys.stderr.isatty() if progress is None else bool(progress)
    conditions = Conditions.of(conditions, variation=variation, tuning=tuning, noise=noise)
    if isinstance(base, Accelerator):
        base_config = base.config
    else:
        base_config = next(iter(load_accelerators(base).values())).config
    points = expand(grid)
    folded = model if isinstance(model, FoldedBNN) else export_binary(load_model(model))
    if images is None and dataset is None:
        images = 1000
    data = load_dataset(dataset, images) if chips else None
    input_shape = (1, *folded.input_shape)
    rows, tasks, configs = {}, [], {}
    for i, point in enumerate(points):
        try:
            config = apply(base_config, point)
            Accelerator(config)
        except (ValueError, TypeError, KeyError) as exc:
            rows[i] = {"point": i, **point, "feasible": False, "error": " ".join(str(exc).strip("'\"").split())}
            continue
        configs[f"design point {i} of {base_config.name!r} ({', '.join(f'{k}={v}' for k, v in point.items())})"] = config
        tasks.append(Task(f"point{i:06d}", dict(index=i, point=point, chips=chips, seed=seed, input_shape=input_shape,
                                                conditions=conditions)))
    if not tasks:
        first = rows[0]["error"]
        raise ValueError(f"no design point of the sweep can be built; e.g. point 0: {first}")
    run_memory.check_run(configs, "", folded=folded, images=len(data[1]) if chips else 0, chips=chips,
                         kept_floorplans=min(len(configs) - 1, _PREPARED_MAX - 1) if chips else 0, scheduler=scheduler)
    ckpt = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, _manifest(folded, data, base_config, points, chips, seed, conditions),
                          resume=resume, overwrite=overwrite)
        if progress and ckpt.discarded:
            print(f"note: discarded the checkpoint of an earlier sweep in {checkpoint} (--overwrite)", file=sys.stderr)
        elif progress and resume:
            finished = len(set(ckpt.done()) & {t.key for t in tasks})
            print(f"resuming {checkpoint}: {finished} of {len(tasks)} design points already done", file=sys.stderr)
    done = run_tasks(_evaluate_point, tasks, shared=(folded, data, base_config), scheduler=scheduler,
                     checkpoint=ckpt, progress=progress, desc="design points")
    for task, row in zip(tasks, done):
        rows[task.kwargs["index"]] = row
    df = pd.DataFrame([rows[i] for i in range(len(points))])
    return df


def summary_text(df: pd.DataFrame, fields: list[str]) -> str:
    ok = df[df["feasible"]]
    cols = [*fields, "energy_per_bit_j", "fps", "fps_per_w", *(["accuracy_mean"] if "accuracy_mean" in ok else [])]
    table = ok[cols].copy()
    table["energy_per_bit_j"] = table["energy_per_bit_j"] * 1e12
    if "accuracy_mean" in table:
        table["accuracy_mean"] = table["accuracy_mean"] * 100  # percent, as mc and run print it
    table = table.rename(columns={"energy_per_bit_j": "EPB pJ/bit", "fps_per_w": "FPS/W", "fps": "FPS",
                                  "accuracy_mean": "accuracy %"})
    return table.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def markdown(meta: dict, df: pd.DataFrame) -> str:
    ok = df[df["feasible"]]
    min_accuracy = meta.get("min_accuracy")
    eligible = None
    threshold_text = []
    if min_accuracy is not None and "accuracy_mean" in ok:
        eligible = (ok["accuracy_mean"] >= min_accuracy).to_numpy()
        threshold_text = [f"Designs below {min_accuracy * 100:g} % mean accuracy are kept off the fronts "
                          f"(`--min-accuracy`): {int((~eligible).sum())} of {len(ok)} feasible points.", ""]
    front = pareto_front(ok["fps"], ok["energy_per_bit_j"], minimize_x=False, minimize_y=True, eligible=eligible)
    cols = [*meta["fields"], "energy_per_bit_j", "fps", "fps_per_w", "area_mm2",
            *(["accuracy_mean"] if "accuracy_mean" in ok else [])]
    lines = ["# robinsim design-space sweep", "",
             f"Base preset `{meta['preset']}`, model `{meta['model']}`; {meta['points']} design points "
             f"({meta['feasible_points']} feasible) over {', '.join(f'`{f}`' for f in meta['fields'])}.", "",
             *threshold_text,
             "## Pareto front: energy per bit vs FPS", "",
             "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in ok[front].sort_values("fps").iterrows():
        lines.append("| " + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], (float, np.floating)) else str(r[c])
                                       for c in cols) + " |")
    lines += ["", "![EPB vs FPS](pareto_epb_fps.png)", ""]
    if "accuracy_mean" in ok:
        lines += ["![accuracy vs EPB](pareto_accuracy_epb.png)", ""]
    over = ok[ok["over_package_limit"]] if "over_package_limit" in ok else ok.iloc[:0]
    if len(over):
        lines += [f"**{len(over)} of {len(ok)} feasible points draw more than the package removes** "
                  f"(`package.max_power_w`; column `over_package_limit`).", ""]
    lines += ["All points: `results.csv`.", ""]
    return "\n".join(lines + provenance_markdown(meta))
