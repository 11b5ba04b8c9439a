"""Design-space sweeps: evaluate a grid of accelerator configurations on one BNN.

A grid maps configuration fields to lists of values; every combination is one design point.
Fields are the short names of :data:`ALIASES` (``N``, ``M``, ``units``, ``bit_rate_gbps``,
``ring_width_nm``, ``ring_pitch_um``, ...) or any ``section.field`` of
:class:`accel.config.AcceleratorConfig`. Each point gives energy per bit (with breakdown),
latency, FPS, power and area from ``mapping.map_model`` and, with ``chips > 0``, the accuracy
over that many sampled chips. Points that no configuration can realise (for example N channels
that do not fit in the ring FSR) are kept as rows with ``feasible = False`` and the reason.
"""
from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from photonics._checks import check_int, check_seed
from studies.dispatch import Task, run_tasks

__all__ = ["ALIASES", "resolve_field", "parse_assignment", "load_sweep_file", "expand", "apply", "run",
           "fields_table", "main_sweep"]

#: Short sweep-field names -> the configuration fields they set (all of them, to the same value).
ALIASES = {
    "N": ("architecture.wavelengths_per_vdu",),
    "M": ("architecture.vdus_per_unit",),
    "units": ("architecture.units",),
    "bit_rate_gbps": ("architecture.bit_rate_gbps",),
    "ring_width_nm": ("activation_ring.width_nm", "weight_ring.width_nm"),
    "activation_ring_width_nm": ("activation_ring.width_nm",),
    "weight_ring_width_nm": ("weight_ring.width_nm",),
    "ring_radius_um": ("activation_ring.radius_um", "weight_ring.radius_um"),
    "ring_pitch_um": ("floorplan.ring_pitch_um",),
    "channel_spacing_nm": ("wavelength.channel_spacing_nm",),
}


def _config_fields() -> dict:
    from dataclasses import fields

    from accel.config import SECTIONS

    return {f"{s}.{f.name}": f for s, cls in SECTIONS.items() for f in fields(cls)}


def resolve_field(name: str) -> tuple[str, ...]:
    """Configuration keys (``section.field``) set by the sweep field ``name``."""
    if name in ALIASES:
        return ALIASES[name]
    if name in _config_fields():
        return (name,)
    raise ValueError(f"unknown sweep field {name!r}; allowed: {', '.join(ALIASES)} or any 'section.field' of the "
                     "configuration (list them with 'robinsim sweep --fields')")


def _kind(name: str) -> type:
    from accel.config import field_kind

    return field_kind(_config_fields()[resolve_field(name)[0]])


def _convert(name: str, value):
    kind = _kind(name)
    if isinstance(value, str):
        text = value.strip()
        try:
            if kind is bool:
                if text.lower() not in ("true", "false"):
                    raise ValueError
                return text.lower() == "true"
            return kind(text) if kind is not int else int(text)
        except ValueError:
            raise ValueError(f"sweep field {name}: value {text!r} is not a valid {kind.__name__}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"sweep field {name}: value {value!r} is not a {kind.__name__}")
    return value


def parse_assignment(text: str) -> tuple[str, list]:
    """``"N=8,10,16"`` -> ``("N", [8, 10, 16])`` (values converted to the field's type)."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name or not values.strip():
        raise ValueError(f"--set {text!r} is not FIELD=V1,V2,...")
    resolve_field(name)
    return name, [_convert(name, v) for v in values.split(",") if v.strip()]


_FILE_KEYS = {"preset", "grid"}


def load_sweep_file(path) -> tuple[dict, str | None]:
    """Read a TOML sweep file: ``(grid, preset)``.

    Format: an optional top-level ``preset = "robin-eo"`` (base configuration) and a ``[grid]``
    table of ``field = [values]`` (a scalar means one value; dotted keys such as
    ``floorplan.ring_pitch_um`` may be quoted or written as nested tables).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"sweep file {str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"sweep file {str(path)!r} is a directory; allowed: a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"sweep file {path} is not valid TOML: not UTF-8 text") from None
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"sweep file {path}: unknown key {unknown[0]!r}; allowed: {sorted(_FILE_KEYS)}")
    grid_table = data.get("grid")
    if not isinstance(grid_table, dict) or not grid_table:
        raise ValueError(f"sweep file {path}: needs a non-empty [grid] table of field = [values]")
    preset = data.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise TypeError(f"sweep file {path}: preset must be a string, got {preset!r}")

    def flatten(table, prefix=""):
        for key, value in table.items():
            full = f"{prefix}{key}"
            if isinstance(value, dict):
                yield from flatten(value, full + ".")
            else:
                yield full, value

    grid = {}
    for name, values in flatten(grid_table):
        try:
            resolve_field(name)
        except ValueError as exc:
            raise ValueError(f"sweep file {path}: {exc}") from None
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"sweep file {path}: grid field {name} has no values")
        grid[name] = [_convert(name, v) for v in values]
    return grid, preset


def expand(grid) -> list[dict]:
    """Design points of ``grid``: the cartesian product of ``{field: values}`` in the given order,
    or a list of point dicts as given."""
    if isinstance(grid, dict):
        if not grid:
            raise ValueError("grid is empty; give at least one field with values")
        for name, values in grid.items():
            resolve_field(name)
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"grid field {name}: values must be a non-empty list, got {values!r}")
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]
    points = [dict(p) for p in grid]
    if not points:
        raise ValueError("grid is empty; give at least one design point")
    for p in points:
        for name in p:
            resolve_field(name)
    return points


def apply(config, point: dict):
    """``config`` with the fields of ``point`` set (re-validated)."""
    changes = {}
    for name, value in point.items():
        for key in resolve_field(name):
            changes[key] = _convert(name, value)
    return config.with_values(changes)


def fields_table() -> str:
    """Text listing the sweepable fields (aliases, then every ``section.field``)."""
    from accel.config import field_kind

    lines = ["short names:"]
    lines += [f"  {a:<26} -> {', '.join(keys)}" for a, keys in ALIASES.items()]
    lines.append("configuration fields (section.field):")
    for key, f in _config_fields().items():
        unit = f.metadata.get("unit") or ""
        lines.append(f"  {key:<46} {field_kind(f).__name__}{' [' + unit + ']' if unit else ''}")
    return "\n".join(lines)
