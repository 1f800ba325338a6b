"""Where csm-agent keeps its state (a light module: no database or model imports)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`CSM_DATA_DIR`, else the per-user data directory."""
    configured = os.environ.get("CSM_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("csm-agent", appauthor=False))


def store_path(db: str | Path | None = None) -> Path:
    """The SQLite store: `db` when given, else csm.sqlite3 in the data directory."""
    return Path(db) if db else data_dir() / "csm.sqlite3"
