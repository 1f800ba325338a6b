"""The store interface: accounts, sweeps, per-account snapshots, alerts and report files, with
every query both stores share.

`Store` holds the SQL the two dialects agree on (written with `?` placeholders) over a few
primitives each store implements: a transaction, a fetch, a streamed read on its own
connection, the sweep lock and the batch write. Rows come back as tuples or as dicts keyed by
column name, the same in both stores. A failure of the database itself (gone, locked, full) is
`StoreUnavailable`; any other error while writing a row is that row's fault, and the rows
around it are kept."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

ERRORS_KEPT = 1000  # rows whose errors a sweep keeps (the count covers them all)


class StoreError(RuntimeError):
    """The store cannot be used (locked by another sweep, unreadable, newer schema,
    unreachable); the message is one sentence that says what to do."""


class StoreUnavailable(StoreError):
    """The database itself failed (gone, locked, full): not the fault of the rows written."""


class RowFailed(Exception):
    """One row the store could not take (the rest of its batch is stored)."""

    def __init__(self, row: int, record: dict[str, Any], error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.row, self.record, self.error = row, record, error


class Writer(Protocol):
    """What a transaction offers: statements with `?` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_json(data: Any) -> str:
    """JSON text the database accepts: text that is not valid Unicode is escaped."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data)
    return text


def chunks(ids: list[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """The ids in parts small enough for one SQL `IN (...)`, each with its placeholders."""
    for first in range(0, len(ids), size):
        part = ids[first : first + size]
        yield part, ",".join("?" * len(part))


def kept_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors of the first ERRORS_KEPT rows (a row may have several)."""
    rows: set[Any] = set()
    kept = []
    for error in errors:
        if error.get("row") not in rows and len(rows) >= ERRORS_KEPT:
            break
        rows.add(error.get("row"))
        kept.append(error)
    return kept


SNAPSHOT_COLUMNS = (
    "sweep_id", "account_id", "name", "mrr", "csat", "health_score", "color", "churn_score",
    "tier", "signals", "renewal_date", "renewal_probability", "expected_churned_mrr", "data",
    "inputs",
)


def snapshot_row(sweep_id: int, s: dict[str, Any]) -> tuple[Any, ...]:
    """A snapshot as the values of SNAPSHOT_COLUMNS: its `inputs` (the validated account) in
    their own column, the rest in `data`."""
    return (
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
        json.dumps({k: v for k, v in s.items() if k != "inputs"}, ensure_ascii=False),
        json.dumps(s["inputs"], ensure_ascii=False) if "inputs" in s else None,
    )


UPSERT_ACCOUNT = (
    "INSERT INTO accounts (id, name, data, updated_at, status, churned_on) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, data = excluded.data, "
    "updated_at = excluded.updated_at, status = excluded.status, "
    "churned_on = excluded.churned_on"
)


class Store(ABC):
    """A csm-agent store. `where` names it in messages (a path, or a URL without its
    password), `name` in short (a file name); `locator` is what `--db` takes to reach it
    again."""

    where: str
    name: str
    locator: str

    # what each store implements ----------------------------------------------------------

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Writer]:
        """All or nothing; a failure of the database itself raises StoreUnavailable."""

    @abstractmethod
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""

    @abstractmethod
    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts keyed by column name."""

    @abstractmethod
    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a query read a batch at a time on a connection of their own (the
        caller may write meanwhile), never all in memory."""

    @abstractmethod
    def lock(self, wait: float = 1.0) -> None:
        """Hold this store's sweep lock until close; a second sweep gets a StoreError that
        says so. Any sweep still marked `running` is then stale (its process died without
        closing it): it becomes `incomplete`, so `--resume` can finish it."""

    @abstractmethod
    def sweep_running(self) -> bool:
        """True while some process (this one included) holds the sweep lock."""

    @abstractmethod
    def record(
        self,
        sweep_id: int,
        snapshots: list[dict[str, Any]],
        alerts: list[tuple[str, str, str]],
        reports: list[tuple[str, str, str]],
    ) -> None:
        """Store one batch of finished accounts, their alerts and report files, atomically."""

    @abstractmethod
    def schema_version(self) -> int:
        """The number of the last schema step this store has."""

    @abstractmethod
    def close(self) -> None:
        """Release the lock and the connections."""

    def _mark_stale_sweeps(self) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sweeps SET status = 'incomplete' WHERE status = 'running'")

    # accounts -----------------------------------------------------------------------------

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
                db.executemany(UPSERT_ACCOUNT, (values(record) for _, record in rows))
            return len(rows)
        except StoreUnavailable:
            raise  # the database itself (disk full, locked, gone): not one row's fault
        except Exception:  # noqa: BLE001 - some row is unstorable: find it, keep the rest
            pass
        count = 0
        for row, record in rows:
            try:
                with self.transaction() as db:
                    db.execute(UPSERT_ACCOUNT, values(record))
                count += 1
            except StoreUnavailable:
                raise
            except Exception as error:  # noqa: BLE001 - reported per row
                failed.append(RowFailed(row, record, error))
        return count

    def account_count(self) -> int:
        """How many accounts the store holds."""
        return int(self.fetch("SELECT count(*) FROM accounts")[0][0])

    def iter_accounts(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Stored accounts in id order, with their position, without loading them all."""
        rows = self.stream("SELECT data FROM accounts ORDER BY id")
        for position, (data,) in enumerate(rows, start=1):
            yield position, json.loads(data)

    def accounts_fingerprint(self) -> str:
        """Changes whenever any stored account changes (its status included)."""
        row = self.fetch(
            "SELECT count(*), max(updated_at), "
            "sum(CASE WHEN status = 'churned' THEN 1 ELSE 0 END) FROM accounts"
        )[0]
        return f"{row[0]}:{row[1]}:{row[2] or 0}"

    def statuses(self) -> dict[str, str]:
        """Account id -> status (`active` or `churned`) of every stored account."""
        return dict(self.fetch("SELECT id, status FROM accounts ORDER BY id"))

    def churn_days(self) -> dict[str, str]:
        """Account id -> the day it churned (ISO), for the churned accounts."""
        rows = self.fetch(
            "SELECT id, churned_on FROM accounts WHERE status = 'churned' AND churned_on "
            "IS NOT NULL ORDER BY id"
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
            for part, marks in chunks(wanted):
                rows = db.fetch(
                    f"SELECT id, data FROM accounts WHERE status = 'active' AND id IN ({marks})",
                    part,
                )
                for account_id, data in rows:
                    record = {**json.loads(data), "status": "churned", "churned_on": day}
                    db.execute(
                        "UPDATE accounts SET status = 'churned', churned_on = ?, data = ?, "
                        "updated_at = ? WHERE id = ?",
                        (day, to_json(record), stamp, account_id),
                    )
                    changed.append(account_id)
        return sorted(changed)

    # sweeps -------------------------------------------------------------------------------

    def sweep(self, as_of: str) -> dict[str, Any] | None:
        """The sweep of an as-of date, if any; a `running` one whose lock nobody holds (its
        process was killed) is reported `incomplete`."""
        rows = self.fetch_dicts("SELECT * FROM sweeps WHERE as_of = ?", (as_of,))
        if not rows:
            return None
        found = rows[0]
        if found["status"] == "running" and not self.sweep_running():
            found["status"] = "incomplete"
        return found

    def start_sweep(
        self, as_of: str, routine: str, source: str, input_hash: str, playbook_version: str
    ) -> int:
        """A fresh sweep for the date (an earlier one of that date is replaced); its id is one
        more than the largest left (SQLite's own rule for a new row id)."""
        with self.transaction() as db:
            db.execute("DELETE FROM sweeps WHERE as_of = ?", (as_of,))
            sweep_id = int(db.fetch("SELECT coalesce(max(id), 0) + 1 FROM sweeps")[0][0])
            db.execute(
                "INSERT INTO sweeps (id, as_of, routine, source, input_hash, playbook_version, "
                "status, started_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (sweep_id, as_of, routine, source, input_hash, playbook_version, now()),
            )
        return sweep_id

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
        kept = kept_errors(errors)
        with self.transaction() as db:
            done = db.fetch("SELECT count(*) FROM snapshots WHERE sweep_id = ?", (sweep_id,))[0][0]
            db.execute(
                "UPDATE sweeps SET status = ?, finished_at = ?, accounts = ?, rejected = ?, "
                "errors = ? WHERE id = ?",
                (status, now(), done, rejected, to_json(kept), sweep_id),
            )

    def rejections(self, sweep_id: int) -> tuple[int, list[dict[str, Any]]]:
        """How many rows a sweep could not process, and the errors it kept for them."""
        rows = self.fetch("SELECT rejected, errors FROM sweeps WHERE id = ?", (sweep_id,))
        return (int(rows[0][0]), json.loads(rows[0][1])) if rows else (0, [])

    def report_files(self, sweep_id: int) -> dict[str, str]:
        """Account id -> the report file a sweep wrote for it."""
        rows = self.fetch(
            "SELECT account_id, path FROM reports WHERE sweep_id = ? ORDER BY account_id, kind",
            (sweep_id,),
        )
        return {r[0]: r[1] for r in rows}

    def done_ids(self, sweep_id: int) -> set[str]:
        """Accounts a sweep has already stored."""
        rows = self.fetch("SELECT account_id FROM snapshots WHERE sweep_id = ?", (sweep_id,))
        return {r[0] for r in rows}

    def fallback_ids(self, sweep_id: int) -> set[str]:
        """Accounts of a sweep with a summary that was asked of a model and fell back."""
        rows = self.fetch(
            f"SELECT account_id FROM snapshots WHERE sweep_id = ? AND "
            f"{self._json_array_length('data', 'prose_fallbacks')} > 0",
            (sweep_id,),
        )
        return {r[0] for r in rows}

    @staticmethod
    @abstractmethod
    def _json_array_length(column: str, key: str) -> str:
        """SQL for the length of the JSON array at `key` of a JSON text column (NULL when the
        key is missing or not an array)."""

    def previous_sweep(self, as_of: str) -> dict[str, Any] | None:
        """The latest complete sweep before a date."""
        rows = self.fetch_dicts(
            "SELECT * FROM sweeps WHERE as_of < ? AND status = 'complete' ORDER BY as_of DESC "
            "LIMIT 1",
            (as_of,),
        )
        return rows[0] if rows else None

    def baseline_sweep(self, as_of: str, days: int) -> dict[str, Any] | None:
        """The sweep that starts a retention period: the latest complete one at least `days`
        before, else the earliest complete one before the date."""
        try:
            cutoff = (date.fromisoformat(as_of) - timedelta(days=days)).isoformat()
        except OverflowError:  # `days` before the first day of the calendar: no sweep is
            cutoff = ""
        older = cutoff and self.fetch_dicts(
            "SELECT * FROM sweeps WHERE as_of <= ? AND status = 'complete' "
            "ORDER BY as_of DESC LIMIT 1",
            (cutoff,),
        ) or self.fetch_dicts(
            "SELECT * FROM sweeps WHERE as_of < ? AND status = 'complete' ORDER BY as_of LIMIT 1",
            (as_of,),
        )
        return older[0] if older else None

    def previous_snapshots(self, sweep_id: int, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The given accounts' snapshots in a sweep."""
        found: dict[str, dict[str, Any]] = {}
        for part, marks in chunks(ids):
            for row in self.fetch_dicts(
                f"SELECT * FROM snapshots WHERE sweep_id = ? AND account_id IN ({marks})",
                (sweep_id, *part),
            ):
                found[row["account_id"]] = row
        return found

    def names(self, sweep_id: int, ids: list[str]) -> dict[str, str]:
        """Account id -> name in a sweep's snapshots, for the given accounts."""
        found: dict[str, str] = {}
        for part, marks in chunks(ids):
            found.update(self.fetch(
                f"SELECT account_id, name FROM snapshots WHERE sweep_id = ? AND account_id IN "
                f"({marks}) ORDER BY account_id",
                (sweep_id, *part),
            ))
        return found

    def last_known_mrr(self, ids: list[str], start: str, end: str) -> dict[str, float]:
        """Account id -> the MRR of its latest snapshot with a known MRR among the complete
        sweeps dated from `start` (included) to `end` (excluded); an account with none is left
        out."""
        found: dict[str, float] = {}
        for part, marks in chunks(ids):
            for account_id, mrr in self.fetch(
                "SELECT s.account_id, s.mrr FROM snapshots s JOIN sweeps w ON w.id = s.sweep_id "
                f"WHERE w.status = 'complete' AND w.as_of >= ? AND w.as_of < ? AND s.mrr IS NOT "
                f"NULL AND s.account_id IN ({marks}) ORDER BY w.as_of, s.account_id",
                (start, end, *part),
            ):
                found[account_id] = mrr
        return found

    def history_span(self) -> tuple[str, str, int] | None:
        """The first and last dates of the sweeps with snapshots, and how many there are; None
        when no sweep stored any."""
        row = self.fetch(
            "SELECT min(as_of), max(as_of), count(*) FROM sweeps WHERE EXISTS "
            "(SELECT 1 FROM snapshots WHERE sweep_id = sweeps.id)"
        )[0]
        return (row[0], row[1], int(row[2])) if row[2] else None

    def history(self) -> Iterator[tuple[str, str, dict[str, Any] | None, dict[str, Any]]]:
        """Every snapshot of every sweep, oldest sweep first, then by account id: (as_of,
        account id, the account's inputs as assessed or None when the snapshot was made before
        the store kept them, the snapshot record), streamed."""
        rows = self.stream(
            "SELECT w.as_of, s.account_id, s.inputs, s.data FROM snapshots s "
            "JOIN sweeps w ON w.id = s.sweep_id ORDER BY w.as_of, s.account_id"
        )
        for as_of, account_id, inputs, data in rows:
            kept = json.loads(inputs) if inputs is not None else None
            yield as_of, account_id, kept, json.loads(data)

    def snapshots(self, sweep_id: int) -> Iterator[dict[str, Any]]:
        """Every snapshot of a sweep, streamed."""
        rows = self.stream(
            "SELECT data FROM snapshots WHERE sweep_id = ? ORDER BY account_id", (sweep_id,)
        )
        for (data,) in rows:
            yield json.loads(data)

    def account_snapshots(self, account_id: str) -> list[dict[str, Any]]:
        """One account's snapshots in every sweep, newest first, each with its `as_of`."""
        rows = self.fetch(
            "SELECT s.as_of, n.data FROM snapshots n JOIN sweeps s ON s.id = n.sweep_id "
            "WHERE n.account_id = ? ORDER BY s.as_of DESC",
            (account_id,),
        )
        return [{"as_of": as_of, **json.loads(data)} for as_of, data in rows]

    def alerts(self, sweep_id: int) -> list[dict[str, str]]:
        """A sweep's alerts."""
        return self.fetch_dicts(
            "SELECT account_id, kind, detail FROM alerts WHERE sweep_id = ? "
            "ORDER BY account_id, kind, detail",
            (sweep_id,),
        )

    def table_rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of one of the store's tables in key order (comparing two stores,
        inspecting one)."""
        order = TABLE_ORDER.get(table)
        if order is None:
            raise StoreError(f"{table}: not a table of the store; use one of "
                             f"{', '.join(TABLE_ORDER)}.")
        return self.fetch(f"SELECT * FROM {table} ORDER BY {order}")


TABLE_ORDER = {
    "accounts": "id",
    "sweeps": "id",
    "snapshots": "sweep_id, account_id",
    "alerts": "sweep_id, account_id, kind, detail",
    "reports": "sweep_id, account_id, kind",
    "schema_version": "version",
}
