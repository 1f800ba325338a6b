"""Hostile and broken input: numbers beyond range, dates at the ends of the calendar,
implausible values, misspelled columns and playbook inputs, deep nesting."""

import json
from datetime import date

import pytest

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import STEPS, build_graph
from agent.interfaces.cli import main
from tools.numbers import add_days, days_between, month_start
from tools.playbook import PlaybookError, default_playbook_path, load_playbook
from tools.portfolio.account import NUMBER_LIMIT, Account
from tools.portfolio.plausibility import review
from tools.portfolio.readers import (
    PortfolioError,
    RowWarning,
    nearest_field,
    parse_row,
    read_portfolio,
    stream_accounts,
)
from tools.scoring.score import score_account

AS_OF = date(2026, 11, 20)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def errors_of(path):
    portfolio = read_portfolio(path)
    return portfolio, {(e.row, e.field): e.reason for e in portfolio.errors}


# 1. numbers beyond range ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("organic_traffic", 10**400, "too large (401 digits); numbers above 10^15 are rejected"),
        ("mrr", -(10**20), "too large a negative number (21 digits)"),
        ("mrr", 1e300, "too large (1e+300)"),
        ("mrr", "1e400", "too large (1e400)"),
        ("budget", float("nan"), "not a number (NaN)"),
        ("budget", "Infinity", "infinite"),
        ("organic_traffic", "9" * 5000, "too large (5000 digits)"),
        ("organic_traffic", NUMBER_LIMIT + 1, "too large (16 digits)"),
    ],
)
def test_numbers_out_of_range_are_a_row_error(field, value, reason):
    errors = parse_row("p.json", 4, {"id": "a", "name": "A", field: value})
    assert isinstance(errors, list) and errors[0].field == field and errors[0].row == 4
    assert reason in errors[0].reason
    assert len(errors[0].sentence()) < 200  # never the 5000 digits themselves


def test_the_bound_itself_is_accepted():
    account = parse_row("p.json", 1, {"id": "a", "name": "A", "organic_traffic": NUMBER_LIMIT})
    assert isinstance(account, Account) and account.organic_traffic == NUMBER_LIMIT


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"weekly_logins": [1, 10**400]}, "weekly_logins[1]"),
        ({"weekly_tickets": "[1, 1e400]"}, "weekly_tickets[1]"),
        (
            {"stakeholders": [{"name": "X", "satisfaction": "1e400"}]},
            "stakeholders[0].satisfaction",
        ),
        ({"history": [{"date": "2026-01-01", "mrr": 10**400}]}, "history[0].mrr"),
    ],
)
def test_nested_numbers_are_bounded_too(row, field):
    errors = parse_row("p.json", 1, {"id": "a", "name": "A", **row})
    assert isinstance(errors, list) and errors[0].field == field
    assert "numbers above 10^15 are rejected" in errors[0].reason


def test_huge_integers_in_jsonl_and_json_keep_the_good_rows(tmp_path):
    huge = "9" * 5000
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(
        f'{{"id": "a", "name": "A", "mrr": {huge}}}\n'
        '{"id": "b", "name": "B", "mrr": 1e400, "csat": NaN, "nps": Infinity}\n'
        '{"id": "c", "name": "C", "mrr": 5}\n',
        encoding="utf-8",
    )
    portfolio, errors = errors_of(jsonl)
    assert [a.id for a in portfolio.accounts] == ["c"]
    assert set(errors) == {(1, "mrr"), (2, "mrr"), (2, "csat"), (2, "nps")}
    assert "5000 digits" in errors[(1, "mrr")]
    whole = tmp_path / "p.json"
    whole.write_text(f'[{{"id": "a", "name": "A", "mrr": {huge}}}, {{"id": "c", "name": "C"}}]')
    portfolio, errors = errors_of(whole)
    assert [a.id for a in portfolio.accounts] == ["c"] and set(errors) == {(1, "mrr")}


def test_csv_numbers_beyond_range(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "id,name,mrr,organic_traffic\na,A,1e400,\nb,B,,1" + "0" * 400 + "\nc,C,5,7\n",
        encoding="utf-8",
    )
    portfolio, errors = errors_of(path)
    assert [a.id for a in portfolio.accounts] == ["c"]
    assert set(errors) == {(2, "mrr"), (3, "organic_traffic")}


def test_score_with_a_huge_number_prints_whole_json(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            [
                {"id": "a", "name": "A", "organic_traffic": 10**400},
                {"id": "b", "name": "B", "mrr": 5},
            ]
        )
    )
    code, out, err = run(capsys, "score", str(path), "--format", "json")
    data = json.loads(out)
    assert code == 2 and [a["id"] for a in data["accounts"]] == ["b"]
    assert data["errors"][0]["field"] == "organic_traffic" and "Traceback" not in err


# 2. dates at the ends of the calendar --------------------------------------------------


def test_date_helpers_saturate():
    assert add_days(date.max, 1) == date.max and add_days(date.min, -1) == date.min
    assert add_days(date(2026, 1, 1), 10**30) == date.max
    assert add_days(date(2026, 1, 31), 1) == date(2026, 2, 1)
    assert days_between(date.min, date.max) == 3652058
    assert month_start(10000, 1) is None and month_start(2026, 3) == date(2026, 3, 1)


FAR = {
    "id": "far",
    "name": "Far",
    "mrr": 345000,
    "industry": "saas",
    "contract_start": "9999-12-01",
    "renewal_date": "9999-12-31",
    "last_login": "9999-12-31",
    "last_qbr_date": "9999-12-31",
    "weekly_logins": [1, 2, 3],
    "technical_score": 40,
    "stakeholders": [
        {
            "name": "A",
            "primary": True,
            "since": "9999-12-31",
            "last_contact": "9999-12-31",
            "role": "champion",
        }
    ],
    "history": [{"date": "9999-12-31", "churn_risk": 40, "churned": False}],
}


@pytest.mark.parametrize("as_of", [date.max, date.min, date(9999, 12, 1), AS_OF])
def test_every_step_survives_the_ends_of_the_calendar(as_of):
    account = Account.model_validate(FAR)
    context = AssessmentContext(as_of=as_of, model="none", search=lambda *a, **k: [])
    state = build_graph(checkpointer=None).invoke({"account": account}, context=context)
    assert state["steps"] == list(STEPS) and state["reports"].dashboard
    assert state["success_plan"].qbr.date <= date.max


def test_a_qbr_in_year_9999_is_ignored_not_fatal(playbook):
    score = score_account(Account.model_validate(FAR), playbook, AS_OF)
    fields = {w.field for w in score.warnings}
    assert {"last_login", "last_qbr_date", "stakeholders[0].since"} <= fields


# 3. implausible values ------------------------------------------------------------------


def test_review_ignores_future_past_only_dates_and_impossible_counts():
    account = Account.model_validate(
        {
            "id": "a",
            "name": "A",
            "last_login": "2029-01-01",
            "last_qbr_date": "2026-11-20",  # the as-of day itself is fine
            "active_seats": 12,
            "licensed_seats": 10,
            "complaints": 5,
            "interactions": 3,
            "stakeholders": [{"name": "X", "since": "2027-01-01", "last_contact": "2026-01-01"}],
            "history": [{"date": "2026-10-01"}, {"date": "2026-12-01"}],
        }
    )
    cleaned, warnings = review(account, AS_OF)
    assert {w.field for w in warnings} == {
        "last_login",
        "active_seats",
        "complaints",
        "stakeholders[0].since",
        "history[1].date",
    }
    assert cleaned.last_login is None and cleaned.last_qbr_date == AS_OF
    assert cleaned.active_seats is None and cleaned.licensed_seats is None
    assert cleaned.complaints is None and cleaned.interactions == 3
    assert cleaned.stakeholders[0].since is None
    assert cleaned.stakeholders[0].last_contact == date(2026, 1, 1)
    assert [p.date for p in cleaned.history] == [date(2026, 10, 1)]
    assert account.last_login == date(2029, 1, 1)  # pure: the input is not changed
    login = next(w for w in warnings if w.field == "last_login")
    assert login.value == "2029-01-01" and "after the as-of date 2026-11-20" in login.reason
    assert review(cleaned, AS_OF).warnings == []


def test_a_future_login_no_longer_scores_as_zero_risk(playbook):
    account = Account(id="a", name="A", last_login=date(2030, 1, 1), mrr=345000)
    score = score_account(account, playbook, AS_OF)
    assert "login_recency" in score.churn_risk.missing
    assert score.warnings[0].field == "last_login"


def test_warnings_reach_json_and_stderr(tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"id": "a", "name": "A", "mrr": 5}\n'
        '{"id": "b", "name": "B", "last_login": "2027-01-01", "active_seats": 9, '
        '"licensed_seats": 3, "owner": "Ivan"}\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "score", str(path), "--format", "json", "--as-of", "2026-11-20")
    data = json.loads(out)
    assert code == 0
    assert data["accounts"][1]["warnings"][0] == {
        "field": "last_login",
        "value": "2027-01-01",
        "reason": "after the as-of date 2026-11-20, but a last login cannot be in the future "
        "(ignored)",
    }
    top = {(w["source"], w["row"], w["id"], w["field"]) for w in data["warnings"]}
    assert top == {
        ("p.jsonl", 2, "b", "owner"),
        ("p.jsonl", 2, "b", "last_login"),
        ("p.jsonl", 2, "b", "active_seats"),
    }
    assert "csm: warning: p.jsonl: row 2 (id b): last_login: after the as-of date" in err
    assert "csm: warning: p.jsonl: row 2 (id b): active_seats: more than licensed_seats (3)" in err


@pytest.mark.parametrize("row", ["a,A,5\n", "a,A,5,6,7\n"])
def test_a_csv_row_with_the_wrong_cell_count_is_rejected(tmp_path, row):
    path = tmp_path / "p.csv"
    path.write_text("id,name,mrr,csat\n" + row + "b,B,5,6\n", encoding="utf-8")
    portfolio, errors = errors_of(path)
    assert [a.id for a in portfolio.accounts] == ["b"]
    assert "but the header has 4 columns" in errors[(2, "(row)")]


# 4. misspelled columns, keys and playbook inputs ---------------------------------------


@pytest.mark.parametrize(
    ("name", "guess"),
    [
        ("MRR", "mrr"),
        ("csat_score", "csat"),
        ("Renewal Date", "renewal_date"),
        ("weekly_login", "weekly_logins"),
        ("last-login", "last_login"),
        ("crm_owner", None),
        ("region", None),
    ],
)
def test_nearest_field(name, guess):
    assert nearest_field(name, Account.model_fields) == guess


def test_unknown_csv_columns_warn_once_per_file(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("id,name,MRR,csat_score\na,A,5,6\nb,B,7,8\n", encoding="utf-8")
    warnings: list[RowWarning] = []
    _, rows = stream_accounts(path, warnings)
    assert len(list(rows)) == 2
    assert [(w.row, w.field, w.reason) for w in warnings] == [
        (1, "MRR", "unknown column 'MRR'; did you mean 'mrr'? (ignored)"),
        (1, "csat_score", "unknown column 'csat_score'; did you mean 'csat'? (ignored)"),
    ]
    code, out, err = run(capsys, "score", str(path), "--format", "csv")
    assert code == 0 and err.count("csm: warning:") == 2
    assert "p.csv: row 1: MRR: unknown column 'MRR'; did you mean 'mrr'? (ignored)" in err


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_unknown_json_keys_warn_once_per_key_nested_too(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    rows = [
        {"id": "a", "name": "A", "csat_score": 1, "stakeholders": [{"name": "X", "titel": "CEO"}]},
        {"id": "b", "name": "B", "csat_score": 2, "stakeholders": [{"name": "Y", "titel": "CTO"}]},
        {"id": "c", "name": "C", "mrr_total": 5},  # an unknown key and nothing else to doubt
    ]
    text = json.dumps(rows) if suffix == ".json" else "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    portfolio = read_portfolio(path)
    assert [(w.row, w.id, w.field) for w in portfolio.warnings] == [
        (1, "a", "csat_score"),
        (1, "a", "stakeholders[0].titel"),
        (3, "c", "mrr_total"),
    ]
    assert "did you mean 'title'?" in portfolio.warnings[1].reason
    _, rows_read = stream_accounts(path)  # the old signature still works
    assert len(list(rows_read)) == 3


def _playbook_with(tmp_path, old, new):
    text = default_playbook_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "book.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            "input: mrr\n",
            "input: mrrr\n",
            "churn_risk.factors.contract_value.input",
            "'mrrr' is not a field of the account model; did you mean 'mrr'?",
        ),
        (
            "input: last_login",
            "input: csat",
            "churn_risk.factors.login_recency.transform",
            "'csat' is a number, but transform days_since needs a date",
        ),
        ("per: interactions", "per: interaction", "metrics.complaints.per", "'interaction'"),
        ("input: days_overdue\n", "input: days_overdu\n", "zero_if.input", "'days_overdu'"),
        ("{input: locations", "{input: location", "opportunities.local_seo.when.0.input", ""),
        ("input: weekly_tickets", "input: weekly_tix", "signals.support_spike.input", ""),
        ("input: csat, target", "input: industry, target", "success_plan.kpis.2.input", "text"),
        ("input: weekly_logins", "input: mrr", "metrics.logins", "needs a weekly series"),
    ],
)
def test_a_playbook_input_must_name_an_account_field(tmp_path, old, new, key, message):
    path = _playbook_with(tmp_path, old, new)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    assert key in str(caught.value) and message in str(caught.value)


def test_weights_off_100_are_a_warning(tmp_path, capsys):
    path = _playbook_with(tmp_path, "weight: 25", "weight: 20")
    assert load_playbook(path).warnings() == [
        "churn_risk.factors: the weights add up to 95, not 100; each weight counts as its "
        "share of 95, so check for a typo"
    ]
    assert load_playbook().warnings() == []
    code, out, _ = run(capsys, "playbook", "--playbook", str(path))
    assert code == 0 and "valid" in out and "warning: churn_risk.factors" in out
    code, _, err = run(capsys, "score", "--playbook", str(path), "--format", "csv")
    assert code == 0 and "csm: warning: playbook" in err and "add up to 95" in err


# 5. deep nesting -----------------------------------------------------------------------


def test_deep_nesting_is_one_sentence_or_one_row(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    whole = tmp_path / "deep.json"
    whole.write_text(deep, encoding="utf-8")
    with pytest.raises(PortfolioError, match="nested too deeply"):
        read_portfolio(whole)
    code, _, err = run(capsys, "score", str(whole))
    assert code == 1 and "nested too deeply" in err and "Traceback" not in err
    lines = tmp_path / "deep.jsonl"
    lines.write_text(
        f'{{"id": "a", "name": "A", "x": {deep}}}\n'
        f'{{"id": "b", "name": "B", "x": {"[" * 200 + "]" * 200}}}\n'
        '{"id": "c", "name": "C"}\n',
        encoding="utf-8",
    )
    portfolio, errors = errors_of(lines)
    assert [a.id for a in portfolio.accounts] == ["c"]
    assert "nested too deeply" in errors[(1, "(row)")]
    assert "nested more than 32 levels" in errors[(2, "(row)")]


def test_text_that_is_not_unicode_is_a_row_error(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "name": "\\ud800"}\n{"id": "b", "name": "B"}\n')
    portfolio, errors = errors_of(path)
    assert [a.id for a in portfolio.accounts] == ["b"] and "not valid Unicode" in errors[
        (1, "(row)")
    ]
