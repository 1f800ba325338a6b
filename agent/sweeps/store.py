"""The embedded SQLite store: accounts, sweeps, per-account snapshots, alerts and reports.

Schema changes are numbered migrations applied in order (`PRAGMA user_version`); a store made
by an older version gets the missing ones when it is opened. Each batch of finished accounts is
committed in one transaction, so a crash loses nothing that finished."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY,
        as_of TEXT NOT NULL UNIQUE,
        routine TEXT NOT NULL,
        source TEXT NOT NULL,
        input_hash TEXT NOT NULL,
        playbook_version TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'incomplete', 'complete', 'failed')),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        accounts INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        errors TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE snapshots (
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        mrr REAL,
        csat REAL,
        health_score REAL,
        color TEXT,
        churn_score REAL,
        tier TEXT,
        signals TEXT NOT NULL,
        renewal_date TEXT,
        renewal_probability REAL,
        expected_churned_mrr REAL,
        data TEXT NOT NULL,
        PRIMARY KEY (sweep_id, account_id)
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        UNIQUE (sweep_id, account_id, kind, detail)
    );
    CREATE TABLE reports (
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        PRIMARY KEY (sweep_id, account_id, kind)
    );
    """,
    # 2: outcomes and learnable snapshots (SPEC 14): each account's status and churn day, and
    # every input field of every account a sweep assessed (NULL in the snapshots made before)
    """
    ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'churned'));
    ALTER TABLE accounts ADD COLUMN churned_on TEXT;
    UPDATE accounts SET status = 'churned', churned_on = json_extract(data, '$.churned_on')
        WHERE lower(trim(json_extract(data, '$.status'))) = 'churned';
    ALTER TABLE snapshots ADD COLUMN inputs TEXT;
    """,
)


ERRORS_KEPT = 1000  # rows whose errors a sweep keeps (the count covers them all)


class StoreError(RuntimeError):
    """The store cannot be used (locked by another sweep, unreadable, newer schema)."""


class RowFailed(Exception):
    """One row the store could not take (the rest of its batch is stored)."""

    def __init__(self, row: int, record: dict[str, Any], error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.row, self.record, self.error = row, record, error


def _chunks(ids: list[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """The ids in parts small enough for one SQL `IN (...)`, each with its placeholders."""
    for first in range(0, len(ids), size):
        part = ids[first : first + size]
        yield part, ",".join("?" * len(part))


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
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
        self._lock: Any = None

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: made by a newer csm-agent (schema {version}); upgrade.")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;"
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @property
    def lock_path(self) -> Path:
        """The lock file a running sweep holds (`<store>.lock`)."""
        return Path(f"{self.path}.lock")

    def lock(self, wait: float = 1.0) -> None:
        """Hold the sweep lock of this store; a second sweep gets a clear error. Any sweep still
        marked `running` is then stale (its process died without closing it): it becomes
        `incomplete`, so `--resume` can finish it."""
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
        with self.transaction() as db:
            db.execute("UPDATE sweeps SET status = 'incomplete' WHERE status = 'running'")

    def sweep_running(self) -> bool:
        """True while some process (this one included) holds the sweep lock."""
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
        """Release the lock and the connection."""
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
        self.db.close()

    # accounts -------------------------------------------------------------

    def import_accounts(
        self, rows: Iterable[tuple[int, dict[str, Any]]], batch: int = 1000
    ) -> tuple[int, list[RowFailed]]:
        """Insert or replace accounts (validated dicts with their row numbers), a batch per
        transaction; a row the database refuses is returned, never stops the others."""
        count, failed, pending = 0, [], []
        for row, record in rows:
            pending.append((row, record))
            if len(pending) >= batch:
                count += self._put_accounts(pending, failed)
                pending = []
        if pending:
            count += self._put_accounts(pending, failed)
        return count, failed

    def _put_accounts(
        self, rows: list[tuple[int, dict[str, Any]]], failed: list[RowFailed]
    ) -> int:
        sql = (
            "INSERT INTO accounts (id, name, data, updated_at, status, churned_on) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, data = excluded.data, "
            "updated_at = excluded.updated_at, status = excluded.status, "
            "churned_on = excluded.churned_on"
        )
        stamp = now()

        def values(record: dict[str, Any]) -> tuple[Any, ...]:
            return (
                record["id"],
                record["name"],
                json.dumps(record, ensure_ascii=False),
                stamp,
                record.get("status") or "active",
                record.get("churned_on"),
            )

        try:
            with self.transaction() as db:
                db.executemany(sql, (values(record) for _, record in rows))
            return len(rows)
        except sqlite3.OperationalError:
            raise  # the database itself (disk full, locked): not one row's fault
        except Exception:  # noqa: BLE001 - some row is unstorable: find it, keep the rest
            pass
        count = 0
        for row, record in rows:
            try:
                with self.transaction() as db:
                    db.execute(sql, values(record))
                count += 1
            except sqlite3.OperationalError:
                raise
            except Exception as error:  # noqa: BLE001 - reported per row
                failed.append(RowFailed(row, record, error))
        return count

    def account_count(self) -> int:
        """How many accounts the store holds."""
        return int(self.db.execute("SELECT count(*) FROM accounts").fetchone()[0])

    def iter_accounts(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Stored accounts in id order, with their position, without loading them all."""
        # its own connection: a worker pool's feeder thread may be the one reading
        reader = sqlite3.connect(self.path, check_same_thread=False)
        try:
            cursor = reader.execute("SELECT data FROM accounts ORDER BY id")
            for position, (data,) in enumerate(cursor, start=1):
                yield position, json.loads(data)
        finally:
            reader.close()

    def accounts_fingerprint(self) -> str:
        """Changes whenever any stored account changes (its status included)."""
        row = self.db.execute(
            "SELECT count(*), max(updated_at), sum(status = 'churned') FROM accounts"
        ).fetchone()
        return f"{row[0]}:{row[1]}:{row[2] or 0}"

    def statuses(self) -> dict[str, str]:
        """Account id -> status (`active` or `churned`) of every stored account."""
        return dict(self.db.execute("SELECT id, status FROM accounts"))

    def churn_days(self) -> dict[str, str]:
        """Account id -> the day it churned (ISO), for the churned accounts."""
        rows = self.db.execute(
            "SELECT id, churned_on FROM accounts WHERE status = 'churned' AND churned_on "
            "IS NOT NULL"
        )
        return dict(rows)

    def mark_churned(self, ids: Iterable[str], day: str) -> list[str]:
        """Mark the given active accounts churned on `day` (ISO), in one transaction: the
        status columns and the stored account both say so, and its data stays. Returns the ids
        changed (an account already churned keeps its own day)."""
        changed: list[str] = []
        stamp = now()
        wanted = sorted(set(ids))
        with self.transaction() as db:
            for part, marks in _chunks(wanted):
                rows = db.execute(
                    f"SELECT id, data FROM accounts WHERE status = 'active' AND id IN ({marks})",
                    part,
                ).fetchall()
                for account_id, data in rows:
                    record = {**json.loads(data), "status": "churned", "churned_on": day}
                    db.execute(
                        "UPDATE accounts SET status = 'churned', churned_on = ?, data = ?, "
                        "updated_at = ? WHERE id = ?",
                        (day, _json(record), stamp, account_id),
                    )
                    changed.append(account_id)
        return sorted(changed)

    # sweeps ---------------------------------------------------------------

    def sweep(self, as_of: str) -> dict[str, Any] | None:
        """The sweep of an as-of date, if any; a `running` one whose lock nobody holds (its
        process was killed) is reported `incomplete`."""
        row = self.db.execute("SELECT * FROM sweeps WHERE as_of = ?", (as_of,)).fetchone()
        if row is None:
            return None
        found = dict(row)
        if found["status"] == "running" and not self.sweep_running():
            found["status"] = "incomplete"
        return found

    def start_sweep(
        self, as_of: str, routine: str, source: str, input_hash: str, playbook_version: str
    ) -> int:
        """A fresh sweep for the date (an earlier one of that date is replaced)."""
        with self.transaction() as db:
            db.execute("DELETE FROM sweeps WHERE as_of = ?", (as_of,))
            cursor = db.execute(
                "INSERT INTO sweeps (as_of, routine, source, input_hash, playbook_version, status,"
                " started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (as_of, routine, source, input_hash, playbook_version, now()),
            )
        return int(cursor.lastrowid or 0)

    def reopen_sweep(self, sweep_id: int) -> None:
        """Mark an incomplete sweep as running again (resume)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sweeps SET status = 'running', finished_at = NULL WHERE id = ?", (sweep_id,)
            )

    def finish_sweep(
        self, sweep_id: int, status: str, rejected: int, errors: list[dict[str, Any]]
    ) -> None:
        """Close a sweep with its counts (`rejected` counts rows; the errors of the first
        ERRORS_KEPT of them are kept); `incomplete` when interrupted."""
        rows: set[Any] = set()
        kept = []
        for error in errors:
            if error.get("row") not in rows and len(rows) >= ERRORS_KEPT:
                break
            rows.add(error.get("row"))
            kept.append(error)
        with self.transaction() as db:
            done = db.execute(
                "SELECT count(*) FROM snapshots WHERE sweep_id = ?", (sweep_id,)
            ).fetchone()[0]
            db.execute(
                "UPDATE sweeps SET status = ?, finished_at = ?, accounts = ?, rejected = ?, "
                "errors = ? WHERE id = ?",
                (status, now(), done, rejected, _json(kept), sweep_id),
            )

    def rejections(self, sweep_id: int) -> tuple[int, list[dict[str, Any]]]:
        """How many rows a sweep could not process, and the errors it kept for them."""
        row = self.db.execute(
            "SELECT rejected, errors FROM sweeps WHERE id = ?", (sweep_id,)
        ).fetchone()
        return (int(row[0]), json.loads(row[1])) if row else (0, [])

    def report_files(self, sweep_id: int) -> dict[str, str]:
        """Account id -> the report file a sweep wrote for it."""
        rows = self.db.execute(
            "SELECT account_id, path FROM reports WHERE sweep_id = ? ORDER BY account_id",
            (sweep_id,),
        )
        return {r[0]: r[1] for r in rows}

    def done_ids(self, sweep_id: int) -> set[str]:
        """Accounts a sweep has already stored."""
        rows = self.db.execute("SELECT account_id FROM snapshots WHERE sweep_id = ?", (sweep_id,))
        return {r[0] for r in rows}

    def fallback_ids(self, sweep_id: int) -> set[str]:
        """Accounts of a sweep with a summary that was asked of a model and fell back."""
        rows = self.db.execute(
            "SELECT account_id FROM snapshots WHERE sweep_id = ? AND "
            "json_array_length(data, '$.prose_fallbacks') > 0",
            (sweep_id,),
        )
        return {r[0] for r in rows}

    def previous_sweep(self, as_of: str) -> sqlite3.Row | None:
        """The latest complete sweep before a date."""
        return self.db.execute(
            "SELECT * FROM sweeps WHERE as_of < ? AND status = 'complete' ORDER BY as_of DESC "
            "LIMIT 1",
            (as_of,),
        ).fetchone()

    def baseline_sweep(self, as_of: str, days: int) -> sqlite3.Row | None:
        """The sweep that starts a retention period: the latest complete one at least `days`
        before, else the earliest complete one before the date."""
        older = self.db.execute(
            "SELECT * FROM sweeps WHERE julianday(as_of) <= julianday(?) - ? AND "
            "status = 'complete' ORDER BY as_of DESC LIMIT 1",
            (as_of, days),
        ).fetchone()
        return (
            older
            or self.db.execute(
                "SELECT * FROM sweeps WHERE as_of < ? AND status = 'complete' "
                "ORDER BY as_of LIMIT 1",
                (as_of,),
            ).fetchone()
        )

    def previous_snapshots(self, sweep_id: int, ids: list[str]) -> dict[str, sqlite3.Row]:
        """The given accounts' snapshots in a sweep."""
        found: dict[str, sqlite3.Row] = {}
        for part, marks in _chunks(ids):
            for row in self.db.execute(
                f"SELECT * FROM snapshots WHERE sweep_id = ? AND account_id IN ({marks})",
                (sweep_id, *part),
            ):
                found[row["account_id"]] = row
        return found

    def names(self, sweep_id: int, ids: list[str]) -> dict[str, str]:
        """Account id -> name in a sweep's snapshots, for the given accounts."""
        found: dict[str, str] = {}
        for part, marks in _chunks(ids):
            found.update(self.db.execute(
                f"SELECT account_id, name FROM snapshots WHERE sweep_id = ? AND account_id IN "
                f"({marks})",
                (sweep_id, *part),
            ))
        return found

    def last_known_mrr(self, ids: list[str], start: str, end: str) -> dict[str, float]:
        """Account id -> the MRR of its latest snapshot with a known MRR among the complete
        sweeps dated from `start` (included) to `end` (excluded); an account with none is left
        out."""
        found: dict[str, float] = {}
        for part, marks in _chunks(ids):
            for account_id, mrr in self.db.execute(
                "SELECT s.account_id, s.mrr FROM snapshots s JOIN sweeps w ON w.id = s.sweep_id "
                f"WHERE w.status = 'complete' AND w.as_of >= ? AND w.as_of < ? AND s.mrr IS NOT "
                f"NULL AND s.account_id IN ({marks}) ORDER BY w.as_of",
                (start, end, *part),
            ):
                found[account_id] = mrr
        return found

    def history_span(self) -> tuple[str, str, int] | None:
        """The first and last dates of the sweeps with snapshots, and how many there are; None
        when no sweep stored any."""
        row = self.db.execute(
            "SELECT min(as_of), max(as_of), count(*) FROM sweeps WHERE EXISTS "
            "(SELECT 1 FROM snapshots WHERE sweep_id = sweeps.id)"
        ).fetchone()
        return (row[0], row[1], int(row[2])) if row[2] else None

    def history(self) -> Iterator[tuple[str, str, dict[str, Any] | None, dict[str, Any]]]:
        """Every snapshot of every sweep, oldest sweep first, then by account id: (as_of,
        account id, the account's inputs as assessed or None when the snapshot was made before
        the store kept them, the snapshot record), streamed."""
        reader = sqlite3.connect(self.path)  # its own cursor: the caller may write meanwhile
        try:
            cursor = reader.execute(
                "SELECT w.as_of, s.account_id, s.inputs, s.data FROM snapshots s "
                "JOIN sweeps w ON w.id = s.sweep_id ORDER BY w.as_of, s.account_id"
            )
            for as_of, account_id, inputs, data in cursor:
                kept = json.loads(inputs) if inputs is not None else None
                yield as_of, account_id, kept, json.loads(data)
        finally:
            reader.close()

    def record(
        self,
        sweep_id: int,
        snapshots: list[dict[str, Any]],
        alerts: list[tuple[str, str, str]],
        reports: list[tuple[str, str, str]],
    ) -> None:
        """Store one batch of finished accounts, their alerts and report files, atomically. A
        snapshot's `inputs` (the validated account) go to their own column, the rest to `data`."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO snapshots (sweep_id, account_id, name, mrr, csat, "
                "health_score, color, churn_score, tier, signals, renewal_date, "
                "renewal_probability, expected_churned_mrr, data, inputs) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        sweep_id,
                        s["id"],
                        s["name"],
                        s["mrr"],
                        s["csat"],
                        s["health_score"],
                        s["color"],
                        s["churn_score"],
                        s["tier"],
                        json.dumps(s["signals"]),
                        s["renewal_date"],
                        s["renewal_probability"],
                        s["expected_churned_mrr"],
                        json.dumps(
                            {k: v for k, v in s.items() if k != "inputs"}, ensure_ascii=False
                        ),
                        json.dumps(s["inputs"], ensure_ascii=False) if "inputs" in s else None,
                    )
                    for s in snapshots
                ],
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

    def snapshots(self, sweep_id: int) -> Iterator[dict[str, Any]]:
        """Every snapshot of a sweep, streamed."""
        for (data,) in self.db.execute(
            "SELECT data FROM snapshots WHERE sweep_id = ? ORDER BY account_id", (sweep_id,)
        ):
            yield json.loads(data)

    def alerts(self, sweep_id: int) -> list[dict[str, str]]:
        """A sweep's alerts."""
        rows = self.db.execute(
            "SELECT account_id, kind, detail FROM alerts WHERE sweep_id = ? "
            "ORDER BY account_id, kind",
            (sweep_id,),
        )
        return [dict(r) for r in rows]


def _json(data: Any) -> str:
    """JSON text the database accepts: text that is not valid Unicode is escaped."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data)
    return text
