"""Typed, frozen accelerator configuration: one dataclass per TOML table, units in every name.

A configuration is a tree ``AcceleratorConfig -> section -> field``; its TOML form has one
table per section (``[architecture]``, ``[losses]``, ...) and a ``[sources]`` table mapping
``"section.field"`` to the publication the value came from. Every field is checked on
construction (type and allowed range); errors name the key as ``section.field``, the value
and the allowed range. Values are converted to float/int/str as declared.

Counts (``wavelengths_per_vdu``, ``vdus_per_unit``, ``units``, ...) carry what they count in
their name; ``N``/``M`` are the usual symbols for the first two (``AcceleratorConfig.N``).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from photonics._checks import check_range

__all__ = [
    "CELL_MODELS",
    "ArchitectureConfig",
    "WavelengthConfig",
    "RingConfig",
    "LaserConfig",
    "LossConfig",
    "ReceiverConfig",
    "ConverterConfig",
    "DeviceEnergyConfig",
    "ElectronicsConfig",
    "MemoryConfig",
    "TuningConfig",
    "FloorplanConfig",
    "AreaConfig",
    "AcceleratorConfig",
    "SECTIONS",
    "ConfigKeyError",
]

CELL_MODELS = ("robin", "lightbulb")
"""``robin``: two-ring XNOR cell, weight-stationary weight rings reprogrammed per tile (EO
settle time between tiles). ``lightbulb``: XNOR gate whose activation and weight modulators
are both driven every cycle (weights streamed from memory, no reload time)."""


class ConfigKeyError(KeyError):
    """An unknown or missing configuration key (message printed without KeyError's quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _f(lo=None, hi=None, *, lo_open=False, hi_open=False, unit="", optional=False):
    """Field with its allowed range in the metadata; ``optional`` fields default to None."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "unit": unit, "optional": optional}
    return field(default=None, metadata=meta) if optional else field(metadata=meta)


def _allowed(meta) -> str:
    parts = []
    if meta["lo"] is not None:
        parts.append(f"{'>' if meta['lo_open'] else '>='} {meta['lo']}")
    if meta["hi"] is not None:
        parts.append(f"{'<' if meta['hi_open'] else '<='} {meta['hi']}")
    return " and ".join(parts) or "any value"


def check_field(key: str, f: dataclasses.Field, value: Any, kind: type) -> Any:
    """Check one value against a field's declared type and range; return it converted."""
    meta = f.metadata
    if value is None:
        if meta.get("optional"):
            return None
        raise TypeError(f"{key} is required; allowed: {_allowed(meta)}")
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{key} must be a bool (true/false), got {type(value).__name__} {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{key} must be an int, got {type(value).__name__} {value!r}; allowed: integer {_allowed(meta)}")
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{key} must be a real number, got {type(value).__name__} {value!r}; allowed: {_allowed(meta)}")
        value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{key}={value!r} is not finite; allowed: {_allowed(meta)}")
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and (value <= lo if meta["lo_open"] else value < lo)) or (
        hi is not None and (value >= hi if meta["hi_open"] else value > hi)
    ):
        check_range(key, value, lo, hi, lo_inclusive=not meta["lo_open"], hi_inclusive=not meta["hi_open"], unit=meta["unit"])
    return value


def field_kind(f: dataclasses.Field) -> type:
    """The scalar type of a section field: bool, int or float (``float | None`` -> float)."""
    return {"float": float, "int": int, "bool": bool}[str(f.type).split("|")[0].strip()]


class _Section:
    """Base of every section: validates and converts all fields on construction."""

    section: ClassVar[str] = ""

    def __post_init__(self):
        for f in fields(self):
            value = check_field(f"{self.section}.{f.name}", f, getattr(self, f.name), field_kind(f))
            object.__setattr__(self, f.name, value)


@dataclass(frozen=True)
class ArchitectureConfig(_Section):
    """Dot-product geometry and clock. N = ``wavelengths_per_vdu``, M = ``vdus_per_unit``."""

    section: ClassVar[str] = "architecture"
    wavelengths_per_vdu: int = _f(1, 512)
    vdus_per_unit: int = _f(1, 4096)
    units: int = _f(1, 1_000_000)
    bit_rate_gbps: float = _f(0.0, 1000.0, lo_open=True, unit="Gb/s")
    rings_per_cell: int = _f(2, 4)


@dataclass(frozen=True)
class WavelengthConfig(_Section):
    """WDM grid: channel j of every VDU sits at ``center + (j - (N-1)/2) * spacing``."""

    section: ClassVar[str] = "wavelength"
    center_wavelength_nm: float = _f(1450.0, 1650.0, unit="nm")
    channel_spacing_nm: float = _f(0.0, 100.0, lo_open=True, unit="nm")


@dataclass(frozen=True)
class RingConfig(_Section):
    """A ring design (add-drop); ``n_eff``/``n_g`` default to the strip-waveguide model."""

    section: ClassVar[str] = "ring"
    radius_um: float = _f(0.5, 1000.0, unit="um")
    width_nm: float = _f(350.0, 2500.0, unit="nm")
    thickness_nm: float = _f(180.0, 260.0, unit="nm")
    kappa2_in: float = _f(0.0, 1.0, lo_open=True, hi_open=True)
    kappa2_drop: float = _f(0.0, 1.0, lo_open=True, hi_open=True)
    loss_db_per_cm: float = _f(0.0, 100.0, unit="dB/cm")
    n_eff: float | None = _f(1.0, 4.0, optional=True)
    n_g: float | None = _f(1.0, 6.0, optional=True)

    def design(self, wavelength_nm: float):
        """The ``photonics.mrr.RingDesign`` of this ring at ``wavelength_nm`` (cached)."""
        return _ring_design(self, float(wavelength_nm))


_DESIGNS: dict = {}


def _ring_design(ring: RingConfig, wavelength_nm: float):
    key = (ring, wavelength_nm)
    if key not in _DESIGNS:
        from photonics.mrr import RingDesign

        _DESIGNS[key] = RingDesign(
            ring.radius_um, ring.width_nm, ring.thickness_nm, kappa2_in=ring.kappa2_in, kappa2_drop=ring.kappa2_drop,
            loss_db_per_cm=ring.loss_db_per_cm, wavelength_nm=wavelength_nm, n_eff=ring.n_eff, n_g=ring.n_g,
        )
    return _DESIGNS[key]


@dataclass(frozen=True)
class LaserConfig(_Section):
    """Laser source. ``fixed_optical_power_per_wavelength_mw`` (optional) replaces the link budget."""

    section: ClassVar[str] = "laser"
    wall_plug_efficiency: float = _f(0.0, 1.0, lo_open=True)
    power_margin_db: float = _f(0.0, 30.0, unit="dB")
    fixed_optical_power_per_wavelength_mw: float | None = _f(0.0, 1000.0, lo_open=True, unit="mW", optional=True)


@dataclass(frozen=True)
class LossConfig(_Section):
    """Optical losses along the worst path (drop losses follow from the ring designs)."""

    section: ClassVar[str] = "losses"
    coupler_db: float = _f(0.0, 20.0, unit="dB")
    combiner_db: float = _f(0.0, 20.0, unit="dB")
    splitter_excess_db: float = _f(0.0, 5.0, unit="dB")
    propagation_db_per_cm: float = _f(0.0, 100.0, unit="dB/cm")
    ring_through_db: float = _f(0.0, 3.0, unit="dB")
    modulation_db: float = _f(0.0, 10.0, unit="dB")


@dataclass(frozen=True)
class ReceiverConfig(_Section):
    """Balanced photodetector, TIA and comparator of every VDU; popcount error-rate target."""

    section: ClassVar[str] = "receiver"
    responsivity_a_per_w: float = _f(0.0, 1.3, lo_open=True, unit="A/W")
    dark_current_na: float = _f(0.0, 1e6, unit="nA")
    tia_resistance_ohm: float = _f(0.0, 1e9, lo_open=True, unit="ohm")
    pd_power_mw: float = _f(0.0, 1000.0, unit="mW")
    tia_power_mw: float = _f(0.0, 1000.0, unit="mW")
    comparator_energy_fj: float = _f(0.0, 1e6, unit="fJ")
    target_popcount_error_rate: float = _f(0.0, 0.5, lo_open=True, hi_open=True)


@dataclass(frozen=True)
class ConverterConfig(_Section):
    """ADC (Walden figure of merit: E = FOM * 2^bits per conversion) and DAC energies.

    ``adc_bits``: resolution of the partial-sum ADCs; None (the default) = ceil(log2(N + 1)),
    one code per popcount level. Fewer bits quantise partial sums coarsely (and cost less).
    """

    section: ClassVar[str] = "converters"
    adc_fom_fj_per_step: float = _f(0.0, 1e6, unit="fJ/step")
    dac_energy_pj_per_conversion: float = _f(0.0, 1e4, unit="pJ")
    adc_bits: int | None = _f(1, 16, unit="bit", optional=True)


@dataclass(frozen=True)
class DeviceEnergyConfig(_Section):
    """Per-event energies of the optical cells."""

    section: ClassVar[str] = "energy"
    activation_modulation_fj_per_bit: float = _f(0.0, 1e6, unit="fJ")
    weight_program_fj_per_ring: float = _f(0.0, 1e6, unit="fJ")


@dataclass(frozen=True)
class ElectronicsConfig(_Section):
    """Digital back end: partial-sum adders, electronic layers (pooling, residual adds, ...)."""

    section: ClassVar[str] = "electronics"
    accumulator_add_energy_fj: float = _f(0.0, 1e6, unit="fJ")
    op_energy_fj: float = _f(0.0, 1e6, unit="fJ")
    mac_energy_fj: float = _f(0.0, 1e6, unit="fJ")
    ops_per_ns: float = _f(0.0, 1e9, lo_open=True, unit="ops/ns")
    macs_per_ns: float = _f(0.0, 1e9, lo_open=True, unit="MACs/ns")
    value_bits: int = _f(1, 64)


@dataclass(frozen=True)
class MemoryConfig(_Section):
    """On-chip buffers: one activation and one weight buffer per unit."""

    section: ClassVar[str] = "memory"
    activation_buffer_kib: float = _f(0.0, 1e7, lo_open=True, unit="KiB")
    weight_buffer_kib: float = _f(0.0, 1e7, lo_open=True, unit="KiB")
    read_energy_fj_per_bit: float = _f(0.0, 1e6, unit="fJ")
    write_energy_fj_per_bit: float = _f(0.0, 1e6, unit="fJ")


@dataclass(frozen=True)
class TuningConfig(_Section):
    """Weight-reload settle time and how the nominal tuning power is obtained.

    Without ``fixed_power_per_ring_mw`` the nominal tuning power is the mean over
    ``variation_chips`` sampled chips (``photonics.variation`` + ``photonics.tuning``).
    ``track_common_mode``: the laser grid / TEC set-point follows each chip's common-mode
    resonance shift, so rings are tuned only for the within-chip spread
    (``photonics.tuning.TuningModel.track_common_mode``).
    """

    section: ClassVar[str] = "tuning"
    eo_settle_ns: float = _f(0.0, 1e6, unit="ns")
    variation_chips: int = _f(1, 1000)
    variation_seed: int = _f(0, 2**63 - 1)
    track_common_mode: bool = _f()
    fixed_power_per_ring_mw: float | None = _f(0.0, 1000.0, unit="mW", optional=True)


@dataclass(frozen=True)
class FloorplanConfig(_Section):
    """Ring pitch along a bus, VDU pitch across buses, margin around each unit."""

    section: ClassVar[str] = "floorplan"
    ring_pitch_um: float = _f(0.0, 1e4, lo_open=True, unit="um")
    vdu_pitch_um: float = _f(0.0, 1e5, lo_open=True, unit="um")
    unit_margin_um: float = _f(0.0, 1e5, unit="um")


@dataclass(frozen=True)
class AreaConfig(_Section):
    """Areas of the electronic components (the photonic area comes from the floorplan)."""

    section: ClassVar[str] = "area"
    pd_mm2: float = _f(0.0, 100.0, unit="mm2")
    adc_mm2: float = _f(0.0, 100.0, unit="mm2")
    dac_mm2: float = _f(0.0, 100.0, unit="mm2")
    buffer_mm2: float = _f(0.0, 1000.0, unit="mm2")
    splitter_mm2: float = _f(0.0, 100.0, unit="mm2")
    electronics_mm2: float = _f(0.0, 1e4, unit="mm2")


SECTIONS: dict[str, type] = {
    "architecture": ArchitectureConfig,
    "wavelength": WavelengthConfig,
    "activation_ring": RingConfig,
    "weight_ring": RingConfig,
    "laser": LaserConfig,
    "losses": LossConfig,
    "receiver": ReceiverConfig,
    "converters": ConverterConfig,
    "energy": DeviceEnergyConfig,
    "electronics": ElectronicsConfig,
    "memory": MemoryConfig,
    "tuning": TuningConfig,
    "floorplan": FloorplanConfig,
    "area": AreaConfig,
}
"""TOML table name -> section class, in file order."""

TOP_LEVEL = {"name": str, "description": str, "cell_model": str}


@dataclass(frozen=True)
class AcceleratorConfig:
    """A whole accelerator. ``sources`` maps ``"section.field"`` to the value's publication.

    Cross-field checks: ``rings_per_cell`` is 2 for the ``robin`` cell; the N channels fit in
    the free spectral range of both ring designs (``N * channel_spacing_nm <= fsr_nm``).
    """

    name: str
    description: str
    cell_model: str
    architecture: ArchitectureConfig
    wavelength: WavelengthConfig
    activation_ring: RingConfig
    weight_ring: RingConfig
    laser: LaserConfig
    losses: LossConfig
    receiver: ReceiverConfig
    converters: ConverterConfig
    energy: DeviceEnergyConfig
    electronics: ElectronicsConfig
    memory: MemoryConfig
    tuning: TuningConfig
    floorplan: FloorplanConfig
    area: AreaConfig
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        for key in TOP_LEVEL:
            value = getattr(self, key)
            if not isinstance(value, str):
                raise TypeError(f"{key} must be a string, got {type(value).__name__} {value!r}")
        if self.cell_model not in CELL_MODELS:
            raise ValueError(f"cell_model={self.cell_model!r} is not allowed; allowed: one of {list(CELL_MODELS)}")
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"{name} must be a {cls.__name__}, got {type(getattr(self, name)).__name__}")
        if self.cell_model == "robin" and self.architecture.rings_per_cell != 2:
            raise ValueError(
                f"architecture.rings_per_cell={self.architecture.rings_per_cell} is not allowed for cell_model='robin'; allowed: 2"
            )
        object.__setattr__(self, "sources", _check_sources(self.sources))
        self._check_fsr()

    def _check_fsr(self):
        span_nm = self.N * self.wavelength.channel_spacing_nm
        for name in ("activation_ring", "weight_ring"):
            fsr_nm = getattr(self, name).design(self.wavelength.center_wavelength_nm).fsr_nm
            if span_nm > fsr_nm:
                raise ValueError(
                    f"architecture.wavelengths_per_vdu={self.N} channels at wavelength.channel_spacing_nm="
                    f"{self.wavelength.channel_spacing_nm} span {span_nm:.4g} nm, more than the {name} FSR "
                    f"{fsr_nm:.4g} nm; allowed: wavelengths_per_vdu * channel_spacing_nm <= {fsr_nm:.4g} nm"
                )

    # --- shorthands ---------------------------------------------------------------------------
    @property
    def N(self) -> int:
        """Dot-product length of a VDU (wavelengths per VDU)."""
        return self.architecture.wavelengths_per_vdu

    @property
    def M(self) -> int:
        """VDUs per unit."""
        return self.architecture.vdus_per_unit

    @property
    def units(self) -> int:
        return self.architecture.units

    @property
    def bit_rate_gbps(self) -> float:
        return self.architecture.bit_rate_gbps

    @property
    def channels_nm(self) -> np.ndarray:
        """Channel wavelengths (N,), centred on ``center_wavelength_nm``."""
        w = self.wavelength
        return w.center_wavelength_nm + (np.arange(self.N) - (self.N - 1) / 2.0) * w.channel_spacing_nm

    def source(self, key: str) -> str | None:
        """The recorded source of ``"section.field"`` (None when not from a publication)."""
        return dict(self.sources).get(key)

    def to_dict(self) -> dict:
        """Nested plain dict in TOML layout (optional fields left out when None)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in TOP_LEVEL}
        for name in SECTIONS:
            sec = getattr(self, name)
            out[name] = {f.name: getattr(sec, f.name) for f in fields(sec) if getattr(sec, f.name) is not None}
        out["sources"] = dict(self.sources)
        return out

    def with_values(self, changes: dict[str, Any]) -> "AcceleratorConfig":
        """A new, re-validated config with ``{"section.field": value}`` (or top-level key) changed."""
        top: dict[str, Any] = {}
        per_section: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if key in TOP_LEVEL:
                top[key] = value
                continue
            section, _, name = key.partition(".")
            if section not in SECTIONS or name not in {f.name for f in fields(SECTIONS[section])}:
                raise ConfigKeyError(f"unknown key {key!r}; allowed: 'section.field' with section in {list(SECTIONS)}")
            per_section.setdefault(section, {})[name] = value
        for section, vals in per_section.items():
            top[section] = build_section(section, {**_section_dict(getattr(self, section)), **vals})
        return dataclasses.replace(self, **top)


def _section_dict(sec) -> dict:
    return {f.name: getattr(sec, f.name) for f in fields(sec)}


def build_section(name: str, values: dict) -> Any:
    """Construct section ``name`` from ``values``; errors name ``name.field``."""
    cls = SECTIONS[name]
    known = {f.name: f for f in fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigKeyError(f"unknown key '{name}.{key}'; allowed keys in [{name}]: {sorted(known)}")
    converted = {}
    for fname, f in known.items():
        if fname not in values and not f.metadata.get("optional"):
            raise ConfigKeyError(f"missing key '{name}.{fname}' (allowed: {_allowed(f.metadata)})")
        converted[fname] = check_field(f"{name}.{fname}", f, values.get(fname), field_kind(f))
    return cls(**converted)


_VALID_SOURCE_KEYS = frozenset(TOP_LEVEL) | {f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in fields(cls)}


def _check_sources(sources) -> tuple[tuple[str, str], ...]:
    items = sources.items() if isinstance(sources, dict) else sources
    valid = _VALID_SOURCE_KEYS
    out = []
    for key, text in items:
        if key not in valid:
            raise ConfigKeyError(f"sources key {key!r} names no configuration field; allowed: 'section.field' of an existing field")
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"sources[{key!r}] must be a non-empty string, got {text!r}")
        out.append((key, text))
    return tuple(sorted(out))
