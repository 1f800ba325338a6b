"""The Ray executor: the sweep's workers as Ray actors, on this machine or a cluster.

`ray.init()` joins the cluster of `RAY_ADDRESS` (or a running one it finds), else starts a local
one for the sweep and stops it at the end. Each actor is set up once: the environment variables
the sweep passes (the model's settings, the thread caps), the files it ships (the knowledge index,
the playbook) unpacked on the actor's node, then `start(*args, paths)`. The workers need no shared
disk: what they need travels through Ray's object store, and what they make comes back as
results (the main process writes the report files). A lost actor (its node gone) stops the sweep
as an interruption does: it is marked incomplete and `--resume` finishes it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import ray
    from ray.util import ActorPool
except ImportError:  # pragma: no cover - the message is tested without the extra
    from agent.sweeps.executors.base import ExecutorError

    raise ExecutorError(
        "--executor ray needs Ray, which is not installed; install it with "
        "pip install 'csm-agent[ray]', or use --executor local."
    ) from None

def pack(path: Path) -> tuple[str, bytes]:
    """A file or folder as an uncompressed tar archive, with the digest of its bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(path, arcname=path.name, recursive=True)
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest()[:24], data


STALE_DAYS = 7  # a shipped copy no sweep has used for this long is removed


def unpack(digest: str, data: bytes, name: str, temp: str | None = None) -> str:
    """The archive unpacked once per node, under the temp folder by its digest: the local path
    of the file or folder it holds (two actors of a node share one copy). Each use marks the
    copy as used; copies of other digests unused for STALE_DAYS are removed."""
    base = Path(temp or tempfile.gettempdir())
    root = base / f"csm-shipped-{digest}"
    if not root.exists():
        partial = Path(tempfile.mkdtemp(prefix=f".csm-shipped-{digest}-", dir=base))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
            archive.extractall(partial, filter="data")
        try:
            os.replace(partial, root)
        except OSError:  # another actor of this node got there first
            shutil.rmtree(partial, ignore_errors=True)
    os.utime(root)  # in use: never stale while sweeps use it
    remove_stale(base, keep=root)
    return str(root / name)


def remove_stale(base: Path, keep: Path, days: float = STALE_DAYS) -> None:
    """Remove the shipped copies under `base` but `keep` that no sweep has used for `days`
    (a copy of an older index or playbook); one in use by another sweep is never that old."""
    cutoff = time.time() - days * 86400
    for folder in base.glob("csm-shipped-*"):
        try:
            if folder != keep and folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # gone already (another actor of this node)
            continue


class _Worker:
    """One set-up worker: `run` assesses a batch."""

    def __init__(
        self,
        start: Callable[..., None],
        args: tuple[Any, ...],
        work: Callable[[Any], Any],
        environ: dict[str, str],
        files: dict[str, tuple[str, str, Any]],
    ) -> None:
        os.environ.update(environ)
        paths = {key: unpack(digest, ray.get(ref), name) for key, (name, digest, ref) in
                 files.items()}
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)  # the libraries Ray itself loaded before the caps were set
        start(*args, paths)
        self.work = work

    def run(self, batch: Any) -> Any:
        """The batch's results."""
        return self.work(batch)


_Actor = ray.remote(num_cpus=1)(_Worker)


class RayExecutor:
    """`workers` Ray actors (0: one per CPU of the cluster), at most two batches each in
    flight, results in the order of the batches."""

    def __init__(
        self,
        workers: int,
        start: Callable[..., None],
        args: tuple[Any, ...],
        work: Callable[[Any], Any],
        environ: dict[str, str] | None = None,
        files: dict[str, Path] | None = None,
    ) -> None:
        self.owns = False
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS", "").strip() or None
            cpus = None if address else max(workers, os.cpu_count() or 1)
            ray.init(address=address, num_cpus=cpus, include_dashboard=False,
                     logging_level="warning", configure_logging=True)
            self.owns = True
        if workers <= 0:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        shipped = {}
        for key, path in (files or {}).items():
            digest, data = pack(path)
            shipped[key] = (path.name, digest, ray.put(data))
        self.actors = [
            _Actor.remote(start, args, work, environ or {}, shipped) for _ in range(workers)
        ]
        self.pool = ActorPool(self.actors)
        self.window = 2 * workers

    def results(self, batches: Iterator[Any]) -> Iterator[Any]:
        """Results in order; the batches are read here, in the calling thread."""
        in_flight = 0
        for batch in batches:
            self.pool.submit(lambda actor, value: actor.run.remote(value), batch)
            in_flight += 1
            if in_flight >= self.window:
                yield self.pool.get_next()
                in_flight -= 1
        while self.pool.has_next():
            yield self.pool.get_next()

    def close(self) -> None:
        """End the actors, and the local cluster this executor started."""
        self._end()

    def cancel(self) -> None:
        """End every actor now: their running batches stop, nothing of theirs is stored."""
        self._end()

    def _end(self) -> None:
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []
        if self.owns:
            ray.shutdown()
            self.owns = False
