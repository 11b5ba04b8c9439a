"""Output files: atomic writes, output directories and tidy, byte-stable CSV tables.

Every file is written to a temporary file in the same directory, flushed to disk and then
renamed over the target (``os.replace``), so a crash never leaves a half-written file.
"""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "FLOAT_FORMAT",
    "current_umask",
    "atomic_write_bytes",
    "atomic_write_text",
    "write_json",
    "read_json",
    "to_jsonable",
    "check_out_dir",
    "prepare_out_dir",
    "tidy_csv_text",
    "write_csv",
    "save_figure",
]

#: Fixed float format of every CSV table (9 significant digits): stable across runs and platforms.
FLOAT_FORMAT = "%.9g"


def current_umask() -> int:
    """The process umask (read from /proc where it can be, without changing it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename), with the permissions
    an ordinary file gets under the process umask (``0o666 & ~umask``, not mkstemp's 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj):
    """Convert numpy scalars/arrays, paths and nested containers into plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in JSON: {obj!r}")


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON (NaN written as ``null``) atomically."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    text = json.dumps(clean(to_jsonable(obj)), indent=2, sort_keys=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def read_json(path):
    """Read a JSON file; errors name the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def check_out_dir(path) -> Path:
    """Refuse an output directory ``path`` that is empty, a file or sits under one (creates nothing)."""
    if not str(path).strip():
        raise ValueError(f"--out {str(path)!r} is empty; allowed: a directory path")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(path)!r} is an existing file; allowed: a directory (existing or new)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"--out {str(path)!r} cannot be created: {str(parent)!r} is a file")
            break
    return path


def prepare_out_dir(path) -> Path:
    """Create the output directory ``path`` (and parents) after :func:`check_out_dir`."""
    path = check_out_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {str(path)!r} cannot be created: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise ValueError(f"--out {str(path)!r} is not writable")
    return path


def tidy_csv_text(df: pd.DataFrame, sort_by: list[str]) -> str:
    """Render ``df`` as CSV with rows sorted by ``sort_by`` and floats in :data:`FLOAT_FORMAT`.

    The text depends only on the table's values: no index, ``\\n`` line ends, fixed float format.
    """
    missing = [c for c in sort_by if c not in df.columns]
    if missing:
        raise ValueError(f"sort_by columns {missing} are not in the table; columns: {list(df.columns)}")
    out = df.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    return out.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_csv(path, df: pd.DataFrame, sort_by: list[str]) -> Path:
    """Write ``df`` as a tidy CSV (see :func:`tidy_csv_text`) atomically."""
    return atomic_write_text(path, tidy_csv_text(df, sort_by))


def save_figure(fig, out_dir, stem: str, formats=("png", "pdf")) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<fmt>`` for every format, atomically.

    Dates and software versions are left out of the metadata, so the files depend only on the figure.
    """
    paths = []
    for fmt in formats:
        buf = io.BytesIO()
        meta = {"pdf": {"CreationDate": None, "Producer": None, "Creator": None},
                "png": {"Software": None}}.get(fmt)
        fig.savefig(buf, format=fmt, dpi=150, metadata=meta)
        paths.append(atomic_write_bytes(Path(out_dir) / f"{stem}.{fmt}", buf.getvalue()))
    return paths
