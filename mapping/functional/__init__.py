"""Hardware-faithful BNN inference on a ROBIN-style optical accelerator, chip by chip.

Chip state (:func:`sample_chip_state`): ``photonics.variation`` draws width, thickness and
temperature deviations for every ring at its floorplan position; the resonance shifts follow
from each ring's own design (activation and weight rings differ, so do their sensitivities);
``photonics.tuning`` tunes each bank (the 2N rings along one VDU bus) and leaves residual
detunings; ``photonics.xnor`` turns them into each cell's four output levels and
``c(a, w) = α + β·a + γ·w + δ·a·w`` (neighbour-channel leakage included).

Receiver calibration (chip-independent, done once at design/bring-up): each channel's laser
line is trimmed so the nominal cell (zero residual) has unit gain δ0 = 1, and the known
weight-dependent offset ``Σ (α0 + γ0·w)`` of every readout is subtracted digitally. What
remains on a sampled chip is its deviation from nominal plus the nominal β0 (an offset that
depends on the streamed activations, which nothing cancels).

Inference (:func:`predict`): every binary dot product is mapped to physical cells (unit, VDU,
channel) by ``mapping.performance.schedule.assign_vdus`` - K split into chunks of N, chunk element j on
channel j, position ``l`` of an image on replica ``l % replicas``. Each layer then runs as a
linear layer with per-cell weights and offsets (:mod:`mapping.functional.layer`), with
receiver shot/thermal noise per readout (``photonics.receiver.popcount_noise_sigma``), an
ADC of ``converters.adc_bits`` bits (default ``ceil(log2(N+1))``) per chunk when K > N
(partial sums added digitally) or the
comparator when K <= N, and the folded BatchNorm threshold. Activation rings see their input
bit every cycle; weight rings hold theirs for a tile (so cells are fixed per (output, chunk)
and noise is drawn per readout). The ideal chip (``chip_sample=None``) has α = β = γ = 0,
δ = 1; without noise it reproduces the software BNN exactly.

Randomness: chip ``k`` of seed ``s`` uses ``photonics.variation.chip_seed_sequence(s, k)`` for
its variation and an independent child of it for the receiver noise, so any chip can be
re-run alone with the same result.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from accel import Accelerator
from accel.config import AcceleratorConfig
from accel.energy import config_adc_bits, default_tuning_model
from mapping.networks.folding import FoldedBNN, export_binary
from mapping.networks.data import N_CLASSES, check_dataset
from mapping.functional.layer import Adc, LayerCells, LayerGeometry
from mapping.functional.network import IdealRun, Network, run_chip
from photonics import receiver, tuning as _tuning, variation as _variation, xnor
from photonics._checks import check_int, check_range, check_seed

__all__ = [
    "MODULATION_SPACING_FRACTION",
    "VariationSettings",
    "NoiseSettings",
    "ChipSample",
    "sample_chip_state",
    "predict",
    "simulate_chip",
    "simulate_accuracy",
]

#: Bit-0 shift of activation and weight rings, as a fraction of the channel spacing (blue
#: shift, carrier injection): half a spacing parks the ring midway between two channels, where
#: its Lorentzian leakage into both is smallest. A design choice (the presets carry no field).
MODULATION_SPACING_FRACTION = 0.5
#: Spawn-key suffixes of a chip's receiver-noise and post-lock drift streams.
_NOISE_STREAM = 0x6E6F697365
_DRIFT_STREAM = 0x6472696674


@dataclass(frozen=True)
class VariationSettings:
    """Chip variation.

    ``fab`` (``photonics.variation.FabricationModel``) and ``thermal`` (``ThermalModel``, the
    temperature when the rings are locked): None = the model's defaults, False = off.
    ``drift``: temperature change between locking and inference, a ``ThermalModel`` (offset and
    gradient, sampled per chip) or None/False = none (the tuning loop tracks temperature).
    """

    fab: object = None
    thermal: object = None
    drift: object = None

    def __post_init__(self):
        for name, cls in (("fab", _variation.FabricationModel), ("thermal", _variation.ThermalModel),
                          ("drift", _variation.ThermalModel)):
            value = getattr(self, name)
            if not (value is None or value is False or isinstance(value, cls)):
                raise TypeError(f"VariationSettings.{name} must be None, False or a photonics.variation.{cls.__name__}, "
                                f"got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class NoiseSettings:
    """Receiver noise and ADC.

    ``scale`` multiplies the noise std (1 = the physical value); ``received_power_w`` is the
    power per wavelength at the detector (None: the accelerator's laser budget); ``adc_bits``
    overrides the configuration's ADC resolution (``accel.energy.config_adc_bits``).
    """

    scale: float = 1.0
    received_power_w: float | None = None
    adc_bits: int | None = None

    def __post_init__(self):
        check_range("NoiseSettings.scale", self.scale, 0.0, None)
        if self.received_power_w is not None:
            check_range("NoiseSettings.received_power_w", self.received_power_w, 0.0, None, lo_inclusive=False, unit="W")
        if self.adc_bits is not None:
            check_int("NoiseSettings.adc_bits", self.adc_bits, lo=1, hi=32)


@dataclass(frozen=True, eq=False)
class ChipSample:
    """One sampled chip: per-cell α, β, γ, δ (units, M, N, 4) [uncalibrated], residual detunings
    (units, M, N) of activation and weight rings, total tuning power, rings the tuner could not
    bring onto their channel, lock time."""

    chip: int
    seed: int
    coefficients: np.ndarray
    act_residual_nm: np.ndarray
    weight_residual_nm: np.ndarray
    tuning_power_w: float
    rings_out_of_range: int
    lock_time_s: float


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
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"images must be a floating-point torch.Tensor of shape (B, {shape}), got {type(images).__name__}")
    if images.dim() != len(folded.input_shape) + 1 or tuple(images.shape[1:]) != folded.input_shape or len(images) == 0:
        raise ValueError(f"images must have shape (B, {shape}) with B >= 1, got {tuple(images.shape)}")
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


def _resolve(name: str, value, cls, default):
    if value is None:
        return default()
    if value is False:
        return False
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be None (defaults), False (off) or a {cls.__module__}.{cls.__name__}, "
                        f"got {type(value).__name__} {value!r}")
    return value


def _settings(variation, tuning, noise):
    return (
        _resolve("variation", variation, VariationSettings, VariationSettings),
        _resolve("tuning", tuning, _tuning.TuningModel, lambda: None),  # None: the accelerator's own model
        _resolve("noise", noise, NoiseSettings, NoiseSettings),
    )


# ------------------------------------------------------------------------------ chip state
def _cell_shifts_nm(config: AcceleratorConfig) -> tuple[float, float]:
    shift = -MODULATION_SPACING_FRACTION * config.wavelength.channel_spacing_nm
    return shift, shift


def _ring_designs(config: AcceleratorConfig):
    lam = config.wavelength.center_wavelength_nm
    return config.activation_ring.design(lam), config.weight_ring.design(lam)


def _cell_coefficients(config: AcceleratorConfig, act_residual_nm, weight_residual_nm) -> np.ndarray:
    act, weight = _ring_designs(config)
    modulation_nm, park_nm = _cell_shifts_nm(config)
    levels = xnor.bank_levels(act, weight, channels_nm=config.channels_nm, act_residual_nm=act_residual_nm,
                              weight_residual_nm=weight_residual_nm, modulation_nm=modulation_nm, park_nm=park_nm)
    return xnor.coefficients(levels)


@lru_cache(maxsize=16)
def _nominal_coefficients(config: AcceleratorConfig) -> np.ndarray:
    """(N, 4) coefficients of a bank with every ring exactly on its channel."""
    zero = np.zeros(config.N)
    return _cell_coefficients(config, zero, zero)


def _stream(seed: int, chip: int, key: int) -> np.random.SeedSequence:
    """Child ``key`` of the chip's seed sequence (keys far from photonics.variation's streams)."""
    base = _variation.chip_seed_sequence(seed, chip)
    return np.random.SeedSequence(base.entropy, spawn_key=tuple(base.spawn_key) + (key,))


def _drift_K(xy_um: np.ndarray, seed: int, chip: int, model) -> np.ndarray:
    """Temperature change after locking: N(mean, σ) at the centre of the rings' bounding box
    plus a linear gradient with N(0, σ_g) components (K/mm), as ``ThermalModel`` states."""
    rng = np.random.default_rng(_stream(seed, chip, _DRIFT_STREAM))
    offset = rng.normal(model.ambient_mean_K, model.ambient_sigma_K)
    gradient = rng.normal(0.0, model.gradient_sigma_K_per_mm, size=2)
    centre = 0.5 * (xy_um.min(axis=0) + xy_um.max(axis=0))
    return offset + (xy_um - centre) @ gradient * 1e-3


def _noise_rngs(seed: int, chip: int) -> tuple[np.random.Generator, torch.Generator]:
    sparse, dense = _stream(seed, chip, _NOISE_STREAM).spawn(2)
    return np.random.default_rng(sparse), torch.Generator().manual_seed(int(dense.generate_state(1, np.uint64)[0] >> 1))


def sample_chip_state(accelerator, *, seed, chip, variation=None, tuning=None) -> ChipSample:
    """Sample chip ``chip`` of run ``seed``: variation, tuning, residuals, cell coefficients.

    ``variation``: None (default models), False (every ring on its design resonance) or a
    :class:`VariationSettings`; ``tuning``: None (the accelerator's model,
    ``accel.energy.default_tuning_model``, the one its nominal tuning power uses),
    False (no tuning: each ring stays at its varied resonance, taken modulo its FSR) or a
    ``TuningModel``. With tuning off, ``rings_out_of_range`` counts rings more than half a
    linewidth from their channel.
    """
    acc = _check_accelerator(accelerator)
    seed = check_seed("seed", seed)
    chip = check_int("chip", chip, lo=0)
    variation, tuning, _ = _settings(variation, tuning, None)
    return _sample_chip_state(acc, seed, chip, variation, tuning)


def _sample_chip_state(acc: Accelerator, seed: int, chip: int, variation, tuning) -> ChipSample:
    cfg, fp = acc.config, acc.floorplan
    act, weight = _ring_designs(cfg)
    is_act = fp.role == 0
    fsr = np.where(is_act, act.fsr_nm, weight.fsr_nm)
    rings = (cfg.activation_ring, cfg.weight_ring)
    width = np.where(is_act, rings[0].width_nm, rings[1].width_nm)
    thickness = np.where(is_act, rings[0].thickness_nm, rings[1].thickness_nm)
    wavelength = fp.channels_nm[fp.channel]
    zero = np.zeros(fp.n_rings)
    if variation is False:
        shift = zero
    else:
        cv = _variation.sample_chip(fp.xy_um, seed=seed, chip=chip,
                                    fab=variation.fab or None, thermal=variation.thermal or None)
        dw, dt = (zero, zero) if variation.fab is False else (cv.dw_nm, cv.dt_nm)
        d_t = zero if variation.thermal is False else cv.dT_K
        shift = _variation.resonance_shift_nm(width, thickness, dw, dt, d_t, wavelength)
    if tuning is None:
        tuning = default_tuning_model(cfg)
    if tuning is False:
        residual = shift - fsr * np.round(shift / fsr)
        fwhm = np.where(is_act, act.fwhm_nm, weight.fwhm_nm)
        power_w, out_of_range, lock_s = 0.0, int(np.sum(np.abs(residual) > fwhm / 2)), 0.0
    else:
        res = _tuning.tune(shift, fsr_nm=fsr, bank_size=2 * cfg.N, pitch_um=cfg.floorplan.ring_pitch_um, model=tuning)
        residual = np.asarray(res.residual_nm)
        power_w, out_of_range, lock_s = float(res.total_power_w), int(np.sum(res.unreachable)), float(res.lock_time_s)
    if variation is not False and variation.drift:
        d_t = _drift_K(fp.xy_um, seed, chip, variation.drift)
        residual = residual + _variation.resonance_shift_nm(width, thickness, zero, zero, d_t, wavelength)
    residual = residual.reshape(fp.shape)
    coefficients = _cell_coefficients(cfg, residual[..., 0], residual[..., 1])
    return ChipSample(chip, seed, coefficients, residual[..., 0], residual[..., 1], power_w, out_of_range, lock_s)


# ------------------------------------------------------------------------------ receiver
def _sigma(config: AcceleratorConfig, power_w: float, n_dot: int) -> float:
    rx = config.receiver
    return float(receiver.popcount_noise_sigma(
        power_w, n_dot, config.bit_rate_gbps, rx.responsivity_a_per_w, config.wavelength.center_wavelength_nm,
        dark_current_a=rx.dark_current_na * 1e-9, resistance_ohm=rx.tia_resistance_ohm))


def _received_power_w(acc: Accelerator) -> float:
    laser = acc.power_model.laser
    return laser.optical_power_per_wavelength_w * 10.0 ** (-laser.path_loss_db / 10.0)


@dataclass(frozen=True)
class _Readout:
    """Receiver side of one run: ADC and noise std per readout length."""

    adc: Adc
    sigma_by_cells: np.ndarray  # index n - 1, n = 1..max readout length
    scale: float

    @classmethod
    def build(cls, acc: Accelerator, noise, max_cells: int) -> "_Readout":
        cfg = acc.config
        settings = NoiseSettings() if noise is False else noise
        adc = Adc(settings.adc_bits or config_adc_bits(cfg), cfg.N)
        if noise is False or settings.scale == 0:
            return cls(adc, np.zeros(max_cells), 0.0)
        power = settings.received_power_w or _received_power_w(acc)
        sigma = np.array([_sigma(cfg, power, n) for n in range(1, max_cells + 1)]) * settings.scale
        return cls(adc, sigma, settings.scale)

    def sigma(self, geometry: LayerGeometry) -> np.ndarray:
        lengths = np.array([geometry.k]) if geometry.comparator else geometry.chunk_lengths()
        return self.sigma_by_cells[lengths - 1]


def _layer_cells(net: Network, coefficients: np.ndarray | None, readout: _Readout) -> dict[str, LayerCells]:
    """Per-layer cells of one chip; ``coefficients`` calibrated (units, M, N, 4), None = ideal."""
    out = {}
    for name, geo in net.geometries.items():
        if coefficients is None:
            coef = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64).expand(1, geo.out_features, geo.n_chunks, geo.chunk, 4)
        else:
            unit, vdu = net.cells_index[name]
            coef = torch.from_numpy(coefficients[unit, vdu])  # (R, O, C, N, 4)
        out[name] = LayerCells.from_coefficients(geo, coef, readout.sigma(geo))
    return out


def _calibrated(config: AcceleratorConfig, coefficients: np.ndarray) -> np.ndarray:
    """Apply the receiver calibration (module docstring) to raw (..., N, 4) coefficients."""
    nominal = _nominal_coefficients(config)
    out = np.array(coefficients, dtype=np.float64, copy=True)
    out[..., 0] -= nominal[:, 0]
    out[..., 2] -= nominal[:, 2]
    return out / nominal[:, 3:4]


def predict(model, accelerator, images, chip_sample: ChipSample | None = None, noise=None,
            generator_seed: int | None = None) -> torch.Tensor:
    """Hardware class predictions (int64, (B,)) of one chip; ``chip_sample=None`` = ideal chip.

    ``noise``: None (defaults), False (off) or :class:`NoiseSettings`. The noise stream comes
    from ``generator_seed`` when given, else from the chip's (seed, chip) (0, 0 for the ideal chip).
    """
    folded = _check_model(model)
    acc = _check_accelerator(accelerator)
    images = _check_images(images, folded)
    if chip_sample is not None and not isinstance(chip_sample, ChipSample):
        raise TypeError(f"chip_sample must be a ChipSample (from sample_chip_state) or None, got {type(chip_sample).__name__}")
    _, _, noise = _settings(None, None, noise)
    if generator_seed is not None:
        generator_seed = check_seed("generator_seed", generator_seed)
    net = Network(folded, acc)
    return _predict(net, IdealRun.build(net, images), chip_sample, noise, generator_seed)[0]


def _predict(net: Network, ideal: IdealRun, chip_sample, noise, generator_seed=None, dense_probability=None):
    acc = net.accelerator
    max_cells = max([acc.N] + [g.k for g in net.geometries.values() if g.comparator])
    readout = _Readout.build(acc, noise, max_cells)
    if chip_sample is None and readout.scale == 0 and readout.adc.exact:
        return ideal.predictions.clone(), dict.fromkeys(net.geometries, 0)
    coefficients = None if chip_sample is None else _calibrated(acc.config, chip_sample.coefficients)
    if generator_seed is not None:
        seed, chip = generator_seed, 0
    else:
        seed, chip = (0, 0) if chip_sample is None else (chip_sample.seed, chip_sample.chip)
    rng, generator = _noise_rngs(seed, chip)
    return run_chip(net, ideal, _layer_cells(net, coefficients, readout), readout.adc, rng, generator, dense_probability)


# ------------------------------------------------------------------------------ accuracy per chip
def _simulate(net: Network, ideal: IdealRun, labels, chip: int, seed: int, variation, tuning, noise) -> dict:
    sample = _sample_chip_state(net.accelerator, seed, chip, variation, tuning)
    preds, flips = _predict(net, ideal, sample, noise)
    row = {
        "chip": chip,
        "accuracy": float((preds == labels).double().mean()),
        "tuning_power_w": sample.tuning_power_w,
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
    value = (net, IdealRun.build(net, images), labels)
    if cacheable:
        _PREPARED.insert(0, (inputs, versions, value))
        del _PREPARED[_PREPARED_MAX:]
    return value


def simulate_chip(model, accelerator, dataset, *, chip, seed, variation=None, tuning=None, noise=None) -> dict:
    """One chip's row: ``chip``, ``accuracy``, ``tuning_power_w``, ``rings_out_of_range``,
    ``lock_time_s`` and ``flipped_<layer>`` (fraction of that binary layer's sign activations,
    over the whole dataset, that differ from the ideal chip's). A pure function of its arguments.
    """
    chip = check_int("chip", chip, lo=0)
    seed = check_seed("seed", seed)
    settings = _settings(variation, tuning, noise)
    net, ideal, labels = _prepare(model, accelerator, dataset)
    return _simulate(net, ideal, labels, chip, seed, *settings)


def simulate_accuracy(model, accelerator, dataset, chips=10, seed=0, variation=None, tuning=None, noise=None,
                      progress: bool = True) -> pd.DataFrame:
    """Accuracy of ``chips`` sampled chips (0..chips-1 of ``seed``), one row per chip
    (columns as :func:`simulate_chip`).

    ``dataset``: ``(images, labels)`` tensors or a torch Dataset of (image, label);
    ``variation`` / ``tuning`` / ``noise``: None (defaults), False (off) or a settings object
    (:class:`VariationSettings`, ``photonics.tuning.TuningModel``, :class:`NoiseSettings`).
    """
    chips = check_int("chips", chips, lo=1)
    seed = check_seed("seed", seed)
    settings = _settings(variation, tuning, noise)
    net, ideal, labels = _prepare(model, accelerator, dataset)
    rows = [_simulate(net, ideal, labels, chip, seed, *settings)
            for chip in tqdm(range(chips), desc="chips", unit="chip", disable=not progress)]
    return pd.DataFrame(rows)
