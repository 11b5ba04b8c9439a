"""Monte Carlo over sampled chips: accuracy, tuning power and variation-aware energy per bit.

:func:`run` evaluates chips ``0..chips-1`` of every accelerator (and, optionally, of every level
of one variation parameter) with :func:`mapping.functional.simulate_chip`. Chip ``k`` always
draws from ``SeedSequence(seed).spawn(k+1)[k]``, so every level sees the same chips (common
random numbers) and the table is identical in-process, on Dask, or resumed from a checkpoint.

Variation parameters (:data:`PARAMETERS`):

* ``width_sigma_nm`` / ``thickness_sigma_nm``: total σ of ring width / thickness over all
  levels of :class:`photonics.variation.FabricationModel` (each level scaled by the same
  factor, so the wafer/die/field/ring split is kept);
* ``variation_scale``: every fabrication σ times this factor (1 = defaults);
* ``temperature_offset_k``: mean ambient temperature offset of the chip (K);
* ``temperature_sigma_k``: chip-to-chip σ of the ambient temperature (K).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mapping.bnn import FoldedBNN, export_binary
from mapping.functional import VariationSettings, simulate_chip
from mapping.performance.schedule import map_model
from photonics._checks import check_int, check_range, check_seed
from photonics.variation import FabricationModel, ThermalModel
from studies.dispatch import Task, run_tasks
from studies.inputs import load_accelerators, load_dataset, load_model
from studies.resume import Checkpoint

__all__ = ["PARAMETERS", "check_parameter", "check_level", "variation_at", "run", "summarize"]

#: Variation parameters: description and default levels of ``robinsim mc``.
PARAMETERS = {
    "width_sigma_nm": ("total σ of ring width (nm)", [0.0, 1.0, 2.0, 4.0, 6.0, 8.0]),
    "thickness_sigma_nm": ("total σ of ring thickness (nm)", [0.0, 1.0, 2.0, 3.0, 4.0]),
    "variation_scale": ("factor on every fabrication σ", [0.0, 0.5, 1.0, 1.5, 2.0]),
    "temperature_offset_k": ("mean ambient temperature offset (K)", [0.0, 5.0, 10.0, 15.0, 20.0]),
    "temperature_sigma_k": ("chip-to-chip σ of ambient temperature (K)", [0.0, 1.0, 2.0, 5.0, 10.0]),
}


def check_parameter(parameter: str) -> str:
    """``parameter`` if it is one of :data:`PARAMETERS`, else ValueError."""
    if parameter not in PARAMETERS:
        raise ValueError(f"variation parameter {parameter!r} is unknown; allowed: {', '.join(PARAMETERS)}")
    return parameter


def check_level(parameter: str, level) -> float:
    """``level`` as a float if allowed for ``parameter`` (σ and scale >= 0; offset -100..200 K)."""
    if parameter == "temperature_offset_k":
        return check_range(f"{parameter} level", level, -100.0, 200.0, unit="K")
    return check_range(f"{parameter} level", level, 0.0, None)


def variation_at(parameter: str, level: float, base=None):
    """:class:`mapping.functional.VariationSettings` with ``parameter`` set to ``level``.

    ``base`` (None = default models) supplies every other setting.
    """
    check_parameter(parameter)
    level = check_level(parameter, level)
    base = VariationSettings() if base is None else base
    fab = base.fab if isinstance(base.fab, FabricationModel) else FabricationModel()
    thermal = base.thermal if isinstance(base.thermal, ThermalModel) else ThermalModel()
    if parameter in ("width_sigma_nm", "thickness_sigma_nm", "variation_scale"):
        if parameter == "variation_scale":
            prefixes, factor = ("sigma_w_", "sigma_t_"), level
        else:
            prefix = "sigma_w_" if parameter == "width_sigma_nm" else "sigma_t_"
            total = fab.sigma_w_total_nm if prefix == "sigma_w_" else fab.sigma_t_total_nm
            if total == 0 and level > 0:
                raise ValueError(f"{parameter}={level}: the base FabricationModel has no {prefix[:-1]} variation to scale")
            prefixes, factor = (prefix,), (level / total if total else 0.0)
        changes = {f.name: getattr(fab, f.name) * factor for f in dataclasses.fields(fab)
                   if f.name.startswith(prefixes) and f.name.endswith("_nm")}
        return VariationSettings(fab=dataclasses.replace(fab, **changes), thermal=base.thermal)
    field = "ambient_mean_K" if parameter == "temperature_offset_k" else "ambient_sigma_K"
    return VariationSettings(fab=base.fab, thermal=dataclasses.replace(thermal, **{field: level}))


def _chip_row(folded, dataset, accelerators, *, preset, parameter, level, chip, seed, variation, tuning, noise):
    """One task: chip ``chip`` of ``preset`` at variation ``level`` (a pure function)."""
    if parameter is not None:
        variation = variation_at(parameter, level, variation)
    row = simulate_chip(folded, accelerators[preset], dataset, chip=chip, seed=seed,
                        variation=variation, tuning=tuning, noise=noise)
    head = {"preset": preset} if parameter is None else {"preset": preset, "parameter": parameter, "level": level}
    return {**head, **row}


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _manifest(folded, dataset, accs, chips, seed, parameter, levels, variation, tuning, noise) -> dict:
    model_arrays = [t for spec in folded.layers for t in (spec.weight_pm1, spec.threshold, spec.flip)]
    return {
        "model": _digest(*model_arrays, *[p for p in folded.source.state_dict().values()]),
        "dataset": _digest(*dataset),
        "presets": {n: _digest(np.frombuffer(json.dumps(a.config.to_dict(), sort_keys=True, default=str).encode(),
                                             dtype=np.uint8)) for n, a in accs.items()},
        "chips": chips, "seed": seed, "parameter": parameter, "levels": levels,
        "variation": repr(variation), "tuning": repr(tuning), "noise": repr(noise),
    }


def run(model, accelerators, dataset=None, *, chips: int = 20, seed: int = 0, parameter: str | None = None,
        levels=None, variation=None, tuning=None, noise=None, images: int | None = None, scheduler=None,
        checkpoint=None, resume: bool = False, progress: bool = False, desc: str = "chips") -> pd.DataFrame:
    """Accuracy, tuning power and energy per bit of sampled chips; one row per (preset, level, chip).

    ``model``: torch BNN or shipped checkpoint name; ``accelerators``: preset name(s), config(s),
    ``Accelerator``(s) or a ``{name: ...}`` dict; ``dataset``: ``(images, labels)`` (default: the
    MNIST test set, first ``images`` only). ``parameter``/``levels``: sweep one variation
    parameter of :data:`PARAMETERS` (default levels from there); otherwise one level with
    ``variation``. ``variation``/``tuning``/``noise`` as in :mod:`mapping.functional`.
    ``scheduler``: None (this process), a Dask scheduler address or a ``distributed.Client``.
    ``checkpoint``: directory recording finished chips; ``resume=True`` continues it.
    ``progress``: show a progress bar labelled ``desc``.

    Columns: ``preset``, [``parameter``, ``level``], ``chip``, ``accuracy``, ``tuning_power_w``,
    ``energy_per_bit_j`` (with this chip's tuning power), ``rings_out_of_range``,
    ``lock_time_s``, ``flipped_<layer>``.
    """
    chips = check_int("chips", chips, lo=1)
    seed = check_seed("seed", seed)
    if parameter is not None:
        check_parameter(parameter)
        levels = list(PARAMETERS[parameter][1] if levels is None else levels)
        if not levels:
            raise ValueError("levels is empty; give at least one level")
        levels = [check_level(parameter, lv) for lv in levels]
        variation_at(parameter, levels[-1], variation)  # fail early on an unusable base model
    elif levels is not None:
        raise ValueError("levels given without parameter; allowed: parameter=one of " + ", ".join(PARAMETERS))
    accs = load_accelerators(accelerators)
    torch_model = model.source if isinstance(model, FoldedBNN) else load_model(model)
    folded = model if isinstance(model, FoldedBNN) else export_binary(torch_model)
    dataset = load_dataset(dataset, images)

    level_list = levels if parameter is not None else [None]
    tasks = [Task(f"{name}__{'' if lv is None else f'{parameter}={lv!r}__'}chip{chip:05d}",
                  dict(preset=name, parameter=parameter, level=lv, chip=chip, seed=seed,
                       variation=variation, tuning=tuning, noise=noise))
             for name in accs for lv in level_list for chip in range(chips)]
    ckpt = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, _manifest(folded, dataset, accs, chips, seed, parameter, levels,
                                                variation, tuning, noise), resume=resume)
    if ckpt is not None and progress:
        if ckpt.discarded:
            print(f"note: discarded the checkpoint of an earlier run in {checkpoint} (pass --resume to continue one)",
                  file=sys.stderr)
        elif resume:
            done = len(set(ckpt.done()) & {t.key for t in tasks})
            print(f"resuming {checkpoint}: {done} of {len(tasks)} chips already done", file=sys.stderr)
    rows = run_tasks(_chip_row, tasks, shared=(folded, dataset, accs), scheduler=scheduler, checkpoint=ckpt,
                     progress=progress, desc=desc)
    df = pd.DataFrame(rows)
    input_shape = (1, *folded.input_shape)
    epb = {}
    for name, p_w in zip(df["preset"], df["tuning_power_w"]):
        if (name, p_w) not in epb:
            epb[(name, p_w)] = map_model(torch_model, accs[name], input_shape, tuning_power_w=p_w).energy_per_bit_j
    df.insert(df.columns.get_loc("tuning_power_w") + 1, "energy_per_bit_j",
              [epb[k] for k in zip(df["preset"], df["tuning_power_w"])])
    return df


def summarize(df: pd.DataFrame, by=("preset",)) -> pd.DataFrame:
    """Per group: chips, accuracy mean/std/min/p5/median/p95/max, tuning power and EPB statistics."""
    g = df.groupby(list(by), sort=False)
    out = pd.DataFrame({
        "chips": g["chip"].count(),
        "accuracy_mean": g["accuracy"].mean(),
        "accuracy_std": g["accuracy"].std(ddof=1),
        "accuracy_min": g["accuracy"].min(),
        "accuracy_p5": g["accuracy"].quantile(0.05),
        "accuracy_median": g["accuracy"].median(),
        "accuracy_p95": g["accuracy"].quantile(0.95),
        "accuracy_max": g["accuracy"].max(),
        "tuning_power_w_mean": g["tuning_power_w"].mean(),
        "tuning_power_w_median": g["tuning_power_w"].median(),
        "tuning_power_w_max": g["tuning_power_w"].max(),
        "energy_per_bit_j_mean": g["energy_per_bit_j"].mean(),
        "energy_per_bit_j_max": g["energy_per_bit_j"].max(),
        "rings_out_of_range_mean": g["rings_out_of_range"].mean(),
    })
    return out.reset_index()
