"""Presets of one parameter table: the cloud processor (:mod:`accel.cloud`) and the
edge-to-cloud link (:mod:`accel.link`) of an edge-cloud hybrid network.

A file has the top-level keys ``name`` and ``description``, one table named after the
configuration's key prefix (``[cloud]``, ``[link]``) and a ``[sources]`` table mapping
``"section.field"`` to the publication the value came from (or ``"assumption: why"``), like the
accelerator presets (:mod:`accel.presets`). Shipped files live in ``accel/presets/<section>/``
(outside the accelerator presets' ``*.toml`` glob); a user's file is given by path. Unknown or
missing keys, wrong types and out-of-range values raise errors naming the key, the value and the
allowed range.

:func:`check_count` checks the event counts (MACs, bits) the cost functions of both take.
"""
from __future__ import annotations

import dataclasses
import tomllib
from os import PathLike
from pathlib import Path

import numpy as np

from accel.config import ConfigKeyError
from photonics.validation import param_specs

__all__ = ["PRESET_ROOT", "names_in", "path_of", "load", "from_dict", "check_header", "check_count"]

PRESET_ROOT = Path(__file__).with_name("presets")
_HEADER = ("name", "description")


def names_in(section: str) -> list[str]:
    """Names of the shipped presets of ``section`` (file stems in ``accel/presets/<section>/``), sorted."""
    return sorted(p.stem for p in (PRESET_ROOT / section).glob("*.toml"))


def path_of(section: str, name_or_path: str | PathLike) -> Path:
    """The file of a shipped ``section`` preset name, or of a path (a ``PathLike``, a name ending
    in ``.toml`` or an existing file)."""
    if not isinstance(name_or_path, (str, PathLike)):
        raise TypeError(f"name_or_path must be a {section} preset name or a path, got "
                        f"{type(name_or_path).__name__} {name_or_path!r}")
    path = Path(name_or_path)
    if not (isinstance(name_or_path, PathLike) or path.suffix == ".toml" or path.is_file()):
        if name_or_path not in names_in(section):
            raise ValueError(f"name_or_path={name_or_path!r} is neither a {section} preset nor a file; "
                             f"allowed {section} presets: {names_in(section)}")
        path = PRESET_ROOT / section / f"{name_or_path}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"name_or_path={str(name_or_path)!r}: no such file")
    return path


def load(cls, name_or_path: str | PathLike):
    """A ``cls`` configuration (:class:`accel.cloud.CloudConfig`, :class:`accel.link.LinkConfig`)
    from a shipped preset name or a TOML file; errors are prefixed with the file."""
    section = cls.key_prefix
    path = path_of(section, name_or_path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return from_dict(cls, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def from_dict(cls, data: dict):
    """Build and validate a ``cls`` configuration from the nested dict of its TOML file."""
    section = cls.key_prefix
    if not isinstance(data, dict):
        raise TypeError(f"a {section} preset must be a table (dict), got {type(data).__name__}")
    allowed = [*_HEADER, section, "sources"]
    for key in data:
        if key not in allowed:
            raise ConfigKeyError(f"unknown key {key!r}; allowed top-level keys: {allowed}")
    for key in (*_HEADER, section):
        if key not in data:
            raise ConfigKeyError(f"missing key {key!r}" + (" (a table)" if key == section else ""))
    table, sources = data[section], data.get("sources", {})
    for name, value in ((section, table), ("sources", sources)):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be a table, got {type(value).__name__} {value!r}")
    specs = param_specs(cls)
    for key in table:
        if key not in specs:
            raise ConfigKeyError(f"unknown key '{section}.{key}'; allowed keys in [{section}]: {sorted(specs)}")
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    for key, spec in specs.items():
        if key in required and key not in table:
            raise ConfigKeyError(f"missing key '{section}.{key}' (allowed: {spec.allowed_text()})")
    return cls(**{k: data[k] for k in _HEADER}, **table, sources=tuple(sources.items()))


def check_header(config) -> None:
    """Check ``name``/``description`` (non-empty strings) and ``sources`` (``(key, text)`` pairs,
    each key ``"<prefix>.<field>"`` of a parameter field) of a one-table configuration, and store
    the sources sorted by key. Called from the configuration's ``__post_init__``."""
    prefix = config.key_prefix
    for key in _HEADER:
        value = getattr(config, key)
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{prefix}.{key} must be a non-empty string, got {type(value).__name__} {value!r}")
    items = config.sources.items() if isinstance(config.sources, dict) else config.sources
    valid = [f"{prefix}.{name}" for name in param_specs(config)]
    out = {}
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"{prefix}.sources must hold (key, text) pairs, got {item!r}")
        key, text = item
        if key not in valid:
            raise ConfigKeyError(f"sources key {key!r} names no {prefix} field; allowed: {valid}")
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"sources[{key!r}] must be a non-empty string, got {text!r}")
        if key in out:
            raise ValueError(f"sources key {key!r} given twice; allowed: one source per field")
        out[key] = text
    object.__setattr__(config, "sources", tuple(sorted(out.items())))


def check_count(name: str, value) -> float | np.ndarray:
    """A count of events (MACs, bits): a whole number >= 0 or an array of them (ints, or floats
    with whole values). Returned as a float, or a float64 array of the same shape."""
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a count (a whole number >= 0) or an array of counts, "
                        f"got {type(value).__name__} {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a count (a whole number >= 0) or an array of counts, got {value!r}") from exc
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a count (a whole number >= 0) or an array of counts, "
                        f"got {type(value).__name__} of dtype {arr.dtype}")
    counts = arr.astype(np.float64)
    bad = ~np.isfinite(counts) | (counts < 0) | (counts != np.floor(counts))
    if np.any(bad):
        shown = (repr(arr.item()) if arr.ndim == 0
                 else f"{arr[bad].ravel()[0].item()!r} (at index {np.argwhere(bad)[0].tolist()})")
        raise ValueError(f"{name}={shown} is not a count; allowed: whole numbers >= 0")
    return float(counts) if counts.ndim == 0 else counts
