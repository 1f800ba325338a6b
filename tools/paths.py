"""Where csm-agent keeps its state (a light module: no database or model imports)."""

from __future__ import annotations

import os
from pathlib import Path


class DataDirError(ValueError):
    """The data directory cannot be one: a file is in its place (or in its path)."""


def data_dir() -> Path:
    """`CSM_DATA_DIR`, else the per-user data directory; checked to be usable as a directory
    (it may not exist yet: it is created when first written)."""
    configured = os.environ.get("CSM_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
        _check_directory(path, f"CSM_DATA_DIR={configured}", "point CSM_DATA_DIR at a directory "
                         "(it is created if missing) or unset it to use the default")
        return path
    from platformdirs import user_data_dir

    path = Path(user_data_dir("csm-agent", appauthor=False))
    _check_directory(path, f"the data directory {path}", "move that file away or set "
                     "CSM_DATA_DIR to a directory")
    return path


def _check_directory(path: Path, what: str, fix: str) -> None:
    """Raise DataDirError when `path`, or the nearest of its parents that exists, is not a
    directory (a file, or a link to nothing)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            if candidate.is_dir():
                return
            kind = "a file" if candidate.is_file() else "not a directory"
            where = "" if candidate == path else f": {candidate} is {kind}"
            raise DataDirError(f"{what} is not a directory{where}; {fix}.")


def store_path(db: str | Path | None = None) -> Path:
    """The SQLite store: `db` when given, else csm.sqlite3 in the data directory."""
    return Path(db) if db else data_dir() / "csm.sqlite3"
