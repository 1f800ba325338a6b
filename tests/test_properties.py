"""Property-based tests: arbitrary account rows (any JSON value in any field, any text, huge
and tiny numbers, any date, missing keys) never make the readers, the scoring or the
assessment graph raise, for any as-of date in the calendar, and every valid row is scored.

Bounded: 200 examples for parse + score, 60 for the file readers, 40 through the graph, 25
files through `csm score` and 8 through a whole sweep (CSM_PROPERTY_SCALE=10 runs ten times as
many, for a deeper search by hand)."""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any, get_args

import annotated_types
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import STEPS, build_graph
from tools.playbook import load_playbook
from tools.portfolio.account import FIELD_KINDS, Account
from tools.portfolio.plausibility import review
from tools.portfolio.readers import RowError, RowWarning, parse_row, stream_accounts
from tools.scoring.score import AccountScore, score_account

PLAYBOOK = load_playbook()
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SCALE = float(os.environ.get("CSM_PROPERTY_SCALE", "1"))

EDGE_NUMBERS = [
    0,
    -1,
    10**15,
    10**15 + 1,
    -(10**15) - 1,
    10**400,
    -(10**400),
    1e-320,
    5e-324,
    1e300,
    float("nan"),
    float("inf"),
    float("-inf"),
    "1e400",
    "NaN",
    "Infinity",
    "9" * 5000,
    " 7 ",
    "0x10",
]
EDGE_TEXT = ["", " ", "\ud800", "\x00", "null", "[", "[1,", "[" * 50 + "]" * 50, "🙂" * 3]


def _number_type(name: str) -> tuple[type, float]:
    """The field's number type and upper bound (ratings 10, percents 100, else 10^15)."""
    inner = get_args(Account.model_fields[name].annotation)[0]
    base, *parts = get_args(inner)
    for part in parts:
        for rule in getattr(part, "metadata", []):
            if isinstance(rule, annotated_types.Le):
                return base, float(rule.le)
    return base, 1e15


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(EDGE_NUMBERS + EDGE_TEXT),
    st.dates().map(date.isoformat),
)
any_json = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
any_date = st.one_of(st.dates(), st.dates().map(date.isoformat))


def _number(upper: float, integer: bool = False) -> st.SearchStrategy[Any]:
    whole = st.integers(0, int(upper))
    if integer:
        return st.one_of(whole, whole.map(str), whole.map(float))
    return st.one_of(whole, st.floats(0, upper), whole.map(str), st.floats(0, upper).map(repr))


stakeholder = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=10)},
    optional={
        "role": st.sampled_from(["decision_maker", "champion", "influencer", "user", "detractor"]),
        "primary": st.booleans(),
        "since": any_date,
        "last_contact": any_date,
        "satisfaction": _number(10),
        "engagement": st.sampled_from(["high", "medium", "low"]),
        "meeting_cadence": st.sampled_from(["weekly", "monthly", "quarterly", "Weekly ", "never"]),
        "reports_to": st.text(max_size=10),
        "title": st.text(max_size=10),
    },
)
history_point = st.fixed_dictionaries(
    {"date": any_date},
    optional={
        "health_score": _number(100),
        "churn_risk": _number(100),
        "mrr": _number(1e15),
        "churned": st.booleans(),
    },
)


def _valid(name: str) -> st.SearchStrategy[Any]:
    """Values of the field's own kind, the implausible ones included."""
    kind = FIELD_KINDS[name]
    if name == "stakeholders":
        return st.lists(stakeholder, max_size=4)
    if name == "history":
        return st.lists(history_point, max_size=5)
    if kind == "number":
        base, upper = _number_type(name)
        return _number(upper, integer=base is int)
    if kind == "series":
        return st.lists(st.integers(0, 10**15), max_size=8)
    if kind == "date":
        return any_date
    if kind == "flag":
        return st.booleans()
    if name == "industry":
        return st.sampled_from(["ecommerce", "saas", "local", "enterprise", "other"])
    return st.text(min_size=1, max_size=12)


OPTIONAL = [n for n in FIELD_KINDS if n not in ("id", "name")]
clean_rows = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8), "name": st.text(min_size=1, max_size=8)},
    optional={n: _valid(n) for n in OPTIONAL},
)
dirty_rows = st.fixed_dictionaries(
    {},
    optional={n: st.one_of(_valid(n), any_json) for n in FIELD_KINDS} | {"extra": any_json},
)
rows = st.one_of(clean_rows, dirty_rows)
as_of_dates = st.one_of(st.sampled_from([date.min, date.max]), st.dates())

FAR_FUTURE = {
    "id": "far",
    "name": "Far",
    "mrr": 1,
    "contract_start": "9999-12-31",
    "renewal_date": "9999-12-31",
    "last_login": "9999-12-31",
    "last_qbr_date": "9999-12-31",
    "stakeholders": [{"name": "A", "primary": True, "since": "9999-12-31"}],
    "history": [{"date": "9999-12-31", "churn_risk": 50, "churned": False}],
}
FAR_PAST = {**FAR_FUTURE, "id": "past"} | {
    k: "0001-01-01" for k in ("contract_start", "renewal_date", "last_login", "last_qbr_date")
}


@settings(max_examples=int(200 * SCALE), **SETTINGS)
@given(row=rows, as_of=as_of_dates)
@example(row=FAR_FUTURE, as_of=date.max)
@example(row=FAR_FUTURE, as_of=date.min)
@example(row=FAR_PAST, as_of=date.min)
@example(row=FAR_PAST, as_of=date.max)
def test_any_row_is_scored_or_explained(row, as_of):
    result = parse_row("rows.json", 1, row)
    if isinstance(result, Account):
        score = score_account(result, PLAYBOOK, as_of)
        assert isinstance(score, AccountScore) and score.id == result.id
        json.loads(score.model_dump_json())
        assert review(review(result, as_of).account, as_of).warnings == []
    else:
        assert result and all(isinstance(e, RowError) and e.sentence() for e in result)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value) if not isinstance(value, int) or value.bit_length() < 10_000 else "1"


@settings(max_examples=int(60 * SCALE), **SETTINGS)
@given(batch=st.lists(rows, min_size=1, max_size=4), as_of=as_of_dates)
def test_any_file_is_read_row_by_row(tmp_path_factory, batch, as_of):
    folder = tmp_path_factory.mktemp("rows")
    jsonl = folder / "rows.jsonl"
    lines = []
    for row in batch:
        try:
            lines.append(json.dumps(row, default=str))
        except ValueError:  # an integer Python will not print: the reader's test is elsewhere
            lines.append("{")
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    columns = sorted({k for row in batch for k in row}) or ["id"]
    body = [",".join(json.dumps(c) for c in columns)]
    for row in batch:
        body.append(",".join(json.dumps(_csv_cell(row.get(c))) for c in columns))
    csv_file = folder / "rows.csv"
    csv_file.write_text("\n".join(body) + "\n", encoding="utf-8", errors="surrogatepass")
    for path in (jsonl, csv_file):
        warnings: list[RowWarning] = []
        _, items = stream_accounts(path, warnings)
        read = list(items)
        assert len(read) == len(batch)
        for item in read:
            if isinstance(item, Account):
                score_account(item, PLAYBOOK, as_of)
            else:
                assert all(isinstance(e, RowError) for e in item)


def _no_search(*args: Any, **kwargs: Any) -> list[Any]:
    return []


GRAPH = build_graph(checkpointer=None)


@settings(max_examples=int(40 * SCALE), **SETTINGS)
@given(row=clean_rows, as_of=as_of_dates)
@example(row=FAR_FUTURE, as_of=date.max)
@example(row=FAR_PAST, as_of=date.min)
@example(row=FAR_PAST, as_of=date.max)
def test_the_assessment_graph_runs_for_any_valid_account(row, as_of):
    account = parse_row("rows.json", 1, row)
    if not isinstance(account, Account):
        return
    context = AssessmentContext(as_of=as_of, model="none", search=_no_search)
    state = GRAPH.invoke({"account": account}, context=context)
    assert state["steps"] == list(STEPS)
    assert state["reports"].dashboard
    assert review(state["account"], as_of).warnings == []  # later steps saw the reviewed account


def _jsonl_of(batch: list[dict[str, Any]], path: Any) -> tuple[set[str], int]:
    """Write rows as JSONL; return the ids of the rows that are valid on their own and first
    with their id (the rows a run must keep), and how many lines were written."""
    lines, valid, seen = [], set(), set()
    for n, row in enumerate(batch, start=1):
        try:
            line = json.dumps(row, default=str)
        except ValueError:
            line = "{"
        lines.append(line)
        try:
            parsed = parse_row("rows.jsonl", n, json.loads(line))
        except ValueError:
            continue
        if isinstance(parsed, Account) and parsed.id not in seen:
            seen.add(parsed.id)
            valid.add(parsed.id)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    return valid, len(lines)


@settings(max_examples=int(25 * SCALE), **SETTINGS)
@given(batch=st.lists(rows, min_size=1, max_size=5), as_of=as_of_dates)
def test_csm_score_never_crashes_and_keeps_every_valid_row(tmp_path_factory, batch, as_of):
    """`csm score --format json` on any file: exit 0 or 2 (1 only when no row is valid), whole
    JSON on stdout, every valid row in it."""
    import contextlib
    import io

    from agent.interfaces.cli import main

    path = tmp_path_factory.mktemp("score") / "rows.jsonl"
    valid, _ = _jsonl_of(batch, path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["score", str(path), "--format", "json", "--as-of", as_of.isoformat()])
    assert "internal error" not in err.getvalue()
    if not valid:
        assert code == 1
        return
    assert code in (0, 2)
    assert {a["id"] for a in json.loads(out.getvalue())["accounts"]} == valid


@settings(max_examples=int(8 * SCALE), **SETTINGS)
@given(batch=st.lists(clean_rows | dirty_rows, min_size=1, max_size=4), as_of=as_of_dates)
def test_a_sweep_of_any_rows_never_crashes_and_stores_every_valid_row(
    tmp_path_factory, batch, as_of
):
    """A sweep (one worker, every report written) of any file stores every valid row, writes
    one report each and names the rest."""
    from agent.sweeps.store import open_store
    from agent.sweeps.sweep import SweepOptions, run_sweep
    from tools.planning.forecast import calibrate

    folder = tmp_path_factory.mktemp("sweep")
    path = folder / "rows.jsonl"
    valid, _ = _jsonl_of(batch, path)
    store = open_store(folder / "csm.sqlite3")
    try:
        options = SweepOptions(as_of=as_of, source=path, out=folder / "out", workers=1)
        result = run_sweep(options, store, PLAYBOOK, calibrate([], PLAYBOOK, as_of))
        assert result.status == "complete"
        assert store.done_ids(result.sweep_id) == valid
        reports = store.report_files(result.sweep_id)
        assert set(reports) == valid
    finally:
        store.close()
