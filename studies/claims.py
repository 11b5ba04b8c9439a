"""ROBIN's headline claims against the declared ranges: the sensitivity part of the "Against
ROBIN's headline claims" section of ``robinsim run``.

ROBIN (TECS 2021, abstract; ``accel.baselines.ROBIN_CLAIMS``, docs/references.md §6) claims that
its energy-optimised design has ~933x lower energy per bit than LightBulb and that its
performance-optimised design is ~25x faster. Both are written here as a ratio in which a larger
value favours ROBIN (:data:`CLAIMS`), in the convention of ``studies.sensitivity.run``:
``metric(other) / metric(preset)``:

* ``epb``: EPB(lightbulb) / EPB(robin-eo), claimed 933 (``preset`` robin-eo, ``other`` lightbulb);
* ``fps``: FPS(robin-po) / FPS(lightbulb), claimed 25 (``preset`` lightbulb, ``other`` robin-po).

For each claim whose two presets are in the run, :func:`analyse`:

1. runs the one-at-a-time sensitivity of the ratio over the declared ``[ranges]``
   (``studies.sensitivity.run(preset, ratio_to=other, method="oat")``): each parameter at its low
   and at its high end, every other at the preset's value; a parameter both presets declare moves
   in both, to the same relative position of each one's own range (column ``applied_to``);
2. takes, for every parameter, its *favourable end*: of the OAT's low end, high end and the
   preset's value, the one with the largest ratio (column ``favourable_end``: ``"low"``,
   ``"high"``, or ``"nominal"`` when neither end raises the ratio above the nominal one or neither
   end can be built);
3. builds ONE configuration per preset with every parameter at its favourable end (a parameter
   both declare at the same end in both) and evaluates the ratio once on those two configurations
   (``favourable``): the joint effect, not the product of the single ratios. Ends that are each
   valid alone can clash (e.g. a lossier ring whose linewidth then no longer fits the channel
   spacing): parameters join the combination in rank order, largest single effect first, and one
   whose end would make either configuration fail validation stays at the preset's value (column
   ``in_combination`` False, ``combination_note`` and ``favourable["excluded"]`` say why);
4. states whether the claimed ratio is reached by that combination (``reachable``).

The favourable combination is the corner of the declared box that the one-at-a-time directions
point to; a parameter whose effect reverses in combination with others is not searched for. A
parameter both presets declare moves in both, so its favourable end can be the worse technology
for both designs (e.g. lossier couplers, when they raise LightBulb's laser power more than ROBIN's).

Metrics are those of ``studies.sensitivity`` (``map_model`` at batch 1, the nominal tuning): the
same numbers as the report's performance table. EPB evaluations touching a tuning field sample
the nominal tuning anew (cached by the fields that affect it, ``accel.components.tuner``); FPS
evaluations skip that sampling (``studies.sensitivity.ScheduleMetric``), because static power enters energy only.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import pandas as pd

from accel.baselines import ROBIN_CLAIMS
from studies import sensitivity

__all__ = ["Claim", "CLAIMS", "TOP", "favourable_ends", "analyse", "run", "table", "summary"]

#: Parameters of each claim listed in report.md's table (all are in the CSV and the tornado).
TOP = 5


@dataclass(frozen=True)
class Claim:
    """One headline claim as ``metric(other) / metric(preset)`` (larger favours ROBIN), claimed ``claimed``."""

    key: str
    metric: str
    preset: str
    other: str
    claimed: float
    label: str
    claim_text: str


CLAIMS = (
    Claim("epb", "epb", "robin-eo", "lightbulb", 1.0 / ROBIN_CLAIMS["eo_epb_vs_lightbulb"],
          "EPB lightbulb ÷ robin-eo", "robin-eo's energy per bit is ~933x lower than LightBulb's"),
    Claim("fps", "fps", "lightbulb", "robin-po", ROBIN_CLAIMS["po_speedup_vs_lightbulb"],
          "FPS robin-po ÷ lightbulb", "robin-po is ~25x faster than LightBulb"),
)


def favourable_ends(df: pd.DataFrame) -> pd.Series:
    """Per row of an OAT ratio table (``studies.sensitivity.run(..., ratio_to=...)``): ``"low"``,
    ``"high"`` or ``"nominal"``, whichever gives the largest ratio (``metric_low``, ``metric_high``,
    ``metric_nominal``); ties and ends that cannot be built (NaN) keep ``"nominal"``, and of two
    equal ends above the nominal ratio ``"low"`` is taken."""
    ends = []
    for lo, hi, nom in zip(df["metric_low"], df["metric_high"], df["metric_nominal"]):
        best, end = nom, "nominal"
        for name, v in (("low", lo), ("high", hi)):
            if math.isfinite(v) and v > best:
                best, end = v, name
        ends.append(end)
    return pd.Series(ends, index=df.index, name="favourable_end")


def _end_value(r, config, end):
    return sensitivity._changes(r, config, getattr(r, end))[r.key]


def _unbuildable(config, changes) -> str:
    """Why ``config`` with ``changes`` fails validation ("" if it builds), naming the preset."""
    try:
        config.with_values(changes)
    except (ValueError, TypeError, KeyError) as exc:
        return f"{config.name} cannot be built: " + " ".join(str(exc).strip("'\"").split())
    return ""


def analyse(claim: Claim, configs: dict, workload, input_shape, *, parameters=None, scheduler=None,
            progress: bool = False, evaluate=None) -> dict:
    """Steps 1-4 of the module docstring for ``claim`` on ``configs`` (preset name ->
    ``AcceleratorConfig``, holding ``claim.preset`` and ``claim.other``).

    ``parameters``: declared ``section.field`` names to vary (None: every declared range).
    ``evaluate``: replaces the metric (``evaluate(config) -> float or {metric: value}``, e.g. a stub in
    tests). Returns ``{"claim": Claim, "table": DataFrame, "favourable": dict, "wall_time_s": s}``;
    ``table`` is the OAT table (rank order) plus ``claim``, ``favourable_end``, ``favourable_value``
    and ``favourable_other_value`` (the values in the combination; NaN where the parameter stays at
    the preset's value), ``in_combination`` and ``combination_note``; ``favourable`` holds the two
    configurations' changes (``changes``, ``other_changes``), ``parameters_moved``, ``excluded``
    (parameters left out so that both build, with the reason), the two metrics (``preset_metric``,
    ``other_metric``), the ratio, ``reachable`` (ratio >= claimed) and ``error`` (why the
    combination could not be evaluated, "" if it was).
    """
    start = time.perf_counter()
    base, other = configs[claim.preset], configs[claim.other]
    if evaluate is None:
        evaluate = sensitivity.ScheduleMetric(workload, input_shape, claim.metric)
    df = sensitivity.run(base, metric=claim.metric, method="oat", ratio_to=other, parameters=parameters,
                         scheduler=scheduler, progress=progress, evaluate=evaluate)
    ends = favourable_ends(df)
    changes, other_changes, values, other_values, notes, excluded = {}, {}, [], [], [], []
    for key, end in zip(df["parameter"], ends):  # rank order: the largest single effect first
        v = ov = math.nan
        note = "" if end != "nominal" else "neither end raises the ratio"
        if end != "nominal":
            trial, other_trial = {**changes, key: _end_value(base.range_of(key), base, end)}, dict(other_changes)
            o = other.range_of(key)
            if o is not None:  # declared by both: moved in both, as in the OAT (applied_to "both")
                other_trial[key] = _end_value(o, other, end)
            why = _unbuildable(base, trial) or _unbuildable(other, other_trial)
            if why:
                note = f"left at the preset's value: with the parameters ranked above it at their ends, {why}"
                excluded.append({"parameter": key, "end": end, "reason": why})
            else:
                changes, other_changes = trial, other_trial
                v, ov = trial[key], other_trial.get(key, math.nan)
        values.append(v)
        other_values.append(ov)
        notes.append(note)
    attrs = dict(df.attrs)
    df = df.assign(claim=claim.key, favourable_end=ends.to_numpy(), favourable_value=values,
                   favourable_other_value=other_values, in_combination=[math.isfinite(v) for v in values],
                   combination_note=notes)
    df.attrs.update(attrs)

    rows = {}
    for which, cfg, ch in (("preset", base, changes), ("other", other, other_changes)):
        rows[which] = sensitivity._evaluate_task(evaluate, {which: cfg}, which=which, changes=ch, metric=claim.metric)
    ratio = rows["other"]["value"] / rows["preset"]["value"]
    error = "; ".join(f"{name}: {rows[w]['error']}" for w, name in (("preset", claim.preset), ("other", claim.other))
                      if rows[w]["error"])
    favourable = {
        "ratio": ratio, "reachable": bool(math.isfinite(ratio) and ratio >= claim.claimed), "error": error,
        "preset_metric": rows["preset"]["value"], "other_metric": rows["other"]["value"],
        "changes": changes, "other_changes": other_changes,
        "parameters_moved": len(changes), "excluded": excluded,
    }
    return {"claim": claim, "table": df, "favourable": favourable, "wall_time_s": time.perf_counter() - start}


def run(configs: dict, workload, input_shape, *, parameters=None, scheduler=None, progress=None,
        evaluate=None) -> list[dict]:
    """:func:`analyse` for every claim of :data:`CLAIMS` whose two presets are in ``configs``
    (preset name -> ``AcceleratorConfig``), in :data:`CLAIMS` order; ``evaluate``: None or
    ``{claim key: evaluator}``."""
    progress = sys.stderr.isatty() if progress is None else bool(progress)
    out = []
    for claim in CLAIMS:
        if claim.preset in configs and claim.other in configs:
            out.append(analyse(claim, configs, workload, input_shape, parameters=parameters, scheduler=scheduler,
                               progress=progress, evaluate=(evaluate or {}).get(claim.key)))
    return out


def table(results: list[dict]) -> pd.DataFrame:
    """The tidy table of every claim's OAT rows (``claims_sensitivity.csv``: one row per claim and parameter)."""
    if not results:
        return pd.DataFrame()
    return pd.concat([r["table"] for r in results], ignore_index=True)


def summary(result: dict) -> dict:
    """One claim's entry of report.json ``claims_sensitivity``: plain numbers, the :data:`TOP` parameters
    and the favourable combination (``shortfall``: claimed / its ratio). No wall time, so report.json
    depends only on the inputs."""
    c, df, fav = result["claim"], result["table"], result["favourable"]
    a = df.attrs
    top = df.sort_values("rank", kind="mergesort")
    cols = ["rank", "parameter", "applied_to", "low", "high", "other_low", "other_high", "metric_low", "metric_high",
            "swing", "favourable_end", "favourable_value", "favourable_other_value", "in_combination",
            "combination_note", "source", "error"]
    return {
        "claim": c.key, "metric": c.metric, "label": c.label, "claim_text": c.claim_text,
        "ratio": f"{c.metric}({c.other}) / {c.metric}({c.preset})", "preset": c.preset, "other": c.other,
        "claimed": c.claimed, "nominal": float(a["nominal"]), "method": "oat", "parameters": int(a["parameters"]),
        "evaluations": int(a["evaluations"]) + 2,
        "favourable": {**fav, "shortfall": c.claimed / fav["ratio"] if fav["ratio"] > 0 else math.nan},
        "top": top[[k for k in cols if k in top]].head(TOP).to_dict("records"),
        "file": "claims_sensitivity.csv", "figure": f"claims_tornado_{c.key}",
    }

