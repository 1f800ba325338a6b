"""Where the tools, the MCP server and the graphs read accounts: one rule, re-read on change.

1. an explicit portfolio file: the run's own (`portfolio` of the graph context) or
   `CSM_PORTFOLIO`;
2. else the store (`CSM_DB`, else csm.sqlite3 in the data directory) when it holds accounts,
   as after `csm import` or the `write_import_portfolio` tool;
3. else the bundled sample portfolio.

A file is read again when its modification time or size changes, the store when another
connection committed to it (SQLite's `data_version`; a PostgreSQL store's
`accounts_revision`, which every change to its accounts moves). The day: an explicit one, else
`CSM_AS_OF`, else the portfolio's own `as_of`, else today."""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from tools.paths import masked_url, store_location, without_secrets
from tools.portfolio.account import Account
from tools.portfolio.readers import RowError, parse_row, read_portfolio, sample_portfolio_path

Kind = Literal["file", "store", "sample"]


class SourceError(ValueError):
    """The configured store cannot be read."""


@dataclass(frozen=True)
class Accounts:
    """The accounts of one source as read, with its rejected rows and its own as-of date."""

    kind: Kind
    path: Path | str  # a file, or a store's URL without its password
    accounts: list[Account]
    errors: list[RowError] = field(default_factory=list)
    as_of: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.accounts})

    def get(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        return self._by_id.get(account_id)  # type: ignore[attr-defined]

    def describe(self) -> dict[str, str]:
        """`{"kind": ..., "path": ...}`: what a tool result names as its `source`."""
        return {"kind": self.kind, "path": str(self.path)}

    def label(self) -> str:
        """The source in a sentence."""
        if self.kind == "sample":
            return "the bundled sample portfolio"
        return f"the store {self.path}" if self.kind == "store" else str(self.path)


_LOCK = threading.Lock()
_FILES: dict[tuple[Path, Kind], tuple[tuple[int, int], Accounts]] = {}
_STORES: dict[Path, tuple[tuple[int, int], sqlite3.Connection, int, Accounts | None]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _file(path: Path, kind: Kind) -> Accounts:
    """The file's accounts, read again when its modification time or size changed (one entry
    per kind: the bundled sample named as a file is a file, and still the sample otherwise)."""
    key = (path.resolve(), kind)
    try:
        stamp = _stamp(key[0])
    except OSError:  # read_portfolio names the problem in one sentence
        stamp = (-1, -1)
    cached = _FILES.get(key)
    if cached and cached[0] == stamp and stamp[0] >= 0:
        return cached[1]
    portfolio = read_portfolio(path)
    loaded = Accounts(kind, path, portfolio.accounts, portfolio.errors, portfolio.as_of)
    _FILES[key] = (stamp, loaded)
    return loaded


def _store(path: Path) -> Accounts | None:
    """The store's accounts (None when it does not exist or holds none), read again after a
    commit by any other connection."""
    try:
        info = path.stat()
    except OSError:
        gone = _STORES.pop(path, None)
        if gone is not None:
            gone[1].close()
        return None
    identity = (info.st_dev, info.st_ino)
    cached = _STORES.get(path)
    if cached is None or cached[0] != identity:  # new, or replaced by another file
        if cached is not None:
            cached[1].close()
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        cached = (identity, reader, -1, None)
    reader = cached[1]
    try:
        version = reader.execute("PRAGMA data_version").fetchone()[0]
        if version == cached[2]:
            return cached[3]
        rows = reader.execute("SELECT data FROM accounts ORDER BY id").fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):  # a store not yet used for accounts
            _STORES[path] = (identity, reader, -1, None)
            return None
        raise SourceError(f"{path}: cannot read the store ({error}).") from None
    except sqlite3.DatabaseError as error:
        raise SourceError(f"{path}: not a csm-agent store ({error}).") from None
    loaded = _stored_accounts(path, rows) if rows else None
    _STORES[path] = (identity, reader, version, loaded)
    return loaded


_DATABASES: dict[str, tuple[Any, int, Accounts | None]] = {}


def _database(url: str) -> Accounts | None:
    """A PostgreSQL store's accounts (None when it holds none, or has no tables yet), read
    again after any change to them; one connection per URL, opened again if it broke."""
    shown = masked_url(url)
    if url.split("://", 1)[0].lower() not in ("postgresql", "postgres"):
        raise SourceError(f"{shown.split('://', 1)[0]}://...: not a store csm-agent can open; "
                          "set CSM_DB to a file path (SQLite) or a postgresql:// URL.")
    try:
        import psycopg
    except ImportError:
        raise SourceError(f"{shown}: a PostgreSQL store needs the postgres extra, which this "
                          "install lacks; pip install 'csm-agent[postgres]'.") from None
    while True:
        cached = _DATABASES.pop(url, None)
        reader = cached[0] if cached else None
        try:
            if reader is None:
                reader = psycopg.connect(url, autocommit=True, connect_timeout=10)
            revision = reader.execute("SELECT revision FROM accounts_revision").fetchone()[0]
            if cached and revision == cached[1]:
                _DATABASES[url] = cached
                return cached[2]
            rows = reader.execute("SELECT data FROM accounts ORDER BY id").fetchall()
        except psycopg.errors.UndefinedTable:  # a database csm-agent has not used yet
            _DATABASES[url] = (reader, -1, None)
            return None
        except psycopg.Error as error:
            if reader is not None:
                reader.close()
            if cached is not None:
                continue  # the kept connection broke since the last read: once more, anew
            reason = without_secrets(str(error).strip(), url).splitlines()[0].rstrip(".")
            raise SourceError(f"{shown}: cannot read the store ({reason}); check CSM_DB and "
                              "that the server is running.") from None
        loaded = _stored_accounts(shown, rows) if rows else None
        _DATABASES[url] = (reader, revision, loaded)
        return loaded


def _stored_accounts(path: Path | str, rows: list[tuple[str]]) -> Accounts:
    import json

    accounts: list[Account] = []
    errors: list[RowError] = []
    name = path.name if isinstance(path, Path) else path
    for number, (data,) in enumerate(rows, start=1):
        result = parse_row(name, number, json.loads(data))
        if isinstance(result, Account):
            accounts.append(result)
        else:
            errors.extend(result)
    return Accounts("store", path, accounts, errors)


def current(portfolio: str | Path | None = None, db: str | Path | None = None) -> Accounts:
    """The accounts to read now, by the rule of this module's docstring."""
    explicit = portfolio or os.environ.get("CSM_PORTFOLIO") or None
    with _LOCK:
        if explicit:
            return _file(Path(explicit).expanduser(), "file")
        where = store_location(db)
        stored = _store(where) if isinstance(where, Path) else _database(where)
        return stored or _file(sample_portfolio_path(), "sample")


def run_day(explicit: date | str | None, accounts: Accounts | None = None) -> date:
    """The day of a run: `explicit`, else CSM_AS_OF, else the accounts' own as_of, else today."""
    given: Any = explicit
    where = "as_of"
    if not given and os.environ.get("CSM_AS_OF"):
        given, where = os.environ["CSM_AS_OF"], "CSM_AS_OF"
    if isinstance(given, str):
        try:
            return date.fromisoformat(given.strip())
        except ValueError:
            raise SourceError(f"{where} '{given}' is not an ISO date (YYYY-MM-DD).") from None
    if given:
        return given
    return (accounts.as_of if accounts else None) or date.today()


def churned_left_out(count: int) -> str:
    """How many churned accounts a command or tool left out, in words (SPEC 14: a churned
    account is not scored or assessed for action any more)."""
    return f"{count} churned account{'' if count == 1 else 's'} left out"


def churned_account(account: Account) -> str:
    """Why one churned account is not scored or assessed, in words."""
    return (
        f"account '{account.id}' churned on {account.churned_on} and is no longer scored or "
        "assessed (a churned account is not a client to act on)"
    )
