"""Portfolio readers: JSON, JSONL, CSV, per-row validation, nothing good lost."""

import json

import pytest

from tools.portfolio.readers import PortfolioError, read_portfolio, write_portfolio

BROKEN_CSV = """id,name,mrr,csat,contract_start,weekly_logins,crm_owner
a1,Alpha,345000,8,2026-01-01,"[3,4,5]",Ivan
a2,Beta,-5,15,2026-13-01,,Olga
,NoId,100,,,,
a1,Dup,100,,,,
a5,Gamma,,,,[1,
a6,Delta,,abc,,,
"""


def test_csv_with_broken_rows_keeps_the_good_ones(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text(BROKEN_CSV, encoding="utf-8")
    portfolio = read_portfolio(path)
    assert [a.id for a in portfolio.accounts] == ["a1"]
    assert portfolio.accounts[0].model_extra == {"crm_owner": "Ivan"}  # kept, ignored
    found = {(e.row, e.id, e.field) for e in portfolio.errors}
    assert found == {
        (3, "a2", "mrr"),
        (3, "a2", "csat"),
        (3, "a2", "contract_start"),
        (4, None, "id"),
        (5, "a1", "id"),
        (6, "a5", "weekly_logins"),
        (7, "a6", "csat"),
    }
    csat = next(e for e in portfolio.errors if e.field == "csat" and e.row == 3)
    assert "15" in csat.reason and "10" in csat.reason
    assert csat.sentence().startswith("clients.csv: row 3 (id a2): csat:")


def test_csv_semicolon_delimiter_and_bom(tmp_path):
    path = tmp_path / "ru.csv"
    path.write_text("\ufeffid;name;mrr\nr1;Ромашка;120000\n", encoding="utf-8")
    [account] = read_portfolio(path).accounts
    assert (account.id, account.name, account.mrr) == ("r1", "Ромашка", 120_000)


def test_json_list_object_and_as_of(tmp_path):
    listed = tmp_path / "a.json"
    listed.write_text(json.dumps([{"id": 1, "name": "A"}, {"id": "b", "name": "B", "csat": 15}]))
    portfolio = read_portfolio(listed)
    assert [a.id for a in portfolio.accounts] == ["1"]
    assert [(e.row, e.field) for e in portfolio.errors] == [(2, "csat")]
    wrapped = tmp_path / "b.json"
    wrapped.write_text(json.dumps({"as_of": "2026-11-20", "accounts": [{"id": "x", "name": "X"}]}))
    assert str(read_portfolio(wrapped).as_of) == "2026-11-20"


def test_jsonl_bad_line_is_one_row_error(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "name": "A"}\n{not json\n\n"text"\n{"id": "d", "name": "D"}\n')
    portfolio = read_portfolio(path)
    assert [a.id for a in portfolio.accounts] == ["a", "d"]
    assert [(e.row, e.field) for e in portfolio.errors] == [(2, "(row)"), (4, "(row)")]


def test_nested_stakeholder_error_names_the_path(tmp_path):
    path = tmp_path / "a.json"
    people = [{"name": "P", "role": "boss"}]
    path.write_text(json.dumps([{"id": "a", "name": "A", "stakeholders": people}]))
    [error] = read_portfolio(path).errors
    assert error.field == "stakeholders[0].role"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "file not found"),
        ("bad.json", "{oops", "not valid JSON"),
        ("obj.json", '{"clients": []}', "accounts"),
        ("data.xlsx", "", "unknown portfolio format"),
        ("when.json", '{"as_of": "tomorrow", "accounts": []}', "ISO date"),
    ],
)
def test_unreadable_portfolio_is_one_sentence(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(PortfolioError, match=message):
        read_portfolio(path)


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
def test_write_then_read_round_trip(tmp_path, suffix):
    records = [
        {
            "id": "a",
            "name": "A, Inc",
            "mrr": 1000,
            "weekly_logins": [1, 2],
            "stakeholders": [{"name": "Ann", "primary": True}],
        },
        {"id": "b", "name": "B", "csat": None},
    ]
    path = tmp_path / f"p{suffix}"
    assert write_portfolio(iter(records), path) == 2
    portfolio = read_portfolio(path)
    assert portfolio.errors == []
    assert [a.id for a in portfolio.accounts] == ["a", "b"]
    assert portfolio.accounts[0].weekly_logins == [1, 2]
    assert portfolio.accounts[0].stakeholders[0].name == "Ann"
    assert portfolio.accounts[1].csat is None


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_row_that_is_not_utf8_is_rejected_alone(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"id,name,mrr\na0,Good,100\na1,\xc0\xc1bad,100\n")
    else:
        path.write_bytes(b'{"id": "a0", "name": "Good"}\n{"id": "a1", "name": "\xc0\xc1"}\n')
    portfolio = read_portfolio(path)
    assert [a.id for a in portfolio.accounts] == ["a0"]
    [error] = portfolio.errors
    assert (error.field, error.reason) == ("(row)", "not UTF-8 text; save the file as UTF-8")
