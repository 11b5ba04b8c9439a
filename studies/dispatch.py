"""Run independent tasks in-process or as Dask tasks, in a deterministic order.

A task is a key plus keyword arguments for one pure function ``fn(*shared, **kwargs) -> dict``.
``run_tasks`` returns the rows in task order whatever order they finish in, so a study gives
the same table in one process or on a cluster. Large shared arguments (model, dataset) are
sent to every Dask worker once. With a :class:`~studies.resume.Checkpoint`, finished tasks
are recorded as they complete and skipped on resume.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from tqdm.auto import tqdm

__all__ = ["Task", "run_tasks", "connect"]


@dataclass(frozen=True)
class Task:
    """One unit of work: a unique ``key`` and the keyword arguments of the task function."""

    key: str
    kwargs: dict = field(default_factory=dict)


def connect(scheduler):
    """Return ``(client, owned)`` for a Dask scheduler address, ``Client`` or cluster object."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the 'distributed' extra is installed in CI
        raise ValueError("scheduler given but dask.distributed is not installed; "
                         "pip install 'robinsim[distributed]'") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            return Client(scheduler, timeout="10s"), True
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(f"--scheduler / scheduler={scheduler!r}: cannot connect to a Dask scheduler ({exc}); "
                             "allowed: an address such as tcp://host:8786") from None
    if hasattr(scheduler, "scheduler_address"):
        return Client(scheduler), True
    raise TypeError(
        f"scheduler must be None, a Dask scheduler address (str) or a distributed.Client, "
        f"got {type(scheduler).__name__}"
    )


def run_tasks(fn, tasks, *, shared=(), scheduler=None, checkpoint=None, progress=False, desc="tasks"):
    """Run ``fn(*shared, **task.kwargs)`` for every task; return the rows in task order.

    ``scheduler=None`` runs in this process; otherwise the tasks run on Dask (see :func:`connect`).
    ``checkpoint`` (optional) supplies rows already finished and records new ones as they finish.
    ``progress`` shows a tqdm bar on stderr.
    """
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    rows = dict(checkpoint.done()) if checkpoint is not None else {}
    todo = [t for t in tasks if t.key not in rows]
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="task",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def finish(task, row):
        if checkpoint is not None:
            checkpoint.add(task.key, row)
        rows[task.key] = row
        bar.update(1)

    try:
        if scheduler is None:
            for task in todo:
                finish(task, fn(*shared, **task.kwargs))
        elif todo:
            _run_dask(fn, todo, shared, scheduler, finish)
    finally:
        bar.close()
    return [rows[k] for k in keys]


def _call(fn, kwargs, *shared):
    return fn(*shared, **kwargs)


def _run_dask(fn, todo, shared, scheduler, finish):
    from distributed import as_completed

    client, owned = connect(scheduler)
    try:
        # hash=False: a fresh key per run, so data released by an earlier run on the same client (same
        # content, same hashed key) cannot be deleted under this one ("lost dependencies").
        shared_futures = [client.scatter([obj], broadcast=True, hash=False)[0] for obj in shared]
        futures = {}
        for task in todo:
            fut = client.submit(_call, fn, task.kwargs, *shared_futures, pure=False)
            futures[fut] = task
        for fut in as_completed(futures):
            finish(futures[fut], fut.result())
    finally:
        if owned:
            client.close()
