"""The two stores behind one interface: a sweep gives the same bytes on SQLite and PostgreSQL,
the same schema steps, the PostgreSQL store's own paths (COPY replaced by an upsert when an
account is stored again, the readers' change counter), and every way a `--db` or CSM_DB can be
wrong, each one sentence without the password."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from datetime import date

import pytest

from agent.accounts import SourceError, current
from agent.chat.tool_surface import READ_TOOLS, ToolError
from agent.interfaces.cli import main
from agent.interfaces.commands import sweep as sweep_command
from agent.interfaces.options import Parser
from agent.sweeps.store import MIGRATIONS, StoreError, open_store
from tests.conftest import new_store
from tests.pg import PASSWORD
from tests.procs import free_port
from tools.paths import data_dir, masked_url, store_location, without_secrets
from tools.portfolio.readers import sample_portfolio_path

# the columns whose values are clocks, not results: they differ between any two runs
CLOCKS = {
    "accounts": {"updated_at"},
    "sweeps": {"started_at", "finished_at", "input_hash"},  # the hash covers updated_at
    "schema_version": {"applied_at"},
}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def week_two(path):
    """The sample a week later: some clients grew, some shrank and stopped engaging, two are
    late to pay, and two left (absent from the full export)."""
    portfolio = json.loads(sample_portfolio_path().read_text("utf-8"))
    accounts = portfolio["accounts"]
    for n, account in enumerate(accounts[:12]):
        account["mrr"] = round(account["mrr"] * (1.2 if n % 2 else 0.7))
        if n % 3 == 0:
            account.update(engagement_score=12, csat=3, days_overdue=21)
    portfolio.update(as_of="2026-11-27", accounts=accounts[:-2])
    path.write_text(json.dumps(portfolio, ensure_ascii=False), encoding="utf-8")
    return path


def two_weeks(capsys, db, out, week2):
    """Import the sample and sweep it, then the full export of the next week and a weekly
    sweep: every table of the store has rows, the second report has alerts and churn."""
    assert run(capsys, "import", sample_portfolio_path(), "--db", db)[0] == 0
    code, _, err = run(capsys, "sweep", "--db", db, "--as-of", "2026-11-20", "--workers", 1,
                       "--out", out / "2026-11-20")
    assert code == 0, err
    assert run(capsys, "import", week2, "--db", db, "--full")[0] == 0
    code, printed, err = run(capsys, "sweep", "--db", db, "--as-of", "2026-11-27", "--weekly",
                             "--workers", 1, "--out", out / "2026-11-27")
    assert code == 0, err
    return printed


def tables(db):
    """Every row of every table, in key order, with each value's type; the clock columns
    left out; and each table's column names."""
    store = open_store(db)
    try:
        found = {}
        for table in ("accounts", "sweeps", "snapshots", "alerts", "reports", "schema_version"):
            rows = store.fetch_dicts(f"SELECT * FROM {table}")
            columns = list(rows[0]) if rows else []
            kept = [n for n, c in enumerate(columns) if c not in CLOCKS.get(table, set())]
            found[table] = (columns, [
                [(type(row[n]).__name__, row[n]) for n in kept] for row in store.table_rows(table)
            ])
        return found
    finally:
        store.close()


def files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_sweep_gives_the_same_bytes_on_both_stores(tmp_path, capsys, request):
    week2 = week_two(tmp_path / "week2.json")
    out = tmp_path / "out"  # both sweeps write here in turn: the same paths in the store
    results = {}
    for kind in ("sqlite", "postgres"):
        db = new_store(kind, tmp_path, request)
        printed = two_weeks(capsys, db, out, week2)
        shutil.move(out, tmp_path / f"out-{kind}")
        results[kind] = (tables(db), files(tmp_path / f"out-{kind}"), printed)
    (sqlite_rows, sqlite_files, said), (pg_rows, pg_files, _) = results.values()
    report = json.loads(sqlite_files["2026-11-27/portfolio.json"])
    # the comparison means something: alerts, churned clients, reports, both sweeps
    assert "alerts" in said and len(report["alerts"]) > 5
    assert report["metrics"]["churned_total"] == 2 and len(report["report_files"]) == 38
    assert {t: len(rows) for t, (_, rows) in sqlite_rows.items()} == {
        "accounts": 40, "sweeps": 2, "snapshots": 78, "alerts": len(report["alerts"]),
        "reports": 78, "schema_version": 2}
    assert sqlite_rows == pg_rows  # every column of every row, value and type
    assert sorted(sqlite_files) == sorted(pg_files)
    for name, data in sqlite_files.items():
        assert pg_files[name] == data, name


def test_a_stored_account_stored_again_is_replaced(store_db):
    store = open_store(store_db)
    try:
        sweep = store.start_sweep("2026-11-20", "daily", "store", "h", "1")
        first = {"id": "a", "name": "First", "mrr": 100.0, "csat": None, "health_score": 70,
                 "color": "yellow", "churn_score": 40.5, "tier": "medium", "signals": ["x"],
                 "renewal_date": None, "renewal_probability": 0.61,
                 "expected_churned_mrr": 39.0, "inputs": {"id": "a", "name": "First"}}
        store.record(sweep, [first], [("a", "tier_change", "low -> medium")],
                     [("a", "assessment", "/r/a.en.md")])
        again = {**first, "name": "Again", "mrr": 1e-7}  # a resumed sweep stores it again
        store.record(sweep, [again, {**first, "id": "b"}],
                     [("a", "tier_change", "low -> medium")], [("a", "assessment", "/r/a2.md")])
        assert store.fetch("SELECT account_id, name, mrr, health_score FROM snapshots "
                           "ORDER BY account_id") == [("a", "Again", 1e-7, 70.0),
                                                      ("b", "First", 100.0, 70.0)]
        assert store.alerts(sweep) == [
            {"account_id": "a", "kind": "tier_change", "detail": "low -> medium"}]
        assert store.report_files(sweep) == {"a": "/r/a2.md"}
        assert [s["name"] for s in store.snapshots(sweep)] == ["Again", "First"]
    finally:
        store.close()


def test_ids_sort_by_bytes_on_both_stores(store_db):
    # the test databases collate English by default ('_' < 'a' < 'B'): the store's own columns
    # compare bytes, as SQLite does ('B' < '_' < 'a'), so every list comes in the same order
    store = open_store(store_db)
    try:
        ids = ["b", "B", "_", "a", "Ä", "a-1", "a_1"]
        store.import_accounts(enumerate(({"id": i, "name": i} for i in ids), start=1))
        assert [a["id"] for _, a in store.iter_accounts()] == sorted(ids)
        assert list(store.statuses()) == sorted(ids)
    finally:
        store.close()


def test_a_store_made_by_a_newer_csm_agent_is_refused(store_db):
    open_store(store_db).close()
    if isinstance(store_db, str):
        import psycopg

        with psycopg.connect(store_db, autocommit=True) as conn:
            conn.execute("INSERT INTO schema_version VALUES (3, NULL)")
    else:
        with sqlite3.connect(store_db) as conn:
            conn.execute("PRAGMA user_version = 3")
    with pytest.raises(StoreError, match=r"made by a newer csm-agent \(schema 3\); upgrade\."):
        open_store(store_db)


def test_the_migrations_are_numbered_steps_in_both_dialects():
    assert [m.number for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(m.sqlite.strip() and m.postgres.strip() for m in MIGRATIONS)


# the readers: the tools see the store's accounts, and again after each change ----------------


def test_the_tools_read_the_store_csm_db_names_and_see_every_change(
    tmp_path, capsys, monkeypatch, store_db
):
    monkeypatch.setenv("CSM_DB", str(store_db))
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")
    sample = sample_portfolio_path()
    assert run(capsys, "import", sample)[0] == 0  # no --db: CSM_DB
    assert current().kind == "store" and len(current().accounts) == 40
    listed = READ_TOOLS["list_accounts"](limit=500)
    assert listed["total"] == 40 and listed["source"]["path"] == str(store_db)
    code, _, err = run(capsys, "sweep", "--as-of", "2026-11-20", "--workers", 1, "--no-reports",
                       "--out", tmp_path / "out")
    assert code == 0, err
    history = READ_TOOLS["account_history"](account_id="acc-001")
    assert [s["as_of"] for s in history["snapshots"]] == ["2026-11-20"]
    assert history["store"] == str(store_db)
    code, out, _ = run(capsys, "history", "export")
    assert code == 0 and len(out.splitlines()) == 40
    # a change by another connection is seen at the next read
    renamed = json.loads(sample.read_text("utf-8"))
    renamed["accounts"] = [{**renamed["accounts"][0], "name": "Renamed"}]
    (tmp_path / "one.json").write_text(json.dumps(renamed), encoding="utf-8")
    assert run(capsys, "import", tmp_path / "one.json")[0] == 0
    assert current().get("acc-001").name == "Renamed"


def test_the_sample_read_as_a_file_is_still_the_sample_when_nothing_is_named(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("CSM_PORTFOLIO", raising=False)
    monkeypatch.setenv("CSM_DB", str(tmp_path / "none.sqlite3"))  # no store: the sample
    named = current(sample_portfolio_path())
    assert named.kind == "file" and named.label() == str(sample_portfolio_path())
    assert current().kind == "sample" and current().label() == "the bundled sample portfolio"
    assert current(sample_portfolio_path()).kind == "file"


def test_a_reader_whose_connection_broke_reads_again(monkeypatch, pg_server):
    import psycopg

    url = pg_server.new_database()
    monkeypatch.setenv("CSM_DB", url)
    store = open_store(url)
    store.import_accounts([(1, {"id": "a", "name": "A"})])
    store.close()
    assert [a.id for a in current().accounts] == ["a"]
    with psycopg.connect(url, autocommit=True) as admin:  # the server ends the reader's session
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                      "datname = current_database() AND pid <> pg_backend_pid()")
    assert [a.id for a in current().accounts] == ["a"]
    pg_server.drop_database(url)


def test_mcp_takes_db_for_its_tools(monkeypatch):
    import os

    import agent.interfaces.mcp_server as server

    seen = []

    def serve(*args):
        seen.append(os.environ.get("CSM_DB"))
        return 0

    monkeypatch.setenv("CSM_DB", "")  # so that what `csm mcp --db` sets is undone after
    monkeypatch.setattr(server, "main", serve)
    assert main(["mcp", "--db", "postgresql://csm@db.example/csm"]) == 0
    assert seen == ["postgresql://csm@db.example/csm"]


# a wrong --db or CSM_DB: one sentence, exit 1, never the password ----------------------------


SECRET = "Hunter2-secret"


def bad_urls(pg_server):
    """(URL, what the sentence says) for a URL that cannot be used."""
    return [
        (pg_server.tcp_url(password=SECRET), "password authentication failed"),
        (f"postgresql://csm:{SECRET}@127.0.0.1:{free_port()}/csm", "Connection refused"),
        (f"postgresql://csm:{SECRET}@[::1/csm", "cannot connect to the PostgreSQL server"),
        (f"postgresql://csm:{SECRET}@localhost:port/csm", "cannot connect to the PostgreSQL"),
        (f"postgresql://csm@127.0.0.1:{pg_server.port}/csm?password={SECRET}",
         "password authentication failed"),
        (pg_server.url("no_such_database"), 'database "no_such_database" does not exist'),
        (f"mysql://csm:{SECRET}@db.example/csm", "mysql://...: not a store csm-agent can open"),
    ]


COMMANDS = [
    ["import", "PORTFOLIO"],
    ["sweep", "--no-reports"],
    ["history", "export"],
    ["backtest"],
    ["learn", "--out", "m.json"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_bad_store_url_is_one_sentence_without_the_password(
    command, pg_server, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    argv = [str(sample_portfolio_path()) if a == "PORTFOLIO" else a for a in command]
    for n, (url, says) in enumerate(bad_urls(pg_server)):
        given = ["--db", url] if n % 2 == 0 else []  # --db, or CSM_DB in turn
        monkeypatch.setenv("CSM_DB", url)
        code, out, err = run(capsys, *argv, *given)
        assert code == 1, (url, err)
        assert SECRET not in out + err and PASSWORD not in out + err
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("csm: error: "), err
        assert says in err and "Traceback" not in err, err
        assert masked_url(url).split("?")[0] in err or "mysql" in url, err
    assert not list(tmp_path.iterdir())  # no SQLite file named after a URL


def test_the_tools_say_a_bad_store_url_in_one_sentence(pg_server, monkeypatch):
    url = pg_server.tcp_url(password=SECRET)
    monkeypatch.setenv("CSM_DB", url)
    with pytest.raises(SourceError) as raised:
        READ_TOOLS["list_accounts"]()
    assert SECRET not in str(raised.value) and "password authentication failed" in str(
        raised.value)
    with pytest.raises((SourceError, ToolError)) as raised:
        READ_TOOLS["account_history"](account_id="a")
    assert SECRET not in str(raised.value)


def test_without_the_postgres_extra_a_url_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails as if absent
    url = f"postgresql://csm:{SECRET}@db.example/csm"
    code, _, err = run(capsys, "sweep", "--db", url)
    assert code == 1 and err == (
        "csm: error: postgresql://csm@db.example/csm: a PostgreSQL store needs the postgres "
        "extra, which this install lacks; pip install 'csm-agent[postgres]'.\n")
    monkeypatch.setenv("CSM_DB", url)
    with pytest.raises(SourceError, match=r"pip install 'csm-agent\[postgres\]'"):
        current()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://csm:pa%40ss@db:5432/csm", "postgresql://csm@db:5432/csm"),
        ("postgresql://csm@db/csm?password=x&sslmode=require",
         "postgresql://csm@db/csm?sslmode=require"),
        ("postgres://:only@db", "postgres://@db"),
        ("postgresql:///csm?host=/run/pg", "postgresql:///csm?host=/run/pg"),
    ],
)
def test_a_url_is_shown_without_its_password(url, shown):
    assert masked_url(url) == shown
    assert without_secrets(f"failed for {url} with pa@ss", url) == (
        f"failed for {shown} with " + ("***" if "%40" in url else "pa@ss"))


def test_the_store_is_the_default_file_or_csm_db(monkeypatch, tmp_path):
    monkeypatch.delenv("CSM_DB", raising=False)
    assert store_location(None) == data_dir() / "csm.sqlite3"
    monkeypatch.setenv("CSM_DB", str(tmp_path / "team.db"))
    assert store_location(None) == tmp_path / "team.db"
    monkeypatch.setenv("CSM_DB", "postgresql://csm@db/csm")
    assert store_location(None) == "postgresql://csm@db/csm"
    assert store_location(tmp_path / "x.db") == tmp_path / "x.db"  # --db wins


def test_a_store_reached_with_a_password_never_shows_it(pg_server, tmp_path, capsys):
    name = pg_server.new_database().split("?", 1)[0].rsplit("/", 1)[1]
    url = pg_server.tcp_url(name)  # the right password, in the URL
    shown = f"postgresql://postgres@127.0.0.1:{pg_server.port}/{name}"
    store = open_store(url)
    assert (store.where, store.name, store.locator) == (shown, shown, shown)
    store.close()
    code, out, err = run(capsys, "import", sample_portfolio_path(), "--db", url)
    assert code == 0 and out == f"imported 40 accounts into {shown} (0 rows rejected)\n"
    # the resume command an interrupted sweep prints: the URL without the password
    parser = Parser(prog="csm")
    sweep_command.register(parser.add_subparsers())
    args = parser.parse_args(["sweep", "--db", url, "--no-reports"])
    hint = sweep_command.resume_command(args, date(2026, 11, 20), store.locator, tmp_path)
    assert f"--db {shown} " in hint and PASSWORD not in hint
    pg_server.drop_database(url)


def test_the_baseline_sweep_is_the_latest_at_least_the_period_before(store_db):
    store = open_store(store_db)
    try:
        for day in ("2026-08-22", "2026-09-01", "2026-11-01", "2026-11-20"):
            store.finish_sweep(store.start_sweep(day, "daily", "s", "h", "1"), "complete", 0, [])
        baseline = store.baseline_sweep
        assert baseline("2026-11-20", 90)["as_of"] == "2026-08-22"  # exactly 90 days: included
        assert baseline("2026-11-19", 90)["as_of"] == "2026-08-22"  # else the earliest before
        assert baseline("2026-11-20", 19)["as_of"] == "2026-11-01"
        assert baseline("2026-08-22", 90) is None  # nothing before the first sweep
        assert baseline("0001-01-01", 90) is None  # 90 days before the calendar starts
    finally:
        store.close()


def test_the_accounts_whose_summaries_fell_back_are_found_on_both_stores(store_db):
    store = open_store(store_db)
    try:
        sweep = store.start_sweep("2026-11-20", "daily", "store", "h", "1")
        base = {"name": "N", "mrr": 1.0, "csat": None, "health_score": 70.0, "color": "yellow",
                "churn_score": 40.0, "tier": "medium", "signals": [], "renewal_date": None,
                "renewal_probability": None, "expected_churned_mrr": None}
        store.record(sweep, [
            {**base, "id": "fell", "prose_fallbacks": ["summary", "risk"]},
            {**base, "id": "none", "prose_fallbacks": []},
            {**base, "id": "absent"},
            {**base, "id": "null", "prose_fallbacks": None},
            {**base, "id": "text", "prose_fallbacks": "summary"},
        ], [], [])
        assert store.fallback_ids(sweep) == {"fell"}
    finally:
        store.close()
