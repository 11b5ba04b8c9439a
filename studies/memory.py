"""Memory estimate of a whole study run, checked before it starts (``accel.memory`` for the chip arrays).

One accelerator evaluated with ``chips > 0`` on ``images`` images peaks at about

    floorplan + max(nominal tuning, chip pipeline + functional simulator)

(``accel.memory``: the floorplan stays cached on the accelerator, the nominal tuning's and one
chip's arrays are transient). The functional simulator (``mapping.functional``) adds, per binary
layer of the model (K inputs per dot product, O outputs at L positions, n_chunks = ceil(K/N)):

* :data:`CELL_BYTES` = 128 per used cell, cells = min(units*M*N, replicas*O*n_chunks*N) with the
  scheduler's replicas (``mapping.performance.schedule.tiling``): the gathered coefficients
  (4 float64), their four masked copies, the float64 deviation weights and bias and the float32
  ones kept (a count of the dtypes in ``LayerCells.from_coefficients``, not measured), and
  :data:`KEPT_CELL_BYTES` = 40 per used cell for the work a chip's batches share
  (``LayerCells.kept``): its float32 effective and ideal weights and subset-sum tables (4 bytes
  per 2**5 subsets of 5 cells, 26), plus, where the chunks may take the deviation path
  (N from ``readout_noise._DEVIATION_MIN_BITS`` to ``PATTERN_BITS``), a byte per input pattern of
  a chunk and output for its lists of groups (2**N / N per cell; the listed groups themselves, 36
  bytes each, are not counted, as when they lived for one batch);
* :data:`STORED_BYTES_PER_ELEMENT` = 4 per image and activation element (the layers' inputs and
  outputs, Σ(in + out)), for the ideal chip's stored int8 inputs, int16/int32 sums and bool output
  signs of every image;
* :data:`BATCH_BYTES_PER_COLUMN` = 6 per image of a batch (at most
  ``mapping.functional.network.BATCH_IMAGES`` images) and column element Σ K·L, the unfolded inputs
  and float32 partial sums of a batch;
* the work on layer inputs kept from chip to chip (``mapping.functional.network._REUSE``, one
  accelerator at a time), per image and binary layer: one byte per (padded) input element, its
  sign bits, and :data:`KEPT_BYTES_PER_GROUPED_READOUT` = 12 per readout row and chunk where the
  chunks may take the deviation or the frequent-pattern path (N from
  ``readout_noise._DEVIATION_MIN_BITS`` to ``PATTERN_BITS``, or up to ``pattern_groups.MAX_BITS``
  at ``pattern_groups.MIN_ROWS`` rows or more per batch): the row's pattern key and its place in
  the sorted rows (int32 each), or on the frequent-pattern path its place in a group's rows (int32)
  or, for a rare pattern, its chunk and pattern (int32 + int64): at most 12 (counted from the
  arrays, not measured).

Calibration of the last two (peak RSS, ``mnist-cnn`` on ``robin-eo`` at units 400, after a
warm-up chip; its layers have Σ(in + out) = 22,208 and Σ K·L = 59,584 elements per image): 100, 2000
and 8000 images peak at 68, 694 and 1073 MB, i.e. 63 kB per stored image (2.8 B per element) and
284 kB per batched image (4.8 B per column element); the constants round those up. (The cached
output signs came later: one byte per output element, 12.8 kB per image there, about 3.4 B per
stored element, still within the constant; not re-measured. The deviation kernel's code changes,
two bytes per readout of a batch, came later too: 25 kB per image on that model's conv2; on 2000
images the peak rose from 1198 to 1268 MB on 2026-12-04, when the per-image rise over 100 images
was 213 kB, still within the constants.)

A study adds the floorplans its accelerators keep (``mc``: every preset's; ``sweep`` with chips:
up to ``mapping.functional._PREPARED_MAX`` - 1 earlier points' accelerators cached by the functional
simulator). With a Dask ``scheduler`` the tasks run on the workers, whose memory is not this
machine's: the run-level check is skipped there and each worker's chip-level checks
(``accel.memory``) still refuse what does not fit.
"""
from __future__ import annotations

import math

from accel import memory as _memory
from mapping.functional.network import BATCH_IMAGES
from mapping.functional.pattern_groups import MAX_BITS, MIN_ROWS
from mapping.functional.readout_noise import _DEVIATION_MIN_BITS, PATTERN_BITS
from mapping.performance.schedule import tiling

__all__ = ["CELL_BYTES", "KEPT_CELL_BYTES", "STORED_BYTES_PER_ELEMENT", "BATCH_BYTES_PER_COLUMN",
           "KEPT_BYTES_PER_GROUPED_READOUT", "functional_bytes", "accelerator_bytes", "check_run"]

#: Bytes per used cell of a layer in the functional simulator (module docstring).
CELL_BYTES = 128
#: Bytes per used cell of the work kept for a chip's batches (module docstring), besides CELL_BYTES.
KEPT_CELL_BYTES = 40
#: Bytes per image and activation element (inputs + outputs of the binary layers) stored for the whole dataset.
STORED_BYTES_PER_ELEMENT = 4
#: Bytes per image of a batch and column element (K x positions, summed over the binary layers).
BATCH_BYTES_PER_COLUMN = 6
#: Bytes kept per image, readout row and chunk of a layer whose chunks may take the deviation or
#: frequent-pattern path.
KEPT_BYTES_PER_GROUPED_READOUT = 12


def functional_bytes(config, folded, images: int) -> dict:
    """``{"layer cells": ..., "images": ...}``: estimated peak bytes the functional simulator adds for
    ``folded`` (a ``mapping.bnn.FoldedBNN``) on ``images`` images of accelerator ``config``."""
    n, m, u = int(config.N), int(config.M), int(config.units)
    cells = kept_cells = stored = columns = kept = 0
    for spec in folded.layers:
        out = tuple(spec.out_shape)
        positions = math.prod(out[1:]) if len(out) > 1 else 1
        t = tiling(spec.K, out[0], positions, n, m, u)
        used = int(t["replicas"]) * out[0] * int(t["n_chunks"]) * n
        planes = getattr(spec, "weight_bits", 1)  # a k-bit layer holds one set of cells per weight plane
        passes = planes * (getattr(spec, "act_bits", None) or 1)
        layer_cells = planes * min(u * m * n, used)
        cells += layer_cells
        kept_cells += layer_cells * (KEPT_CELL_BYTES + (2**n / n if _DEVIATION_MIN_BITS <= n <= PATTERN_BITS else 0))
        stored += math.prod(spec.in_shape) + math.prod(out)
        columns += passes * spec.K * positions  # every pass gathers its inputs
        if not hasattr(spec, "weight_bits"):  # a binary layer: its input's work may be kept
            pad = tuple(spec.padding) if spec.kind == "conv" else ()
            kept += math.prod(spec.in_shape[:1] + tuple(d + 2 * p for d, p in zip(spec.in_shape[1:], pad))
                              if pad else spec.in_shape)
            if (_DEVIATION_MIN_BITS <= n <= PATTERN_BITS
                    or (n <= MAX_BITS and min(images, BATCH_IMAGES) * positions >= MIN_ROWS)):
                kept += KEPT_BYTES_PER_GROUPED_READOUT * positions * int(t["n_chunks"])
    return {"layer cells": int(CELL_BYTES * cells + kept_cells),
            "images": images * (STORED_BYTES_PER_ELEMENT * stored + kept)
            + min(images, BATCH_IMAGES) * BATCH_BYTES_PER_COLUMN * columns}


def accelerator_bytes(config, folded=None, images: int = 0, chips: int = 0) -> dict:
    """Estimated peak of evaluating one accelerator: ``{"floorplan", "nominal tuning" | "chip
    pipeline" + functional parts}``, the larger of the two transient branches (module docstring)."""
    parts = {"floorplan": _memory.floorplan_bytes(config)}
    nominal = {"nominal tuning": _memory.nominal_tuning_bytes(config)}
    chip = {}
    if chips:
        chip = {"chip pipeline": _memory.chip_bytes(config), **functional_bytes(config, folded, images)}
    parts.update(chip if sum(chip.values()) > sum(nominal.values()) else nominal)
    return parts


def check_run(configs, what: str, *, folded=None, images: int = 0, chips: int = 0, kept_floorplans: int = 0,
              scheduler=None) -> int:
    """Refuse (``accel.memory.MemoryLimitError``) a run over ``configs`` (``{label: config}``) whose
    estimated peak exceeds ``accel.memory.available_bytes``: the largest single evaluation plus the
    floorplans of ``kept_floorplans`` other accelerators kept alive (the largest ones). Returns the
    estimate (bytes); no check with a Dask ``scheduler`` (module docstring)."""
    if scheduler is not None or not configs:
        return 0
    estimates = {label: accelerator_bytes(cfg, folded, images, chips) for label, cfg in configs.items()}
    label = max(estimates, key=lambda k: sum(estimates[k].values()))
    parts = dict(estimates[label])
    if kept_floorplans:
        others = sorted((_memory.floorplan_bytes(c) for k, c in configs.items() if k != label), reverse=True)
        parts["other floorplans"] = sum(others[:kept_floorplans])
    return _memory.check_fits(parts, f"{what} {label}" if what else label, configs[label])
