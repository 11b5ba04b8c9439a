"""Binary, mixed-precision and full-precision versions of a network on the accelerator.

:func:`compare` puts several trained versions of one network side by side on each preset: the
accuracy under variation (sampled chips of the functional simulator), energy per image, energy
per bit and FPS (the scheduler). It is the Hybrid-Net comparison of ``robinsim run --model A B C``:
the first model is the run's main model, the others are compared with it in the report's
"Precision" section and ``precision.csv``.

Precision of a model (from its workload): ``binary`` (optical layers, all one-bit), ``mixed``
(some optical layers run k-bit bit-plane passes, :mod:`mapping.networks.quant`) or ``full``
(no optical layer: everything runs on the electronic engine in full precision; no chip can
change its result, so its accuracy under variation is the software accuracy).

Energy per bit is energy over bit-plane binary MACs (``MappingReport.binary_macs``), so it is
not comparable between precisions: compare energy per image and FPS.
"""
from __future__ import annotations

import pandas as pd
import torch

from mapping import functional
from mapping.networks.training import evaluate
from mapping.performance.workload import extract_workload
from studies.report import energy_summary

__all__ = ["COLUMNS", "precision_of", "compare"]

COLUMNS = ["model", "precision", "preset", "kbit_layers", "software_accuracy", "chips", "accuracy_mean", "accuracy_min",
           "accuracy_max", "energy_j", "energy_per_bit_j", "fps", "binary_macs", "logical_macs"]


def precision_of(model, input_shape) -> tuple[str, list[str]]:
    """``("binary" | "mixed" | "full", names of the k-bit optical layers)`` of ``model``."""
    work = extract_workload(model, tuple(input_shape))
    optical = [layer for layer in work.layers if layer.runs_on == "optical"]
    kbit = [layer.name for layer in optical if layer.passes > 1]
    if not optical:
        return "full", []
    return ("mixed" if kbit else "binary"), kbit


def compare(models: dict, accelerators: dict, dataset, *, chips: int, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """One row per (model, preset), columns :data:`COLUMNS`; ``models``: name -> torch model,
    ``accelerators``: name -> ``Accelerator``, ``dataset``: ``(images, labels)``."""
    images, labels = dataset
    input_shape = (1, *images.shape[1:])
    rows = []
    for model_name, model in models.items():
        precision, kbit = precision_of(model, input_shape)
        with torch.no_grad():
            software = evaluate(model.eval(), images, labels)
        for preset, acc in accelerators.items():
            e = energy_summary(model, acc, input_shape)
            if precision == "full":
                accuracy = pd.Series([software])
                n_chips = 0
            else:
                df = functional.simulate_accuracy(model, acc, dataset, chips=chips, seed=seed, progress=progress)
                accuracy, n_chips = df["accuracy"], chips
            rows.append({
                "model": model_name, "precision": precision, "preset": preset, "kbit_layers": " ".join(kbit),
                "software_accuracy": software, "chips": n_chips, "accuracy_mean": float(accuracy.mean()),
                "accuracy_min": float(accuracy.min()), "accuracy_max": float(accuracy.max()),
                "energy_j": e["energy_j"], "energy_per_bit_j": e["energy_per_bit_j"], "fps": e["fps"],
                "binary_macs": e["binary_macs"], "logical_macs": e["logical_macs"],
            })
    return pd.DataFrame(rows, columns=COLUMNS)
