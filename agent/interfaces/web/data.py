"""What `csm serve` shows, read through the tools and the store; the pages and the API only
format it.

The source follows the rule of `agent.accounts`: a portfolio file when one is given, else the
store (a SQLite file or a PostgreSQL server, read through the store interface) when it holds
accounts or sweeps, else the bundled sample. The portfolio figures are the portfolio report
(`build_portfolio_report`) of the store's latest sweep. A file, the sample or
a store that was never swept has no sweep: its accounts are swept once into a private store in a
temporary folder (the same six-step graph as `csm sweep`, no report files), again when they
change, and that store is deleted on exit. An account page is the six-step assessment of the
account (`csm assess`), with its history from the account's `history` field and the stored
sweeps. Results are cached per sweep and per account until their inputs change."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from agent.accounts import Accounts, churned_account, current, run_day
from agent.sweeps.portfolio_report import build_portfolio_report
from agent.sweeps.store import Store, StoreError, open_store
from tools.paths import masked_url, store_location, store_path
from tools.playbook import Playbook, load_playbook
from tools.portfolio.account import Account
from tools.portfolio.readers import sample_portfolio_path
from tools.scoring.signals import in_renewal_window

SourceKind = Literal["file", "store", "sample"]
TREND_SWEEPS = 24  # sweeps in the GRR/NRR trend (the newest complete ones)
HISTORY_SWEEPS = 60  # sweeps in an account's history (the newest)
ACCOUNTS_CACHED = 64  # assessed accounts kept in memory


class ServeError(Exception):
    """Something a page cannot show; the message is one sentence for the reader."""


class NotFound(ServeError):
    """No such account or sweep."""


@dataclass
class ServeSettings:
    """What `csm serve` serves and how."""

    portfolio: Path | None = None  # a portfolio file; None: the store, else the sample
    db: Path | str | None = None  # a SQLite file or a postgresql:// URL (default: csm.sqlite3
    # in the data directory)
    as_of: date | None = None  # the day (default: CSM_AS_OF, the file's, the sweep's, today)
    playbook: Path | None = None
    churn_model: Any = None  # a loaded churn model file (`--model-file`), or None
    allow_writes: bool = False
    token: str | None = None  # CSM_WEB_TOKEN: every request must carry it when set
    workers: int = 1  # worker processes of a private sweep


@dataclass(frozen=True)
class SweepRef:
    """One sweep as the pages list it, and the store that holds it."""

    id: int
    as_of: str
    routine: str
    status: str
    started_at: str
    finished_at: str | None
    accounts: int
    rejected: int
    store: Path | str  # a SQLite file or a PostgreSQL store's URL
    private: bool  # swept by csm serve into its own temporary store

    @property
    def key(self) -> tuple[str, int, str | None, str]:
        """Changes when the sweep does (a finished sweep never changes again)."""
        return (str(self.store), self.id, self.finished_at, self.status)


@dataclass
class Source:
    """The accounts being served: where from, what they are, and their latest sweep."""

    kind: SourceKind
    label: str
    accounts: Accounts | None
    latest: SweepRef | None
    as_of: date
    notes: list[str] = field(default_factory=list)
    stored: list[SweepRef] = field(default_factory=list)  # a store's sweeps, newest first

    def describe(self) -> dict[str, Any]:
        """The source in JSON."""
        return {
            "kind": self.kind,
            "label": self.label,
            "as_of": self.as_of.isoformat(),
            "sweep": self.latest.as_of if self.latest else None,
            "sweep_is_private": bool(self.latest and self.latest.private),
        }


def same_store(a: Path | str, b: Path | str) -> bool:
    """Whether two stores are one: the same SQLite file, or the same URL."""
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return a == b


def _ref(row: Any, store: Path | str, private: bool) -> SweepRef:
    found = dict(row)
    return SweepRef(
        id=int(found["id"]), as_of=str(found["as_of"]), routine=str(found["routine"]),
        status=str(found["status"]), started_at=str(found["started_at"]),
        finished_at=found.get("finished_at"), accounts=int(found.get("accounts") or 0),
        rejected=int(found.get("rejected") or 0), store=store, private=private,
    )


class Data:
    """The data of one `csm serve`: thread-safe, cached, read-only on the user's store."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.playbook: Playbook = load_playbook(settings.playbook)
        self._lock = threading.RLock()
        self._private: tuple[Any, Path, SweepRef, Accounts] | None = None
        self._reports: dict[Any, dict[str, Any]] = {}
        self._rows: dict[Any, list[dict[str, Any]]] = {}
        self._states: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._calibration: tuple[Any, date, Any] | None = None
        self._graph: Any = None
        self._server: Store | None = None  # the PostgreSQL store, opened once

    # the store -------------------------------------------------------------------------

    @property
    def store_where(self) -> Path | str:
        """The user's store: a SQLite file, or a postgresql:// URL as given (with its
        password, if it has one: show `store_shown`)."""
        db = self.settings.db
        return store_location(db) if db else store_path(None)

    @property
    def store_shown(self) -> str:
        """The user's store as the pages name it (a URL without its password)."""
        where = self.store_where
        return str(where) if isinstance(where, Path) else masked_url(where)

    @contextmanager
    def open_store(self, where: Path | str) -> Iterator[Store]:
        """The store for one request: a SQLite connection of its own (SQLite connections stay
        in their thread), or the PostgreSQL store's connection pool, which every request
        shares and `close` closes. A store that fails is a ServeError of one sentence."""
        try:
            if isinstance(where, Path):
                store = open_store(where)
                try:
                    yield store
                finally:
                    store.close()
            else:
                yield self._server_store(where)
        except StoreError as error:
            raise ServeError(str(error)) from None

    def _server_store(self, url: str) -> Store:
        with self._lock:
            if self._server is None:
                self._server = open_store(url)
            return self._server

    def _store_state(self) -> tuple[int, list[SweepRef]]:
        """How many accounts the user's store holds and its sweeps (`_stored_sweeps`), read
        on one connection; a SQLite store that does not exist is not created."""
        where = self.store_where
        if isinstance(where, Path) and not where.exists():
            return 0, []
        with self.open_store(where) as store:
            return store.account_count(), self._stored_sweeps(store, where)

    def _stored_sweeps(self, store: Store, path: Path | str) -> list[SweepRef]:
        """The store's sweeps, newest first: the latest one (whatever its status) and every
        complete one before it."""
        span = store.history_span()
        if span is None:
            return []
        found: list[SweepRef] = []
        latest = store.sweep(span[1])
        if latest is not None:
            found.append(_ref(latest, path, private=False))
        day = span[1]
        while (row := store.previous_sweep(day)) is not None:
            found.append(_ref(row, path, private=False))
            day = str(dict(row)["as_of"])
        return found

    # the source ------------------------------------------------------------------------

    def source(self) -> Source:
        """What is being served now (read again on every call: files and stores change)."""
        settings = self.settings
        if settings.portfolio is not None:
            accounts = current(settings.portfolio)
            return self._with_sweep("file", str(settings.portfolio), accounts)
        count, sweeps = self._store_state()
        if count or sweeps:
            found = current(None, self.store_where) if count else None
            accounts = found if found is not None and found.kind == "store" else None
            label = f"the store {self.store_shown}"
            if sweeps:
                latest = sweeps[0]
                return Source("store", label, accounts, latest, self._day(accounts, latest),
                              stored=sweeps)
            return self._with_sweep("store", label, accounts)
        accounts = current(sample_portfolio_path())
        return self._with_sweep("sample", "the bundled sample portfolio", accounts)

    def _day(self, accounts: Accounts | None, latest: SweepRef | None) -> date:
        """--as-of, else CSM_AS_OF, else the portfolio's own as_of, else the latest sweep's
        day, else today."""
        if self.settings.as_of is not None:
            return self.settings.as_of
        if os.environ.get("CSM_AS_OF") or (accounts is not None and accounts.as_of):
            return run_day(None, accounts)
        if latest is not None:
            return date.fromisoformat(latest.as_of)
        return date.today()

    def _with_sweep(self, kind: SourceKind, label: str, accounts: Accounts | None) -> Source:
        """A source without a stored sweep, with its private sweep."""
        day = self._day(accounts, None)
        latest = self._private_sweep(kind, accounts, day) if accounts is not None else None
        notes = [] if latest is None else [
            f"{label} has no stored sweep: csm serve swept its accounts as of {day} into a "
            "temporary store of its own (run `csm import` and `csm sweep` to keep history)."
        ]
        return Source(kind, label, accounts, latest, day, notes)

    def _private_sweep(self, kind: SourceKind, accounts: Accounts, day: date) -> SweepRef:
        """Sweep the accounts into a private store, once per version of the accounts."""
        from agent.sweeps.sweep import SweepOptions, run_sweep
        from tools.planning.forecast import calibrate

        key = (kind, str(accounts.path), day)
        with self._lock:
            held = self._private
            # the same Accounts object: agent.accounts reads a source again only when it changed
            if held is not None and held[0] == key and held[3] is accounts:
                return held[2]
            folder = Path(tempfile.mkdtemp(prefix="csm-serve-"))
            path = folder / "private.sqlite3"
            store = open_store(path)
            try:
                if kind == "store":
                    with self.open_store(self.store_where) as real:
                        store.import_accounts(real.iter_accounts())
                options = SweepOptions(
                    as_of=day, source=None if kind == "store" else accounts.path, out=None,
                    workers=self.settings.workers, model="none",
                    playbook=str(self.settings.playbook) if self.settings.playbook else None,
                    churn_model=self.settings.churn_model,
                )
                run_sweep(options, store, self.playbook,
                          calibrate(accounts.accounts, self.playbook, day))
                ref = _ref(store.sweep(day.isoformat()) or {}, path, private=True)
            except BaseException:
                store.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise
            store.close()
            self._drop_private()
            self._private = (key, folder, ref, accounts)
            return ref

    def warm(self) -> Source:
        """Compute what the first pages need (the portfolio report, the rows, the trend and one
        account's assessment, which loads the knowledge base), so no first visitor waits."""
        source = self.source()
        if source.latest is not None:
            self.report(source.latest)
            self.trend(source)
            rows = self.rows(source)
            if rows:
                self.account(rows[0]["id"], source=source)
        return source

    def _drop_private(self) -> None:
        if self._private is not None:
            shutil.rmtree(self._private[1], ignore_errors=True)
            self._private = None

    def close(self) -> None:
        """Delete the private store, if any, and close the PostgreSQL store's pool."""
        with self._lock:
            self._drop_private()
            if self._server is not None:
                self._server.close()
                self._server = None

    # sweeps and the portfolio ----------------------------------------------------------

    def sweeps(self, source: Source | None = None) -> list[SweepRef]:
        """The sweeps being served, newest first (a private sweep alone, when it is one), as
        `source` read them."""
        source = source or self.source()
        if source.latest is None:
            return []
        if source.latest.private:
            return [source.latest]
        return source.stored

    def sweep(self, as_of: str, source: Source | None = None) -> SweepRef:
        """The sweep of a day."""
        for ref in self.sweeps(source):
            if ref.as_of == as_of:
                return ref
        raise NotFound(f"no sweep of {as_of} is being served; the sweeps page lists them.")

    def report(self, ref: SweepRef) -> dict[str, Any]:
        """The portfolio report of a sweep (as `csm sweep` writes it to portfolio.json)."""
        with self._lock:
            cached = self._reports.get(ref.key)
        if cached is not None:
            return cached
        with self.open_store(ref.store) as store:
            report = build_portfolio_report(
                store, ref.id, date.fromisoformat(ref.as_of), self.playbook, ref.routine,
                self.settings.churn_model,
            )
        with self._lock:
            self._reports[ref.key] = report
        return report

    def trend(self, source: Source | None = None) -> list[dict[str, Any]]:
        """GRR, NRR and annualised GRR of the newest complete sweeps, oldest first (each from
        its portfolio report)."""
        points = []
        done = [r for r in self.sweeps(source) if r.status == "complete"][:TREND_SWEEPS]
        for ref in reversed(done):
            retention = self.report(ref)["metrics"]["retention"]
            points.append({
                "as_of": ref.as_of,
                "grr": retention["grr"] if retention else None,
                "nrr": retention["nrr"] if retention else None,
                "annual_grr": retention["annual_grr"] if retention else None,
                "annual_nrr": retention["annual_nrr"] if retention else None,
                "period": (f"{retention['period']['start']} to {retention['period']['end']}"
                           if retention else None),
            })
        return points

    def rows(self, source: Source) -> list[dict[str, Any]]:
        """One row per account of the latest sweep: its scores, signals, renewal and revenue
        at risk from the sweep's snapshot, its industry from the account."""
        ref = source.latest
        if ref is None:
            return []
        with self._lock:
            cached = self._rows.get(ref.key)
        if cached is not None:
            return cached
        day = date.fromisoformat(ref.as_of)
        with self.open_store(ref.store) as store:
            snapshots = list(store.snapshots(ref.id))
            industries = {a.id: a.industry for a in source.accounts.accounts} \
                if source.accounts is not None else {}
            missing = [s["id"] for s in snapshots if s["id"] not in industries]
            if missing:
                for account_id, row in store.previous_snapshots(ref.id, missing).items():
                    inputs = _inputs(row)
                    industries[account_id] = inputs.get("industry") if inputs else None
        rows = [_row(s, industries.get(s["id"]), day, self.playbook) for s in snapshots]
        with self._lock:
            self._rows[ref.key] = rows
        return rows

    # one account -----------------------------------------------------------------------

    def account(
        self, account_id: str, lang: str = "en", source: Source | None = None
    ) -> dict[str, Any]:
        """An account's page: the assessment (the graph's state as JSON), its history and its
        source (`source`: as the caller read it, else read now); a churned account has no
        assessment, only the sentence that says so."""
        source = source or self.source()
        try:
            account, absent = self.find(source, account_id), None
        except NotFound:
            found = self._earlier_account(source, account_id)
            if found is None:
                raise
            account, day = found
            absent = (f"account '{account_id}' is not in the latest sweep "
                      f"({source.latest.as_of if source.latest else '-'}); it was last swept on "
                      f"{day}, so it is shown with its history only")
        page: dict[str, Any] = {
            "id": account.id, "name": account.name, "as_of": source.as_of.isoformat(),
            "source": source.describe(), "industry": account.industry,
            "history": self.history(source, account), "churned": None, "absent": absent,
            "assessment": None,
        }
        if account.status == "churned":
            page["churned"] = churned_account(account)
            return page
        if absent:
            return page
        page["assessment"] = self._assessment(source, account, lang)
        return page

    def find(self, source: Source, account_id: str) -> Account:
        """An account of the source, else as its latest sweep assessed it."""
        account = source.accounts.get(account_id) if source.accounts is not None else None
        if account is None:
            account = self._swept_account(source, account_id)
        if account is None:
            known = ", ".join(r["id"] for r in self.rows(source)[:5])
            raise NotFound(f"no account with id '{account_id}' in {source.label}"
                           + (f" (for example {known})." if known else "."))
        return account

    def _earlier_account(self, source: Source, account_id: str) -> tuple[Account, str] | None:
        """The account as an earlier sweep assessed it, and that sweep's day (an account no
        longer in the source, which left without being marked churned)."""
        refs = self.sweeps(source)[1:HISTORY_SWEEPS]
        if not refs:
            return None
        with self.open_store(refs[0].store) as store:  # earlier sweeps are all stored ones
            for ref in refs:
                row = store.previous_snapshots(ref.id, [account_id]).get(account_id)
                inputs = _inputs(row) if row is not None else None
                if inputs:
                    return Account.model_validate(inputs), ref.as_of
        return None

    def _swept_account(self, source: Source, account_id: str) -> Account | None:
        """The account as the latest sweep assessed it (a store swept from a file holds no
        accounts of its own)."""
        if source.latest is None:
            return None
        with self.open_store(source.latest.store) as store:
            row = store.previous_snapshots(source.latest.id, [account_id]).get(account_id)
        inputs = _inputs(row) if row is not None else None
        return Account.model_validate(inputs) if inputs else None

    def _assessment(self, source: Source, account: Account, lang: str) -> dict[str, Any]:
        """The six-step assessment of one account as of the source's day (cached)."""
        from agent.assessment.context import AssessmentContext
        from agent.assessment.graph import build_graph
        from agent.assessment.writer import state_json
        from tools.planning.forecast import calibrate

        key = (id(source.accounts), account.id, lang, source.as_of,
               account.model_dump_json())
        with self._lock:
            if key in self._states:
                self._states.move_to_end(key)
                return self._states[key]
            if self._graph is None:
                self._graph = build_graph(checkpointer=None)
            held = self._calibration
            if held is None or held[0] is not source.accounts or held[1] != source.as_of:
                every = source.accounts.accounts if source.accounts is not None else [account]
                held = (source.accounts, source.as_of,
                        calibrate(every, self.playbook, source.as_of))
                self._calibration = held
            calibration = held[2]
        context = AssessmentContext(
            as_of=source.as_of, lang=lang,  # type: ignore[arg-type]
            playbook=str(self.settings.playbook) if self.settings.playbook else None,
            model="none", calibration=calibration, churn_model=self.settings.churn_model,
        )
        state = state_json(self._graph.invoke({"account": account}, context=context))
        with self._lock:
            self._states[key] = state
            while len(self._states) > ACCOUNTS_CACHED:
                self._states.popitem(last=False)
        return state

    def history(self, source: Source, account: Account) -> list[dict[str, Any]]:
        """Health, churn risk and MRR over time, oldest first: the account's own `history`
        points and its snapshot in each stored sweep (a sweep wins over a point of its day)."""
        points: dict[str, dict[str, Any]] = {}
        for point in account.history or []:
            points[point.date.isoformat()] = {
                "date": point.date.isoformat(), "source": "portfolio history",
                "health_score": point.health_score, "churn_score": point.churn_risk,
                "mrr": point.mrr, "tier": None, "color": None,
            }
        refs = self.sweeps(source)[:HISTORY_SWEEPS]
        rows: dict[int, Any] = {}
        for path in {ref.store for ref in refs}:  # one connection per store
            with self.open_store(path) as store:
                for ref in refs:
                    if ref.store == path:
                        rows[ref.id] = store.previous_snapshots(ref.id, [account.id]).get(
                            account.id)
        for ref in refs:
            if rows.get(ref.id) is None:
                continue
            snap = dict(rows[ref.id])
            points[ref.as_of] = {
                "date": ref.as_of, "source": "private sweep" if ref.private else "sweep",
                "health_score": snap.get("health_score"), "churn_score": snap.get("churn_score"),
                "mrr": snap.get("mrr"), "tier": snap.get("tier"), "color": snap.get("color"),
            }
        return [points[day] for day in sorted(points)]


def _inputs(row: Any) -> dict[str, Any] | None:
    """The account inputs a snapshot row keeps (None for snapshots older than that column)."""
    import json

    found = dict(row).get("inputs")
    if isinstance(found, str):
        return json.loads(found)
    return found


def _row(s: dict[str, Any], industry: str | None, day: date, playbook: Playbook) -> dict[str, Any]:
    """One row of the accounts table, from a snapshot."""
    renewal = s.get("renewal_date")
    return {
        "id": s["id"], "name": s["name"], "industry": industry, "mrr": s.get("mrr"),
        "health_score": s.get("health_score"), "color": s.get("color"),
        "churn_score": s.get("churn_score"), "tier": s.get("tier"),
        "signals": list(s.get("signals") or []), "renewal_date": renewal,
        "renewal_status": s.get("renewal_status"),
        "renewal_probability": s.get("renewal_probability"),
        "revenue_at_risk": s.get("expected_churned_mrr"),
        "in_renewal_window": bool(renewal) and in_renewal_window(
            date.fromisoformat(renewal), day, playbook),
        "next_contact_due": s.get("next_contact_due"),
        "qbr_date": s.get("qbr_date"), "qbr_status": s.get("qbr_status"),
    }
