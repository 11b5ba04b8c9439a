"""Weight-stationary scheduling of a workload onto the VDUs; latency, energy and the report.

Tiling (one layer with dot-product length K, C output channels and P positions, i.e. output
elements per channel with the batch included; N, M, U = wavelengths per VDU, VDUs per unit,
units):

* K is cut into ``n_chunks = ceil(K/N)`` chunks of N (the last one shorter); chunk i covers
  elements ``[i*N, min((i+1)*N, K))``, element j of a chunk on channel j of its VDU.
* Output channels form ``n_groups = ceil(C/M)`` groups of M; output channel ``o`` uses VDU
  ``o % M`` of its unit, so a unit's M VDUs hold M weight vectors and, when they belong to one
  convolution group, share one activation chunk (one buffer read, broadcast to their
  activation rings).
* A (group, chunk) task occupies one unit; tasks are numbered ``g = group*n_chunks + chunk``
  (all chunks of a group adjacent, so partial sums complete early). With ``G`` tasks:
  if ``G >= U`` task g runs on unit ``g % U`` in round ``g // U`` (``rounds = ceil(G/U)``,
  one replica); else it is replicated on ``R = min(U // G, P)`` units (replica r on unit
  ``r*G + g``) and position p runs on replica ``p % R``.
* Each round: load the weights (the weight ring's reload time, ``xnor_cell.program_weight``
  latency; nothing for streamed-weight cells), then
  stream the positions, one per cycle: ``cycles = rounds * ceil(P/R)`` at the bit rate. This is
  the layer's optical time, ``optical_s = cycles / bit rate + weight_reloads * reload time``.
* K <= N (a binary layer with a sign output; k-bit layers below): the comparator decides each dot product directly (threshold from a DAC per loaded
  VDU); no partial sums, the layer's time is its optical time.
* K > N: every chunk result is digitised (ADC, ``ceil(log2(N+1))`` bits) and added into its dot
  product's partial sum by an accumulator (``accel.components.accumulator``) of the VDU that
  produced it; the first chunk's result starts the sum, so a dot product costs
  ``n_chunks - 1`` adds, and a VDU adds one result per position it serves in every round whose
  task is not a chunk 0. The completed sum is compared digitally with the threshold. The
  accumulators run concurrently with the optical cycles and the weight reloads (chunk results
  queue between the ADC and the accumulator; queue depth, pipeline fill and drain are not
  modelled), so the layer takes ``max(optical_s, accumulation_s)``, where ``accumulation_s`` is
  the adds on the busiest VDU (:func:`busiest_vdu_adds`) over that VDU's add rate,
  ``accumulators_per_vdu * accumulator_adds_per_ns``. ``rep.layers.bound`` says which term
  won (``"optical"`` or ``"accumulator"``; ``"electronic"`` for electronic records, ``"none"``
  for folded ones). A K > N layer whose largest partial sum, a popcount of K, does not fit
  ``electronics.accumulator_bits`` is refused (ValueError naming the layer).

k-bit layers (``LayerWork.quantized``: ``act_bits = k_a``-bit activation codes x ``weight_bits
= k_w``-bit weights, ``mapping.networks.quant``) run as ``passes = k_a * k_w`` binary passes,
one per (activation plane, weight plane) pair, on the tiling of a binary layer of the same (K,
C, P): the same VDUs, time-multiplexed. In each round every weight plane is loaded in turn
(``k_w`` loads per round) and the ``k_a`` activation planes of every position stream through
it, so ``cycles = tiling cycles * passes`` and ``weight_reloads = rounds * k_w`` (none for
streamed weights). Every pass result is digitised (ADC, even when K <= N: no comparator and no
threshold DAC) and added, shifted by ``i + j`` (wiring), into its dot product's accumulator; the
first starts it, so a dot product costs ``n_chunks * passes - 1`` adds, and a VDU adds
``passes`` results per position it serves in a round, less one on a chunk-0 task
(:func:`busiest_vdu_adds`). The Σw correction of the unsigned activation planes is a constant
per output channel folded into the digital thresholds (no runtime adds). The accumulator holds
the signed sum ``|A| <= K (2^k_a - 1)(2^k_w - 1)``; a k-bit layer with partial sums whose bound
does not fit ``electronics.accumulator_bits`` (one bit for the sign) is refused (ValueError
naming the layer). Latency is that of a binary layer with these cycles, reloads and adds.

Output precision (``LayerWork.out_bits``, from the activation after the layer): a sign writes 1
bit, an ``ActQuant`` of k bits writes the k-bit code, found among its ``2^k - 1`` sorted
per-channel thresholds by binary search: ``k`` digital compares per output, each deciding one
bit of the code, MSB first (rather than ``2^k - 1`` compares against every threshold). A k-bit
layer with no activation after it (the network's output) writes its raw integer, ``bit_length(K
(2^k_a - 1)(2^k_w - 1)) + 1`` bits, with no compares. A binary layer whose output is a k-bit
code (``out_bits > 1``, a binary layer feeding a k-bit one) digitises its chunk results with
the ADC like a K > N layer.

EPB divides the energy by the binary MACs, the XNOR-popcount bit operations the engine performs:
``dot_products * K * passes`` (so it stays the energy per binary MAC); ``logical_macs`` (``D*K``,
MACs at the layer's own precision) and ``dot_products`` are reported beside it.

Electronic operations (pooling, residual additions, electronic layers) run on the electronic
engine, one after the other with the optical layers: latency ``ops/ops_per_s + macs/macs_per_s``.

Activation reads. Output channel ``o`` of a convolution with ``groups`` groups reads only the
inputs of its group ``o // (C/groups)``. One buffer read of a chunk feeds the VDUs of a unit
that belong to one convolution group, so every (VDU group, convolution group) pair that shares
an output channel reads the group's K activations once per position. The VDU groups cut
``[0, C)`` at the multiples of M, the convolution groups at the multiples of ``C/groups``; the
pairs are the pieces of both cuts together, ``pairs = ceil(C/M) + groups - ceil(C/lcm(M,
C/groups))`` (cuts at common multiples counted once). ``groups = 1`` gives ``ceil(C/M)`` (one
read per unit task), depthwise (``C/groups = 1``) gives C (one read per output channel).
Activation reads of a layer: ``P * K * pairs`` bits (:func:`activation_read_pairs`).

The scheduler counts, per layer, the actions of ``accelerator.components`` (keys
``"component.action"``); energy per breakdown category is static power x latency plus
count x action energy (``accel.components.Components.energy_j``). Counts of an optical layer
(D = C*P dot products, ``passes`` = k_a*k_w, 1 for a binary layer): ``xnor_cell.modulate``
D*K*passes activation bits; ``xnor_cell.program_weight`` C*K*R*k_w (every weight plane loaded
once per replica; D*K*passes for streamed weights); ``comparator.convert`` D decisions (binary,
K <= N, sign output) or ``adc.convert`` D*n_chunks*passes conversions (otherwise);
``dac.convert`` one threshold per loaded VDU (comparator layers); ``accumulator.accumulate``
D*(n_chunks*passes - 1) partial-sum adds and ``electronics.compare`` D*out_bits digital
threshold compares (ADC layers); ``buffer.read`` of ``P*K*pairs*passes`` activation bits (the
k_a planes of every position, read again for each of the k_w weight planes of a round) and of
every weight bit written, ``buffer.write`` of ``out_bits`` (or the raw integer's width) per dot
product. Electronic conv/linear layers count
``electronics.mac`` plus buffer reads of inputs and weights and writes of outputs at
``value_bits``; other electronic operations count ``electronics.op`` on data in flight.
Static power (laser, tuning, common-mode tracking, receiver bias) is drawn for the whole latency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from accel import Accelerator
from accel.components import CATEGORIES
from mapping.performance.workload import Workload, extract_workload
from photonics.validation import check_int, check_range

__all__ = ["COMPONENTS", "tiling", "busiest_vdu_adds", "activation_read_pairs", "VduAssignment", "assign_vdus",
           "schedule_workload", "MappingReport", "map_model"]

COMPONENTS = CATEGORIES
"""Energy breakdown keys (``accel.components.CATEGORIES``); ``laser``, ``tuning`` and
``common_mode`` are static (power x latency), the rest dynamic."""


def _ceil_div(a, b):
    return -(-a // b)


def tiling(k, out_channels, positions, n, m, units) -> dict[str, np.ndarray]:
    """Tiling counts (module docstring), NumPy-broadcast over all arguments (int64 arrays).

    Returns ``n_chunks``, ``n_groups``, ``tasks``, ``replicas``, ``rounds``,
    ``cycles_per_round``, ``cycles``.
    """
    k, c, p, n, m, u = (np.asarray(v, dtype=np.int64) for v in (k, out_channels, positions, n, m, units))
    n_chunks = _ceil_div(k, n)
    n_groups = _ceil_div(c, m)
    tasks = n_chunks * n_groups
    replicas = np.where(tasks >= u, 1, np.minimum(u // np.maximum(tasks, 1), p))
    rounds = _ceil_div(tasks, u)
    cycles_per_round = _ceil_div(p, replicas)
    return {
        "n_chunks": n_chunks, "n_groups": n_groups, "tasks": tasks, "replicas": replicas, "rounds": rounds,
        "cycles_per_round": cycles_per_round, "cycles": rounds * cycles_per_round,
    }


def busiest_vdu_adds(k, out_channels, positions, n, m, units, passes=1) -> np.ndarray:
    """Partial-sum adds falling on the busiest VDU of a layer (module docstring), NumPy-broadcast
    over all arguments like :func:`tiling` (int64 array); ``passes``: bit-plane passes of a k-bit
    layer, ``act_bits * weight_bits`` (1 for a binary layer).

    In a round, a VDU returns ``passes`` results per position it serves (each of the
    ``weight_bits`` weight planes loaded in turn, the ``act_bits`` activation planes of every
    position streamed through each) and adds every one into its dot product's partial sum except
    the dot product's very first result (chunk 0, first pass). VDU 0 of a unit serves every task
    on that unit (every group has an output channel on it), so the busiest VDU is a VDU 0: on
    unit u, ``T(u) = #{g < G: g % U == u}`` tasks of which ``Z(u) = #{i < n_groups: (i*n_chunks)
    % U == u}`` are chunk 0, each serving ``cycles_per_round`` positions at most (replica 0 of a
    replicated task). Result: ``cycles_per_round * max_u (passes * T(u) - Z(u))``, 0 when
    ``n_chunks * passes == 1``.
    """
    t = tiling(k, out_channels, positions, n, m, units)
    shape = np.broadcast_shapes(t["tasks"].shape, np.shape(passes))
    nc, ng, tasks, cpr = (np.broadcast_to(t[key], shape) for key in ("n_chunks", "n_groups", "tasks", "cycles_per_round"))
    u_all = np.broadcast_to(np.asarray(units, dtype=np.int64), shape)
    pi_all = np.broadcast_to(np.asarray(passes, dtype=np.int64), shape)
    out = np.zeros(shape, dtype=np.int64)
    for idx in np.ndindex(shape):
        if nc[idx] * pi_all[idx] <= 1:
            continue
        u, g, c, groups = int(u_all[idx]), int(tasks[idx]), int(nc[idx]), int(ng[idx])
        q, r = divmod(g, u)
        per_unit = np.full(u, q, dtype=np.int64)
        per_unit[:r] += 1
        per_unit *= int(pi_all[idx])
        per_unit -= np.bincount((np.arange(groups, dtype=np.int64) * c) % u, minlength=u)
        out[idx] = int(cpr[idx]) * int(per_unit.max())
    return out


def activation_read_pairs(out_channels, groups, m) -> np.ndarray:
    """(VDU group, convolution group) pairs sharing an output channel, ``ceil(C/M) + groups -
    ceil(C/lcm(M, C/groups))`` (module docstring); each reads its group's K activations once
    per position. NumPy-broadcast (int64); ``groups`` must divide ``out_channels``."""
    c, g, m = (np.asarray(v, dtype=np.int64) for v in (out_channels, groups, m))
    return _ceil_div(c, m) + g - _ceil_div(c, np.lcm(m, c // g))


@dataclass(frozen=True, eq=False)
class VduAssignment:
    """Where each (output channel, K-chunk) of one layer runs.

    ``unit``/``vdu``: (out_channels, n_chunks, replicas) int64; position p of the layer uses
    replica ``p % replicas`` (:meth:`replica_of`). ``round``: (out_channels, n_chunks) weight
    round. ``chunk_start``/``chunk_len``: (n_chunks,) slice of K on channels ``0..chunk_len-1``.
    """

    out_channels: int
    k: int
    positions: int
    n_chunks: int
    n_groups: int
    replicas: int
    rounds: int
    cycles_per_round: int
    chunk_start: np.ndarray
    chunk_len: np.ndarray
    unit: np.ndarray
    vdu: np.ndarray
    round: np.ndarray

    def replica_of(self, position):
        """Replica index serving ``position`` (int or int array)."""
        return np.asarray(position) % self.replicas


def assign_vdus(accelerator: Accelerator, *, out_channels: int, k: int, positions: int = 1) -> VduAssignment:
    """Map each (output channel, K-chunk) of a layer to (unit, vdu) - the one mapping used by the
    scheduler and by ``mapping.functional`` (module docstring)."""
    if not isinstance(accelerator, Accelerator):
        raise TypeError(f"accelerator must be an accel.Accelerator, got {type(accelerator).__name__}")
    c = check_int("out_channels", out_channels, lo=1)
    k = check_int("k", k, lo=1)
    p = check_int("positions", positions, lo=1)
    n, m, u = accelerator.N, accelerator.M, accelerator.units
    t = {key: int(v) for key, v in tiling(k, c, p, n, m, u).items()}
    oc = np.arange(c)[:, None, None]
    chunk = np.arange(t["n_chunks"])[None, :, None]
    rep = np.arange(t["replicas"])[None, None, :]
    task = (oc // m) * t["n_chunks"] + chunk
    if t["tasks"] >= u:
        unit = np.broadcast_to(task % u, (c, t["n_chunks"], 1))
    else:
        unit = rep * t["tasks"] + task
    chunk_start = np.arange(t["n_chunks"], dtype=np.int64) * n
    arrays = {
        "chunk_start": chunk_start,
        "chunk_len": np.minimum(chunk_start + n, k) - chunk_start,
        "unit": np.ascontiguousarray(unit, dtype=np.int64),
        "vdu": np.ascontiguousarray(np.broadcast_to(oc % m, unit.shape), dtype=np.int64),
        "round": np.ascontiguousarray(task[:, :, 0] // u, dtype=np.int64),
    }
    for arr in arrays.values():
        arr.setflags(write=False)
    return VduAssignment(
        out_channels=c, k=k, positions=p, n_chunks=t["n_chunks"], n_groups=t["n_groups"], replicas=t["replicas"],
        rounds=t["rounds"], cycles_per_round=t["cycles_per_round"], **arrays,
    )


def schedule_workload(workload: Workload, accelerator: Accelerator, tuning_power_w: float | None = None) -> dict:
    """Per-layer counts, action counts (``actions``, keyed ``"component.action"``), latency (s:
    ``optical_s``, ``accumulation_s`` and their maximum ``latency_s`` for optical layers), the
    ``bound`` of each record and energy (J) by category, as column arrays (whole batch).

    Raises ValueError for a layer whose ``groups`` does not divide its ``out_channels`` or whose
    partial sum (K > N, or a k-bit layer's signed sum when it has partial sums) does not fit
    ``electronics.accumulator_bits``."""
    a = workload.arrays
    cfg = accelerator.config
    comps = accelerator.components
    cell, engine, acc = comps.xnor_cell, comps.electronics, comps.accumulator
    streamed = cell.weights_streamed
    static = comps.static_power_w(tuning_power_w)
    n, m, u = cfg.N, cfg.M, cfg.units
    opt = a["optical"]
    k = np.where(opt, a["k"], 1)
    c = np.where(opt, a["out_channels"], 1)
    p = np.where(opt, a["positions"], 1)
    groups = np.where(opt, a["groups"], 1)
    quant = opt & a["quantized"]
    ka, kw = np.where(opt, a["act_bits"], 1), np.where(opt, a["weight_bits"], 1)
    passes = ka * kw
    out_bits = np.where(opt, a["out_bits"], 1)
    t = tiling(k, c, p, n, m, u)
    # The comparator decides only a binary, single-chunk dot product whose output is a sign; all others digitise.
    digital = opt & ((k > n) | quant | (out_bits != 1))
    for i in np.nonzero(opt)[0]:
        layer = workload.layers[i]
        if groups[i] < 1 or c[i] % groups[i]:
            raise ValueError(f"layer {layer.name!r}: groups={int(groups[i])} does not divide out_channels={int(c[i])}; "
                             "allowed: groups >= 1 dividing out_channels")
        if quant[i] and t["n_chunks"][i] * passes[i] > 1:
            acc.check_fits(int(k[i]), layer.name, act_bits=int(ka[i]), weight_bits=int(kw[i]))
        elif not quant[i] and k[i] > n:
            acc.check_fits(int(k[i]), layer.name)
    dots = np.where(opt, a["dot_products"], 0)
    macs = dots * k
    binary_macs = macs * passes
    reps = t["replicas"]
    cycles = np.where(opt, t["cycles"] * passes, 0)
    rounds = np.where(opt, t["rounds"], 0)
    integer_bits = np.array([(int(x) * ((1 << int(y)) - 1) * ((1 << int(z)) - 1)).bit_length() + 1
                             for x, y, z in zip(k, ka, kw)], dtype=np.int64)  # a signed |A| <= K(2^ka-1)(2^kw-1)
    write_bits = np.where(out_bits > 0, out_bits, integer_bits)
    counts = {
        "cycles": cycles,
        "weight_reloads": np.zeros(len(opt), dtype=np.int64) if streamed else rounds * kw,
        "adc_conversions": np.where(digital, dots * t["n_chunks"] * passes, 0),
        "comparator_decisions": np.where(opt & ~digital, dots, 0),
        "dac_conversions": np.where(opt & ~digital, c * reps, 0),
        "partial_sum_adds": np.where(opt, dots * (t["n_chunks"] * passes - 1), 0),
        "partial_sum_adds_per_vdu": np.where(opt, busiest_vdu_adds(k, c, p, n, m, u, passes), 0),
        "vdu_cycles": np.where(opt, dots * t["n_chunks"] * passes, 0),
        "weight_ring_writes": np.where(opt, binary_macs if streamed else c * k * reps * kw, 0),
        "activation_read_bits": np.where(opt, p * k * activation_read_pairs(c, groups, m) * passes, 0),
    }
    el = a["electronic"]
    optical_s = np.where(
        opt,
        cycles * cell.actions["modulate"].latency_s + counts["weight_reloads"] * cell.actions["program_weight"].latency_s,
        0.0,
    )
    accumulation_s = counts["partial_sum_adds_per_vdu"] / acc.adds_per_s_per_vdu
    latency = np.where(
        opt, np.maximum(optical_s, accumulation_s),
        np.where(el, a["ops"] / engine.ops_per_s + a["macs"] / engine.macs_per_s, 0.0),
    )
    bound = np.where(opt, np.where(accumulation_s > optical_s, "accumulator", "optical"),
                     np.where(el, "electronic", "none")).astype(object)
    vb = engine.value_bits
    el_mem_bits = np.where(el & (a["macs"] > 0), (a["in_numel"] + a["weight_numel"]) * vb, 0)
    el_write_bits = np.where(el & (a["macs"] > 0), a["out_numel"] * vb, 0)
    actions = {
        "xnor_cell.modulate": binary_macs,
        "xnor_cell.program_weight": counts["weight_ring_writes"],
        "comparator.convert": counts["comparator_decisions"],
        "adc.convert": counts["adc_conversions"],
        "dac.convert": counts["dac_conversions"],
        "buffer.read": counts["activation_read_bits"] + counts["weight_ring_writes"] + el_mem_bits,
        "buffer.write": dots * write_bits + el_write_bits,
        "accumulator.accumulate": counts["partial_sum_adds"],
        "electronics.compare": np.where(digital, dots * out_bits, 0),
        "electronics.op": np.where(el, a["ops"], 0),
        "electronics.mac": np.where(el, a["macs"], 0),
    }
    energy = comps.energy_j(actions, latency, static)
    util = np.full(len(opt), np.nan)
    util[opt] = binary_macs[opt] / (n * m * u * cycles[opt])
    return {
        **counts, "n_chunks": np.where(opt, t["n_chunks"], 0), "rounds": rounds, "replicas": np.where(opt, reps, 0),
        "passes": np.where(opt, passes, 0), "binary_macs": binary_macs, "logical_macs": macs, "optical_s": optical_s, "accumulation_s": accumulation_s, "latency_s": latency,
        "bound": bound, "utilisation": util, "actions": actions, "energy": energy, "static_power_w": static,
    }


@dataclass(frozen=True, eq=False)
class MappingReport:
    """Result of :func:`map_model`. Totals are per inference (the traced batch divided by
    ``batch``) except ``latency_s`` (of the whole batch); ``layers`` rows cover the whole batch.

    ``binary_macs`` (the EPB denominator) counts bit-plane passes of k-bit layers; ``logical_macs``
    counts their MACs at their own precision (equal for a BNN). ``breakdown`` sums to ``energy_j``; ``laser``, ``tuning``, ``common_mode`` and ``receiver`` bias
    are the static part (``static_power_w`` x latency), the rest dynamic. ``notes``: ``(layer,
    reason)`` of every layer scheduled with an approximation (also the ``note`` column of ``layers``).
    """

    accelerator: str
    input_shape: tuple
    batch: int
    latency_s: float
    fps: float
    energy_j: float
    energy_per_bit_j: float
    binary_macs: int
    power_w: float
    breakdown: dict[str, float]
    static_power_w: dict[str, float]
    static_energy_j: float
    dynamic_energy_j: float
    utilisation: float
    flagged_layers: tuple[str, ...]
    layer_columns: dict = field(repr=False)
    notes: tuple[tuple[str, str], ...] = ()
    logical_macs: int = 0

    @cached_property
    def layers(self) -> pd.DataFrame:
        """One row per workload record: counts (with ``weight_bits``, ``act_bits``, ``passes``,
        ``out_bits``, ``binary_macs`` and ``logical_macs``), cycles, latency (``optical_s``, ``accumulation_s``,
        ``latency_s`` and the ``bound``: ``"optical"``, ``"accumulator"``, ``"electronic"`` or
        ``"none"``), one ``"component.action"`` column per action with its count, energy by
        category, utilisation."""
        return pd.DataFrame(self.layer_columns)

    @property
    def fps_per_w(self) -> float:
        return self.fps / self.power_w

    def summary(self) -> dict:
        """Scalar fields and the breakdown as one flat dict (``energy_<component>_j``)."""
        out = {
            k: getattr(self, k)
            for k in ("accelerator", "batch", "latency_s", "fps", "energy_j", "energy_per_bit_j", "binary_macs", "power_w",
                      "static_energy_j", "dynamic_energy_j", "utilisation")
        }
        out["fps_per_w"] = self.fps_per_w
        out.update({f"energy_{k}_j": v for k, v in self.breakdown.items()})
        return out


def map_model(model, accelerator: Accelerator, input_shape=None, *, tuning_power_w: float | None = None,
              batch: int | None = None) -> MappingReport:
    """Schedule ``model`` on ``accelerator``: a torch module (traced on ``input_shape``, batch first)
    or a ready :class:`~mapping.performance.workload.Workload` (e.g. from a layer table,
    ``mapping.from_table``; ``input_shape`` then None or the workload's own).

    ``tuning_power_w``: a chip's tuning power (e.g. from a Monte Carlo run) replacing the
    nominal value of ``accelerator.components.tuner``. ``batch``: images per inference, replacing
    the batch dimension of ``input_shape`` or of the workload (which must then be 1 or ``batch``;
    ``Workload.with_batch``). Each round's weights are loaded once and serve every image of the
    batch, so FPS and EPB improve with it (``MappingReport.batch``; energy and EPB are per image).
    """
    if not isinstance(accelerator, Accelerator):
        raise TypeError(f"accelerator must be an accel.Accelerator, got {type(accelerator).__name__}")
    if tuning_power_w is not None:
        tuning_power_w = check_range("tuning_power_w", tuning_power_w, 0.0, None, unit="W")
    if batch is not None:
        batch = check_int("batch", batch, lo=1, hi=1 << 20)
    if isinstance(model, Workload):
        if input_shape is not None and tuple(input_shape) != model.input_shape:
            raise ValueError(f"input_shape={tuple(input_shape)} differs from the workload's {model.input_shape}; "
                             "allowed: None (a workload carries its own input shape; use batch= for the batch)")
        workload = model
        if batch is not None:
            if model.batch not in (1, batch):
                raise ValueError(f"batch={batch} and the workload's batch {model.batch} disagree; allowed: a "
                                 f"workload of batch 1 or {batch}, or batch=None")
            workload = model.with_batch(batch)
    else:
        if input_shape is None:
            raise TypeError("input_shape is required to trace a torch module (batch first, e.g. (1, 1, 28, 28))")
        if batch is not None:
            shape = tuple(input_shape)
            if not shape or shape[0] not in (1, batch):
                raise ValueError(f"batch={batch} and input_shape={shape} (batch {shape[0] if shape else None}) "
                                 f"disagree; allowed: input_shape with batch 1 or {batch}, or batch=None")
            input_shape = (batch, *shape[1:])
        workload = extract_workload(model, input_shape)
    s = schedule_workload(workload, accelerator, tuning_power_w)
    batch = workload.batch
    latency = float(s["latency_s"].sum())
    breakdown = {comp: float(s["energy"][comp].sum()) / batch for comp in COMPONENTS}
    energy = float(sum(breakdown.values()))
    binary_macs = workload.binary_macs // batch
    peak_cycles = float(s["cycles"].sum())
    a = workload.arrays
    columns = {
        "name": [layer.name for layer in workload.layers],
        "kind": [layer.kind for layer in workload.layers],
        "runs_on": a["runs_on"],
        "binary": [layer.binary for layer in workload.layers],
        "flagged": [layer.flagged for layer in workload.layers],
        "note": [layer.note for layer in workload.layers],
        "k": a["k"], "out_channels": a["out_channels"], "positions": a["positions"], "dot_products": a["dot_products"],
        "groups": a["groups"], "weight_bits": a["weight_bits"], "act_bits": a["act_bits"], "passes": s["passes"],
        "out_bits": a["out_bits"], "binary_macs": s["binary_macs"], "logical_macs": s["logical_macs"],
        "electronic_ops": a["ops"], "electronic_macs": a["macs"],
        "n_chunks": s["n_chunks"], "rounds": s["rounds"], "replicas": s["replicas"], "cycles": s["cycles"],
        "weight_reloads": s["weight_reloads"], "adc_conversions": s["adc_conversions"],
        "comparator_decisions": s["comparator_decisions"], "partial_sum_adds": s["partial_sum_adds"],
        "partial_sum_adds_per_vdu": s["partial_sum_adds_per_vdu"], "activation_read_bits": s["activation_read_bits"],
        "utilisation": s["utilisation"], "optical_s": s["optical_s"], "accumulation_s": s["accumulation_s"],
        "latency_s": s["latency_s"], "bound": s["bound"],
        **s["actions"],
        "energy_j": sum(s["energy"].values()),
        **{f"energy_{comp}_j": s["energy"][comp] for comp in COMPONENTS},
    }
    static_energy = sum(breakdown[c] for c in s["static_power_w"])
    cfg = accelerator.config
    return MappingReport(
        accelerator=cfg.name,
        input_shape=workload.input_shape,
        batch=batch,
        latency_s=latency,
        fps=batch / latency if latency > 0 else float("inf"),
        energy_j=energy,
        energy_per_bit_j=energy / binary_macs if binary_macs else float("nan"),
        binary_macs=binary_macs,
        power_w=energy * batch / latency if latency > 0 else float("nan"),
        breakdown=breakdown,
        static_power_w=s["static_power_w"],
        static_energy_j=static_energy,
        dynamic_energy_j=energy - static_energy,
        utilisation=workload.binary_macs / (cfg.N * cfg.M * cfg.units * peak_cycles) if peak_cycles else float("nan"),
        flagged_layers=workload.flagged,
        layer_columns=columns,
        notes=workload.notes,
        logical_macs=workload.logical_macs // batch,
    )
