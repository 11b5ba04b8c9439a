"""Multi-objective design optimisation over a preset's declared parameter ranges (``robinsim optimize``).

:func:`run` searches chosen fields of a preset, each within its declared range (``[ranges]``,
:class:`accel.config.Range`), for designs that minimise energy per bit and maximise frames/s
(objectives :data:`OBJECTIVES`: ``epb``, ``fps``, ``power``, ``area``), optionally subject to a
mean accuracy of at least ``min_accuracy`` over ``chips`` sampled chips on the first ``images``
MNIST test images. The optimiser is optuna's NSGA-II (:class:`optuna.samplers.NSGAIISampler`,
population = ``generation_size``); nothing is enqueued, so the preset's own design is not in
the initial population (generation 0 is uniform / log-uniform random within the ranges).

A field is searched log-uniformly where its range's ``low > 0`` and uniformly otherwise (as
``studies.sensitivity`` samples), an int field as integers.

Reproducibility: one generation at a time, the sampler is asked for all its trials, they are
evaluated (in this process or as Dask tasks, :func:`studies.dispatch.run_tasks`) and their results
are told in trial order. Seeds come from ``numpy.random.SeedSequence(seed).spawn(3)``: the
sampler's seed, the per-trial seeds (``spawn(trials)`` of the second child; a trial's accuracy
chips are drawn from its own seed) and the preset's evaluation. The same arguments give the
same trials, byte for byte, locally, on Dask and after ``resume``.

Constraints (optuna's ``Trial.set_constraint``; NSGA-II ranks feasible trials first, then by
total violation): ``error`` = 1 when the configuration cannot be built or evaluated (its
objectives are told as the worst value, +inf / -inf), ``accuracy`` = ``min_accuracy - accuracy``.

Checkpoints (``out/checkpoint``, :class:`studies.resume.Checkpoint`): one entry per finished
generation and one for the preset's point. ``resume=True`` replays the finished generations
through a fresh sampler of the same seed (checking that it proposes the recorded values) and
continues; the manifest holds every argument, and a run with other arguments is refused.

Evaluation: ``evaluate(config, seed) -> {metric: value}`` (metrics ``epb`` J/bit, ``fps``
frames/s, ``power`` W, ``area`` mm2, ``accuracy`` and ``accuracy_se``); the default,
:class:`DesignMetrics`, maps the workload with ``mapping.performance.schedule.map_model`` at
batch 1 (one schedule gives EPB, FPS and power) and reuses ``studies.sensitivity.AccuracyMetric``
for accuracy. Tests and studies may pass their own picklable ``evaluate``.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time

import numpy as np
import pandas as pd

from accel import Accelerator, presets
from accel.config import PARAMETERS, ConfigKeyError, Range
from mapping.bnn import FoldedBNN, export_binary
from mapping.performance.schedule import map_model
from photonics.validation import check_int, check_seed
from studies.dispatch import Task, connect, run_tasks
from studies.inputs import load_dataset, load_model
from studies.outputs import atomic_write_text, check_out_dir, prepare_out_dir, save_figure, write_csv, write_json
from studies.plots import count_label, optimize_pareto
from studies.resume import Checkpoint
from studies.sensitivity import METRICS, AccuracyMetric, _load_config, declared

__all__ = ["OBJECTIVES", "DIRECTIONS", "DEFAULT_FIELDS", "DEFAULT_TRIALS", "DEFAULT_GENERATION_SIZE", "COLUMNS",
           "DesignMetrics", "default_fields", "check_fields", "check_objectives", "seeds", "pareto_mask", "run",
           "best_config", "write", "pareto_figure", "summary_text"]

#: objective name -> optuna direction
DIRECTIONS = {"epb": "minimize", "fps": "maximize", "power": "minimize", "area": "minimize"}
OBJECTIVES = tuple(DIRECTIONS)
#: metric name -> column of trials.csv (units in the names, as studies.sensitivity.METRICS)
COLUMNS = {m: METRICS[m][0] for m in (*OBJECTIVES, "accuracy")} | {"accuracy_se": "accuracy_se"}
#: Design (device and circuit) fields searched by default, in this order, where the preset declares a range:
#: ring widths and losses, the heater (power per FSR, lock time), the weight reload (the injection
#: ring's carrier lifetime), the depletion modulator and the coupler. Pure uncertainties (fabrication
#: and thermal sigmas, laser efficiency, photodiode, TEC, electronic energies of a process node) are left out.
DEFAULT_FIELDS = (
    "weight_ring.width_nm", "activation_ring.width_nm", "tuning.to_power_per_fsr_mw", "tuning.to_lock_time_us",
    "eo_injection.carrier_lifetime_ns", "eo_depletion.efficiency_pm_per_v", "eo_depletion.capacitance_ff",
    "weight_ring.loss_db_per_cm", "activation_ring.loss_db_per_cm", "losses.coupler_db",
)
MIN_DEFAULT_FIELDS = 8
DEFAULT_TRIALS = 200
DEFAULT_GENERATION_SIZE = 20
#: error constraint of a trial that cannot be built or evaluated (above any accuracy violation, <= 1)
_ERROR_VIOLATION = 2.0


# ------------------------------------------------------------------------------ evaluation
class DesignMetrics:
    """``(config, seed) -> {"epb", "fps", "power", "area"[, "accuracy", "accuracy_se"]}``: one
    ``map_model`` of ``workload`` at ``input_shape`` (batch 1) and ``Accelerator.area_mm2``; with
    ``chips`` > 0 the mean accuracy over chips ``0..chips-1`` of ``seed`` on ``dataset``
    (:class:`studies.sensitivity.AccuracyMetric`). Picklable (sent once to every Dask worker)."""

    def __init__(self, folded: FoldedBNN, dataset=None, chips: int = 0):
        self.folded, self.dataset, self.chips = folded, dataset, check_int("chips", chips, lo=0)
        self.input_shape = (1, *folded.input_shape)
        if self.chips and dataset is None:
            raise ValueError("chips > 0 needs a dataset for the accuracy; allowed: chips=0 or a dataset")

    def __call__(self, config, seed: int = 0) -> dict:
        acc = Accelerator(config)
        rep = map_model(self.folded.source, acc, self.input_shape)
        out = {"epb": float(rep.energy_per_bit_j), "fps": float(rep.fps), "power": float(rep.power_w),
               "area": float(acc.area_mm2)}
        if self.chips:
            out.update(AccuracyMetric(self.folded, self.dataset, self.chips, seed)(config))
        return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).strip("'\"").split()) or type(exc).__name__


def _trial_task(evaluate, base, *, trial, changes, seed):
    """One task: ``evaluate`` on ``base`` with ``changes`` (a pure function of its arguments)."""
    try:
        out = evaluate(base.with_values(changes), seed)
        return {"trial": trial, "metrics": {k: float(v) for k, v in dict(out).items()}, "error": ""}
    except (ValueError, TypeError, KeyError, ZeroDivisionError) as exc:
        return {"trial": trial, "metrics": {}, "error": _one_line(exc)}


# ------------------------------------------------------------------------------ arguments
def default_fields(config) -> list[str]:
    """The :data:`DEFAULT_FIELDS` ``config`` declares a range for (at least :data:`MIN_DEFAULT_FIELDS`)."""
    fields = [k for k in DEFAULT_FIELDS if config.range_of(k) is not None]
    if len(fields) < MIN_DEFAULT_FIELDS:
        raise ValueError(f"preset {config.name!r} declares ranges for {len(fields)} of the default design fields "
                         f"{list(DEFAULT_FIELDS)}; allowed: at least {MIN_DEFAULT_FIELDS}, or give fields= (--fields) "
                         f"from its declared ranges {[r.key for r in config.ranges]}")
    return fields


def check_fields(config, fields) -> list[Range]:
    """The declared ranges of ``fields`` (None: :func:`default_fields`); errors name ``fields`` and the key."""
    if fields is None:
        fields = default_fields(config)
    if isinstance(fields, str) or not hasattr(fields, "__iter__"):
        raise TypeError(f"fields (--fields) must be None or a list of 'section.field' names, got {fields!r}")
    fields = list(fields)
    if not fields:
        raise ValueError("fields (--fields) is empty; allowed: None (the default design fields) or declared "
                         "'section.field' names")
    if len(set(fields)) != len(fields):
        dup = next(f for f in fields if fields.count(f) > 1)
        raise ValueError(f"fields (--fields) names {dup!r} twice; allowed: each field once")
    try:
        ranges = declared(config, fields)
    except ConfigKeyError as exc:
        raise ConfigKeyError(f"fields (--fields): {_one_line(exc)}") from None
    for r in ranges:
        if not r.high > r.low:
            raise ValueError(f"fields (--fields): {r.key!r} has an empty declared range (low = high = {r.low!r}); "
                             "allowed: fields whose range has low < high")
    return ranges


def check_objectives(objectives) -> tuple[str, ...]:
    """``objectives`` as a tuple of distinct names of :data:`OBJECTIVES` (a string: comma-separated)."""
    if isinstance(objectives, str):
        objectives = [o.strip() for o in objectives.split(",") if o.strip()]
    objectives = tuple(objectives)
    if not objectives:
        raise ValueError(f"objectives (--objectives) is empty; allowed: one or more of {list(OBJECTIVES)}")
    for o in objectives:
        if o not in DIRECTIONS:
            raise ValueError(f"objectives (--objectives): {o!r} is not an objective; allowed: {list(OBJECTIVES)} "
                             "(accuracy is a constraint: min_accuracy / --min-accuracy)")
    if len(set(objectives)) != len(objectives):
        raise ValueError(f"objectives (--objectives)={list(objectives)} names one twice; allowed: each once")
    return objectives


def _check_min_accuracy(min_accuracy):
    if min_accuracy is None:
        return None
    if isinstance(min_accuracy, bool) or not isinstance(min_accuracy, (int, float)):
        raise TypeError(f"min_accuracy (--min-accuracy) must be a number, got {type(min_accuracy).__name__} "
                        f"{min_accuracy!r}")
    if not 0.0 < min_accuracy <= 1.0:
        raise ValueError(f"min_accuracy (--min-accuracy)={min_accuracy!r} is out of range; allowed: 0 < min_accuracy "
                         "<= 1 (a fraction: 0.97 for 97 %)")
    return float(min_accuracy)


def seeds(seed: int, trials: int) -> tuple[int, list[int], int]:
    """``(sampler seed, per-trial seeds, preset's seed)`` of root ``seed``: ``SeedSequence(seed).spawn(3)``,
    the per-trial seeds from ``spawn(trials)`` of the second child (32-bit ints)."""
    def word(ss):
        return int(ss.generate_state(1, dtype=np.uint32)[0])

    sampler, per_trial, preset = np.random.SeedSequence(check_seed("seed", seed)).spawn(3)
    return word(sampler), [word(s) for s in per_trial.spawn(trials)], word(preset)


def _distribution(config, r: Range):
    from optuna.distributions import FloatDistribution, IntDistribution

    if PARAMETERS[r.key].kind is int or isinstance(config.value(r.key), int):
        lo, hi = int(math.ceil(r.low)), int(math.floor(r.high))
        return IntDistribution(lo, hi, log=lo > 0)
    return FloatDistribution(float(r.low), float(r.high), log=r.low > 0)


# ------------------------------------------------------------------------------ Pareto
def pareto_mask(values, minimize) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (n, k): no other row is at least as good in
    every column and strictly better in one (``minimize[j]``: column j is minimised, else maximised).
    Rows with a non-finite value are never on the front; equal rows are all kept."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    sign = np.where(np.asarray(minimize, dtype=bool), 1.0, -1.0)
    v = v * sign
    ok = np.all(np.isfinite(v), axis=1)
    mask = np.zeros(len(v), dtype=bool)
    for i in np.flatnonzero(ok):
        le = np.all(v[ok] <= v[i], axis=1)
        lt = np.any(v[ok] < v[i], axis=1)
        mask[i] = not np.any(le & lt)
    return mask


# ------------------------------------------------------------------------------ the study
def _manifest(config, ranges, objectives, min_accuracy, chips, images, trials, generation_size, seed, workload,
              evaluate):
    import optuna

    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
    return {"kind": "optimize", "preset": config.name, "preset_sha256": digest, "fields": [r.key for r in ranges],
            "ranges": [[r.key, r.low, r.high] for r in ranges], "objectives": list(objectives),
            "min_accuracy": min_accuracy, "chips": chips, "images": images, "trials": trials,
            "generation_size": generation_size, "seed": seed,
            "workload": workload if isinstance(workload, str) else type(workload).__name__,
            "evaluate": None if evaluate is None else f"{type(evaluate).__module__}.{type(evaluate).__qualname__}",
            "sampler": f"optuna {optuna.__version__} NSGAIISampler"}


def run(preset, *, fields=None, objectives=("epb", "fps"), min_accuracy: float | None = None, chips: int = 2,
        images: int = 200, trials: int = DEFAULT_TRIALS, generation_size: int = DEFAULT_GENERATION_SIZE,
        seed: int = 0, workload="mnist-cnn", scheduler=None, out=None, resume: bool = False,
        overwrite: bool = False, progress: bool | None = None, evaluate=None) -> pd.DataFrame:
    """NSGA-II search of ``preset``'s ``fields`` within their declared ranges; one row per trial.

    ``preset``: preset name, TOML path, ``AcceleratorConfig`` or ``Accelerator``. ``fields``: declared
    ``section.field`` names (None: :func:`default_fields`). ``objectives``: names of :data:`OBJECTIVES`
    (minimise EPB, power, area; maximise FPS). ``min_accuracy``: constraint on the mean accuracy of
    ``chips`` chips on the first ``images`` MNIST test images (each trial's chips from its own seed).
    ``trials``: total trials, asked ``generation_size`` at a time (the NSGA-II population; the last
    generation may be smaller). ``seed``: root seed (module docstring). ``workload``: torch BNN or
    shipped checkpoint name. ``scheduler``: None (this process), a Dask address or ``distributed.Client``
    (identical results). ``out``: checkpoint in ``out/checkpoint`` (None: no checkpoint); ``resume`` /
    ``overwrite`` as ``robinsim mc``. ``evaluate``: replaces :class:`DesignMetrics`
    (``evaluate(config, seed) -> {metric: value}``, picklable for Dask).

    Columns: ``trial``, ``generation``, ``trial_seed``, the fields (values in their units), the metric
    columns (:data:`COLUMNS`: ``energy_per_bit_j``, ``fps``, ``power_w``, ``area_mm2``, and with
    ``min_accuracy`` ``accuracy``, ``accuracy_se``), ``feasible``, ``error``, ``pareto`` (on the front of
    the feasible trials in the objectives). ``df.attrs``: the run facts, the preset's own metrics
    (``preset_metrics``), ``best_trial`` (lowest EPB, or best first objective, among feasible trials),
    ``trials_to_best`` (trials evaluated when it was found = its index + 1) and wall time.
    """
    import optuna

    start = time.perf_counter()
    objectives = check_objectives(objectives)
    min_accuracy = _check_min_accuracy(min_accuracy)
    trials = check_int("trials (--trials)", trials, lo=1)
    generation_size = check_int("generation_size (--generation-size)", generation_size, lo=2)
    seed = check_seed("seed (--seed)", seed)
    if min_accuracy is not None:
        chips = check_int("chips (--chips)", chips, lo=1)
        images = check_int("images (--images)", images, lo=1, hi=10000)
    else:
        chips, images = 0, 0
    if resume and overwrite:
        raise ValueError("resume and overwrite (--resume, --overwrite) exclude each other; allowed: at most one")
    if resume and out is None:
        raise ValueError("resume=True needs out= (--out DIR holding the checkpoint); allowed: out set")
    progress = sys.stderr.isatty() if progress is None else bool(progress)
    config = _load_config(preset)
    ranges = check_fields(config, fields)
    if out is not None:
        check_out_dir(out)
    manifest = _manifest(config, ranges, objectives, min_accuracy, chips, images, trials, generation_size, seed,
                         workload, evaluate)
    checkpoint = None
    if out is not None:
        checkpoint = Checkpoint(prepare_out_dir(out) / "checkpoint", manifest, resume=resume, overwrite=overwrite)
    if evaluate is None:
        folded = workload if isinstance(workload, FoldedBNN) else export_binary(load_model(workload))
        evaluate = DesignMetrics(folded, load_dataset(None, images) if chips else None, chips)

    sampler_seed, trial_seeds, preset_seed = seeds(seed, trials)
    distributions = {r.key: _distribution(config, r) for r in ranges}
    needed = (*objectives, *(("accuracy",) if min_accuracy is not None else ()))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(population_size=generation_size, seed=sampler_seed)
    study = optuna.create_study(directions=[DIRECTIONS[o] for o in objectives], sampler=sampler)

    client, owned = (connect(scheduler) if isinstance(scheduler, str) else (scheduler, False))
    done = checkpoint.done() if checkpoint is not None else {}
    records = []
    try:
        preset_row = done.get("preset")
        if preset_row is None:
            preset_row = run_tasks(_trial_task, [Task("preset", dict(trial=-1, changes={}, seed=preset_seed))],
                                   shared=(evaluate, config), scheduler=client, progress=False)[0]
            if checkpoint is not None:
                checkpoint.add("preset", preset_row)
        n_gen = -(-trials // generation_size)
        for g in range(n_gen):
            first = g * generation_size
            asked = [study.ask(distributions) for _ in range(min(generation_size, trials - first))]
            changes = [{k: t.params[k] for k in distributions} for t in asked]
            key = f"gen{g:05d}"
            if key in done:
                rows = done[key]["trials"]
                recorded = [r["changes"] for r in rows]
                if recorded != json.loads(json.dumps(changes)):
                    raise ValueError(f"cannot resume {out}: generation {g} of the checkpoint holds other trial values "
                                     "than the sampler proposes (another optuna version?); rerun with --overwrite")
            else:
                tasks = [Task(f"trial{first + i:06d}", dict(trial=first + i, changes=ch, seed=trial_seeds[first + i]))
                         for i, ch in enumerate(changes)]
                rows = run_tasks(_trial_task, tasks, shared=(evaluate, config), scheduler=client, progress=progress,
                                 desc=f"generation {g + 1}/{n_gen}")
                rows = [{**r, "changes": ch} for r, ch in zip(rows, changes)]
                if checkpoint is not None:
                    checkpoint.add(key, {"trials": rows})
            for t, row in zip(asked, rows):
                rec = _tell(study, t, row, objectives, needed, min_accuracy)
                records.append({"trial": row["trial"], "generation": g, "trial_seed": trial_seeds[row["trial"]],
                                **row["changes"], **rec})
    finally:
        if owned:
            client.close()

    df = pd.DataFrame(records)
    for m in ("accuracy", "accuracy_se"):
        if min_accuracy is None and COLUMNS[m] in df and df[COLUMNS[m]].isna().all():
            df = df.drop(columns=COLUMNS[m])
    cols = [COLUMNS[o] for o in objectives]
    front = pareto_mask(df[cols].to_numpy(dtype=float), [DIRECTIONS[o] == "minimize" for o in objectives])
    df["pareto"] = front & df["feasible"].to_numpy()
    preset_metrics = {COLUMNS.get(k, k): v for k, v in preset_row["metrics"].items()}
    best = _best(df, objectives)
    df.attrs.update(preset=config.name, fields=[r.key for r in ranges], objectives=list(objectives),
                    directions=[DIRECTIONS[o] for o in objectives], objective_columns=cols, min_accuracy=min_accuracy, chips=chips,
                    images=images, trials=trials, generation_size=generation_size, generations=n_gen, seed=seed,
                    sampler=manifest["sampler"], preset_metrics=preset_metrics, preset_error=preset_row["error"],
                    feasible_trials=int(df["feasible"].sum()), pareto_points=int(df["pareto"].sum()),
                    best_by=best[0], best_trial=best[1],
                    trials_to_best=None if best[1] is None else best[1] + 1,
                    trials_to_within_1pct=_within(df, best), wall_time_s=time.perf_counter() - start)
    df.attrs["config"] = config
    return df


def _tell(study, trial, row, objectives, needed, min_accuracy) -> dict:
    """Tell ``trial``'s result (constraints first) and return its table columns."""
    metrics, error = dict(row["metrics"]), row["error"]
    if not error:
        missing = [m for m in needed if m not in metrics or not math.isfinite(metrics[m])]
        if missing:
            error = f"evaluate returned no finite {missing}"
    rec = {COLUMNS.get(k, k): v for k, v in metrics.items()}
    for m in needed:
        rec.setdefault(COLUMNS[m], math.nan)
    if min_accuracy is not None:
        rec.setdefault(COLUMNS["accuracy_se"], math.nan)
    violation = 0.0 if error or min_accuracy is None else max(0.0, min_accuracy - metrics["accuracy"])
    trial.set_constraint("error", _ERROR_VIOLATION if error else 0.0)
    trial.set_constraint("accuracy", violation)
    if error:
        values = [math.inf if DIRECTIONS[o] == "minimize" else -math.inf for o in objectives]
    else:
        values = [metrics[o] for o in objectives]
    study.tell(trial, values)
    rec.update(feasible=not error and violation == 0.0, error=error)
    return rec


def _best(df, objectives):
    """``(criterion, trial)`` of the best feasible trial: lowest EPB when measured, else the first objective."""
    by = "epb" if COLUMNS["epb"] in df else objectives[0]
    col = COLUMNS[by]
    ok = df[df["feasible"] & np.isfinite(df[col].astype(float))]
    if ok.empty:
        return by, None
    values = ok[col] if DIRECTIONS[by] == "minimize" else -ok[col]
    return by, int(ok["trial"].iloc[int(np.argmin(values.to_numpy()))])


def _within(df, best):
    by, trial = best
    if trial is None:
        return None
    col = COLUMNS[by]
    target = float(df.loc[df["trial"] == trial, col].iloc[0])
    ok = df[df["feasible"]]
    good = ok[col] <= target * 1.01 if DIRECTIONS[by] == "minimize" else ok[col] >= target * 0.99
    return int(ok["trial"][good].min()) + 1


def best_config(df: pd.DataFrame, base=None, *, trial: int | None = None):
    """The configuration of ``trial`` (default: ``df.attrs["best_trial"]``): ``base`` (default: the run's
    preset) with the trial's field values, named ``<preset>-optimized``; the changed fields' sources say
    which trial set them."""
    import dataclasses

    base = df.attrs["config"] if base is None else _load_config(base)
    trial = df.attrs.get("best_trial") if trial is None else trial
    if trial is None:
        raise ValueError("no feasible trial: there is no best design to export")
    row = df[df["trial"] == trial].iloc[0]
    changes = {k: (int(row[k]) if isinstance(base.value(k), int) else float(row[k])) for k in df.attrs["fields"]}
    config = base.with_values(changes)
    note = f"studies.optimize trial {trial} (seed {df.attrs['seed']}) of {base.name}"
    sources = tuple((k, v) for k, v in config.sources if k not in changes) + tuple((k, note) for k in changes)
    return dataclasses.replace(config, name=f"{base.name}-optimized", sources=sources,
                               description=f"{base.name} with the best-{df.attrs['best_by']} design of "
                                           f"robinsim optimize ({note})")


# ------------------------------------------------------------------------------ files
def _trials_table(df):
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def write(df: pd.DataFrame, out, *, figures: bool = True) -> list:
    """Write ``trials.csv``, ``pareto.csv``, ``optimize.json`` (run facts, no wall time: the files of
    equal runs are byte-identical), ``best.toml`` (:func:`best_config` via ``accel.presets.to_toml``;
    loads on its own) and, with ``figures``, ``pareto.png`` / ``.pdf`` into ``out`` (atomic writes)."""
    out = prepare_out_dir(out)
    table = _trials_table(df)
    paths = [write_csv(out / "trials.csv", table, sort_by=["trial"]),
             write_csv(out / "pareto.csv", table[table["pareto"]], sort_by=["trial"])]
    meta = {k: v for k, v in df.attrs.items() if k not in ("config", "wall_time_s")}
    meta.update(kind="optimize", files={"trials": "trials.csv", "pareto": "pareto.csv", "best": "best.toml"})
    if df.attrs.get("best_trial") is not None:
        best = df[df["trial"] == df.attrs["best_trial"]].iloc[0]
        meta["best"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
        pm = df.attrs["preset_metrics"]
        col = COLUMNS[df.attrs["best_by"]]
        if col in pm and pm[col]:
            meta["best_over_preset"] = float(best[col]) / float(pm[col])
        cfg = best_config(df)
        header = (f"# {cfg.description}\n# reported: " + ", ".join(
            f"{COLUMNS[m]} = {float(best[COLUMNS[m]]):.9g}" for m in (*OBJECTIVES, "accuracy") if COLUMNS[m] in best)
            + "\n")
        paths.append(atomic_write_text(out / "best.toml", header + presets.to_toml(cfg)))
    paths.append(write_json(out / "optimize.json", meta))
    if figures:
        paths += save_figure(pareto_figure(df), out, "pareto")
    return paths


def pareto_figure(df: pd.DataFrame):
    """The Pareto figure of a run (:func:`studies.plots.optimize_pareto` with the run's facts ``df.attrs``)."""
    return optimize_pareto(df, df.attrs)


def summary_text(df: pd.DataFrame) -> str:
    """The run facts, the best design against the preset and its fields, as printed by the CLI."""
    a = df.attrs
    lines = [f"NSGA-II ({a['sampler']}) on {a['preset']}: {a['trials']} trials in {a['generations']} generations of "
             f"{a['generation_size']}, seed {a['seed']}; objectives {', '.join(f'{d} {o}' for o, d in zip(a['objectives'], a['directions']))}"
             + (f"; accuracy >= {a['min_accuracy']:.4g} over {count_label(a['chips'], 'chip')} x {a['images']} images"
                if a.get("min_accuracy") is not None else "")
             + f"; {a['feasible_trials']} feasible, {a['pareto_points']} on the Pareto front, "
               f"{a.get('wall_time_s', math.nan):.1f} s"]
    if a.get("best_trial") is None:
        return "\n".join(lines + ["no feasible trial"])
    best = df[df["trial"] == a["best_trial"]].iloc[0]
    pm = a["preset_metrics"]
    col = COLUMNS[a["best_by"]]
    scale, unit = (1e12, " pJ/bit") if a["best_by"] == "epb" else (1.0, "")
    ratio = pm.get(col, math.nan) / float(best[col]) if pm.get(col) else math.nan
    lines.append(f"best {a['best_by']}: trial {a['best_trial']} (found after {a['trials_to_best']} trials, within 1 % "
                 f"after {a['trials_to_within_1pct']}): {float(best[col]) * scale:.4g}{unit} vs the preset's "
                 f"{pm.get(col, math.nan) * scale:.4g}{unit} ({ratio:.3g}x "
                 f"{'lower' if DIRECTIONS[a['best_by']] == 'minimize' else 'higher'})")
    for c in ("fps", "power_w", "area_mm2", "accuracy"):
        if c in best and c != col:
            lines.append(f"  {c}: {float(best[c]):.4g} (preset {pm.get(c, math.nan):.4g})")
    cfg = a["config"]
    lines.append("  fields (preset -> best, declared range):")
    for k in a["fields"]:
        r = cfg.range_of(k)
        lines.append(f"    {k}: {cfg.value(k):.4g} -> {float(best[k]):.4g}  [{r.low:.4g}, {r.high:.4g}]")
    return "\n".join(lines)

