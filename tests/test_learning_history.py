"""The history reader (SPEC 14): JSONL and CSV, every bad row named, the good rows kept."""

import json
from datetime import date

from tools.learning.history import read_history, write_history

GOOD = {"id": "a", "name": "A", "mrr": 300000, "csat": 8, "as_of": "2025-01-01",
        "churned_on": ""}


def jsonl(tmp_path, rows):
    path = tmp_path / "history.jsonl"
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", "utf-8"
    )
    return path


def test_good_rows_are_read_with_their_dates(tmp_path):
    path = jsonl(tmp_path, [GOOD, {**GOOD, "as_of": "2025-02-01", "churned_on": "2025-03-05"}])
    history = read_history(path)
    assert history.errors == [] and history.warnings == []
    assert [(s.account.id, s.as_of, s.churned_on, s.row) for s in history.snapshots] == [
        ("a", date(2025, 1, 1), None, 1),
        ("a", date(2025, 2, 1), date(2025, 3, 5), 2),
    ]
    assert history.snapshots[0].account.mrr == 300000


def test_each_bad_row_is_named_and_the_rest_kept(tmp_path):
    path = jsonl(
        tmp_path,
        [
            GOOD,
            {**GOOD, "as_of": None},  # row 2: no date
            {**GOOD, "as_of": "01/02/2025"},  # row 3: not ISO
            {**GOOD, "as_of": "2025-03-01", "churned_on": "soon"},  # row 4
            {**GOOD, "as_of": "2025-04-01", "csat": 11},  # row 5: a field out of range
            {**GOOD},  # row 6: the same account and date as row 1
            "{not json",  # row 7
            [1, 2],  # row 8: not an object
            {**GOOD, "id": "b", "as_of": "2025-01-01"},  # row 9: good
        ],
    )
    history = read_history(path)
    assert [s.row for s in history.snapshots] == [1, 9]
    errors = {(e.row, e.field): e.reason for e in history.errors}
    assert errors[(2, "as_of")].startswith("required, but missing")
    assert errors[(3, "as_of")] == "not an ISO date (got '01/02/2025'); write it as YYYY-MM-DD"
    assert errors[(4, "churned_on")].startswith("not an ISO date (got 'soon')")
    assert errors[(5, "csat")].startswith("Input should be less than or equal to 10")
    assert errors[(6, "as_of")] == (
        "a second snapshot of this account on 2025-01-01 (the first is row 1); keep one row "
        "per account per date"
    )
    assert errors[(7, "(row)")].startswith("not valid JSON")
    assert (8, "(row)") in errors
    assert history.rejected_rows == 7
    assert all(e.id == "a" for e in history.errors if e.row in (2, 3, 4, 5, 6))


def test_csv_history_with_lists_and_unknown_columns(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "id,name,weekly_logins,as_of,churned_on,colour\n"
        'a,A,"[3, 4, 5]",2025-01-01,,blue\n'
        "a,A,,2025-02-01,2025-02-20,blue\n",
        "utf-8",
    )
    history = read_history(path)
    assert [s.account.weekly_logins for s in history.snapshots] == [[3, 4, 5], None]
    assert [s.churned_on for s in history.snapshots] == [None, date(2025, 2, 20)]
    # as_of and churned_on are history columns, not unknown ones; colour is unknown
    assert [(w.row, w.field, w.reason) for w in history.warnings] == [
        (1, "colour", "unknown column 'colour' (ignored)")
    ]


def test_unknown_keys_warned_once(tmp_path):
    path = jsonl(tmp_path, [{**GOOD, "tier": "x"}, {**GOOD, "as_of": "2025-02-01", "tier": "y"}])
    history = read_history(path)
    assert [w.field for w in history.warnings] == ["tier"]


def test_written_history_reads_back(tmp_path):
    rows = [
        {**GOOD, "weekly_logins": [1, 2], "churned_on": ""},
        {**GOOD, "as_of": "2025-02-01", "churned_on": "2025-02-10"},
    ]
    for name in ("h.jsonl", "h.csv"):
        path = tmp_path / name
        assert write_history(rows, path) == 2
        history = read_history(path)
        assert history.errors == []
        assert [(s.as_of, s.churned_on, s.account.weekly_logins) for s in history.snapshots] == [
            (date(2025, 1, 1), None, [1, 2]),
            (date(2025, 2, 1), date(2025, 2, 10), None),
        ]
