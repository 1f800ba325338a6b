"""The PostgreSQL store (`--db postgresql://...` or CSM_DB): the same tables, migrations and
answers as the SQLite store, on a server several processes share.

psycopg 3 with a connection pool; a sweep's snapshots go in with COPY, accounts, alerts and
report files with `ON CONFLICT` upserts; long reads stream through server-side cursors. One
sweep at a time holds a session advisory lock (the server frees it when the sweep's connection
ends, even when its process is killed). The password never leaves the URL: messages name the
store by its URL without it."""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from agent.sweeps.store.base import (
    SNAPSHOT_COLUMNS,
    Store,
    StoreError,
    StoreUnavailable,
    now,
    snapshot_row,
)
from agent.sweeps.store.migrations import MIGRATIONS, SCHEMA_VERSION_TABLE
from tools.paths import masked_url, without_secrets

POOL_SIZE = 4  # a streamed read, the batch writes and the queries between them, with room
STREAM_ROWS = 2000  # rows a streamed read fetches at a time
CONNECT_TIMEOUT = 10  # seconds, unless the URL sets connect_timeout
# advisory lock keys (one bigint each, in this database only): "csm\x01" and "csm\x02"
SWEEP_LOCK = int.from_bytes(b"csm\x01", "big")
MIGRATE_LOCK = int.from_bytes(b"csm\x02", "big")
EXTRA_HINT = "pip install 'csm-agent[postgres]'"


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """A statement with `?` placeholders in psycopg's style."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Writer:
    """A transaction's statements on one pooled connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(_pg(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(_pg(sql), [tuple(r) for r in rows])

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(_pg(sql), tuple(params)).fetchall()


class PostgresStore(Store):
    """One PostgreSQL database, reached by a `postgresql://` URL."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StoreError(
                f"{masked_url(url)}: a PostgreSQL store needs the postgres extra, which this "
                f"install lacks; {EXTRA_HINT}."
            ) from None
        self._psycopg = psycopg
        self._url = url
        self.where = self.name = self.locator = masked_url(url)
        self._lock_conn: Any = None
        self._options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in url:
            self._options["connect_timeout"] = CONNECT_TIMEOUT
        with self._connect() as conn:
            self._check_server(conn)
            self._migrate(conn)
        self.pool = ConnectionPool(
            url, min_size=1, max_size=POOL_SIZE, kwargs=self._options, open=False,
            name="csm-store",
        )
        with self._guard():
            self.pool.open(wait=True, timeout=2 * CONNECT_TIMEOUT)

    # connections and errors --------------------------------------------------------------

    def _connect(self, **options: Any) -> Any:
        try:
            return self._psycopg.connect(self._url, **{**self._options, **options})
        except self._psycopg.Error as error:
            raise StoreError(
                f"{self.where}: cannot connect to the PostgreSQL server ({self._reason(error)}); "
                "check the URL (host, port, database, user), that the server is running, and "
                "the password (PGPASSWORD or ~/.pgpass)."
            ) from None

    def _reason(self, error: BaseException) -> str:
        """The first line of a driver error, with the URL masked and no password in it."""
        text = without_secrets(str(error).strip(), self._url)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return (lines[0] if lines else type(error).__name__).rstrip(".")

    def _outage(self, error: BaseException) -> bool:
        """A failure of the server or the connection, not of the data written."""
        psycopg = self._psycopg
        return isinstance(error, psycopg.Error) and not isinstance(
            error, psycopg.DataError | psycopg.IntegrityError
        )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn a failure of the server into StoreUnavailable (one sentence, no password)."""
        try:
            yield
        except Exception as error:
            if self._outage(error):
                raise StoreUnavailable(
                    f"{self.where}: the PostgreSQL store failed ({self._reason(error)}); check "
                    "that the server is running and reachable, then run the command again."
                ) from None
            raise

    def _check_server(self, conn: Any) -> None:
        with self._guard():
            encoding = conn.execute("SHOW server_encoding").fetchone()[0]
        if encoding.upper() not in ("UTF8", "UTF-8"):
            raise StoreError(
                f"{self.where}: the database is {encoding}-encoded, and account text needs "
                "UTF8; create it with ENCODING 'UTF8'."
            )

    def _migrate(self, conn: Any) -> None:
        """Apply the missing schema steps in one transaction under an advisory lock (two
        processes opening a new database at once migrate it once)."""
        with self._guard():
            if self._version(conn) == len(MIGRATIONS):
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                conn.execute(SCHEMA_VERSION_TABLE)
                version = self._version(conn)
                for step in MIGRATIONS[version:]:
                    conn.execute(step.postgres)
                    conn.execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
                        (step.number, now()),
                    )

    def _version(self, conn: Any) -> int:
        if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return 0
        found = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        version = int(found or 0)
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.where}: made by a newer csm-agent (schema {version}); upgrade."
            )
        return version

    @staticmethod
    def _json_array_length(column: str, key: str) -> str:
        value = f"(({column})::json -> '{key}')"
        return f"(CASE WHEN json_typeof{value} = 'array' THEN json_array_length{value} END)"

    def schema_version(self) -> int:
        with self._guard(), self.pool.connection() as conn:
            return self._version(conn)

    # the primitives ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[_Writer]:
        with self._guard(), self.pool.connection() as conn, conn.transaction():
            yield _Writer(conn)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._guard(), self.pool.connection() as conn:
            return conn.execute(_pg(sql), tuple(params)).fetchall()

    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with self._guard(), self.pool.connection() as conn:
            with conn.cursor(row_factory=dict_row) as cursor:
                return cursor.execute(_pg(sql), tuple(params)).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        with self._guard(), self.pool.connection() as conn, conn.transaction():
            with conn.cursor(name="csm_stream") as cursor:
                cursor.itersize = STREAM_ROWS
                cursor.execute(_pg(sql), tuple(params))
                yield from cursor

    # one sweep at a time -----------------------------------------------------------------

    def lock(self, wait: float = 1.0) -> None:
        name = f"csm sweep, pid {os.getpid()} on {socket.gethostname()}"[:63]
        conn = self._connect(application_name=name)
        deadline = time.monotonic() + wait
        with self._guard():
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (SWEEP_LOCK,)).fetchone()[0]:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                holder = self._holder(conn)
                conn.close()
                raise StoreError(
                    f"{self.where}: another sweep is running ({holder}); wait for it to finish."
                )
        self._lock_conn = conn
        self._mark_stale_sweeps()

    _HELD = (
        "FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 "
        "AND l.objid = %s AND l.objsubid = 1 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    def _holder(self, conn: Any) -> str:
        """Who holds the sweep lock, as the server knows it."""
        row = conn.execute(
            "SELECT a.application_name, host(a.client_addr) FROM pg_stat_activity a "
            f"WHERE a.pid IN (SELECT l.pid {self._HELD})",
            (SWEEP_LOCK,),
        ).fetchone()
        if row is None or not row[0]:
            return "another process"
        return row[0] + (f" from {row[1]}" if row[1] else "")

    def sweep_running(self) -> bool:
        if self._lock_conn is not None:
            return True
        with self._guard(), self.pool.connection() as conn:
            return bool(conn.execute(f"SELECT EXISTS (SELECT 1 {self._HELD})",
                                     (SWEEP_LOCK,)).fetchone()[0])

    def close(self) -> None:
        if self._lock_conn is not None:
            try:  # freed now, not when the server notices the session ended
                self._lock_conn.execute("SELECT pg_advisory_unlock(%s)", (SWEEP_LOCK,))
            except self._psycopg.Error:
                pass  # the session is gone, and the lock with it
            self._lock_conn.close()
            self._lock_conn = None
        self.pool.close()

    # the batch write ---------------------------------------------------------------------

    def record(
        self,
        sweep_id: int,
        snapshots: list[dict[str, Any]],
        alerts: list[tuple[str, str, str]],
        reports: list[tuple[str, str, str]],
    ) -> None:
        """The snapshots by COPY (an account stored again, by a resumed sweep, is replaced
        instead), then the alerts and report files, in one transaction."""
        rows = [snapshot_row(sweep_id, s) for s in snapshots]
        columns = ", ".join(SNAPSHOT_COLUMNS)
        try:
            with self.transaction() as db:
                with db.conn.cursor() as cursor:
                    with cursor.copy(f"COPY snapshots ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                self._alerts_and_reports(db, sweep_id, alerts, reports)
            return
        except self._psycopg.errors.UniqueViolation:
            pass
        updates = ", ".join(f"{c} = excluded.{c}" for c in SNAPSHOT_COLUMNS[2:])
        with self.transaction() as db:
            db.executemany(
                f"INSERT INTO snapshots ({columns}) VALUES "
                f"({', '.join('?' * len(SNAPSHOT_COLUMNS))}) "
                f"ON CONFLICT (sweep_id, account_id) DO UPDATE SET {updates}",
                rows,
            )
            self._alerts_and_reports(db, sweep_id, alerts, reports)

    @staticmethod
    def _alerts_and_reports(
        db: _Writer,
        sweep_id: int,
        alerts: list[tuple[str, str, str]],
        reports: list[tuple[str, str, str]],
    ) -> None:
        if alerts:
            db.executemany(
                "INSERT INTO alerts (sweep_id, account_id, kind, detail) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(sweep_id, *a) for a in alerts],
            )
        if reports:
            db.executemany(
                "INSERT INTO reports (sweep_id, account_id, kind, path) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sweep_id, account_id, kind) DO UPDATE SET path = excluded.path",
                [(sweep_id, *r) for r in reports],
            )
