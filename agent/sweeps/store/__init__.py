"""The store: accounts, sweeps, per-account snapshots, alerts and report files.

`open_store(db)` opens the one a command names: a file path (the embedded SQLite store, the
default: csm.sqlite3 in the data directory) or a `postgresql://` URL (a PostgreSQL server, with
the `postgres` extra), given by `--db` or else `CSM_DB`. Both implement `Store` with the same
numbered migrations and give the same answers."""

from __future__ import annotations

import re
from pathlib import Path

from agent.sweeps.store.base import (
    ERRORS_KEPT,
    RowFailed,
    Store,
    StoreError,
    StoreUnavailable,
    now,
)
from agent.sweeps.store.migrations import MIGRATIONS, Migration
from agent.sweeps.store.sqlite import SQLiteStore
from tools.paths import store_location

__all__ = [
    "ERRORS_KEPT", "MIGRATIONS", "Migration", "RowFailed", "SQLiteStore", "Store", "StoreError",
    "StoreUnavailable", "now", "open_store", "store_exists",
]

POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_store(db: str | Path | None = None) -> Store:
    """The store `db` names (a path or a postgresql:// URL), else CSM_DB's, else the default
    SQLite file; created and migrated as needed. A URL of another kind, a missing driver or an
    unreachable server is a StoreError of one sentence (never with the password)."""
    where = store_location(db)
    if isinstance(where, Path):
        return SQLiteStore(where)
    scheme = where.split("://", 1)[0].lower()
    if scheme not in POSTGRES_SCHEMES:
        raise StoreError(
            f"{_scheme_only(where)}: not a store csm-agent can open; pass a file path (SQLite) "
            "or a postgresql://user@host:port/database URL."
        )
    from agent.sweeps.store.postgres import PostgresStore

    return PostgresStore(where)


def store_exists(db: str | Path | None = None) -> bool:
    """Whether there is a store to read: the SQLite file exists (a server database is opened
    to find out, so a URL always counts)."""
    where = store_location(db)
    return not isinstance(where, Path) or where.is_file()


def _scheme_only(url: str) -> str:
    """A URL of an unknown kind, named without anything after its host (it may hold a
    password)."""
    return re.sub(r"://.*", "://...", url, flags=re.S)
