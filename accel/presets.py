"""Accelerator presets: TOML files shipped in ``accel/presets/`` or a user's own file.

``load("robin-eo")`` loads a shipped preset by name, ``load("my.toml")`` (or a ``Path``) a
user's file; ``names()`` lists the shipped presets. A file has the top-level keys ``name``,
``description``, ``cell_model``, one table per section of :mod:`accel.config` and a
``[sources]`` table (``"section.field" = "publication"``) and an optional ``[ranges]`` table of
plausible ranges of numeric fields (``"section.field" = { low = ..., high = ..., source = "..." }``,
:class:`accel.config.Range`; low <= the preset's value <= high, both within the field's allowed
bounds). Unknown or missing keys, wrong types and out-of-range values raise errors naming the
key, the value and the allowed range.

A file may extend another: ``extends = "robin-eo"`` (a shipped preset's name) or
``extends = "base.toml"`` (a path relative to the extending file; a name with a ``/`` or a
``.toml`` suffix is a path). The base is loaded first (it may extend another in turn; a cycle
is an error); the extending file then sets top-level keys and section keys one by one, and
its ``[sources]`` entries are added. A key the extending file sets drops the base's source for
it (that source described the base's value): give the new value's source, if any, in the
extending file's ``[sources]``. ``[ranges]`` entries merge the same way: the extending file's
entries are added (replacing the base's for the same key), and a key the extending file sets
drops the base's range for it (declare the new value's range, if any, in the extending file).
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from os import PathLike
from pathlib import Path

from accel.config import SECTIONS, TOP_LEVEL, AcceleratorConfig, ConfigKeyError, build_section

__all__ = ["PRESET_DIR", "names", "load", "read", "merge", "from_dict", "path_of", "files", "provenance", "to_toml"]

PRESET_DIR = Path(__file__).with_name("presets")


def names() -> list[str]:
    """Names of the shipped presets (file stems), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def path_of(name_or_path: str | PathLike) -> Path:
    """The file of a shipped preset name or of a path (relative to the working directory)."""
    return _path_of(name_or_path).resolve()


def _path_of(name_or_path: str | PathLike) -> Path:
    if not isinstance(name_or_path, (str, PathLike)):
        raise TypeError(f"name_or_path must be a preset name or a path, got {type(name_or_path).__name__} {name_or_path!r}")
    path = Path(name_or_path)
    if not (isinstance(name_or_path, PathLike) or path.suffix == ".toml" or path.exists()):
        if name_or_path not in names():
            raise ValueError(f"name_or_path={name_or_path!r} is neither a preset nor a file; allowed presets: {names()}")
        path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"name_or_path={str(name_or_path)!r}: no such file")
    return path


def load(name_or_path: str | PathLike) -> AcceleratorConfig:
    """Load a shipped preset by name or a TOML file by path (with its ``extends`` chain resolved)."""
    path = _path_of(name_or_path)
    data = read(path)
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def read(name_or_path: str | PathLike) -> dict:
    """The nested dict of a preset or TOML file with its ``extends`` chain merged in (not validated)."""
    return _read(_path_of(name_or_path), ())


def _read(path: Path, chain: tuple[Path, ...]) -> dict:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ValueError(f"extends cycle: {cycle}; allowed: a chain of presets that ends in a file without 'extends'")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    if "extends" not in data:
        return data
    base_path = _base_path(path, data.pop("extends"))
    return merge(_read(base_path, (*chain, resolved)), data, where=str(path))


def merge(base: dict, override: dict, *, where: str = "override") -> dict:
    """``base`` with ``override``'s top-level keys, section keys and sources applied (see the module docstring)."""
    out = {key: dict(value) if isinstance(value, dict) else value for key, value in base.items()}
    sources = dict(out.get("sources", {}))
    ranges = dict(out.get("ranges", {}))
    for key, value in override.items():
        if key in ("sources", "ranges"):
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(value)
            for name in value:
                sources.pop(f"{key}.{name}", None)
                ranges.pop(f"{key}.{name}", None)
        else:
            out[key] = value
            sources.pop(key, None)
    for name, table in (("sources", sources), ("ranges", ranges)):
        extra = override.get(name, {})
        if not isinstance(extra, dict):
            raise TypeError(f"{where}: {name} must be a table, got {type(extra).__name__} {extra!r}")
        table.update(extra)
        if table or name in out:
            out[name] = table
    return out


def from_dict(data: dict) -> AcceleratorConfig:
    """Build and validate a config from the nested dict of a TOML file.

    ``data`` may hold ``extends`` (a shipped preset's name, or a path relative to the working
    directory): the base is read and ``data`` merged onto it as in a file.
    """
    if not isinstance(data, dict):
        raise TypeError(f"configuration must be a table (dict), got {type(data).__name__}")
    if "extends" in data:
        data = dict(data)
        base_ref = data.pop("extends")
        if not isinstance(base_ref, (str, PathLike)):
            raise TypeError(f"extends must be a preset name or a path, got {type(base_ref).__name__} {base_ref!r}")
        data = merge(read(base_ref), data)
    allowed = set(TOP_LEVEL) | set(SECTIONS) | {"sources", "ranges"}
    for key in data:
        if key not in allowed:
            raise ConfigKeyError(f"unknown key {key!r}; allowed top-level keys: {sorted(allowed | {'extends'})}")
    for key in [*TOP_LEVEL, *SECTIONS]:
        if key not in data:
            raise ConfigKeyError(f"missing key {key!r}" + (" (a table)" if key in SECTIONS else "")
                                 + f"; a file can take what it leaves out from a shipped preset with "
                                   f"extends = \"robin-eo\" (allowed: one of {names()}) or a path")
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
    ranges = data.get("ranges", {})
    if not isinstance(ranges, dict):
        raise TypeError(f"ranges must be a table, got {type(ranges).__name__} {ranges!r}")
    config = AcceleratorConfig(**{k: data[k] for k in TOP_LEVEL}, **sections, sources=tuple(sources.items()),
                               ranges=ranges)
    return config.check_ranges()


def files(name_or_path: str | PathLike) -> list[Path]:
    """The files a preset is read from: the file itself, then each base it ``extends``, in order."""
    out, path = [], _path_of(name_or_path)
    while True:
        out.append(path.resolve())
        with path.open("rb") as fh:
            base_ref = tomllib.load(fh).get("extends")
        if base_ref is None or len(out) > 64:
            return out
        path = _base_path(path, base_ref)


def _base_path(path: Path, base_ref) -> Path:
    """The file ``extends = base_ref`` in ``path`` names (module docstring)."""
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise TypeError(f"{path}: extends must be a preset name or a path relative to the file, got {base_ref!r}")
    if "/" in base_ref or "\\" in base_ref or base_ref.endswith(".toml"):
        base_path = path.parent / base_ref
        if not base_path.is_file():
            raise FileNotFoundError(f"{path}: extends={base_ref!r}: no such file {str(base_path)!r}")
        return base_path
    if base_ref in names():
        return PRESET_DIR / f"{base_ref}.toml"
    raise ValueError(f"{path}: extends={base_ref!r} is neither a preset nor a .toml path; allowed presets: {names()}")


def provenance(config: AcceleratorConfig, source: str | PathLike | None = None) -> dict:
    """Where ``config`` came from and what it is: ``path`` (the preset file, or None for a
    configuration built in Python), ``extends`` (the base files it reads), ``sha256`` (of the
    resolved configuration as canonical JSON: equal hashes, equal physics) and ``configuration``
    (``config.to_dict()``)."""
    if not isinstance(config, AcceleratorConfig):
        raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
    resolved = config.to_dict()
    digest = hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()
    chain = files(source) if source is not None else []
    return {"name": config.name, "path": str(chain[0]) if chain else None, "extends": [str(p) for p in chain[1:]],
            "sha256": digest, "configuration": resolved}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def to_toml(config: AcceleratorConfig) -> str:
    """``config`` as a flat TOML preset (no ``extends``): loading the text gives ``config`` back.
    Fields left at None are omitted (None is their default); the sources follow in ``[sources]``,
    the declared ranges in ``[ranges]``."""
    if not isinstance(config, AcceleratorConfig):
        raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
    data = config.to_dict()
    sources = data.pop("sources", {})
    ranges = data.pop("ranges", {})
    lines = [f"{key} = {_toml_value(data.pop(key))}" for key in TOP_LEVEL if key in data]
    for section, fields in data.items():
        lines += ["", f"[{section}]"]
        for key, value in fields.items():
            if value is None:
                continue
            lines.append(f"{key} = {_toml_value(value)}")
    lines += ["", "[sources]"] + [f"{json.dumps(k)} = {json.dumps(v, ensure_ascii=False)}" for k, v in sources.items()]
    if ranges:
        lines += ["", "[ranges]"] + [
            f"{json.dumps(k)} = {{ low = {_toml_value(r['low'])}, high = {_toml_value(r['high'])}, "
            f"source = {_toml_value(r['source'])} }}" for k, r in ranges.items()]
    return "\n".join(lines) + "\n"
