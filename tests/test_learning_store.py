"""`csm backtest` and `csm learn` without a HISTORY file read the store's own sweeps, through the
rows `csm history export` writes (SPEC 14: the store's snapshots are the default history);
on both stores (SQLite and PostgreSQL)."""

import json
from datetime import date

import pytest

from agent.sweeps.store import open_store
from tests.conftest import STORES, new_store
from tests.test_history_export import three_sweeps
from tests.test_outcomes import run
from tools.learning.history import write_history
from tools.learning.synthetic import synthetic_history
from tools.playbook import load_playbook
from tools.portfolio.readers import parse_row
from tools.scoring.score import score_account


def snapshot(account, playbook, as_of):
    """The keys a sweep stores for one account (agent.sweeps.sweep), from the playbook's own
    score; `inputs` is the validated account, as a sweep keeps it."""
    score = score_account(account, playbook, as_of)
    return {
        "id": account.id, "name": account.name, "mrr": account.mrr, "csat": account.csat,
        "health_score": score.health.score, "color": score.health.color,
        "churn_score": score.churn_risk.score, "tier": score.churn_risk.tier,
        "signals": [s.id for s in score.signals],
        "renewal_date": account.renewal_date and account.renewal_date.isoformat(),
        "renewal_probability": None, "expected_churned_mrr": None,
        "inputs": account.model_dump(mode="json", exclude_none=True),
    }


@pytest.fixture(scope="module", params=STORES)
def swept(tmp_path_factory, request):
    """A synthetic history (160 accounts, 18 monthly dates) as a history file, and the same
    history stored sweep by sweep: each date one complete sweep of the accounts it holds, the
    accounts in the store, and each churned account marked on its day."""
    folder = tmp_path_factory.mktemp("swept")
    history = synthetic_history(160, 18, seed=4, start=date(2025, 3, 1))
    path = folder / "history.jsonl"
    write_history(history.rows, path)
    playbook = load_playbook()
    db = new_store(request.param, folder, request)
    store = open_store(db)
    try:
        latest = {}
        for day in sorted({r["as_of"] for r in history.rows}):
            rows = [r for r in history.rows if r["as_of"] == day]
            accounts = []
            for n, r in enumerate(rows, start=1):
                fields = {k: v for k, v in r.items() if k not in ("as_of", "churned_on")}
                accounts.append(parse_row("history", n, fields))
                latest[r["id"]] = (fields, r["churned_on"])
            sweep = store.start_sweep(day, "monthly", "history", day, playbook.version)
            store.record(sweep, [snapshot(a, playbook, date.fromisoformat(day))
                                 for a in accounts], [], [])
            store.finish_sweep(sweep, "complete", 0, [])
        store.import_accounts(enumerate((f for f, _ in latest.values()), start=1))
        for account_id, (_, left) in latest.items():
            if left:
                store.mark_churned([account_id], left)
    finally:
        store.close()
    return path, db


def test_backtest_without_a_file_reads_the_stores_sweeps(swept, capsys):
    path, db = swept
    code, from_file, err = run(capsys, "backtest", path, "--format", "json")
    assert code == 0, err
    code, from_store, err = run(capsys, "backtest", "--db", db, "--format", "json")
    assert code == 0, err
    assert f"from the store {db} (18 sweeps, 2025-03-01 to 2026-08-01)" in err
    # the same history, whether exported to a file or read in place
    assert json.loads(from_store) == json.loads(from_file)
    assert json.loads(from_store)["test"]["positives"] >= 20


def test_learn_uses_the_default_store(swept, capsys, monkeypatch, tmp_path):
    _, db = swept
    if isinstance(db, str):
        monkeypatch.setenv("CSM_DB", db)  # a server's store is the default through CSM_DB
    else:
        monkeypatch.setenv("CSM_DATA_DIR", str(db.parent))
    model = tmp_path / "model.json"
    code, out, err = run(capsys, "learn", "--out", model)
    assert code == 0, err
    assert f"csm learn: read 3,431 snapshots from the store {db} (18 sweeps" in err
    assert json.loads(model.read_text())["training"]["to"] == "2026-05-01"


def test_real_sweeps_are_read_and_too_little_history_is_one_sentence(
    tmp_path, capsys, store_db
):
    db = three_sweeps(tmp_path, capsys, store_db)
    code, out, err = run(capsys, "backtest", "--db", db)
    assert code == 1 and out == ""
    assert f"csm backtest: read 5 snapshots from the store {db} (2 sweeps, 2026-11-01 to " \
           "2026-11-08)" in err
    assert "no snapshot has a closed 90-day window" in err
    code, _, err = run(capsys, "backtest", "--db", db, "--horizon-days", "3")
    assert code == 1 and "every labelled snapshot is from one date (2026-11-01)" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["backtest"], "no HISTORY file given, and no store at"),
        (["learn", "--out", "m.json"], "no HISTORY file given, and no store at"),
        (["backtest", "h.jsonl", "--db", "x.sqlite3"],
         "pass a HISTORY file or --db (the store's own history), not both."),
    ],
)
def test_no_history_is_one_sentence(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == "" and message in err and "Traceback" not in err


def test_a_store_without_sweeps_is_one_sentence(capsys, store_db):
    db = store_db
    open_store(db).close()
    code, _, err = run(capsys, "backtest", "--db", db)
    assert code == 1 and f"{db} holds no sweep yet, so no history" in err
