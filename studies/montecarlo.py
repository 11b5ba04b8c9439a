"""Monte Carlo over sampled chips: accuracy, tuning power and variation-aware energy per bit.

:func:`run` evaluates chips ``0..chips-1`` of every accelerator (and, optionally, of every level
of one variation parameter) with :func:`mapping.functional.simulate_chip`. Chip ``k`` always
draws from ``SeedSequence(seed).spawn(k+1)[k]``, so every level sees the same chips (common
random numbers) and the table is identical in-process, on Dask, or resumed from a checkpoint.

Variation parameters: any field of the preset's ``[variation]`` or ``[thermal]`` table by its
dotted name (``variation.sigma_w_die_nm``, ``thermal.ambient_sigma_K``) or a short name of
``accel.config.ALIASES`` that sets only such fields. The named ones with default levels
(:data:`PARAMETERS`):

* ``width_sigma_nm`` / ``thickness_sigma_nm``: total σ of ring width / thickness over all
  levels of :class:`photonics.variation.FabricationModel` (each level scaled by the same
  factor, so the wafer/die/field/ring split is kept);
* ``variation_scale``: every fabrication σ times this factor (1 = the preset's);
* ``temperature_offset_k``: mean ambient temperature offset of the chip (K);
* ``temperature_sigma_k``: chip-to-chip σ of the ambient temperature (K);
* what tuning leaves behind: ``gap_sigma_nm`` (coupling-gap σ), ``post_lock_drift_k`` (open-loop
  ambient drift after the lock), ``laser_drift_pm`` (laser line wander), and the two tuning
  fields ``heater_dac_bits`` (heater drive resolution) and ``lock_residual_pm`` (closed-loop
  lock residual). A tuning field is varied by rebuilding the accelerator with the level (and
  setting it in an explicit ``tuning`` model, for ``heater_dac_bits``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys

import numpy as np
import pandas as pd

from accel.accelerator import Accelerator
from accel.conditions import Conditions
from accel.config import ALIASES, ConfigKeyError, name_spec, resolve_name, resolve_request
from mapping.bnn import FoldedBNN, export_binary
from mapping.functional import VariationSettings, simulate_chip
from mapping.performance.schedule import map_model
from photonics.tuning import TuningModel
from photonics.validation import check_int, check_seed, check_value
from photonics.variation import FabricationModel, ThermalModel
from studies import memory as run_memory
from studies.dispatch import Task, run_tasks
from studies.inputs import load_accelerators, load_dataset, load_model
from studies.resume import Checkpoint

__all__ = ["DEFAULT_LEVELS", "PARAMETERS", "check_parameter", "describe", "default_levels", "check_level", "variation_at",
           "run", "summarize"]

#: Default levels of ``robinsim mc --vary`` for the named variation parameters.
DEFAULT_LEVELS = {
    "width_sigma_nm": [0.0, 1.0, 2.0, 4.0, 6.0, 8.0],
    "thickness_sigma_nm": [0.0, 1.0, 2.0, 3.0, 4.0],
    "variation_scale": [0.0, 0.5, 1.0, 1.5, 2.0],
    "temperature_offset_k": [0.0, 5.0, 10.0, 15.0, 20.0],
    "temperature_sigma_k": [0.0, 1.0, 2.0, 5.0, 10.0],
    # Fixed from the cited or assumed ranges before any curve was run: gap error off, the presets'
    # assumption (2 nm), Zortman 2010's ±5 nm extracted width spread read as gap error, stress.
    "gap_sigma_nm": [0.0, 2.0, 5.0, 10.0],
    # A TEC holds ~0.01 K; without re-locking, a package drifts by several K.
    "post_lock_drift_k": [0.0, 0.5, 1.0, 2.0, 3.0, 5.0],
    # A TEC-held DFB wanders ~1 pm; a free-running one ~0.1 nm/K x 1 K.
    "laser_drift_pm": [0.0, 10.0, 30.0, 100.0],
    # Heater DACs of ring-locking loops: 8-16 bits; 8.5-9 bits of ring weight precision with dithering
    # (arXiv 2104.01164, docs/references.md §7); 6 bits as a coarse end.
    "heater_dac_bits": [6, 8, 10, 12, 16],
    # Closed-loop hold error: 4 pm (Grillanda et al. 2017, docs/references.md §7) up to a fifth of a linewidth.
    "lock_residual_pm": [0.0, 4.0, 10.0, 20.0, 50.0],
}

#: Named variation parameters: description (from ``accel.config.ALIASES``) and default levels.
PARAMETERS = {name: (ALIASES[name].doc, levels) for name, levels in DEFAULT_LEVELS.items()}

_VARIATION_SECTIONS = ("variation", "thermal")
#: Tuning fields ``--vary`` accepts (what tuning leaves behind); varied through the configuration.
_TUNING_KEYS = ("tuning.heater_dac_bits", "tuning.lock_residual_pm")
_VARIED: dict = {}


def check_parameter(parameter: str) -> str:
    """``parameter`` if it names variation parameters (module docstring), else ValueError."""
    try:
        keys = resolve_name(parameter)
    except ConfigKeyError:
        keys = ()
    if not keys or any(key.partition(".")[0] not in _VARIATION_SECTIONS and key not in _TUNING_KEYS for key in keys):
        raise ValueError(f"variation parameter {parameter!r} is unknown; allowed: {', '.join(PARAMETERS)} or any "
                         f"'variation.<field>' or 'thermal.<field>' of the configuration, or {', '.join(_TUNING_KEYS)}")
    return parameter


def _is_tuning(parameter: str) -> bool:
    return resolve_name(parameter)[0] in _TUNING_KEYS


def _varied(acc, parameter: str, level):
    """``acc`` with the tuning field ``parameter`` at ``level`` (memoised per process)."""
    key = (acc.config, parameter, level)
    if key not in _VARIED:
        if len(_VARIED) > 64:
            _VARIED.clear()
        _VARIED[key] = Accelerator(acc.config.with_values({parameter: level}))
    return _VARIED[key]


def describe(parameter: str) -> str:
    """What a variation parameter is (its doc in the configuration)."""
    check_parameter(parameter)
    return name_spec(parameter).doc


def default_levels(parameter: str) -> list[float]:
    """The default levels of a named variation parameter (:data:`DEFAULT_LEVELS`)."""
    check_parameter(parameter)
    if parameter not in DEFAULT_LEVELS:
        raise ValueError(f"variation parameter {parameter!r} has no default levels; allowed: give its levels, "
                         f"or one of {', '.join(DEFAULT_LEVELS)}")
    return list(DEFAULT_LEVELS[parameter])


def check_level(parameter: str, level) -> float:
    """``level`` as the parameter's kind (float; int for ``heater_dac_bits``, whole floats accepted)
    if allowed for ``parameter`` (its bounds in ``accel.config``: σ and scale >= 0, offset -100..200 K,
    a field's own bounds)."""
    check_parameter(parameter)
    spec = name_spec(parameter)
    if spec.kind is int and isinstance(level, float) and level.is_integer():
        level = int(level)  # '--levels 6,8' parses as floats
    return check_value(f"{parameter} level", level, spec)


def variation_at(parameter: str, level: float, base=None, config=None):
    """:class:`mapping.functional.VariationSettings` with ``parameter`` set to ``level``.

    ``base`` (None: all of the preset's) supplies every other setting; a model it leaves None
    is the preset's, ``config.variation`` / ``config.thermal`` (without ``config``: the
    ``photonics.variation`` defaults), and is the one ``parameter`` changes.
    """
    check_parameter(parameter)
    if _is_tuning(parameter):
        raise ValueError(f"parameter {parameter!r} is a tuning field, not a variation setting; allowed here: "
                         "variation or thermal parameters (run(parameter=...) varies tuning fields)")
    level = check_level(parameter, level)
    base = VariationSettings() if base is None else base
    if base is False:
        raise ValueError(f"variation parameter {parameter!r} with variation off (False); allowed: variation None or a "
                         "VariationSettings")
    models = {
        "variation": base.fab if isinstance(base.fab, FabricationModel) else (
            FabricationModel() if config is None else config.variation),
        "thermal": base.thermal if isinstance(base.thermal, ThermalModel) else (
            ThermalModel() if config is None else config.thermal),
    }

    def current(key: str):
        section, _, name = key.partition(".")
        return getattr(models[section], name)

    changes: dict[str, dict] = {}
    for key, value in resolve_request({parameter: level}, current).items():
        section, _, name = key.partition(".")
        changes.setdefault(section, {})[name] = value
    fab = dataclasses.replace(models["variation"], **changes["variation"]) if "variation" in changes else base.fab
    thermal = dataclasses.replace(models["thermal"], **changes["thermal"]) if "thermal" in changes else base.thermal
    return VariationSettings(fab=fab, thermal=thermal, drift=base.drift)


def _chip_row(folded, dataset, accelerators, *, preset, parameter, level, chip, seed, conditions):
    """One task: chip ``chip`` of ``preset`` at variation ``level`` (a pure function)."""
    acc = accelerators[preset]
    if parameter is not None and _is_tuning(parameter):
        acc = _varied(acc, parameter, level)
        name = resolve_name(parameter)[0].partition(".")[2]
        if isinstance(conditions.tuning, TuningModel) and name in {f.name for f in dataclasses.fields(TuningModel)}:
            conditions = dataclasses.replace(conditions, tuning=dataclasses.replace(conditions.tuning, **{name: level}))
    elif parameter is not None:
        variation = variation_at(parameter, level, conditions.variation, acc.config)
        conditions = dataclasses.replace(conditions, variation=variation)
    row = simulate_chip(folded, acc, dataset, chip=chip, seed=seed, conditions=conditions)
    head = {"preset": preset} if parameter is None else {"preset": preset, "parameter": parameter, "level": level}
    return {**head, **row}


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _manifest(folded, dataset, accs, chips, seed, parameter, levels, conditions) -> dict:
    model_arrays = [t for spec in folded.layers
                    for t in (spec.weight_pm1 if hasattr(spec, "weight_pm1") else spec.weight_codes,
                              spec.threshold, spec.flip)]
    return {
        "model": _digest(*model_arrays, *[p for p in folded.source.state_dict().values()]),
        "dataset": _digest(*dataset),
        "presets": {n: _digest(np.frombuffer(json.dumps(a.config.to_dict(), sort_keys=True, default=str).encode(),
                                             dtype=np.uint8)) for n, a in accs.items()},
        "seed": seed, "parameter": parameter, "levels": levels,  # not chips: a resume may add or drop chips
        "variation": repr(conditions.variation), "tuning": repr(conditions.tuning), "noise": repr(conditions.noise),
    }


def run(model, accelerators, dataset=None, *, chips: int = 20, seed: int = 0, parameter: str | None = None,
        levels=None, variation=None, tuning=None, noise=None, images: int | None = None, scheduler=None,
        checkpoint=None, resume: bool = False, overwrite: bool = False, progress: bool | None = None,
        desc: str = "chips",
        conditions=None) -> pd.DataFrame:
    """Accuracy, tuning power and energy per bit of sampled chips; one row per (preset, level, chip).

    ``model``: torch BNN or shipped checkpoint name; ``accelerators``: preset name(s), config(s),
    ``Accelerator``(s) or a ``{name: ...}`` dict; ``dataset``: ``(images, labels)`` (default: the
    MNIST test set, first ``images`` only). ``parameter``/``levels``: sweep one variation
    parameter (module docstring; default levels: :data:`DEFAULT_LEVELS`); otherwise one level with
    ``variation``. ``variation``/``tuning``/``noise`` (or ``conditions``, an
    ``accel.conditions.Conditions`` holding all three) as in :mod:`mapping.functional`.
    ``scheduler``: None (this process), a Dask scheduler address or a ``distributed.Client``.
    ``checkpoint``: directory recording finished chips; ``resume=True`` continues it (with more
    chips: only the missing ones run), ``overwrite=True`` discards an earlier one (else refused).
    ``progress``: show a progress bar labelled ``desc`` (None: when stderr is a terminal).

    Columns: ``preset``, [``parameter``, ``level``], ``chip``, ``accuracy``, ``tuning_power_w``,
    ``energy_per_bit_j`` (with this chip's tuning power), ``rings_out_of_range``,
    ``lock_time_s``, ``flipped_<layer>``.
    """
    chips = check_int("chips", chips, lo=1)
    seed = check_seed("seed", seed)
    progress = sys.stderr.isatty() if progress is None else bool(progress)
    conditions = Conditions.of(conditions, variation=variation, tuning=tuning, noise=noise)
    if parameter is not None:
        check_parameter(parameter)
        levels = default_levels(parameter) if levels is None else list(levels)
        if not levels:
            raise ValueError("levels is empty; give at least one level")
        levels = [check_level(parameter, lv) for lv in levels]
    elif levels is not None:
        raise ValueError("levels given without parameter; allowed: parameter=one of " + ", ".join(PARAMETERS))
    accs = load_accelerators(accelerators)
    if parameter is not None:
        for acc in accs.values():  # fail early on an unusable base model or level
            if _is_tuning(parameter):
                for lv in levels:
                    acc.config.with_values({parameter: lv})
            else:
                variation_at(parameter, levels[-1], conditions.variation, acc.config)
    torch_model = model.source if isinstance(model, FoldedBNN) else load_model(model)
    folded = model if isinstance(model, FoldedBNN) else export_binary(torch_model)
    dataset = load_dataset(dataset, images)
    run_memory.check_run({f"{name!r}": acc.config for name, acc in accs.items()}, "Monte Carlo of preset", folded=folded,
                         images=len(dataset[1]), chips=chips, kept_floorplans=len(accs) - 1, scheduler=scheduler)

    level_list = levels if parameter is not None else [None]
    tasks = [Task(f"{name}__{'' if lv is None else f'{parameter}={lv!r}__'}chip{chip:05d}",
                  dict(preset=name, parameter=parameter, level=lv, chip=chip, seed=seed, conditions=conditions))
             for name in accs for lv in level_list for chip in range(chips)]
    ckpt = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, _manifest(folded, dataset, accs, chips, seed, parameter, levels, conditions),
                          resume=resume, overwrite=overwrite)
    if ckpt is not None and progress:
        if ckpt.discarded:
            print(f"note: discarded the checkpoint of an earlier run in {checkpoint} (--overwrite)",
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


def summarize(df: pd.DataFrame, by=None) -> pd.DataFrame:
    """Per group: chips, accuracy mean/std/min/p5/median/p95/max, tuning power and EPB statistics.
    ``by`` (None): ``("preset", "level")`` when the table has levels, else ``("preset",)``."""
    if by is None:
        by = ("preset", "level") if "level" in df.columns else ("preset",)
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
