"""Portfolio sweeps: the store, alerts between two sweeps, GRR/NRR, resume, idempotence, lock;
each on both stores (SQLite and PostgreSQL: the `store_db` fixture)."""

import json
from datetime import date

import pytest

import agent.sweeps.sweep as sweep_module
from agent.interfaces.cli import main
from agent.sweeps.store import StoreError, open_store
from agent.sweeps.sweep import SweepOptions, run_sweep
from tools.filenames import file_stem
from tools.planning.forecast import calibrate
from tools.playbook import load_playbook
from tools.portfolio.readers import read_portfolio, sample_portfolio_path

WEEK1 = [
    {"id": "A", "name": "Alpha", "mrr": 400000},
    {"id": "B", "name": "Beta", "mrr": 300000},
    {"id": "C", "name": "Gamma", "mrr": 200000},
    {"id": "D", "name": "Delta", "mrr": 100000, "engagement_score": 60, "csat": 9,
     "days_overdue": 0},
]
WEEK2 = [
    {"id": "A", "name": "Alpha", "mrr": 500000},
    {"id": "B", "name": "Beta", "mrr": 250000},
    {"id": "D", "name": "Delta", "mrr": 100000, "engagement_score": 0, "csat": 2,
     "days_overdue": 12},
    {"id": "E", "name": "Epsilon", "mrr": 900000},
]


def write(path, as_of, accounts):
    path.write_text(json.dumps({"as_of": as_of, "accounts": accounts}), encoding="utf-8")
    return path


def sweep(tmp_path, capsys, portfolio, *extra, db):
    code = main(["sweep", str(portfolio), "--db", str(db),
                 "--out", str(tmp_path / "out" / portfolio.stem), "--workers", "1", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_two_sweeps_raise_alerts_and_measure_retention(tmp_path, capsys, store_db):
    first = write(tmp_path / "w1.json", "2026-11-20", WEEK1)
    second = write(tmp_path / "w2.json", "2026-11-27", WEEK2)
    code, out, err = sweep(tmp_path, capsys, first, db=store_db)
    assert code == 0, err
    assert "swept 4 accounts" in out
    hook = tmp_path / "alerts.json"
    code, out, err = sweep(tmp_path, capsys, second, "--weekly", "--notify", f"cat > {hook}",
                           db=store_db)
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "w2" / "portfolio.json").read_text("utf-8"))
    alerts = {(a["account_id"], a["kind"], a["detail"]) for a in report["alerts"]}
    # Delta: churn (25x80 + 20x0 + 10x0)/55 = 36.4 medium -> (25x80 + 20x100 + 10x71.43)/55
    # = 85.7 critical; health (25x10 + 20x90)/45 = 45.6 yellow -> (25x10 + 20x20)/45 = 14.4 red
    assert alerts == {
        ("D", "tier_change", "medium -> critical"),
        ("D", "color_change", "yellow -> red"),
        ("D", "new_signal", "payment_delay"),
    }
    assert json.loads(hook.read_text("utf-8"))["alerts"] == report["alerts"]
    period = report["metrics"]["retention"]
    # start MRR 1,000,000; expansion 100,000 (A); contraction 50,000 (B); churned 200,000 (C)
    assert (period["start_mrr"], period["expansion"], period["contraction"],
            period["churned_mrr"]) == (1_000_000, 100_000, 50_000, 200_000)
    assert (period["grr"], period["nrr"], period["logo_retention"]) == (0.75, 0.85, 0.75)
    assert period["new_logos_excluded"] == 1
    assert period["period"] == {"start": "2026-11-20", "end": "2026-11-27", "days": 7}
    # 7 days is shorter than targets.min_annualise_days (90): 0.75 ** (365 / 7) is not reported
    assert (period["annual_grr"], period["annual_nrr"]) == (None, None)
    targets = report["metrics"]["targets"]
    assert {k: (t["status"], t["value"]) for k, t in targets.items()} == {
        "annual_retention": ("not_measurable", None),
        "expansion_share_of_arr": ("not_measurable", None),
        "referrals_per_satisfied_client_quarter": ("not_measurable", None),
        "average_csat": ("missed", 2.0),  # only Delta has a CSAT in week 2: 2 < 8.5
    }
    assert targets["annual_retention"]["reason"].startswith(
        "not measurable yet: the period 2026-11-20 to 2026-11-27 is 7 days")
    assert "no referral data in the inputs" in (
        targets["referrals_per_satisfied_client_quarter"]["reason"])
    markdown = (tmp_path / "out" / "w2" / "portfolio.md").read_text("utf-8")
    assert "GRR: 75.0% and NRR: 85.0% from 2026-11-20 to 2026-11-27 (7 days)" in markdown
    assert "| Annual retention (annualised GRR) | 90% or more | - | 2026-11-20 to 2026-11-27 " \
        "(7 days) | not measurable |" in markdown
    assert "| Referrals per satisfied client a quarter | 2 or more | - | - | not measurable |" \
        in markdown
    assert "| Average CSAT | 8.5 or more | 2 | as of 2026-11-27 | missed |" in markdown
    # "D" is not lower case: its file is a slug with a hash, recorded in the report's mapping
    assert report["report_files"]["D"] == f"{file_stem('D')}.en.md" != "D.en.md"
    assert (tmp_path / "out" / "w2" / report["report_files"]["D"]).read_text(
        "utf-8").startswith("CLIENT: Delta")


QUARTER1 = [
    {"id": "A", "name": "Alpha", "mrr": 400000, "csat": 7},
    {"id": "B", "name": "Beta", "mrr": 300000},
    {"id": "C", "name": "Gamma", "mrr": 200000},
    {"id": "D", "name": "Delta", "mrr": 100000},
]
QUARTER2 = [
    {"id": "A", "name": "Alpha", "mrr": 410000, "csat": 8},
    {"id": "B", "name": "Beta", "mrr": -5},  # a bad row: rejected, yet still a client
    {"id": "C", "name": "Gamma", "mrr": 186000},
    {"id": "D", "name": "Delta", "mrr": 100000, "csat": 9},
]


def test_a_quarter_apart_metrics_are_annualised_and_judged(tmp_path, capsys, store_db):
    first = write(tmp_path / "q1.json", "2026-08-29", QUARTER1)
    second = write(tmp_path / "q2.json", "2026-11-27", QUARTER2)
    assert sweep(tmp_path, capsys, first, db=store_db)[0] == 0
    code, _, err = sweep(tmp_path, capsys, second, db=store_db)
    assert code == 2 and "(id B): mrr" in err
    report = json.loads((tmp_path / "out" / "q2" / "portfolio.json").read_text("utf-8"))
    period = report["metrics"]["retention"]
    # 2026-08-29 to 2026-11-27: 2 + 30 + 31 + 27 = 90 days. B's row was rejected: its MRR is
    # unknown at the end, so B is a retained logo left out of the money (not 300,000 churned).
    # Start MRR = A 400,000 + C 200,000 + D 100,000 = 700,000; expansion 10,000 (A);
    # contraction 14,000 (C); churned 0.
    assert period["period"] == {"start": "2026-08-29", "end": "2026-11-27", "days": 90}
    assert (period["start_mrr"], period["expansion"], period["contraction"],
            period["churned_mrr"], period["mrr_unknown_accounts"]) == (
        700_000, 10_000, 14_000, 0, 1)
    # GRR = (700,000 - 14,000) / 700,000 = 0.98; NRR = (700,000 + 10,000 - 14,000) / 700,000
    # = 0.99429; logo retention 4 / 4.
    # Annual GRR = 0.98 ** (365 / 90) = exp(4.0556 x -0.020203) = exp(-0.081933) = 0.9213;
    # annual NRR = 0.99429 ** 4.0556 = exp(4.0556 x -0.0057307) = exp(-0.023241) = 0.977.
    assert (period["grr"], period["nrr"], period["logo_retention"]) == (0.98, 0.9943, 1.0)
    assert (period["annual_grr"], period["annual_nrr"]) == (0.9213, 0.977)
    targets = report["metrics"]["targets"]
    # Current MRR (known) = 410,000 + 186,000 + 100,000 = 696,000 = report MRR.
    # Expansion share = (10,000 x 365 / 90) x 12 / (696,000 x 12) = 40,555.56 / 696,000 = 0.0583
    # CSAT = (8 + 9) / 2 = 8.5 (B's row was rejected, C has none)
    assert report["mrr"] == 696_000
    assert {k: (t["status"], t["value"]) for k, t in targets.items()} == {
        "annual_retention": ("met", 0.9213),
        "expansion_share_of_arr": ("missed", 0.0583),
        "referrals_per_satisfied_client_quarter": ("not_measurable", None),
        "average_csat": ("met", 8.5),
    }
    assert targets["expansion_share_of_arr"]["period"]["days"] == 90
    markdown = (tmp_path / "out" / "q2" / "portfolio.md").read_text("utf-8")
    assert "- A year at this pace: GRR 92.1%, NRR 97.7%" in markdown
    assert "| Annual retention (annualised GRR) | 90% or more | 92.1% | 2026-08-29 to " \
        "2026-11-27 (90 days) | met |" in markdown
    assert "| Expansion revenue, share of ARR a year | 20% or more | 5.8% | 2026-08-29 to " \
        "2026-11-27 (90 days) | missed |" in markdown
    assert "| Average CSAT | 8.5 or more | 8.5 | as of 2026-11-27 | met |" in markdown


def test_same_inputs_again_are_idempotent(tmp_path, capsys, store_db):
    first = write(tmp_path / "w1.json", "2026-11-20", WEEK1)
    assert sweep(tmp_path, capsys, first, db=store_db)[0] == 0
    code, out, err = sweep(tmp_path, capsys, first, db=store_db)
    assert code == 0 and "already ran on these inputs; nothing to do" in err
    store = open_store(store_db)
    rows = store.fetch("SELECT count(*) FROM snapshots")[0][0]
    sweeps = store.fetch("SELECT count(*) FROM sweeps")[0][0]
    store.close()
    assert (rows, sweeps) == (4, 1)


def test_interrupted_sweep_keeps_finished_accounts_and_resumes(tmp_path, monkeypatch, store_db):
    monkeypatch.setattr(sweep_module, "BATCH", 5)
    playbook = load_playbook()
    source = sample_portfolio_path()
    as_of = date(2026, 11, 20)
    options = SweepOptions(as_of=as_of, source=source, out=tmp_path / "out")
    calibration = calibrate(read_portfolio(source).accounts, playbook, as_of)
    store = open_store(store_db)

    def stop_after_two_batches(done, _total):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(options, store, playbook, calibration, stop_after_two_batches)
    row = store.sweep("2026-11-20")
    assert row["status"] == "incomplete" and row["accounts"] == 10
    assert len(store.done_ids(row["id"])) == 10
    options.resume = True
    result = run_sweep(options, store, playbook, calibration)
    assert (result.status, result.skipped, result.accounts) == ("complete", 10, 30)
    assert len(store.done_ids(row["id"])) == 40
    assert store.sweep("2026-11-20")["status"] == "complete"
    store.close()


def test_resume_without_an_unfinished_sweep_is_an_error(tmp_path, capsys, store_db):
    first = write(tmp_path / "w1.json", "2026-11-20", WEEK1)
    code, _, err = sweep(tmp_path, capsys, first, "--resume", db=store_db)
    assert code == 1 and "no unfinished sweep for 2026-11-20" in err


def test_a_second_sweep_on_the_same_store_is_refused(store_db):
    holder = open_store(store_db)
    holder.lock()
    other = open_store(store_db)
    assert other.sweep_running()
    with pytest.raises(StoreError, match="another sweep is running"):
        other.lock(wait=0.2)
    holder.close()  # its lock goes with it
    assert not other.sweep_running()
    other.lock()
    other.close()


def test_import_then_sweep_the_store_with_two_workers(tmp_path, capsys, store_db):
    db = str(store_db)
    assert main(["import", str(sample_portfolio_path()), "--db", db]) == 0
    assert "imported 40 accounts" in capsys.readouterr().out
    code = main(["sweep", "--db", db, "--as-of", "2026-11-20", "--workers", "2",
                 "--no-reports"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "swept 40 accounts" in out
    report = tmp_path / "reports" / "2026-11-20" / "portfolio.md"
    assert not report.exists()  # --no-reports keeps account reports out; the portfolio one is
    store = open_store(store_db)
    assert store.schema_version() == 2
    assert store.fetch("SELECT version FROM schema_version ORDER BY version") == [(1,), (2,)]
    assert store.fetch("SELECT count(*) FROM snapshots")[0][0] == 40
    # every snapshot keeps the account's inputs (migration 2)
    assert store.fetch("SELECT count(inputs) FROM snapshots")[0][0] == 40
    store.close()


def test_empty_store_says_what_to_do(capsys, store_db):
    code = main(["sweep", "--db", str(store_db)])
    assert code == 1 and "holds no accounts; run `csm import PORTFOLIO`" in capsys.readouterr().err


def test_a_portfolio_with_no_rows_fails_the_sweep(tmp_path, capsys, store_db):
    empty = tmp_path / "empty.csv"
    empty.write_text("id;name\n", encoding="utf-8")
    code, _, err = sweep(tmp_path, capsys, empty, db=store_db)
    assert code == 1 and "no account could be read; it has no rows" in err
