"""Checkpoints of long runs: one small JSON file per finished task, written atomically.

Layout of a checkpoint directory::

    manifest.json        the run's parameters (a resumed run must match them)
    done/<key>.json      one result row per finished task

A task's file appears only once its row is complete (temporary file, fsync, rename), so a run
killed at any moment loses at most the tasks that were still running. Each file carries the
SHA-256 of its key and row; a file that does not parse or whose content no longer matches its
digest (hand-edited, truncated) is refused by name, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from studies.outputs import atomic_write_text, to_jsonable, write_json

__all__ = ["Checkpoint"]

_SAFE = re.compile(r"[^A-Za-z0-9_.=+-]")


def _file_name(key: str) -> str:
    return _SAFE.sub("_", key) + ".json"


def _digest(key: str, row) -> str:
    return hashlib.sha256(json.dumps({"key": key, "row": row}, sort_keys=True).encode()).hexdigest()


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"checkpoint file {path} is not valid JSON ({exc}); it was truncated or edited: delete it "
                         "(that task is recomputed) or rerun without --resume") from None


class Checkpoint:
    """Journal of finished tasks in ``directory`` for a run described by ``manifest``.

    ``resume=True`` continues an existing checkpoint after checking that its manifest matches
    (else ``ValueError`` naming the differing arguments); without it an earlier checkpoint in
    ``directory`` is refused (``ValueError``: resume it or overwrite it) unless ``overwrite=True``,
    which discards it (``self.discarded`` tells whether there was one). The manifest holds what
    fixes each task's row; a run with more or fewer tasks (chips) of the same kind resumes.
    """

    def __init__(self, directory, manifest: dict, *, resume: bool = False, overwrite: bool = False):
        self.directory = Path(directory)
        self.manifest = json.loads(json.dumps(to_jsonable(manifest)))
        self._done_dir = self.directory / "done"
        manifest_path = self.directory / "manifest.json"
        if manifest_path.exists() and not resume and not overwrite:
            raise ValueError(f"{self.directory} holds the checkpoint of an earlier run; allowed: --resume to continue "
                             "it (resume=True), or --overwrite to discard it (overwrite=True)")
        self.discarded = manifest_path.exists() and not resume
        if self.discarded:
            shutil.rmtree(self.directory)
        elif manifest_path.exists():
            old = _read_json(manifest_path)
            diff = sorted(k for k in set(old) | set(self.manifest) if old.get(k) != self.manifest.get(k))
            if diff:
                shown = "; ".join(f"{k}: {old.get(k)!r} -> {self.manifest.get(k)!r}" for k in diff)
                raise ValueError(
                    f"cannot resume {self.directory}: the checkpoint was made with other arguments ({shown})"
                )
        self._done_dir.mkdir(parents=True, exist_ok=True)
        if not manifest_path.exists():
            write_json(manifest_path, self.manifest)
        for tmp in self._done_dir.glob(".*.tmp"):
            tmp.unlink()

    def done(self) -> dict[str, dict]:
        """Rows of the finished tasks, keyed by task key."""
        rows = {}
        for path in sorted(self._done_dir.glob("*.json")):
            entry = _read_json(path)
            ok = isinstance(entry, dict) and {"key", "row", "sha256"} <= set(entry)
            if not ok or entry["sha256"] != _digest(entry["key"], entry["row"]):
                raise ValueError(f"checkpoint file {path} does not match its digest (edited, or from an older robinsim): "
                                 "delete it (that task is recomputed) or rerun without --resume")
            rows[entry["key"]] = entry["row"]
        return rows

    def add(self, key: str, row: dict) -> None:
        """Record the finished task ``key`` with its result ``row`` (atomic)."""
        row = json.loads(json.dumps(to_jsonable(row)))
        text = json.dumps({"key": key, "row": row, "sha256": _digest(key, row)})
        atomic_write_text(self._done_dir / _file_name(key), text + "\n")
