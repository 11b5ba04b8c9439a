"""BNN checkpoints: ``save`` (atomic), ``load`` and ``load_pretrained`` (shipped in ``pretrained/``).

File format (``.bnn``): the magic ``ROBINSIM-BNN\\0``, an 8-byte little-endian header length, a
UTF-8 JSON header (``format_version``, ``arch``, ``hparams``, ``metadata`` and, per tensor,
``name``, ``dtype``, ``shape``, ``offset``, ``nbytes``, ``sha256``), then the raw tensor bytes.
Binary-layer weights are stored as int8 ±1, everything else as in the state dict. No pickle is
involved, and the per-tensor table lets every error name the file and the layer at fault.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mapping.networks import architectures
from mapping.networks.hybrid import HybridBNN
from mapping.networks.layers import BNN

__all__ = ["SUFFIX", "PRETRAINED_DIR", "save", "load", "load_pretrained", "pretrained_names"]

MAGIC = b"ROBINSIM-BNN\x00"
FORMAT_VERSION = 1
SUFFIX = ".bnn"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
_DTYPES = {"float32": torch.float32, "int8": torch.int8, "int64": torch.int64, "bool": torch.bool}


def _layer(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else key


def _describe(model: nn.Module, key: str) -> str:
    name = _layer(key)
    module = dict(model.named_modules()).get(name)
    return f"layer '{name}' ({type(module).__name__})" if module is not None else f"layer '{name}'"


def _binary_keys(model: nn.Module) -> set[str]:
    return {f"{n}.weight" for n, m in model.named_modules() if getattr(m, "binary", False)}


def _write_chunks(f, chunks) -> None:
    for chunk in chunks:
        f.write(chunk)


def save(model: BNN | HybridBNN, path, metadata: dict | None = None) -> Path:
    """Write ``model`` (a ``BNN`` or ``HybridBNN`` of a registered architecture) and JSON-able
    ``metadata`` to ``path`` atomically.

    The file is written to a temporary file in the same folder and renamed into place, so a
    failure never leaves a half-written checkpoint (an existing file stays as it was).
    Returns the path.
    """
    if not isinstance(model, (BNN, HybridBNN)) or model.arch not in architectures.ARCHITECTURES:
        raise TypeError(f"model must be a mapping.bnn.BNN or HybridBNN of a registered architecture ({sorted(architectures.ARCHITECTURES)}), "
                        f"got {type(model).__name__} with arch={getattr(model, 'arch', None)!r}")
    metadata = dict(model.metadata if metadata is None else metadata)
    for key, value in metadata.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"metadata[{key!r}]={value!r} is not JSON-serialisable: {exc}") from None
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} for checkpoint {path.name} does not exist")
    binary = _binary_keys(model)
    table, blobs, offset = [], [], 0
    for key, t in model.state_dict().items():
        t = t.detach().cpu()
        if key in binary:
            t = torch.where(t >= 0, 1, -1).to(torch.int8)
        elif t.is_floating_point():
            t = t.to(torch.float32)
        blob = t.contiguous().numpy().tobytes()
        table.append({"name": key, "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                      "offset": offset, "nbytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()})
        blobs.append(blob)
        offset += len(blob)
    header = json.dumps({"format_version": FORMAT_VERSION, "arch": model.arch, "hparams": model.hparams,
                         "metadata": metadata, "tensors": table, "data_bytes": offset}, indent=1).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            _write_chunks(f, [MAGIC, len(header).to_bytes(8, "little"), header, *blobs])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_header(path: Path, raw: bytes) -> tuple[dict, int]:
    n_fixed = len(MAGIC) + 8
    if raw[: len(MAGIC)] != MAGIC[: len(raw)]:
        raise ValueError(f"checkpoint file {path} is not a robinsim BNN checkpoint (wrong magic bytes)")
    if len(raw) < n_fixed:
        raise ValueError(f"checkpoint file {path} is truncated: {len(raw)} bytes, shorter than its {n_fixed}-byte preamble")
    n_header = int.from_bytes(raw[len(MAGIC) : n_fixed], "little")
    if len(raw) < n_fixed + n_header:
        raise ValueError(f"checkpoint file {path} is truncated inside its header: needs {n_fixed + n_header} bytes, has {len(raw)}")
    try:
        header = json.loads(raw[n_fixed : n_fixed + n_header].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"checkpoint file {path} has a corrupt header: {exc}") from None
    fields = ("name", "dtype", "shape", "offset", "nbytes", "sha256")
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), list) or not all(
            isinstance(e, dict) and all(k in e for k in fields) for e in header["tensors"]):
        raise ValueError(f"checkpoint file {path} has a corrupt header: needs a 'tensors' list with {', '.join(fields)} per tensor")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"checkpoint file {path} has format_version={header.get('format_version')!r}; allowed: {FORMAT_VERSION}")
    return header, n_fixed + n_header


def _mismatch(model: nn.Module, table: dict[str, list]) -> str | None:
    """First difference between a model's state dict and a file's tensor table, naming the layer."""
    state = model.state_dict()
    for key, t in state.items():
        if key not in table:
            return f"{_describe(model, key)} needs tensor '{key}' of shape {tuple(t.shape)}, which the file lacks"
        if tuple(table[key]) != tuple(t.shape):
            return f"{_describe(model, key)}: tensor '{key}' has shape {tuple(table[key])} in the file, {tuple(t.shape)} in the architecture"
    for key in table:
        if key not in state:
            return f"the file has tensor '{key}' (layer '{_layer(key)}'), which the architecture lacks"
    return None


def load(path, arch: str | None = None) -> BNN | HybridBNN:
    """Rebuild the model stored at ``path`` (eval mode; ``.metadata`` holds the saved metadata).

    ``arch`` (optional) is the architecture the caller expects. Errors name the file and the
    layer: FileNotFoundError (missing), ValueError (truncated, corrupt, another architecture,
    non-binary weights in a binary layer).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    raw = path.read_bytes()
    header, start = _read_header(path, raw)
    file_arch = header.get("arch")
    if file_arch not in architectures.ARCHITECTURES:
        raise ValueError(f"checkpoint file {path} holds architecture {file_arch!r}, which is not registered; "
                         f"allowed: {sorted(architectures.ARCHITECTURES)}")
    table = {e["name"]: e for e in header["tensors"]}
    shapes = {k: e["shape"] for k, e in table.items()}
    if arch is not None and arch != file_arch:
        expected = architectures.build(arch)
        where = _mismatch(expected, shapes) or "same tensor shapes"
        raise ValueError(f"checkpoint file {path} holds architecture {file_arch!r}, not {arch!r}: {where}")
    try:
        model = architectures.build(file_arch, **header.get("hparams", {}))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"checkpoint file {path}: {exc}") from None
    where = _mismatch(model, shapes)
    if where is not None:
        raise ValueError(f"checkpoint file {path} does not match architecture {file_arch!r} "
                         f"(hparams {header.get('hparams')}): {where}")
    binary = _binary_keys(model)
    state = {}
    for key, ref in model.state_dict().items():
        e = table[key]
        what = f"tensor '{key}' of {_describe(model, key)}"
        lo, hi = start + e["offset"], start + e["offset"] + e["nbytes"]
        if len(raw) < hi:
            raise ValueError(f"checkpoint file {path} is truncated: {what} needs bytes {lo}..{hi}, the file has {len(raw)}")
        blob = raw[lo:hi]
        if hashlib.sha256(blob).hexdigest() != e["sha256"]:
            raise ValueError(f"checkpoint file {path} is corrupt: {what} fails its sha256 check")
        want = torch.int8 if key in binary else ref.dtype
        if _DTYPES.get(e["dtype"]) != want:
            raise ValueError(f"checkpoint file {path}: {what} has dtype {e['dtype']}; allowed: {str(want).removeprefix('torch.')}")
        t = torch.from_numpy(np.frombuffer(blob, dtype=e["dtype"]).copy()).view(ref.shape)
        if key in binary:
            bad = (t != 1) & (t != -1)
            if bad.any():
                raise ValueError(f"checkpoint file {path}: {_describe(model, key)} has non-binary weight {int(t[bad][0])} "
                                 f"(at flat index {int(bad.flatten().nonzero()[0])}); allowed: -1, +1")
        state[key] = t
    if len(raw) != start + header.get("data_bytes", -1):
        raise ValueError(f"checkpoint file {path} is corrupt: {len(raw) - start} data bytes, header says {header.get('data_bytes')}")
    model.load_state_dict(state)
    model.metadata = dict(header.get("metadata", {}))
    return model.eval()


def pretrained_names() -> list[str]:
    """Names of the checkpoints shipped in ``mapping/pretrained``."""
    return sorted(p.name.removesuffix(SUFFIX) for p in PRETRAINED_DIR.glob(f"*{SUFFIX}"))


def load_pretrained(name: str) -> BNN | HybridBNN:
    """Load a shipped checkpoint by name (e.g. ``"mnist-cnn"``, ``"mnist-mlp"``, ``"mnist-hybrid"``)."""
    names = pretrained_names()
    if name not in names:
        raise ValueError(f"name={name!r} is not a shipped checkpoint; allowed: {names}")
    return load(PRETRAINED_DIR / f"{name}{SUFFIX}", arch=name if name in architectures.ARCHITECTURES else None)
