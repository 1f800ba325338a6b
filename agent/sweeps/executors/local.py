"""The local executor: a pool of worker processes on this machine (the sweep's default)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any


class LocalExecutor:
    """`workers` processes of a multiprocessing `context` (forkserver: each starts from a clean
    process), each set up once by `start(*args)`; `work` runs a batch. At most two batches per
    worker are in flight."""

    def __init__(
        self,
        workers: int,
        start: Callable[..., None],
        args: tuple[Any, ...],
        work: Callable[[Any], Any],
        context: Any,
    ) -> None:
        self.work = work
        self.window = 2 * workers
        self.pool = context.Pool(workers, initializer=start, initargs=args)

    def results(self, batches: Iterator[Any]) -> Iterator[Any]:
        """Results in order; the input is read here, in the calling thread (a pool's feeder
        thread would read the store from another thread)."""
        pending: deque[Any] = deque()
        for batch in batches:
            pending.append(self.pool.apply_async(self.work, (batch,)))
            if len(pending) >= self.window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def close(self) -> None:
        """Wait for the workers to exit."""
        self.pool.close()
        self.pool.join()

    def cancel(self) -> None:
        """SIGTERM to every worker: no model call or report after this."""
        self.pool.terminate()
        self.pool.join()
