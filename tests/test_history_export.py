"""Snapshots that can be learned from: every sweep keeps every input of every account (store
migration 2, which older stores get on open), and `csm history export` writes them as the
SPEC 14 history file (JSONL or CSV); on both stores (SQLite and PostgreSQL)."""

import csv
import io
import json
import sqlite3

from agent.sweeps.store import MIGRATIONS, open_store
from tests.test_outcomes import run, write
from tools.portfolio.account import Account
from tools.portfolio.history import HISTORY_COLUMNS
from tools.portfolio.readers import parse_row

FORMULA = '=HYPERLINK("http://x")'


def sweep(capsys, db, day, out):
    code, _, err = run(capsys, "sweep", "--db", db, "--as-of", day, "--workers", 1,
                       "--no-reports", "--out", out / day)
    assert code == 0, err


A = {"id": "a", "name": "Alpha", "mrr": 300_000, "csat": 9, "auto_pay": True}
F = {"id": "f", "name": FORMULA, "mrr": 100_000, "weekly_logins": [3, 4],
     "stakeholders": [{"name": "Ann", "role": "champion"}]}
G = {"id": "g", "name": "Gamma", "mrr": 50_000}


def three_sweeps(tmp_path, capsys, db):
    """a, f, g swept on 11-01; g leaves (--full on 11-05); a, f swept on 11-08; f leaves on
    11-10, after the last sweep."""
    assert run(capsys, "import", write(tmp_path / "1.json", "2026-11-01", [A, F, G]),
               "--db", db)[0] == 0
    sweep(capsys, db, "2026-11-01", tmp_path)
    assert run(capsys, "import", write(tmp_path / "2.json", "2026-11-05", [A, F]), "--db", db,
               "--full")[0] == 0
    sweep(capsys, db, "2026-11-08", tmp_path)
    assert run(capsys, "import", write(tmp_path / "3.json", "2026-11-10", [A]), "--db", db,
               "--full")[0] == 0
    return db


def test_export_jsonl_one_row_per_account_per_snapshot_date(tmp_path, capsys, store_db):
    db = three_sweeps(tmp_path, capsys, store_db)
    code, out, err = run(capsys, "history", "export", "--db", db)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["as_of"], r["id"]) for r in rows] == [
        ("2026-11-01", "a"), ("2026-11-01", "f"), ("2026-11-01", "g"),
        ("2026-11-08", "a"), ("2026-11-08", "f"),
    ]
    # every input field as assessed on the day (the validated account), plus as_of and
    # churned_on: g left on 11-05, within the file (last date 11-08); f left on 11-10, after
    # it, so its churned_on is empty (SPEC 14) and stderr says why
    assert rows[0] == {"as_of": "2026-11-01", "id": "a", "name": "Alpha", "mrr": 300_000,
                       "auto_pay": True, "csat": 9, "status": "active", "churned_on": None}
    assert rows[1]["weekly_logins"] == [3, 4]
    assert rows[1]["stakeholders"] == [{"name": "Ann", "role": "champion"}]
    assert rows[2]["churned_on"] == "2026-11-05"
    assert [r["churned_on"] for r in rows if r["id"] == "f"] == [None, None]
    assert err.splitlines() == [
        "csm history: 5 rows, 3 accounts, 2 snapshot date(s) from 2026-11-01 to 2026-11-08, "
        "1 account(s) churned by 2026-11-08",
        "csm history: 1 account(s) churned after the last snapshot date 2026-11-08 (f): "
        "churned_on is empty in their rows until a sweep runs on or after that day",
    ]


def test_export_csv_has_every_field_lists_as_json_and_neutralised_text(
    tmp_path, capsys, store_db
):
    db = three_sweeps(tmp_path, capsys, store_db)
    out = tmp_path / "history.csv"
    code, printed, err = run(capsys, "history", "export", "--db", db, "--out", out)
    assert code == 0 and printed == "", err
    assert err.splitlines()[0].endswith(f"; written to {out}")
    with open(out, encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    header, rows = table[0], table[1:]
    assert tuple(header) == HISTORY_COLUMNS
    assert header[0] == "as_of" and header[-2:] == ["status", "churned_on"]
    f = dict(zip(header, rows[1], strict=True))
    assert f["name"] == "'" + FORMULA  # a spreadsheet reads text, not a formula
    assert f["weekly_logins"] == "[3, 4]"
    assert json.loads(f["stakeholders"]) == [{"name": "Ann", "role": "champion"}]
    assert (f["as_of"], f["csat"], f["churned_on"]) == ("2026-11-01", "", "")
    g = dict(zip(header, rows[2], strict=True))
    assert (g["id"], g["mrr"], g["churned_on"]) == ("g", "50000.0", "2026-11-05")
    # every row reads back as an account (as_of is a column the account model keeps aside)
    results = [parse_row("history.csv", n, dict(zip(header, r, strict=True)))
               for n, r in enumerate(rows, start=2)]
    assert all(isinstance(item, Account) for item in results)
    assert [str(item.churned_on) for item in results if item.id == "g"] == ["2026-11-05"]


def test_the_format_follows_the_flag_over_the_extension(tmp_path, capsys, store_db):
    db = three_sweeps(tmp_path, capsys, store_db)
    out = tmp_path / "history.csv"
    assert run(capsys, "history", "export", "--db", db, "--out", out, "--format", "jsonl")[0] == 0
    assert json.loads(out.read_text("utf-8").splitlines()[0])["id"] == "a"
    code, printed, _ = run(capsys, "history", "export", "--db", db, "--format", "csv")
    assert code == 0 and next(csv.reader(io.StringIO(printed)))[0] == "as_of"


def test_no_store_is_one_sentence(tmp_path, capsys):
    missing = tmp_path / "none.sqlite3"
    code, _, err = run(capsys, "history", "export", "--db", missing)
    assert code == 1
    assert err == (f"csm: error: {missing}: no store there; run `csm import` and `csm sweep` "
                   "first, or pass --db PATH.\n")
    assert not missing.exists()


def test_no_sweep_is_one_sentence(tmp_path, capsys, store_db):
    db = store_db
    assert run(capsys, "import", write(tmp_path / "1.json", "2026-11-01", [A]), "--db", db)[0] == 0
    code, _, err = run(capsys, "history", "export", "--db", db)
    assert (code, err) == (1, f"csm: error: {db} holds no sweep yet; run `csm sweep` first.\n")


def old_store(db):
    """A store as csm-agent made it before migration 2: one sweep with its compact snapshots,
    and an account whose row had a `status` column (kept then as an unknown key). SQLite: as
    csm-agent wrote it then (no schema_version table, only `PRAGMA user_version`); PostgreSQL:
    migration 1 and its schema_version row."""
    conn = _old_connection(db)
    accounts = [
        {"id": "a", "name": "Alpha", "mrr": 300_000, "csat": 9},
        {"id": "b", "name": "Beta", "mrr": 80_000, "status": "churned",
         "churned_on": "2026-10-20"},
    ]
    def execute(sql, params=()):
        conn.execute(sql.replace("?", "%s") if isinstance(db, str) else sql, params)

    for record in accounts:
        execute("INSERT INTO accounts VALUES (?, ?, ?, '2026-10-25T00:00:00+00:00')",
                (record["id"], record["name"], json.dumps(record)))
    execute("INSERT INTO sweeps (id, as_of, routine, source, input_hash, playbook_version, "
               "status, started_at, accounts) VALUES (1, '2026-10-25', 'daily', 'store', 'x', "
               "'old', 'complete', '2026-10-25T00:00:00+00:00', 2)")
    for record, mrr in ((accounts[0], 290_000), (accounts[1], 80_000)):
        snapshot = {"id": record["id"], "name": record["name"], "mrr": mrr,
                    "csat": record.get("csat"), "nps": None, "health_score": 70.0,
                    "color": "yellow", "churn_score": 40.0, "tier": "medium", "signals": [],
                    "mitigations": [], "opportunities": [], "renewal_date": None,
                    "renewal_probability": 0.6, "expected_churned_mrr": 0.0,
                    "expected_expansion": 0.0}
        execute(
            "INSERT INTO snapshots (sweep_id, account_id, name, mrr, csat, health_score, color, "
            "churn_score, tier, signals, renewal_date, renewal_probability, "
            "expected_churned_mrr, data) VALUES (1, ?, ?, ?, ?, 70, 'yellow', 40, 'medium', "
            "'[]', NULL, 0.6, 0, ?)",
            (record["id"], record["name"], mrr, record.get("csat"), json.dumps(snapshot)),
        )
    conn.commit()
    conn.close()


def _old_connection(db):
    if isinstance(db, str):
        import psycopg

        conn = psycopg.connect(db)
        conn.execute(MIGRATIONS[0].postgres)
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
        conn.execute("INSERT INTO schema_version VALUES (1, '2026-10-01T00:00:00+00:00')")
        return conn
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0].sqlite + "; PRAGMA user_version = 1;")
    return conn


def test_an_old_store_is_migrated_on_open_and_still_works(tmp_path, capsys, store_db):
    path = store_db
    old_store(path)
    store = open_store(path)
    try:
        assert store.schema_version() == len(MIGRATIONS) == 2
        # the steps an older csm-agent applied are recorded, their time unknown
        applied = store.fetch("SELECT version, applied_at IS NULL FROM schema_version "
                              "ORDER BY version")
        assert [v for v, _ in applied] == [1, 2] and applied[1][1] in (0, False)
        # migration 2 reads the outcome an old row already carried
        assert store.statuses() == {"a": "active", "b": "churned"}
        assert store.churn_days() == {"b": "2026-10-20"}
        assert store.fetch("SELECT count(inputs) FROM snapshots")[0][0] == 0
    finally:
        store.close()
    # a sweep on the migrated store: b is churned (not swept), and counts as churned in the
    # period from the old sweep: start MRR 290,000 + 80,000 = 370,000; a 290,000 -> 300,000
    # expansion 10,000; b churned 80,000: GRR = (370,000 - 80,000) / 370,000 = 0.78378 ->
    # 0.7838; NRR = (370,000 + 10,000 - 80,000) / 370,000 = 0.81081 -> 0.8108; logos 1 / 2
    sweep(capsys, path, "2026-11-01", tmp_path)
    report = json.loads((tmp_path / "2026-11-01" / "portfolio.json").read_text("utf-8"))
    period = report["metrics"]["retention"]
    assert (period["grr"], period["nrr"], period["logo_retention"]) == (0.7838, 0.8108, 0.5)
    assert report["metrics"]["churned_accounts"][0]["churned_on"] == "2026-10-20"
    code, out, err = run(capsys, "history", "export", "--db", path)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    # the old snapshots give what they kept (the account fields among them); the new one all
    assert rows[0] == {"as_of": "2026-10-25", "id": "a", "name": "Alpha", "mrr": 290_000,
                       "csat": 9, "churned_on": None}
    # b was swept on 10-25 although it had left on 10-20 (the old store did not know): its row
    # says so, and a backtest leaves out snapshots taken on or after churned_on
    assert rows[1] == {"as_of": "2026-10-25", "id": "b", "name": "Beta", "mrr": 80_000,
                       "churned_on": "2026-10-20"}
    assert rows[2]["as_of"] == "2026-11-01" and rows[2]["status"] == "active"
    notes = [line for line in err.splitlines() if "before the store kept" in line]
    assert notes == [
        "csm history: 2 row(s) come from snapshots made before the store kept every input field "
        "(an older csm-agent); they carry only id, name, mrr, csat"
    ]
