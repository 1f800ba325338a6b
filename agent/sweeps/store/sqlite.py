"""The embedded SQLite store, the default: one database file, no server.

Schema changes are the numbered migrations of `migrations.py`, applied in order (`PRAGMA
user_version`, mirrored in `schema_version`); a store made by an older version gets the missing
ones when it is opened. Each batch of finished accounts is committed in one transaction, so a
crash loses nothing that finished. One sweep at a time holds `<store>.lock`."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.sweeps.store.base import (
    SNAPSHOT_COLUMNS,
    Store,
    StoreError,
    StoreUnavailable,
    now,
    snapshot_row,
)
from agent.sweeps.store.migrations import MIGRATIONS, SCHEMA_VERSION_TABLE, statements


class _Writer:
    """A transaction's statements on the store's connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.execute(sql, params)]


class SQLiteStore(Store):
    """One SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where, self.name = str(path), path.name
        self.locator = str(path.resolve())
        self._lock: Any = None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: not a csm-agent store ({error}).") from None

    def _migrate(self) -> None:
        """Apply the missing schema steps, each in one transaction that also records it; the
        version is read again once the write lock is held (another process may have just
        migrated the same file)."""
        while (version := self.schema_version()) < len(MIGRATIONS) or not self._has_versions():
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                if version == len(MIGRATIONS):
                    return  # a file it may only read: every step is there, only the record not
                raise
            try:
                if self.schema_version() == version:
                    self._step(version)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _step(self, version: int) -> None:
        """The next step after `version` (or, on a store an older csm-agent made, the
        `schema_version` table with the steps it already has). A newer schema never gets here:
        `_has_versions` refused it."""
        self.db.execute(SCHEMA_VERSION_TABLE)
        self.db.executemany(
            "INSERT OR IGNORE INTO schema_version (version) VALUES (?)",
            [(n,) for n in range(1, version + 1)],
        )
        if version == len(MIGRATIONS):
            return
        step = MIGRATIONS[version]
        for statement in statements(step.sqlite):
            self.db.execute(statement)
        self.db.execute(
            "INSERT OR IGNORE INTO schema_version (version, applied_at) VALUES (?, ?)",
            (step.number, now()),
        )
        self.db.execute(f"PRAGMA user_version = {step.number}")

    def _has_versions(self) -> bool:
        version = self.schema_version()
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: made by a newer csm-agent (schema {version}); upgrade.")
        found = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        return found is not None

    @staticmethod
    def _json_array_length(column: str, key: str) -> str:
        return f"json_array_length({column}, '$.{key}')"

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[_Writer]:
        """All or nothing."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise self._unavailable(error) from error
        try:
            yield _Writer(self.db)
        except BaseException as error:
            self.db.execute("ROLLBACK")
            if isinstance(error, sqlite3.OperationalError):
                raise self._unavailable(error) from error
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: sqlite3.OperationalError) -> StoreUnavailable:
        return StoreUnavailable(f"{self.path}: the store cannot be written ({error}).")

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.execute(sql, params)]

    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(sql, params)]

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        # its own connection: the caller may write meanwhile, from another thread even
        reader = sqlite3.connect(self.path, check_same_thread=False)
        try:
            yield from reader.execute(sql, params)
        finally:
            reader.close()

    @property
    def lock_path(self) -> Path:
        """The lock file a running sweep holds (`<store>.lock`)."""
        return Path(f"{self.path}.lock")

    def lock(self, wait: float = 1.0) -> None:
        handle = open(self.lock_path, "a+")  # noqa: SIM115 - held for the process
        deadline = time.monotonic() + wait  # a reader probing the lock holds it for a moment
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise StoreError(
                    f"{self.path}: another sweep is running ({holder}); wait for it to finish."
                ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._lock = handle
        self._mark_stale_sweeps()

    def sweep_running(self) -> bool:
        if self._lock is not None:
            return True
        try:
            handle = open(self.lock_path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            return False  # no lock file: no sweep ever ran here
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            handle.close()  # closing releases a lock taken here
        return False

    def close(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
        self.db.close()

    def record(
        self,
        sweep_id: int,
        snapshots: list[dict[str, Any]],
        alerts: list[tuple[str, str, str]],
        reports: list[tuple[str, str, str]],
    ) -> None:
        with self.transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(SNAPSHOT_COLUMNS))})",
                [snapshot_row(sweep_id, s) for s in snapshots],
            )
            db.executemany(
                "INSERT OR IGNORE INTO alerts (sweep_id, account_id, kind, detail) "
                "VALUES (?, ?, ?, ?)",
                [(sweep_id, *a) for a in alerts],
            )
            db.executemany(
                "INSERT OR REPLACE INTO reports (sweep_id, account_id, kind, path) "
                "VALUES (?, ?, ?, ?)",
                [(sweep_id, *r) for r in reports],
            )
