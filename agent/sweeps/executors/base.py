"""The executor interface: what the sweep asks of the workers that run its batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

# One math thread per worker: the sweep's parallelism is its workers, and native thread pools in
# every worker would fight over the cores (measured: 2x slower).
THREAD_CAPS = {name: "1" for name in (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"
)}


class ExecutorError(RuntimeError):
    """The executor asked for cannot be used here (one sentence: what, how to fix)."""


class Executor(Protocol):
    """Runs batches on set-up workers (`agent.sweeps.executors`)."""

    def results(self, batches: Iterator[Any]) -> Iterator[Any]:
        """The result of every batch, in the order of `batches`; the batches are read in the
        calling thread, as results are taken."""
        ...

    def close(self) -> None:
        """Every batch is done: let the workers go."""
        ...

    def cancel(self) -> None:
        """The sweep is interrupted: end every worker now (no work of theirs after this)."""
        ...
