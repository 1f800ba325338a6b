"""Where a sweep's batches run: the executor interface and the choice of one.

An executor takes the batches of accounts the main process read and validated, runs each on a
worker that was set up once (`start(*args)`, then `work(batch)` per batch) and gives the results
back in the order of the batches, with a bounded number in flight. `local` is a pool of worker
processes on this machine (the default, no server); `ray` runs the same functions as Ray actors,
on a laptop or a cluster (`RAY_ADDRESS`). The functions travel by reference: the worker imports
them from the installed package."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.sweeps.executors.base import THREAD_CAPS, Executor, ExecutorError
from agent.sweeps.executors.local import LocalExecutor

__all__ = ["THREAD_CAPS", "Executor", "ExecutorError", "default_executor", "open_executor"]

NAMES = ("local", "ray")


def default_executor() -> str:
    """`ray` when RAY_ADDRESS names a cluster, else `local`."""
    return "ray" if os.environ.get("RAY_ADDRESS", "").strip() else "local"


def open_executor(
    name: str,
    workers: int,
    start: Callable[..., None],
    args: tuple[Any, ...],
    work: Callable[[Any], Any],
    *,
    context: Any = None,
    environ: dict[str, str] | None = None,
    files: dict[str, Path] | None = None,
) -> Executor:
    """An executor of `name` with `workers` workers, each set up by `start(*args)` (on Ray:
    `start(*args, paths)`, `paths` the local copies of `files` by key, with `environ` set first)
    and running `work` on each batch. `context`: the multiprocessing context of the local pool."""
    if name == "local":
        return LocalExecutor(workers, start, args, work, context)
    if name == "ray":
        from agent.sweeps.executors.ray import RayExecutor

        return RayExecutor(workers, start, args, work, environ, files)
    raise ExecutorError(f"--executor {name}: unknown executor; use one of {', '.join(NAMES)}.")
