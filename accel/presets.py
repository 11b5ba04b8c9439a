"""Accelerator presets: TOML files shipped in ``accel/presets/`` or a user's own file.

``load("robin-eo")`` loads a shipped preset by name, ``load("my.toml")`` (or a ``Path``) a
user's file; ``names()`` lists the shipped presets. A file has the top-level keys ``name``,
``description``, ``cell_model``, one table per section of :mod:`accel.config` and a
``[sources]`` table (``"section.field" = "publication"``). Unknown or missing keys, wrong
types and out-of-range values raise errors naming the key, the value and the allowed range.
"""
from __future__ import annotations

import tomllib
from os import PathLike
from pathlib import Path

from accel.config import SECTIONS, TOP_LEVEL, AcceleratorConfig, ConfigKeyError, build_section

__all__ = ["PRESET_DIR", "names", "load", "from_dict"]

PRESET_DIR = Path(__file__).with_name("presets")


def names() -> list[str]:
    """Names of the shipped presets (file stems), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load(name_or_path: str | PathLike) -> AcceleratorConfig:
    """Load a shipped preset by name or a TOML file by path."""
    if not isinstance(name_or_path, (str, PathLike)):
        raise TypeError(f"name_or_path must be a preset name or a path, got {type(name_or_path).__name__} {name_or_path!r}")
    path = Path(name_or_path)
    if not (isinstance(name_or_path, PathLike) or path.suffix == ".toml" or path.exists()):
        if name_or_path not in names():
            raise ValueError(f"name_or_path={name_or_path!r} is neither a preset nor a file; allowed presets: {names()}")
        path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"name_or_path={str(name_or_path)!r}: no such file")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def from_dict(data: dict) -> AcceleratorConfig:
    """Build and validate a config from the nested dict of a TOML file."""
    if not isinstance(data, dict):
        raise TypeError(f"configuration must be a table (dict), got {type(data).__name__}")
    allowed = set(TOP_LEVEL) | set(SECTIONS) | {"sources"}
    for key in data:
        if key not in allowed:
            raise ConfigKeyError(f"unknown key {key!r}; allowed top-level keys: {sorted(allowed)}")
    for key in [*TOP_LEVEL, *SECTIONS]:
        if key not in data:
            raise ConfigKeyError(f"missing key {key!r}" + (" (a table)" if key in SECTIONS else ""))
    for key in TOP_LEVEL:
        if not isinstance(data[key], str):
            raise TypeError(f"{key} must be a string, got {type(data[key]).__name__} {data[key]!r}")
    sections = {}
    for name in SECTIONS:
        if not isinstance(data[name], dict):
            raise TypeError(f"{name} must be a table, got {type(data[name]).__name__} {data[name]!r}")
        sections[name] = build_section(name, data[name])
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise TypeError(f"sources must be a table, got {type(sources).__name__} {sources!r}")
    return AcceleratorConfig(**{k: data[k] for k in TOP_LEVEL}, **sections, sources=tuple(sources.items()))
