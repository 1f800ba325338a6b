"""Outcomes (SPEC 14): status and churned_on on the account, `csm import --full` marking the
accounts a full export lacks as churned, churned accounts leaving the sweep but counting in the
period's GRR, NRR and logo retention (SPEC 9), and zero-MRR clients named in the report."""

import json

import pytest

from agent.interfaces.cli import main
from agent.sweeps.store import open_store
from tests.conftest import make
from tools.portfolio.readers import parse_row, row_ids
from tools.scoring.portfolio_metrics import retention


def write(path, as_of, accounts):
    path.write_text(json.dumps({"as_of": as_of, "accounts": accounts}), encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def churn_days(db) -> dict[str, str]:
    """Account id -> churn day of the churned accounts in a store."""
    store = open_store(db)
    try:
        return store.churn_days()
    finally:
        store.close()


# --- the account fields -----------------------------------------------------------------


def test_status_defaults_to_active_and_is_read_in_any_case():
    assert make().status == "active" and make().churned_on is None
    assert make(status=" Churned ", churned_on="2026-11-20").status == "churned"
    assert make(status="", mrr=1).status == "active"  # an empty cell is unknown: active
    # an active account may carry a churn day (a history row says when it left later)
    assert make(churned_on="2026-12-01").churned_on.isoformat() == "2026-12-01"


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"status": "gone"}, "status",
         "not a status; write 'active' or 'churned' (empty means active) (got 'gone')"),
        ({"status": "churned"}, "churned_on",
         "required when status is churned; give the day the client left (YYYY-MM-DD)"),
        ({"status": "churned", "churned_on": ""}, "churned_on",
         "required when status is churned; give the day the client left (YYYY-MM-DD)"),
        ({"status": "churned", "churned_on": "soon"}, "churned_on",
         "Input should be a valid date or datetime, input is too short (got 'soon')"),
    ],
)
def test_a_bad_outcome_is_one_clear_reason(record, field, reason):
    errors = parse_row("f.csv", 3, {"id": "x", "name": "X", **record})
    assert [(e.row, e.id, e.field, e.reason) for e in errors] == [(3, "x", field, reason)]


def test_row_ids_read_ids_as_validation_does():
    rows = enumerate(
        [{"id": " a "}, {"id": 12.0}, {"id": 7}, {"id": "", "name": ""}, {"name": "no id"},
         "not an object", {"id": None, "mrr": None}],
        start=1,
    )
    # " a " -> "a", 12.0 -> "12", 7 -> "7"; the all-blank rows name nobody and hold nothing;
    # "no id" and the string row hold something without an id: 2 unidentified
    assert row_ids(rows) == ({"a", "12", "7"}, 2)


# --- import --full ----------------------------------------------------------------------

BASE = [{"id": f"A{i:02d}", "name": f"Client {i:02d}", "mrr": 100_000} for i in range(1, 11)]


def weekly(week: int) -> list[dict]:
    """The full export of one week: 14 clients in weeks 1 and 2, 13 in week 3 (A11 left)."""
    a01 = 130_000 if week == 3 else 100_000
    rest = {
        "A11": [200_000, 180_000, None][week - 1],  # shrinks in week 2, gone in week 3
        "A12": [150_000, 120_000, 120_000][week - 1],
        "A13": [50_000, 50_000, 50_000][week - 1],
        "A14": [100_000, 100_000, 0][week - 1],  # still a client, paying nothing in week 3
    }
    accounts = [{**BASE[0], "mrr": a01}, *BASE[1:]]
    accounts += [
        {"id": i, "name": f"Client {i[1:]}", "mrr": mrr} for i, mrr in rest.items()
        if mrr is not None
    ]
    return accounts


DATES = ["2026-11-06", "2026-11-13", "2026-11-20"]


def weekly_run(tmp_path, capsys, full: bool, db) -> tuple[dict, list[str]]:
    """The README's weekly routine three times: import the week's full export, then sweep the
    store; returns the last portfolio report and what each import printed."""
    printed = []
    for week, day in enumerate(DATES, start=1):
        export = write(tmp_path / f"week{week}.json", day, weekly(week))
        code, out, err = run(capsys, "import", export, "--db", db, *(["--full"] if full else []))
        assert code == 0, err
        printed.append(out)
        last = week == len(DATES)
        code, out, err = run(
            capsys, "sweep", "--db", db, "--as-of", day, "--workers", 1, "--weekly",
            "--out", tmp_path / day, *([] if last else ["--no-reports"]),
        )
        assert code == 0, err
    printed.append(out)
    return json.loads((tmp_path / DATES[-1] / "portfolio.json").read_text("utf-8")), printed


def test_weekly_full_import_and_sweep_count_the_client_that_left(tmp_path, capsys, store_db):
    report, printed = weekly_run(tmp_path, capsys, full=True, db=store_db)
    # week 3's import says who it marks churned, and when (the file's as_of), before writing
    assert printed[2].splitlines()[0] == (
        "--full: 1 stored active account(s) absent from week3.json will be marked churned on "
        "2026-11-20: A11"
    )
    assert "swept 13 accounts (0 already done, 1 churned not swept)" in printed[3]
    period = report["metrics"]["retention"]
    # Baseline: the week-1 sweep (no sweep 90+ days earlier, so the earliest one), 14 logos,
    # start MRR = 10 x 100,000 + 200,000 + 150,000 + 50,000 + 100,000 = 1,500,000.
    # Week 3 against week 1:
    #   expansion   A01 100,000 -> 130,000:                               30,000
    #   contraction A12 150,000 -> 120,000: 30,000; A14 100,000 -> 0: 100,000;
    #               A11 200,000 -> its last MRR 180,000 (week 2): 20,000  = 150,000
    #   churned     A11's last MRR:                                       180,000
    # GRR = (1,500,000 - 150,000 - 180,000) / 1,500,000 = 1,170,000 / 1,500,000 = 0.78
    # NRR = (1,500,000 + 30,000 - 150,000 - 180,000) / 1,500,000 = 1,200,000 / 1,500,000 = 0.8
    # logo retention = 13 / 14 = 0.928571... -> 0.9286
    assert period["period"] == {"start": "2026-11-06", "end": "2026-11-20", "days": 14}
    assert (period["start_mrr"], period["expansion"], period["contraction"],
            period["churned_mrr"]) == (1_500_000, 30_000, 150_000, 180_000)
    assert (period["grr"], period["nrr"]) == (0.78, 0.8)
    assert (period["start_logos"], period["retained_logos"], period["logo_retention"]) == (
        14, 13, 0.9286)
    metrics = report["metrics"]
    assert metrics["churned_accounts"] == [{
        "id": "A11", "name": "Client 11", "churned_on": "2026-11-20",
        "start_mrr": 200_000, "last_mrr": 180_000,
    }]
    # A14 pays 0 but is still a client: contraction, named, not churn
    assert metrics["zero_mrr_accounts"] == [{"id": "A14", "name": "Client 14"}]
    assert (metrics["churned_total"], metrics["zero_mrr_total"]) == (1, 1)
    markdown = (tmp_path / DATES[-1] / "portfolio.md").read_text("utf-8")
    assert "- GRR: 78.0% and NRR: 80.0% from 2026-11-06 to 2026-11-20 (14 days)." in markdown
    assert "- Logo retention: 92.9% (13 of 14) over the same period." in markdown
    assert (
        "- Churned in the period (1, their last MRR counted as churned MRR): Client 11 (A11, "
        "churned on 2026-11-20, last MRR 180,000 RUB)." in markdown
    )
    assert (
        "- MRR fell to 0 while still active, counted as contraction, not churn (1): Client 14 "
        "(A14)." in markdown
    )
    # the churned client is not assessed: no report of its own, not in the work queue
    files = report["report_files"]
    assert "A11" not in files and len(files) == 13
    assert len(list((tmp_path / DATES[-1]).glob("*.en.md"))) == 13
    assert "A11" not in {o["id"] for o in report["outreach_plan"]}
    assert report["accounts"] == 13
    # but its history stays: two snapshots, and the store says when it left
    store = open_store(store_db)
    try:
        kept = store.fetch("SELECT count(*) FROM snapshots WHERE account_id = 'A11'")[0][0]
        assert kept == 2
        assert store.churn_days() == {"A11": "2026-11-20"}
    finally:
        store.close()


def test_a_plain_weekly_import_never_churns_anyone(tmp_path, capsys, store_db):
    # The same weeks without --full: A11 stays in the store with its week-2 MRR 180,000 and is
    # swept again, so nothing churned: contraction 30,000 + 100,000 + 20,000 = 150,000,
    # GRR = (1,500,000 - 150,000) / 1,500,000 = 0.9, NRR = (1,500,000 + 30,000 - 150,000) /
    # 1,500,000 = 0.92, 14 of 14 logos: the overstatement --full exists to fix.
    report, printed = weekly_run(tmp_path, capsys, full=False, db=store_db)
    assert not any("churned" in out for out in printed[:3])
    period = report["metrics"]["retention"]
    assert (period["churned_mrr"], period["grr"], period["nrr"], period["logo_retention"]) == (
        0, 0.9, 0.92, 1.0)
    assert report["metrics"]["churned_total"] == 0


def test_full_import_churn_day_and_the_file_own_outcomes(tmp_path, capsys, store_db):
    db = store_db
    first = [{"id": i, "name": i, "mrr": 1000} for i in ("a", "b", "c", "d")]
    start = write(tmp_path / "1.json", "2026-11-01", first)
    assert run(capsys, "import", start, "--db", db)[0] == 0
    # a plain import of a partial file churns nobody
    code, out, _ = run(capsys, "import", write(tmp_path / "2.json", "2026-11-02", first[:1]),
                       "--db", db)
    assert code == 0 and "churned" not in out
    # --full: --as-of wins over the file's as_of; "c" says itself that it left (kept as is);
    # "b" and "d" are absent: marked churned on the --as-of day
    rows = [first[0], {"id": "c", "name": "c", "status": "churned", "churned_on": "2026-10-30"}]
    code, out, _ = run(capsys, "import", write(tmp_path / "3.json", "2026-11-08", rows),
                       "--db", db, "--full", "--as-of", "2026-11-07")
    assert code == 0
    assert out.splitlines() == [
        "--full: 2 stored active account(s) absent from 3.json will be marked churned on "
        "2026-11-07: b, d",
        f"imported 2 accounts into {db} (0 rows rejected); 1 of them churned in 3.json",
    ]
    store = open_store(db)
    try:
        assert store.churn_days() == {"b": "2026-11-07", "c": "2026-10-30", "d": "2026-11-07"}
        row = store.fetch("SELECT data FROM accounts WHERE id = 'b'")[0]
        data = json.loads(row[0])
        assert (data["status"], data["churned_on"], data["mrr"]) == ("churned", "2026-11-07", 1000)
    finally:
        store.close()
    # an account that is back in a later file is active again, and the import says so
    code, out, _ = run(capsys, "import", write(tmp_path / "4.json", "2026-11-09", first[1:2]),
                       "--db", db)
    assert out.splitlines()[-1] == "1 account(s) stored as churned are in 4.json as active again: b"
    assert "b" not in churn_days(db)


def test_full_import_with_an_unreadable_row_churns_nobody(tmp_path, capsys, store_db):
    db = store_db
    lines = [json.dumps({"id": i, "name": i, "mrr": 1000}) for i in ("a", "b")]
    (tmp_path / "1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(capsys, "import", tmp_path / "1.jsonl", "--db", db)[0] == 0
    # "b"'s line is broken: it may be "b", so nobody is marked churned; "a" is imported
    (tmp_path / "2.jsonl").write_text(lines[0] + "\n{\"id\": \"b\", broken\n", encoding="utf-8")
    code, out, err = run(capsys, "import", tmp_path / "2.jsonl", "--db", db, "--full")
    assert code == 2
    assert ("csm: --full: 1 row(s) of 2.jsonl name no readable account id, so the accounts "
            "absent from it cannot be told apart from them; nobody is marked churned.") in err
    assert "imported 1 accounts" in out
    assert churn_days(db) == {}


def test_a_full_import_of_a_file_with_no_good_row_churns_nobody(tmp_path, capsys, store_db):
    db = store_db
    assert run(capsys, "import", write(tmp_path / "1.json", "2026-11-01",
                                       [{"id": "a", "name": "a"}]), "--db", db)[0] == 0
    bad = write(tmp_path / "2.json", "2026-11-02", [{"id": "z", "name": "z", "mrr": -1}])
    code, out, err = run(capsys, "import", bad, "--db", db, "--full")
    assert code == 1
    assert "no account could be read (1 rows rejected, listed above); nobody was marked " \
        "churned; fix them and import again." in err
    assert churn_days(db) == {}


def test_a_portfolio_file_whose_every_account_churned_has_nothing_to_sweep(
    tmp_path, capsys, store_db
):
    gone = write(tmp_path / "gone.json", "2026-11-20",
                 [{"id": "a", "name": "a", "status": "churned", "churned_on": "2026-11-01"}])
    code, _, err = run(capsys, "sweep", gone, "--db", store_db, "--no-reports",
                       "--workers", 1)
    assert code == 1
    assert "every account is churned (1); there is no active client to sweep." in err


# --- retention, pure ----------------------------------------------------------------------


def test_churned_mrr_is_the_last_mrr_and_a_fall_before_it_is_contraction():
    start = {"a": 1000.0, "b": 500.0, "c": 300.0, "d": None, "e": 1000.0}
    end = {"c": 0.0, "d": 10.0, "e": 1200.0}
    last = {"a": 800.0, "b": 600.0}
    r = retention(start, end, "2026-01-01", "2026-02-01", 90, last)
    # a: 1000 -> 800, then gone: contraction 200, churned 800 (its last MRR);
    # b: 500 -> 600, then gone: churned 500 (at most its start MRR: a rise before leaving is
    #    neither expansion nor churn, so b takes its own 500 off GRR, not 600);
    # c: 300 -> 0, still a client: contraction 300, named; e: expansion 200;
    # d: MRR unknown at the start: a retained logo, left out of the money figures.
    # start MRR = 1000 + 500 + 300 + 1000 = 2800; contraction 500; churned 1300
    # GRR = (2800 - 500 - 1300) / 2800 = 1000 / 2800 = 0.357142... -> 0.3571
    # NRR = (2800 + 200 - 500 - 1300) / 2800 = 1200 / 2800 = 0.428571... -> 0.4286
    # logos: c, d, e of 5 = 0.6
    assert (r.start_mrr, r.expansion, r.contraction, r.churned_mrr) == (2800, 200, 500, 1300)
    assert (r.grr, r.nrr, r.logo_retention, r.mrr_unknown_accounts) == (0.3571, 0.4286, 0.6, 1)
    assert [(a.id, a.start_mrr, a.last_mrr) for a in r.churned_accounts] == [
        ("a", 1000, 800), ("b", 500, 600)]
    assert r.zero_mrr_accounts == ["c"]
    # with no later MRR the start MRR is the last one: the same ratios, split otherwise
    # (contraction 300, churned 1000 + 500 = 1500)
    r = retention(start, end, "2026-01-01", "2026-02-01", 90)
    assert (r.contraction, r.churned_mrr, r.grr, r.nrr) == (300, 1500, 0.3571, 0.4286)
