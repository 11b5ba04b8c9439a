"""Edge-cloud conditionally deep hybrid networks on sampled chips (``robinsim hybrid``).

A :class:`mapping.networks.hybrid.HybridBNN` splits into the edge (its folded trunk segments on
the optical accelerator, its exit heads on the accelerator's electronics), the link and the
cloud. For each sampled chip the edge trunk runs once on the functional simulator
(:func:`mapping.functional.simulate_outputs`, variation and receiver noise included, one noise
stream per segment); the exit heads and the cloud part run in torch float on the hardware cut
activations. Every entropy threshold is then applied to the stored logits
(:func:`mapping.networks.hybrid.exit_index`).

Cost per sample (chip-independent, per image, batch 1):

* edge: ``map_model`` of each trunk segment on the preset (a segment's leading Sign, the
  identity on its ±1 input, is left out) and of each exit head (electronic layers); a sample
  leaving at edge exit ``i`` pays segments and heads ``0..i``, one going to the cloud all of them;
* link: the activation at the cut, :data:`EDGE_BITS_PER_VALUE` bit per ±1 value
  (``link.energy_j(bits)``, ``link.latency_s(bits)``), only for samples that go to the cloud;
* cloud: the full-precision MACs of the cloud part (``cloud.energy_j(macs)``, ``latency_s``).

Baseline: the same architecture entirely in full precision in the cloud (every trunk and
cloud MAC, exit heads excluded) with the input image sent at :data:`BASELINE_BITS_PER_PIXEL`
bits per pixel. ``energy_reduction`` = baseline (link + compute) / total energy;
``compute_energy_reduction`` = baseline compute / (edge + cloud energy), the paper's
computational energy reduction. ``latency_s`` is the sum of the parts each sample passes
through (edge segments and heads, link, cloud), averaged over the samples.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from accel.cloud import DEFAULT_CLOUD, CloudProcessor, load_cloud
from accel.link import DEFAULT_LINK, Link, load_link
from mapping.functional import simulate_outputs
from mapping.networks.data import check_dataset
from mapping.networks.hybrid import HybridBNN, check_threshold, exit_index, exit_predictions, fold_edge, leading_sign_dropped
from mapping.performance.schedule import map_model
from mapping.performance.workload import extract_workload
from photonics.validation import check_int, check_seed
from studies.inputs import load_accelerators, load_dataset, load_model

__all__ = ["EDGE_BITS_PER_VALUE", "BASELINE_BITS_PER_PIXEL", "COLUMNS", "costs", "fp_macs", "hardware_logits", "run", "columns",
           "load_cloud_link"]

#: Bits per value of the activation at the cut: the edge's output is a ±1 sign (1 bit).
EDGE_BITS_PER_VALUE = 1
#: Bits per input pixel the baseline sends to the cloud (8-bit images, as in the issue's baseline).
BASELINE_BITS_PER_PIXEL = 8
#: Columns of :func:`run` before the per-exit fractions, and after them.
COLUMNS = ("threshold", "chip", "exit_fraction", "accuracy", "edge_energy_j", "link_energy_j", "cloud_energy_j",
           "total_energy_j", "latency_s")
_TAIL = ("baseline_energy_j", "energy_reduction", "compute_energy_reduction")


def columns(model: HybridBNN) -> list[str]:
    """The exact columns of :func:`run`'s table for ``model``."""
    return [*COLUMNS, *(f"exit_{name}_fraction" for name in model.exit_names), *_TAIL]


def fp_macs(module: torch.nn.Module, input_shape: tuple) -> int:
    """Full-precision MACs per image of every conv/linear layer of ``module`` (binary ones included)
    on per-image ``input_shape``."""
    table = extract_workload(module, (1, *input_shape)).to_frame()
    compute = table[table["kind"].isin(("conv", "linear"))]
    return int((compute["dot_products"] * compute["k"]).sum())


def load_cloud_link(cloud=None, link=None):
    """``(cloud, link)``: objects with ``energy_j(n)`` and ``latency_s(n)`` (None: ``accel.cloud``'s
    and ``accel.link``'s defaults; a name: that configuration)."""
    out = []
    for what, obj in (("cloud", cloud), ("link", link)):
        if obj is None or isinstance(obj, (str, Path)):
            if what == "cloud":
                obj = CloudProcessor(load_cloud(DEFAULT_CLOUD if obj is None else obj))
            else:
                obj = Link(load_link(DEFAULT_LINK if obj is None else obj))
        for method in ("energy_j", "latency_s"):
            if not callable(getattr(obj, method, None)):
                raise TypeError(f"{what} must have methods energy_j(n) and latency_s(n) (e.g. accel.{what}.load_{what}), "
                                f"got {type(obj).__name__} without {method}")
        out.append(obj)
    return tuple(out)


def costs(model: HybridBNN, accelerator, cloud, link) -> dict:
    """Per-image cost of each part: ``edge_energy_j`` / ``edge_latency_s`` (arrays, one entry per
    edge exit: segment plus head), ``cut_bits``, ``link_energy_j``/``link_latency_s``,
    ``cloud_macs``, ``cloud_energy_j``/``cloud_latency_s``, ``trunk_macs``, ``input_bits`` and
    ``baseline_compute_j``, ``baseline_link_j``, ``baseline_energy_j`` (module docstring)."""
    with torch.no_grad():
        was_training = model.training
        model.eval()
        try:
            shapes = [tuple(t.shape[1:]) for t in model.edge(torch.zeros((1, *model.input_shape)))]
        finally:
            model.train(was_training)
    ins = [model.input_shape, *shapes[:-1]]
    edge_j, edge_s = [], []
    for seg, head, shape_in, shape_out in zip(model.segments, model.heads, ins, shapes):
        seg_rep = map_model(leading_sign_dropped(seg), accelerator, (1, *shape_in))
        head_rep = map_model(head, accelerator, (1, *shape_out))
        edge_j.append(seg_rep.energy_j + head_rep.energy_j)
        edge_s.append(seg_rep.latency_s + head_rep.latency_s)
    cut_bits = int(np.prod(shapes[-1])) * EDGE_BITS_PER_VALUE
    cloud_macs = fp_macs(model.cloud, shapes[-1])
    trunk_macs = sum(fp_macs(seg, shape_in) for seg, shape_in in zip(model.segments, ins))
    input_bits = int(np.prod(model.input_shape)) * BASELINE_BITS_PER_PIXEL
    out = {
        "edge_energy_j": np.array(edge_j), "edge_latency_s": np.array(edge_s), "cut_bits": cut_bits,
        "link_energy_j": float(link.energy_j(cut_bits)), "link_latency_s": float(link.latency_s(cut_bits)),
        "cloud_macs": cloud_macs, "cloud_energy_j": float(cloud.energy_j(cloud_macs)),
        "cloud_latency_s": float(cloud.latency_s(cloud_macs)), "trunk_macs": trunk_macs, "input_bits": input_bits,
        "baseline_compute_j": float(cloud.energy_j(trunk_macs + cloud_macs)),
        "baseline_link_j": float(link.energy_j(input_bits)),
    }
    out["baseline_energy_j"] = out["baseline_compute_j"] + out["baseline_link_j"]
    return out


def _check_model(model) -> HybridBNN:
    model = load_model(model)
    if not isinstance(model, HybridBNN):
        raise ValueError(f"model {getattr(model, 'arch', type(model).__name__)!r} is not an edge-cloud hybrid network; "
                         "allowed: a HybridBNN checkpoint such as mnist-hybrid")
    return model


def _check_thresholds(thresholds) -> list[float]:
    if isinstance(thresholds, (int, float)) and not isinstance(thresholds, bool):
        thresholds = [thresholds]
    values = [check_threshold(t) for t in thresholds]
    if not values:
        raise ValueError("thresholds is empty; allowed: at least one entropy threshold (nats, >= 0)")
    return values


def hardware_logits(model: HybridBNN, accelerator, images: torch.Tensor, *, chip, seed: int, conditions=None,
                    folded=None) -> list[torch.Tensor]:
    """Logits of every exit with the edge trunk on chip ``chip`` of ``seed`` (None: the ideal
    chip; :func:`mapping.functional.simulate_outputs`, segment ``i`` on noise stream ``i``) and
    the exit heads and the cloud part in torch float on its hardware activations. ``folded``:
    the model's :func:`~mapping.networks.hybrid.fold_edge` (computed when None)."""
    folded = fold_edge(model) if folded is None else folded
    h, cuts = images, []
    for stream, segment in enumerate(folded):
        h = simulate_outputs(segment, accelerator, h, chip=chip, seed=seed, conditions=conditions, stream=stream)
        cuts.append(h)
    model.eval()
    with torch.no_grad():
        return [head(h) for head, h in zip(model.heads, cuts)] + [model.cloud(cuts[-1])]


def _rows(logits, labels, thresholds, chip: int, c: dict, names) -> list[dict]:
    n_edge = len(names) - 1
    edge_cum_j, edge_cum_s = np.cumsum(c["edge_energy_j"]), np.cumsum(c["edge_latency_s"])
    rows = []
    for t in thresholds:
        index = exit_index(logits, t)
        preds = exit_predictions(logits, index)
        idx = index.numpy()
        to_cloud = idx == n_edge
        edge_j = edge_cum_j[np.minimum(idx, n_edge - 1)]
        link_j, cloud_j = to_cloud * c["link_energy_j"], to_cloud * c["cloud_energy_j"]
        latency = edge_cum_s[np.minimum(idx, n_edge - 1)] + to_cloud * (c["link_latency_s"] + c["cloud_latency_s"])
        row = {"threshold": t, "chip": chip, "exit_fraction": float(np.mean(~to_cloud)),
               "accuracy": float((preds == labels).double().mean()), "edge_energy_j": float(edge_j.mean()),
               "link_energy_j": float(link_j.mean()), "cloud_energy_j": float(cloud_j.mean())}
        row["total_energy_j"] = row["edge_energy_j"] + row["link_energy_j"] + row["cloud_energy_j"]
        row["latency_s"] = float(latency.mean())
        row.update({f"exit_{name}_fraction": float(np.mean(idx == i)) for i, name in enumerate(names)})
        row["baseline_energy_j"] = c["baseline_energy_j"]
        row["energy_reduction"] = c["baseline_energy_j"] / row["total_energy_j"]
        row["compute_energy_reduction"] = c["baseline_compute_j"] / (row["edge_energy_j"] + row["cloud_energy_j"])
        rows.append(row)
    return rows


def run(model, preset, thresholds, *, chips: int = 2, seed: int = 0, images: int | None = None, data=None,
        cloud=None, link=None, conditions=None, progress: bool = True) -> pd.DataFrame:
    """One row per (threshold, chip) of ``chips`` sampled chips (0..chips-1 of ``seed``, under
    ``conditions``; None: the preset's), columns :func:`columns` (per-sample means; module docstring).

    ``model``: a ``HybridBNN``, shipped checkpoint name or file; ``preset``: one preset name, TOML
    file, config or ``Accelerator``; ``thresholds``: entropies in nats (each finite, >= 0);
    ``data``: ``(images, labels)`` (None: the MNIST test split), first ``images`` only; ``cloud`` /
    ``link``: objects with ``energy_j`` and ``latency_s`` (None: the defaults, :func:`load_cloud_link`).
    ``df.attrs`` holds the per-part costs (:func:`costs`).
    """
    model = _check_model(model)
    thresholds = _check_thresholds(thresholds)
    chips = check_int("chips", chips, lo=1)
    seed = check_seed("seed", seed)
    accs = load_accelerators(preset)
    if len(accs) != 1:
        raise ValueError(f"preset must be one accelerator, got {len(accs)}: {list(accs)}")
    acc = next(iter(accs.values()))
    if data is not None and not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"data must be an (images, labels) pair of tensors or None (MNIST test), got {type(data).__name__}")
    x, y = load_dataset(data, images)
    if x.dim() != len(model.input_shape) + 1 or tuple(x.shape[1:]) != model.input_shape:
        raise ValueError(f"data images have shape {tuple(x.shape[1:])} per image but model {model.arch!r} takes "
                         f"{model.input_shape}; allowed: data of the model's input shape")
    x, y = check_dataset(x, y, image_shape=model.input_shape)
    cloud, link = load_cloud_link(cloud, link)
    folded = fold_edge(model, probe=x[:500])
    c = costs(model, acc, cloud, link)
    rows = []
    for chip in tqdm(range(chips), desc="chips", unit="chip", disable=not progress, file=sys.stderr):
        logits = hardware_logits(model, acc, x, chip=chip, seed=seed, conditions=conditions, folded=folded)
        rows += _rows(logits, y, thresholds, chip, c, model.exit_names)
    df = pd.DataFrame(rows, columns=columns(model))
    df.attrs.update({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in c.items()})
    return df
