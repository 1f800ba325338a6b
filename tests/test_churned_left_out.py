"""SPEC 14: a churned account is not scored or assessed for action any more. `csm score`,
`csm assess --all` and `list_accounts` leave churned accounts out and say how many;
`csm assess --account`, `score_account` and `assess_account` of a churned id say so in one
sentence."""

import json

import pytest

from agent.chat.tool_surface import READ_TOOLS, WRITE_TOOLS, ToolError
from tests.test_outcomes import run, write

AS_OF = "2026-11-20"
BOOK = [
    {"id": "a", "name": "Alpha", "mrr": 300_000, "csat": 9, "engagement_score": 70},
    {"id": "b", "name": "Beta", "mrr": 90_000, "csat": 4, "engagement_score": 20},
    {"id": "c", "name": "Gamma", "mrr": 120_000, "status": "churned",
     "churned_on": "2026-10-20"},
    {"id": "d", "name": "Delta", "mrr": 50_000, "status": "churned", "churned_on": "2026-09-01"},
]


@pytest.fixture
def book(tmp_path):
    return write(tmp_path / "book.json", AS_OF, BOOK)


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_score_leaves_churned_accounts_out_and_says_how_many(book, capsys, fmt):
    code, out, err = run(capsys, "score", book, "--format", fmt)
    assert code == 0, err
    assert "csm score: 2 churned accounts left out (no longer clients)" in err.splitlines()
    assert "Alpha" in out and "Beta" in out and "Gamma" not in out and "Delta" not in out
    if fmt == "json":
        assert [a["id"] for a in json.loads(out)["accounts"]] == ["a", "b"]


def test_score_of_a_book_without_churn_says_nothing(tmp_path, capsys):
    code, _, err = run(capsys, "score", write(tmp_path / "p.json", AS_OF, BOOK[:2]))
    assert code == 0 and "churned" not in err


def test_score_of_only_churned_accounts_is_one_sentence(tmp_path, capsys):
    code, _, err = run(capsys, "score", write(tmp_path / "p.json", AS_OF, BOOK[2:]))
    assert code == 1
    assert "every account is churned (2); there is no active client to score." in err
    assert "1 churned account" not in err and "2 churned accounts left out" in err


def test_assess_all_leaves_churned_accounts_out(book, capsys, tmp_path):
    out = tmp_path / "reports"
    code, _, err = run(capsys, "assess", book, "--all", "--out", out, "--model", "none")
    assert code == 0, err
    assert "csm assess: 2 churned accounts left out (no longer clients)" in err
    assert "assessed 2 account(s)" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.en.md", "b.en.md"]


def test_assess_of_a_churned_account_says_so(book, capsys):
    code, out, err = run(capsys, "assess", book, "--account", "c", "--model", "none")
    assert code == 1 and out == ""
    assert err.strip() == (
        "csm: error: account 'c' churned on 2026-10-20 and is no longer scored or assessed (a "
        "churned account is not a client to act on); its history stays in the store "
        "(`csm history export`)."
    )


def test_assess_of_only_churned_accounts_is_one_sentence(tmp_path, capsys):
    book = write(tmp_path / "p.json", AS_OF, BOOK[2:3])
    code, _, err = run(capsys, "assess", book, "--all", "--model", "none")
    assert code == 1
    assert "every account is churned (1); there is no active client to assess." in err
    assert "1 churned account left out" in err


def test_tools_leave_churned_accounts_out(book, monkeypatch):
    monkeypatch.setenv("CSM_PORTFOLIO", str(book))
    listed = READ_TOOLS["list_accounts"]()
    assert [a["id"] for a in listed["accounts"]] == ["b", "a"]
    assert listed["total"] == 2 and listed["churned_left_out"] == 2
    assert listed["note"] == ("2 churned accounts left out: no longer clients (account_history "
                              "keeps their snapshots)")
    assert READ_TOOLS["score_account"]("a")["id"] == "a"
    said = ("account 'c' churned on 2026-10-20 and is no longer scored or assessed (a churned "
            "account is not a client to act on); account_history shows its stored snapshots.")
    for call in (lambda: READ_TOOLS["score_account"]("c"),
                 lambda: READ_TOOLS["assess_account"]("c"),
                 lambda: WRITE_TOOLS["write_save_report"]("c", str(book.parent / "r"))):
        with pytest.raises(ToolError) as error:
            call()
        assert str(error.value) == said
    monkeypatch.setenv("CSM_PORTFOLIO", str(write(book.parent / "p.json", AS_OF, BOOK[:2])))
    listed = READ_TOOLS["list_accounts"]()
    assert listed["churned_left_out"] == 0 and "note" not in listed
