"""Hardware-faithful BNN inference on a ROBIN-style optical accelerator, chip by chip.

Chip state (:func:`sample_chip_state`): the accelerator's chip pipeline
(``Accelerator.sample_chip``, :mod:`accel.chip`) draws variation, tunes each bank and leaves
residual detunings, from which ``accel.components.XnorCell`` computes each cell's
``c(a, w) = α + β·a + γ·w + δ·a·w`` (neighbour-channel leakage included). The receiver
calibration (``XnorCell.calibrated``) removes the nominal cell's offsets and gain.

Conditions: ``variation`` / ``tuning`` / ``noise`` (None: the preset's, False: off, or a
settings object) or one ``conditions=`` (:class:`accel.conditions.Conditions`).

Inference (:func:`predict`; :func:`simulate_outputs` for the output tensor): every binary dot
product is mapped to physical cells (unit, VDU, channel) by
``mapping.performance.schedule.assign_vdus`` - K split into chunks of N, chunk element j on
channel j, position ``l`` of an image on replica ``l % replicas``. Each layer then runs as a
linear layer with per-cell weights and offsets (:mod:`mapping.functional.layer`), with
receiver shot/thermal noise per readout (``accel.components.Receiver.noise_sigma``), an
ADC of ``accel.components.Adc.bits`` bits per chunk when K > N (partial sums added
digitally) or the comparator when K <= N, and the folded BatchNorm threshold. Activation rings see their input
bit every cycle; weight rings hold theirs for a tile (so cells are fixed per (output, chunk)
and noise is drawn per readout). Multi-bit layers (k_a-bit codes × k_w-bit weights) run as
k_a·k_w ±1 bit-plane passes on the same cells, each readout through the noise and the ADC
(always, also when K <= N), shift-added in the back end (:mod:`mapping.functional.multibit`).
The ideal chip (``chip_sample=None``) has α = β = γ = 0, δ = 1; without noise it reproduces
the software BNN exactly.

Memory: a chip's batches allocate and free arrays of hundreds of MB; :func:`keep_freed_memory`
(:mod:`mapping.functional.allocator`, called by the ``robinsim`` command) lets glibc's malloc
reuse their pages instead of faulting them in anew (12 chips of the three default presets: 44 s -> 27 s).

Randomness: chip ``k`` of seed ``s`` uses ``photonics.variation.chip_seed_sequence(s, k)`` for
its variation and an independent child of it (``accel.chip.chip_stream``) for the receiver
noise, so any chip can be re-run alone with the same result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from accel import Accelerator
from accel.chip import ChipSample, chip_stream
from accel.conditions import Conditions, NoiseSettings, VariationSettings
from accel.config import AcceleratorConfig
from mapping.networks.folding import FoldedBNN, export_binary
from mapping.networks.data import N_CLASSES, check_dataset
from mapping.functional.allocator import keep_freed_memory
from mapping.functional.layer import Adc, LayerCells, LayerGeometry
from mapping.functional.network import IdealRun, Network, run_chip
from photonics.validation import check_int, check_seed

__all__ = [
    "Conditions",
    "VariationSettings",
    "NoiseSettings",
    "ChipSample",
    "sample_chip_state",
    "predict",
    "simulate_outputs",
    "simulate_chip",
    "simulate_accuracy",
    "keep_freed_memory",
]

#: Spawn-key suffix of a chip's receiver-noise stream (``accel.chip.chip_stream``).
_NOISE_STREAM = 0x6E6F697365
#: Noise streams per chip (:func:`simulate_outputs`): keys ``_NOISE_STREAM + stream``, far from the other keys.
_MAX_STREAMS = 1 << 16


# ------------------------------------------------------------------------------ validation
def _check_accelerator(accelerator) -> Accelerator:
    if isinstance(accelerator, AcceleratorConfig):
        accelerator = Accelerator(accelerator)
    if not isinstance(accelerator, Accelerator):
        raise TypeError(f"accelerator must be an accel.Accelerator (or AcceleratorConfig), got {type(accelerator).__name__}")
    return accelerator


def _check_model(model) -> FoldedBNN:
    if isinstance(model, FoldedBNN):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch BNN (nn.Module) or a mapping.bnn.FoldedBNN, got {type(model).__name__}")
    return export_binary(model)


def _check_images(images, folded: FoldedBNN) -> torch.Tensor:
    shape = ", ".join(map(str, folded.input_shape))
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a floating-point torch.Tensor of shape (B, {shape}), got {type(images).__name__}")
    if not images.is_floating_point():
        raise TypeError(f"images must be a floating-point torch.Tensor of shape (B, {shape}), got dtype {images.dtype}"
                        + ("; allowed: float images scaled and normalised as in training (e.g. uint8 / 255, then the "
                           "training normalisation)" if images.dtype == torch.uint8 else ""))
    if images.dim() != len(folded.input_shape) + 1 or tuple(images.shape[1:]) != folded.input_shape or len(images) == 0:
        raise ValueError(f"images must have shape (B, {shape}) with B >= 1, got {tuple(images.shape)}")
    finite = torch.isfinite(images)
    if not bool(finite.all()):
        first = int((~finite).reshape(len(images), -1).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"images hold {int((~finite).sum())} non-finite values (NaN or inf), the first in image {first}; "
                         "allowed: finite values only")
    return images.float()


def _check_dataset(dataset, folded: FoldedBNN) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(dataset, torch.utils.data.TensorDataset) and len(dataset.tensors) == 2:
        images, labels = dataset.tensors
    elif isinstance(dataset, torch.utils.data.Dataset):
        items = [dataset[i] for i in range(len(dataset))]
        if not items:
            raise ValueError("dataset must hold at least one (image, label) item, got 0")
        images = torch.stack([torch.as_tensor(x) for x, _ in items])
        labels = torch.as_tensor([int(y) for _, y in items], dtype=torch.int64)
    elif isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        images, labels = dataset
    else:
        raise TypeError(f"dataset must be an (images, labels) pair of tensors or a torch Dataset, got {type(dataset).__name__}")
    _check_images(images, folded)
    return check_dataset(images.float(), labels, n_classes=N_CLASSES, image_shape=folded.input_shape)


# ------------------------------------------------------------------------------ chip state
def sample_chip_state(accelerator, *, seed, chip, variation=None, tuning=None, conditions=None) -> ChipSample:
    """Sample chip ``chip`` of run ``seed``: variation, tuning, residuals, cell coefficients
    (``Accelerator.sample_chip``).

    ``variation``: None (the preset's models), False (every ring on its design resonance) or a
    :class:`VariationSettings`; ``tuning``: None (the preset's model, the one its nominal
    tuning power uses), False (no tuning: each ring stays at its varied resonance, taken
    modulo its FSR) or a ``TuningModel``; or ``conditions`` (:class:`Conditions`) instead of
    both. With tuning off, ``rings_out_of_range`` counts rings more than half a linewidth from
    their channel.
    """
    acc = _check_accelerator(accelerator)
    seed = check_seed("seed", seed)
    chip = check_int("chip", chip, lo=0)
    return acc.sample_chip(seed, chip, Conditions.of(conditions, variation=variation, tuning=tuning))


def _noise_rngs(seed: int, chip: int, stream: int = 0) -> tuple[np.random.Generator, torch.Generator]:
    sparse, dense = chip_stream(seed, chip, _NOISE_STREAM + stream).spawn(2)
    return np.random.default_rng(sparse), torch.Generator().manual_seed(int(dense.generate_state(1, np.uint64)[0] >> 1))


# ------------------------------------------------------------------------------ receiver
@dataclass(frozen=True)
class _Readout:
    """Receiver side of one run: ADC and noise std per readout length."""

    adc: Adc
    sigma_by_cells: np.ndarray  # index n - 1, n = 1..max readout length
    scale: float

    @classmethod
    def build(cls, acc: Accelerator, noise, max_cells: int) -> "_Readout":
        """``noise``: resolved (``NoiseSettings`` or False: no noise, the accelerator's ADC)."""
        settings = NoiseSettings() if noise is False else noise
        receiver = acc.components.receiver
        adc = Adc(settings.adc_bits or acc.components.adc.bits, acc.N)
        if noise is False or settings.scale == 0:
            return cls(adc, np.zeros(max_cells), 0.0)
        power = settings.received_power_w or acc.components.laser.budget.power_at_detector_per_wavelength_w
        sigma = np.array([receiver.noise_sigma(power, n) for n in range(1, max_cells + 1)]) * settings.scale
        return cls(adc, sigma, settings.scale)

    def sigma(self, geometry: LayerGeometry) -> np.ndarray:
        lengths = np.array([geometry.k]) if geometry.comparator else geometry.chunk_lengths()
        return self.sigma_by_cells[lengths - 1]


def _layer_cells(net: Network, coefficients: np.ndarray | None, readout: _Readout) -> dict[str, tuple[LayerCells, ...]]:
    """Per-layer cells of one chip, one per geometry (weight plane); ``coefficients`` calibrated
    (units, M, N, 4), None = ideal."""
    out = {}
    for name, geos in net.geometries.items():
        g = geos[0]
        if coefficients is None:
            coef = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64).expand(1, g.out_features, g.n_chunks, g.chunk, 4)
        else:
            unit, vdu = net.cells_index[name]
            coef = torch.from_numpy(coefficients[unit, vdu])  # (R, O, C, N, 4)
        out[name] = tuple(LayerCells.from_coefficients(geo, coef, readout.sigma(geo)) for geo in geos)
    return out


def predict(model, accelerator, images, chip_sample: ChipSample | None = None, noise=None,
            generator_seed: int | None = None, *, conditions=None) -> torch.Tensor:
    """Hardware class predictions (int64, (B,)) of one chip; ``chip_sample=None`` = ideal chip.

    ``noise``: None (the preset's), False (off) or :class:`NoiseSettings`, or ``conditions``
    (:class:`Conditions`; only its noise applies, the chip is ``chip_sample``). The noise stream
    comes from ``generator_seed`` when given, else from the chip's (seed, chip) (0, 0 for the
    ideal chip).
    """
    folded = _check_model(model)
    acc = _check_accelerator(accelerator)
    images = _check_images(images, folded)
    if chip_sample is not None and not isinstance(chip_sample, ChipSample):
        raise TypeError(f"chip_sample must be a ChipSample (from sample_chip_state) or None, got {type(chip_sample).__name__}")
    if chip_sample is not None and chip_sample.coefficients is None:
        raise ValueError("chip_sample has no cell coefficients (sampled with coefficients=False); "
                         "allowed: a ChipSample with coefficients, e.g. from sample_chip_state")
    noise = Conditions.of(conditions, noise=noise).resolve(acc.config).noise
    if generator_seed is not None:
        generator_seed = check_seed("generator_seed", generator_seed)
    net = Network(folded, acc)
    return _predict(net, IdealRun.build(net, images), chip_sample, noise, generator_seed)[0]


def _predict(net: Network, ideal: IdealRun, chip_sample, noise, generator_seed=None, dense_probability=None):
    outputs, flips = _outputs(net, ideal, chip_sample, noise, generator_seed, dense_probability)
    return outputs.argmax(1), flips


def _outputs(net: Network, ideal: IdealRun, chip_sample, noise, generator_seed=None, dense_probability=None, stream=0):
    acc = net.accelerator
    max_cells = max([acc.N] + [g.k for geos in net.geometries.values() for g in geos if g.comparator])
    readout = _Readout.build(acc, noise, max_cells)
    if chip_sample is None and readout.scale == 0 and readout.adc.exact:
        return ideal.outputs.clone(), dict.fromkeys(net.geometries, 0)
    coefficients = None if chip_sample is None else acc.components.xnor_cell.calibrated(chip_sample.coefficients)
    if generator_seed is not None:
        seed, chip = generator_seed, 0
    else:
        seed, chip = (0, 0) if chip_sample is None else (chip_sample.seed, chip_sample.chip)
    rng, generator = _noise_rngs(seed, chip, stream)
    return run_chip(net, ideal, _layer_cells(net, coefficients, readout), readout.adc, rng, generator, dense_probability)


def simulate_outputs(model, accelerator, images, *, chip, seed, conditions=None, stream: int = 0) -> torch.Tensor:
    """Hardware output tensor of a folded network (e.g. its logits, or the ±1 activation at the end
    of an edge segment; (B, ...) float32) for every image on chip ``chip`` of run ``seed``
    (sampled under ``conditions``, :class:`Conditions`; None: the preset's); ``chip=None`` is the
    ideal chip (α = β = γ = 0, δ = 1), whose noise draws come from chip 0 of ``seed``.

    ``stream`` (>= 0) picks the receiver-noise stream of the chip: 0 is the one :func:`predict`
    and :func:`simulate_chip` use (so ``simulate_outputs(...).argmax(1)`` equals their
    predictions), and each part of a network run as several folded networks on one chip (the
    segments of an edge trunk) takes its own. On the ideal chip with noise off (and an exact ADC)
    the result equals ``model``'s own forward exactly.
    """
    folded = _check_model(model)
    acc = _check_accelerator(accelerator)
    images = _check_images(images, folded)
    seed = check_seed("seed", seed)
    stream = check_int("stream", stream, lo=0, hi=_MAX_STREAMS - 1)
    resolved = Conditions.of(conditions).resolve(acc.config)
    net = Network(folded, acc)
    ideal = IdealRun.build(net, images)
    if chip is None:
        return _outputs(net, ideal, None, resolved.noise, seed, stream=stream)[0]
    sample = acc.sample_chip(seed, check_int("chip", chip, lo=0), resolved)
    return _outputs(net, ideal, sample, resolved.noise, stream=stream)[0]


# ------------------------------------------------------------------------------ accuracy per chip
def _simulate(net: Network, ideal: IdealRun, labels, chip: int, seed: int, conditions: Conditions) -> dict:
    acc = net.accelerator
    resolved = conditions.resolve(acc.config)
    sample = acc.sample_chip(seed, chip, resolved)
    preds, flips = _predict(net, ideal, sample, resolved.noise)
    row = {
        "chip": chip,
        "accuracy": float((preds == labels).double().mean()),
        "tuning_power_w": sample.tuning_power_w,
        "common_mode_power_w": sample.common_mode_power_w,
        "rings_out_of_range": sample.rings_out_of_range,
        "lock_time_s": sample.lock_time_s,
    }
    for name, count in flips.items():
        row[f"flipped_{name}"] = count / (len(labels) * int(np.prod(_out_shape(net, name))))
    return row


def _out_shape(net: Network, name: str) -> tuple:
    return next(spec.out_shape for spec in net.folded.layers if spec.name == name)


#: The last few prepared (network, ideal run) pairs for exported models (``FoldedBNN``) and
#: ``(images, labels)`` tensors, keyed by the identity of those inputs (held by the entry, so an
#: id cannot be reused) and the tensors' in-place version counters: consecutive chips of one
#: study share the ideal chip's run instead of recomputing it.
_PREPARED: list[tuple[tuple, tuple, tuple]] = []
_PREPARED_MAX = 4
#: The last few ideal chips' runs (:class:`IdealRun`, which depends on the exported model and the
#: images only, not on the accelerator), keyed by the identity of the model and of the images
#: tensor (held by the entry) and its version counter: the presets of one study share one run, and
#: images that are a leading slice of cached ones (a view of the same memory: ``images[:n]``) take
#: the first rows of the cached run.
_IDEAL: list[tuple[FoldedBNN, torch.Tensor, int, IdealRun]] = []


def _leading_view(images: torch.Tensor, cached: torch.Tensor) -> bool:
    """True when ``images`` is ``cached[:n]`` for some n: the same memory, layout and dtype."""
    return images is cached or (
        images.dtype == cached.dtype and images.device == cached.device and len(images) <= len(cached)
        and images.shape[1:] == cached.shape[1:] and images.stride() == cached.stride()
        and images.storage_offset() == cached.storage_offset()
        and images.untyped_storage().data_ptr() == cached.untyped_storage().data_ptr())


def _ideal_run(net: Network, key: torch.Tensor, images: torch.Tensor) -> IdealRun:
    """The ideal chip's run of ``net`` on ``images`` (checked), cached under the caller's tensor ``key``."""
    for folded, cached, version, run in _IDEAL:
        if folded is net.folded and key._version == version and _leading_view(key, cached):
            return run if len(key) == len(cached) else run.head(len(key))
    run = IdealRun.build(net, images)
    _IDEAL.insert(0, (net.folded, key, key._version, run))
    del _IDEAL[_PREPARED_MAX:]
    return run


def _prepare(model, accelerator, dataset):
    cacheable = (isinstance(model, FoldedBNN) and isinstance(dataset, tuple) and len(dataset) == 2
                 and all(isinstance(t, torch.Tensor) for t in dataset))
    if cacheable:
        inputs, versions = (model, accelerator, *dataset), tuple(t._version for t in dataset)
        for key, key_versions, value in _PREPARED:
            if all(a is b for a, b in zip(key, inputs)) and key_versions == versions:
                return value
    folded = _check_model(model)
    acc = _check_accelerator(accelerator)
    images, labels = _check_dataset(dataset, folded)
    net = Network(folded, acc)
    value = (net, _ideal_run(net, dataset[0], images) if cacheable else IdealRun.build(net, images), labels)
    if cacheable:
        _PREPARED.insert(0, (inputs, versions, value))
        del _PREPARED[_PREPARED_MAX:]
    return value


def simulate_chip(model, accelerator, dataset, *, chip, seed, variation=None, tuning=None, noise=None,
                  conditions=None) -> dict:
    """One chip's row: ``chip``, ``accuracy``, ``tuning_power_w``, ``common_mode_power_w``
    (tracking, outside the tuning power), ``rings_out_of_range``,
    ``lock_time_s`` and ``flipped_<layer>`` (fraction of that optical layer's output activations,
    signs or codes, over the whole dataset, that differ from the ideal chip's). A pure function of its arguments.
    ``variation`` / ``tuning`` / ``noise`` or ``conditions`` as in :func:`simulate_accuracy`.
    """
    chip = check_int("chip", chip, lo=0)
    seed = check_seed("seed", seed)
    conditions = Conditions.of(conditions, variation=variation, tuning=tuning, noise=noise)
    net, ideal, labels = _prepare(model, accelerator, dataset)
    return _simulate(net, ideal, labels, chip, seed, conditions)


def simulate_accuracy(model, accelerator, dataset, chips=10, seed=0, variation=None, tuning=None, noise=None,
                      progress: bool = True, *, conditions=None) -> pd.DataFrame:
    """Accuracy of ``chips`` sampled chips (0..chips-1 of ``seed``), one row per chip
    (columns as :func:`simulate_chip`).

    ``dataset``: ``(images, labels)`` tensors or a torch Dataset of (image, label);
    ``variation`` / ``tuning`` / ``noise``: None (the preset's), False (off) or a settings object
    (:class:`VariationSettings`, ``photonics.tuning.TuningModel``, :class:`NoiseSettings`); or
    ``conditions`` (:class:`Conditions`) holding all three.
    """
    chips = check_int("chips", chips, lo=1)
    seed = check_seed("seed", seed)
    conditions = Conditions.of(conditions, variation=variation, tuning=tuning, noise=noise)
    net, ideal, labels = _prepare(model, accelerator, dataset)
    rows = [_simulate(net, ideal, labels, chip, seed, conditions)
            for chip in tqdm(range(chips), desc="chips", unit="chip", disable=not progress)]
    return pd.DataFrame(rows)
