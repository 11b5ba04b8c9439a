"""Sensitivity analysis over a preset's declared parameter ranges (``robinsim sensitivity``).

Every shipped preset declares plausible ranges of its uncertain numeric fields in its
``[ranges]`` table (:class:`accel.config.Range`: ``low``, ``high``, ``source``). :func:`run`
asks which of them decides a metric:

* ``method="oat"`` (default): one at a time, each parameter at its ``low`` and at its ``high``
  with every other field at the preset's value; the tornado of the resulting metric swings.
* ``method="morris"`` (elementary effects) and ``method="sobol"`` (first-order and total
  variance indices, Saltelli sampling): global methods of SALib, run on a metric of the
  schedule (``epb``, ``fps``, ``power``, ``area``), never on ``accuracy``. The base sample size
  ``n_base`` is stated in the output (column ``base_samples`` and the table's ``attrs``): Morris
  evaluates ``n_base * (D + 1)`` configurations (``n_base`` trajectories over D parameters),
  Sobol ``n_base * (D + 2)`` (``n_base`` a power of two; no second-order indices). The OAT ends
  are evaluated too, so every method gives ``metric_low``/``metric_high`` and the same tornado.

Parameters are sampled (Morris, Sobol) and solved for (``target``) on a log scale where
``low > 0`` and linearly otherwise (column ``scale``).

Metrics (``mapping.performance.schedule.map_model`` of ``workload`` at batch 1, as
``studies.sweep`` computes them): ``epb`` energy per bit (J/bit), ``fps`` frames/s, ``power``
total power (W), ``area`` ``Accelerator.area_mm2`` (mm2), ``accuracy`` the mean accuracy of
``chips`` sampled chips on the first ``images`` MNIST test images (OAT only), with its standard
error ``sqrt(s_chips^2 / chips + p (1 - p) / images)`` (chip-to-chip spread plus the image
subset's binomial error; columns ``metric_*_se``).

``ratio_to=OTHER``: the quantity becomes ``metric(OTHER) / metric(PRESET)`` (e.g. LightBulb's
EPB over robin-eo's: ROBIN claims 933). A parameter both presets declare is varied in both, each
over its own declared range at the same relative position (column ``applied_to`` = ``"both"``),
otherwise in PRESET only (``"preset"``). ``target=T``: for each parameter, the value that alone
brings the quantity to T (``scipy.optimize.brentq`` on the position within the range; column
``target_note`` = ``"reached"``), or ``"not reachable within its range"`` when the quantity at
the low and high ends (and, for a PRESET-only parameter, at the preset's value) lies on one side
of T (a quantity that crosses T and comes back between those points is not searched for).

Evaluations are independent tasks (:func:`studies.dispatch.run_tasks`): in this process or on
Dask (``scheduler``), with identical results. ``evaluate`` replaces the metric for tests and
studies: a picklable callable ``evaluate(config) -> float`` (or ``{metric: value}``).
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
import pandas as pd

from accel import Accelerator, presets
from accel.config import AcceleratorConfig, ConfigKeyError, Range
from mapping.bnn import FoldedBNN, export_binary
from mapping.functional import simulate_chip
from mapping.performance.schedule import map_model
from photonics.validation import check_int, check_seed
from studies import memory as run_memory
from studies.dispatch import Task, run_tasks
from studies.figures import tornado_labels
from studies.inputs import load_dataset, load_model
from studies.outputs import prepare_out_dir, save_figure, write_csv, write_json
from studies.plots import count_label, tornado

__all__ = ["METRICS", "METHODS", "DEFAULT_BASE_SAMPLES", "ScheduleMetric", "AccuracyMetric", "declared",
           "position_values", "sample", "analyze", "indices", "run", "write", "summary_text"]

#: metric name -> (column of the schedule / accelerator, unit, description)
METRICS = {
    "epb": ("energy_per_bit_j", "J/bit", "energy per bit"),
    "fps": ("fps", "frames/s", "throughput"),
    "power": ("power_w", "W", "total power"),
    "area": ("area_mm2", "mm2", "chip area"),
    "accuracy": ("accuracy", "", "mean accuracy over sampled chips"),
}
METHODS = ("oat", "morris", "sobol")
#: Default base sample size ``n_base`` per global method (Morris trajectories, Sobol base points).
DEFAULT_BASE_SAMPLES = {"morris": 8, "sobol": 64}
_MORRIS_LEVELS = 4
NOT_REACHABLE = "not reachable within its range"
REACHED = "reached"


# ------------------------------------------------------------------------------ metrics
class ScheduleMetric:
    """``config -> {metric: value}`` from ``map_model`` of ``workload`` at ``input_shape`` (batch 1),
    or ``Accelerator.area_mm2``; a picklable task argument (sent once to every Dask worker).

    ``fps``: latency comes from cycles, weight reloads and accumulation, and static power (tuning,
    common-mode tracking) enters only the energy, so the configuration is scheduled with
    ``tuning.fixed_power_per_ring_mw = 0`` and no nominal tuning is sampled (the same FPS)."""

    def __init__(self, workload, input_shape, metric: str):
        self.workload, self.input_shape, self.metric = workload, tuple(input_shape), _check_metric(metric)

    def __call__(self, config) -> dict:
        if self.metric == "fps":
            config = config.with_values({"tuning.fixed_power_per_ring_mw": 0.0})
        acc = Accelerator(config)
        if self.metric == "area":
            return {"area": float(acc.area_mm2)}
        rep = map_model(self.workload, acc, self.input_shape)
        return {self.metric: float(getattr(rep, METRICS[self.metric][0]))}


class AccuracyMetric:
    """``config -> {"accuracy": mean, "accuracy_se": standard error}`` over chips ``0..chips-1`` of
    ``seed`` on ``dataset`` (``mapping.functional.simulate_chip``, the preset's variation and noise)."""

    def __init__(self, folded, dataset, chips: int, seed: int):
        self.folded, self.dataset = folded, dataset
        self.chips, self.seed = check_int("chips", chips, lo=1), check_seed("seed", seed)

    def __call__(self, config) -> dict:
        acc = Accelerator(config)
        values = np.array([simulate_chip(self.folded, acc, self.dataset, chip=c, seed=self.seed)["accuracy"]
                           for c in range(self.chips)])
        p, n = float(values.mean()), len(self.dataset[1])
        between = float(values.var(ddof=1)) / self.chips if self.chips > 1 else 0.0
        return {"accuracy": p, "accuracy_se": math.sqrt(between + p * (1.0 - p) / n)}


def _check_metric(metric) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not allowed; allowed: one of {list(METRICS)}")
    return metric


def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; allowed: one of {list(METHODS)}")
    return method


# ------------------------------------------------------------------------------ sampling (SALib)
def _log_scale(r: Range) -> bool:
    return r.low > 0


def position_values(r: Range, t) -> np.ndarray:
    """Values of parameter ``r`` at relative positions ``t`` in [0, 1] of its range (0: low, 1: high):
    log-uniform where ``low > 0``, linear otherwise; an int field is rounded."""
    t = np.asarray(t, dtype=float)
    if _log_scale(r):
        v = np.exp(np.log(r.low) + t * (np.log(r.high) - np.log(r.low)))
    else:
        v = r.low + t * (r.high - r.low)
    return np.clip(v, r.low, r.high)


def _position(r: Range, value: float) -> float:
    if _log_scale(r):
        return float((math.log(value) - math.log(r.low)) / (math.log(r.high) - math.log(r.low)))
    return float((value - r.low) / (r.high - r.low))


def _problem(ranges) -> dict:
    return {"num_vars": len(ranges), "names": [r.key for r in ranges], "bounds": [[0.0, 1.0]] * len(ranges)}


def _seeds(seed: int) -> tuple[int, int]:
    """Sampler and analysis (bootstrap) seeds of root ``seed`` (``SeedSequence(seed).spawn(2)``)."""
    return tuple(int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(seed).spawn(2))


def _check_base(method: str, n_base) -> int:
    if method == "sobol":
        n = check_int("n_base", n_base, lo=2)
        if n & (n - 1):
            raise ValueError(f"n_base={n} is not allowed for method='sobol'; allowed: a power of two >= 2 "
                             "(Sobol' sequences are balanced at powers of two)")
        return n
    return check_int("n_base", n_base, lo=2)


def sample(ranges, method: str, *, n_base: int, seed: int = 0) -> np.ndarray:
    """The SALib design of ``method`` ("morris" or "sobol") over ``ranges``: an array (n, D) of
    relative positions in [0, 1] (:func:`position_values` turns column j into values of ``ranges[j]``)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in ("morris", "sobol"):
        raise ValueError(f"method={method!r} is not allowed here; allowed: 'morris' or 'sobol'")
    n_base, seed = _check_base(method, n_base), check_seed("seed", seed)
    if len(ranges) < 2:
        raise ValueError(f"ranges holds {len(ranges)} parameter(s); allowed: at least 2 for method={method!r}")
    sampler_seed, _ = _seeds(seed)
    problem = _problem(ranges)
    if method == "morris":
        return morris_sample.sample(problem, n_base, num_levels=_MORRIS_LEVELS, seed=sampler_seed)
    return sobol_sample.sample(problem, n_base, calc_second_order=False, seed=sampler_seed)


def analyze(ranges, method: str, X, Y, *, seed: int = 0) -> pd.DataFrame:
    """SALib indices of ``Y`` (n,) on the design ``X`` of :func:`sample`: one row per parameter;
    Morris ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma`` (per unit of relative position), Sobol
    ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (95 % bootstrap confidence half-widths)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    Y = np.asarray(Y, dtype=float)
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{int((~np.isfinite(Y)).sum())} of {len(Y)} evaluations are not finite (a configuration "
                         "in the declared ranges cannot be built); allowed: ranges whose every combination builds")
    _, analysis_seed = _seeds(check_seed("seed", seed))
    problem = _problem(ranges)
    if method == "morris":
        res = morris_analyze.analyze(problem, np.asarray(X), Y, num_levels=_MORRIS_LEVELS, seed=analysis_seed)
        cols = ("mu", "mu_star", "mu_star_conf", "sigma")
    elif method == "sobol":
        res = sobol_analyze.analyze(problem, Y, calc_second_order=False, seed=analysis_seed)
        cols = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        raise ValueError(f"method={method!r} is not allowed here; allowed: 'morris' or 'sobol'")
    return pd.DataFrame({"parameter": [r.key for r in ranges], **{c: np.asarray(res[c], dtype=float) for c in cols}})


def indices(ranges, fn, method: str, *, n_base: int, seed: int = 0) -> pd.DataFrame:
    """:func:`analyze` of ``fn`` (values (n, D) -> (n,), in the parameters' units) on the design of
    :func:`sample`; the table's ``attrs`` state ``base_samples`` and ``evaluations``."""
    X = sample(ranges, method, n_base=n_base, seed=seed)
    values = np.column_stack([position_values(r, X[:, j]) for j, r in enumerate(ranges)])
    df = analyze(ranges, method, X, np.asarray(fn(values), dtype=float), seed=seed)
    df.attrs.update(base_samples=n_base, evaluations=len(X))
    return df


# ------------------------------------------------------------------------------ evaluation tasks
def _evaluate_task(evaluate, configs, *, which, changes, metric):
    """One task: ``evaluate`` on configuration ``configs[which]`` with ``changes`` (a pure function)."""
    try:
        config = configs[which].with_values(changes) if changes else configs[which]
        out = evaluate(config)
    except (ValueError, TypeError, KeyError) as exc:
        return {"value": math.nan, "se": math.nan, "error": " ".join(str(exc).strip("'\"").split())}
    if isinstance(out, dict):
        return {"value": float(out[metric]), "se": float(out.get(f"{metric}_se", math.nan)), "error": ""}
    return {"value": float(out), "se": math.nan, "error": ""}


def _check_memory(evaluate, configs, todo, scheduler):
    """Refuse evaluations whose estimated memory does not fit (``studies.memory.check_run``) before any
    runs; an end that cannot be built is left to its task (an ``error`` row). A custom ``evaluate`` is
    not estimated (the chip-level checks of ``accel.memory`` still apply)."""
    if isinstance(evaluate, AccuracyMetric):
        extra = dict(folded=evaluate.folded, images=len(evaluate.dataset[1]), chips=evaluate.chips)
    elif isinstance(evaluate, ScheduleMetric):
        extra = {}
    else:
        return
    built = {}
    for which, changes in todo:
        try:
            built[f"{configs[which].name!r} {dict(changes) or '(nominal)'}"] = (configs[which].with_values(dict(changes)) if changes
                                                               else configs[which])
        except (ValueError, TypeError, KeyError):
            continue
    run_memory.check_run(built, "sensitivity evaluation", scheduler=scheduler, **extra)


class _Evaluations:
    """Distinct (configuration, changes) evaluations, run once each through ``run_tasks``."""

    def __init__(self):
        self.order: list[tuple] = []
        self.done: dict[tuple, dict] = {}

    @staticmethod
    def key(which, changes) -> tuple:
        return (which, tuple(sorted(changes.items())))

    def want(self, which, changes) -> tuple:
        k = self.key(which, changes)
        if k not in self.done and k not in self.order:
            self.order.append(k)
        return k

    def run(self, evaluate, configs, metric, scheduler, progress, desc):
        todo = [k for k in self.order if k not in self.done]
        self.order = []
        if not todo:
            return
        _check_memory(evaluate, configs, todo, scheduler)
        tasks = [Task(f"eval{len(self.done) + i:06d}", dict(which=k[0], changes=dict(k[1]), metric=metric))
                 for i, k in enumerate(todo)]
        rows = run_tasks(_evaluate_task, tasks, shared=(evaluate, configs), scheduler=scheduler,
                         progress=progress, desc=desc)
        self.done.update(zip(todo, rows))


def _solve_task(evaluate, configs, *, plan, metric, target, bracket, ratio, xtol):
    """One task: brentq of ``quantity(t) - target`` on ``bracket`` of the relative position ``t`` of one
    parameter (``plan``: ``{which: Range}``); returns the position and the quantity there."""
    from scipy.optimize import brentq

    def changes_at(which, t):
        r = plan[which]
        v = float(position_values(r, t))
        spec_int = isinstance(configs[which].value(r.key), int)
        return {r.key: int(round(v)) if spec_int else v}

    def quantity(t):
        vals = {}
        for which in ("preset", "other") if ratio else ("preset",):
            ch = changes_at(which, t) if which in plan else {}
            vals[which] = _evaluate_task(evaluate, configs, which=which, changes=ch, metric=metric)["value"]
        return vals["other"] / vals["preset"] if ratio else vals["preset"]

    try:
        t = brentq(lambda x: quantity(x) - target, *bracket, xtol=xtol, maxiter=60)
    except (ValueError, RuntimeError) as exc:  # an unbuildable point inside the bracket (NaN), no convergence
        return {"t": math.nan, "quantity": math.nan, "error": " ".join(str(exc).split())}
    return {"t": float(t), "quantity": float(quantity(t)), "error": ""}


def declared(config: AcceleratorConfig, parameters=None) -> list[Range]:
    """The declared ranges of ``config`` to analyse: all (``parameters`` None) or those named, in order."""
    if parameters is None:
        if not config.ranges:
            raise ValueError(f"preset {config.name!r} declares no [ranges]; allowed: a preset with a [ranges] table "
                             "(\"section.field\" = { low = ..., high = ..., source = \"...\" })")
        return list(config.ranges)
    out = []
    for key in parameters:
        r = config.range_of(key)
        if r is None:
            raise ConfigKeyError(f"parameter {key!r} has no declared range in preset {config.name!r}; allowed: "
                                 f"{[x.key for x in config.ranges]}")
        out.append(r)
    if not out:
        raise ValueError("parameters is empty; allowed: None (every declared range) or declared 'section.field' names")
    return out


def _load_config(preset) -> AcceleratorConfig:
    if isinstance(preset, Accelerator):
        return preset.config
    if isinstance(preset, AcceleratorConfig):
        return preset
    return presets.load(preset)


def _changes(r: Range, config, value) -> dict:
    return {r.key: int(round(value)) if isinstance(config.value(r.key), int) else float(value)}


# ------------------------------------------------------------------------------ the study
def run(preset, *, metric: str = "epb", method: str = "oat", ratio_to=None, target: float | None = None,
        workload="mnist-cnn", n_base: int | None = None, seed: int = 0, parameters=None, chips: int = 2,
        images: int = 200, scheduler=None, progress: bool | None = None, evaluate=None) -> pd.DataFrame:
    """Sensitivity of ``metric`` (or of ``metric(ratio_to) / metric(preset)``) to ``preset``'s declared ranges.

    ``preset`` / ``ratio_to``: preset name, TOML path, ``AcceleratorConfig`` or ``Accelerator``.
    ``metric``: one of :data:`METRICS`; ``method``: ``"oat"``, ``"morris"`` or ``"sobol"`` (module
    docstring; ``accuracy`` is OAT only). ``target``: solve each parameter for this value of the
    quantity. ``workload``: torch BNN or shipped checkpoint name. ``n_base``: base sample size of
    Morris / Sobol (default :data:`DEFAULT_BASE_SAMPLES`). ``seed``: root seed (SALib's sampler and
    bootstrap seeds via ``SeedSequence(seed).spawn(2)``; the chips of ``accuracy``). ``parameters``:
    declared ``section.field`` names to use (None: all). ``chips`` / ``images``: accuracy only.
    ``scheduler``: None (this process), a Dask address or ``distributed.Client``. ``evaluate``:
    replaces the metric (``evaluate(config) -> float or {metric: value}``, picklable for Dask).

    One row per parameter: ``parameter``, ``low``, ``high``, ``scale``, ``metric``,
    ``metric_nominal``, ``metric_low``, ``metric_high``, ``swing`` (max - min of those three), ``rank``
    (1 = largest effect: swing for OAT, ``mu_star`` / ``ST`` for Morris / Sobol), ``source``,
    ``method``, ``error`` (why an end cannot be built); accuracy adds ``metric_*_se``; ``ratio_to``
    adds ``ratio_to``, ``applied_to``, ``other_low``, ``other_high``, ``other_source``; ``target``
    adds ``target``, ``target_value`` (PRESET's value reaching it, NaN if none), ``target_other_value``
    and ``target_note``; Morris / Sobol add their indices, ``base_samples`` and ``evaluations``.
    ``df.attrs`` holds the same run facts (metric, method, base samples, evaluations, wall time).
    """
    start = time.perf_counter()
    metric, method = _check_metric(metric), _check_method(method)
    seed = check_seed("seed", seed)
    if method != "oat" and metric == "accuracy":
        raise ValueError(f"method={method!r} with metric='accuracy' is not allowed; allowed: method='oat' for accuracy "
                         "(global methods run on epb, fps, power or area)")
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
            raise TypeError(f"target must be a finite number, got {type(target).__name__} {target!r}")
        target = float(target)
    if method != "oat":
        n_base = _check_base(method, DEFAULT_BASE_SAMPLES[method] if n_base is None else n_base)
    elif n_base is not None:
        raise ValueError(f"n_base={n_base!r} with method='oat' is not allowed; allowed: None (OAT evaluates each "
                         "parameter at its two ends)")
    if metric == "accuracy":
        chips, images = check_int("chips", chips, lo=1), check_int("images", images, lo=1, hi=10000)
    if parameters is not None and (isinstance(parameters, str) or not hasattr(parameters, "__iter__")):
        raise TypeError(f"parameters must be None or a list of 'section.field' names, got {parameters!r}")
    progress = sys.stderr.isatty() if progress is None else bool(progress)
    config = _load_config(preset)
    other = None if ratio_to is None else _load_config(ratio_to)
    ranges = declared(config, parameters)
    if method != "oat" and len(ranges) < 2:
        raise ValueError(f"method={method!r} needs at least 2 parameters; got {len(ranges)}")
    plans = [{"preset": r, **({"other": other.range_of(r.key)} if other is not None and other.range_of(r.key) else {})}
             for r in ranges]
    configs = {"preset": config, **({"other": other} if other is not None else {})}
    if evaluate is None:
        evaluate = _default_evaluator(metric, workload, chips=chips, images=images, seed=seed)

    ev = _Evaluations()
    nominal = {w: ev.want(w, {}) for w in configs}
    ends = []
    for plan in plans:
        keys = {}
        for end in ("low", "high"):
            for which in configs:
                ch = _changes(plan[which], configs[which], getattr(plan[which], end)) if which in plan else {}
                keys[(end, which)] = ev.want(which, ch)
        ends.append(keys)
    ev.run(evaluate, configs, metric, scheduler, progress, "OAT evaluations")

    def quantity(keys_by_which):
        rows = {w: ev.done[k] for w, k in keys_by_which.items()}
        if other is None:
            return rows["preset"]["value"], rows["preset"]["se"], rows["preset"]["error"]
        a, b = rows["other"], rows["preset"]
        q = a["value"] / b["value"]
        se = q * math.hypot(a["se"] / a["value"], b["se"] / b["value"])
        return q, se, "; ".join(e for e in (b["error"], a["error"] and f"{other.name}: {a['error']}") if e)

    q_nom, se_nom, err_nom = quantity(nominal)
    if not math.isfinite(q_nom):
        raise ValueError(f"the nominal configuration cannot be evaluated: {err_nom}")
    records = []
    for plan, keys in zip(plans, ends):
        r = plan["preset"]
        q_lo, se_lo, e_lo = quantity({w: keys[("low", w)] for w in configs})
        q_hi, se_hi, e_hi = quantity({w: keys[("high", w)] for w in configs})
        rec = {"parameter": r.key, "low": r.low, "high": r.high, "scale": "log" if _log_scale(r) else "linear",
               "metric": metric, "metric_nominal": q_nom, "metric_low": q_lo, "metric_high": q_hi,
               "swing": _spread(q_nom, q_lo, q_hi), "source": r.source, "method": method,
               "error": "; ".join(dict.fromkeys(e for e in (e_lo, e_hi) if e))}
        if metric == "accuracy":
            rec.update(metric_nominal_se=se_nom, metric_low_se=se_lo, metric_high_se=se_hi)
        if other is not None:
            o = plan.get("other")
            rec.update(ratio_to=other.name, applied_to="both" if o else "preset",
                       other_low=o.low if o else math.nan, other_high=o.high if o else math.nan,
                       other_source=o.source if o else "")
        records.append(rec)
    df = pd.DataFrame(records)
    evaluations = len(ev.done)

    if method != "oat":
        X = sample(ranges, method, n_base=n_base, seed=seed)
        points = []
        for x in X:
            per = {}
            for which in configs:
                ch = {}
                for plan, t in zip(plans, x):
                    if which in plan:
                        ch.update(_changes(plan[which], configs[which], float(position_values(plan[which], t))))
                per[which] = ev.want(which, ch)
            points.append(per)
        ev.run(evaluate, configs, metric, scheduler, progress, f"{method} evaluations")
        Y = np.array([quantity(p)[0] for p in points])
        idx = analyze(ranges, method, X, Y, seed=seed)
        df = df.merge(idx, on="parameter", how="left")
        df["base_samples"], df["evaluations"] = n_base, len(X)
        evaluations = len(ev.done)

    if target is not None:
        df = _targets(df, plans, configs, evaluate, metric, target, scheduler, progress, ratio=other is not None)
        evaluations = len(ev.done) + int(df.attrs.get("solver_tasks", 0))

    by = {"oat": "swing", "morris": "mu_star", "sobol": "ST"}[method]
    order = df[by].fillna(-math.inf).rank(ascending=False, method="first").astype(int)
    df.insert(df.columns.get_loc("swing") + 1, "rank", order)
    df = df.sort_values("rank", kind="mergesort").reset_index(drop=True)
    df.attrs.update(preset=config.name, ratio_to=None if other is None else other.name, metric=metric,
                    metric_unit=METRICS[metric][1], method=method, base_samples=n_base, seed=seed,
                    parameters=len(ranges), evaluations=evaluations, nominal=q_nom, target=target,
                    wall_time_s=time.perf_counter() - start)
    if metric == "accuracy":
        df.attrs.update(chips=chips, images=images, nominal_se=se_nom)
    return df


def _spread(*values) -> float:
    """max - min of the finite values (NaN if none): the tornado bar's length, nominal included, so a
    parameter whose both ends lie on one side of the nominal value is not under-ranked."""
    v = [x for x in values if math.isfinite(x)]
    return max(v) - min(v) if v else math.nan


def _default_evaluator(metric, workload, *, chips, images, seed):
    folded = workload if isinstance(workload, FoldedBNN) else export_binary(load_model(workload))
    if metric == "accuracy":
        return AccuracyMetric(folded, load_dataset(None, images), chips, seed)
    return ScheduleMetric(folded.source, (1, *folded.input_shape), metric)


def _targets(df, plans, configs, evaluate, metric, target, scheduler, progress, *, ratio):
    """Columns ``target``, ``target_value``, ``target_other_value``, ``target_note`` (module docstring)."""
    tasks, where = [], {}
    notes, values, other_values = [], [], []
    for i, (plan, rec) in enumerate(zip(plans, df.to_dict("records"))):
        r = plan["preset"]
        points = [(0.0, rec["metric_low"]), (1.0, rec["metric_high"])]
        if "other" not in plan or not ratio:
            points.insert(1, (_position(r, configs["preset"].value(r.key)), rec["metric_nominal"]))
        points = sorted(points)
        bracket = None
        for (t0, q0), (t1, q1) in zip(points, points[1:]):
            if math.isfinite(q0) and math.isfinite(q1) and (q0 - target) * (q1 - target) <= 0:
                bracket = (t0, t1)
                break
        notes.append(REACHED if bracket else NOT_REACHABLE)
        values.append(math.nan)
        other_values.append(math.nan)
        if bracket is None:
            continue
        for t, q in points:
            if q == target:
                bracket = None
                values[-1] = float(position_values(r, t))
                if "other" in plan:
                    other_values[-1] = float(position_values(plan["other"], t))
                break
        if bracket is not None:
            where[len(tasks)] = i
            tasks.append(Task(f"target{i:04d}", dict(plan=plan, metric=metric, target=target, bracket=bracket,
                                                     ratio=ratio, xtol=1e-6)))
    if tasks:
        rows = run_tasks(_solve_task, tasks, shared=(evaluate, configs), scheduler=scheduler, progress=progress,
                         desc="target solves")
        for j, row in enumerate(rows):
            i = where[j]
            plan = plans[i]
            if not math.isfinite(row["t"]):
                notes[i] = f"not solved: {row['error']}"
                continue
            values[i] = float(position_values(plan["preset"], row["t"]))
            if "other" in plan:
                other_values[i] = float(position_values(plan["other"], row["t"]))
    df = df.assign(target=target, target_value=values, target_other_value=other_values, target_note=notes)
    df.attrs["solver_tasks"] = len(tasks)
    return df


# ------------------------------------------------------------------------------ files
def write(df: pd.DataFrame, out, *, figures: bool = True, configurations=None) -> list:
    """Write ``sensitivity.csv`` (tidy, rows in rank order), ``sensitivity.json`` (the run facts of
    ``df.attrs`` and ``configurations``) and, with ``figures``, the tornado (``tornado.png``/``.pdf``)
    into ``out`` (created; atomic writes). Returns the paths written."""
    out = prepare_out_dir(out)
    meta = {k: v for k, v in df.attrs.items() if k != "solver_tasks"}
    paths = [write_csv(out / "sensitivity.csv", df, sort_by=["metric", "rank"])]
    paths.append(write_json(out / "sensitivity.json", {"kind": "sensitivity", **meta, "file": "sensitivity.csv",
                                                        "configurations": configurations or {}}))
    if figures:
        paths += save_figure(tornado(df, **tornado_labels(meta)), out, "tornado")
    return paths


def summary_text(df: pd.DataFrame, top: int = 10) -> str:
    """The run facts and the ``top`` parameters of a sensitivity table, as printed by the CLI."""
    a = df.attrs
    metric = a.get("metric", df["metric"].iloc[0] if len(df) else "epb")
    scale, unit = (1.0, "") if a.get("ratio_to") else {"epb": (1e12, "pJ/bit"), "accuracy": (100.0, "%")}.get(
        metric, (1.0, METRICS[metric][1]))
    what = (f"{metric}({a['ratio_to']}) / {metric}({a['preset']})" if a.get("ratio_to")
            else f"{metric} of {a.get('preset')}")
    nominal = f"{a.get('nominal', math.nan) * scale:.4g} {unit}".rstrip()
    head = [f"{a.get('method', 'oat')} sensitivity of {what}: nominal {nominal}"
            + f"; {a.get('parameters')} parameters, {a.get('evaluations')} evaluations"
            + (f", base sample size {a['base_samples']}" if a.get("base_samples") else "")
            + (f", accuracy over {count_label(a['chips'], 'chip')} x {a['images']} images (standard error "
               f"{a.get('nominal_se', math.nan) * 100:.2g} %)" if metric == "accuracy" else "")
            + f", {a.get('wall_time_s', math.nan):.1f} s"]
    cols = ["rank", "parameter", "low", "high", "metric_low", "metric_high"]
    cols += [c for c in ("applied_to", "mu_star", "sigma", "S1", "ST", "target_value", "target_note") if c in df]
    t = df.sort_values("rank", kind="mergesort").head(top)[cols].copy()
    t["metric_low"] *= scale
    t["metric_high"] *= scale
    label = f"{metric} {unit}".strip()
    t = t.rename(columns={"metric_low": f"{label} at low", "metric_high": f"{label} at high"})
    return "\n".join(head) + "\n" + t.to_string(index=False, float_format=lambda v: f"{v:.4g}")
