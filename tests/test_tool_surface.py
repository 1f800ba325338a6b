"""The shared tool surface: the same numbers as `csm score`, clear errors, read/write split."""

import json

import pytest

from agent.assessment.guard import read_data_blocks
from agent.chat.tool_surface import READ_TOOLS, WRITE_TOOLS, ToolError, langchain_tools
from agent.interfaces.cli import main
from tools.portfolio.readers import sample_portfolio_path


@pytest.fixture(autouse=True)
def _sample_day(monkeypatch):
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")


def test_score_account_equals_csm_score(capsys):
    main(["score", "--format", "json", "--as-of", "2026-11-20"])
    scored = {a["id"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    tool = {t.name: t for t in langchain_tools()}["score_account"]
    message = tool.invoke({"type": "tool_call", "name": "score_account", "id": "call-1",
                           "args": {"account_id": "acc-037"}})
    # the model reads the result as a data block; the message keeps it whole as its artifact
    assert read_data_blocks(message.content) == {"score_account": message.artifact}
    assert tool.invoke({"account_id": "acc-037"}) == message.content
    answer = dict(message.artifact)
    assert answer.pop("source") == {"kind": "sample", "path": str(sample_portfolio_path())}
    assert answer == scored["acc-037"]
    # Both surfaces call score_account, so the equality alone proves no number. Churn of acc-037
    # by hand, risk x weight: mrr 80,000 -> 84 x 25 = 2100; engagement 15 -> 75 x 20 = 1500;
    # 3 payment delays -> 100 x 15; 21 tickets -> 100 x 15; adoption 14 -> 65 x 10 = 650;
    # CSAT 2.3 -> 4.7 / 7 = 67.143 x 10 = 671.43; last login 31 days -> 100 x 5 = 500.
    # (2100 + 1500 + 1500 + 1500 + 650 + 671.43 + 500) / 100 = 84.21: critical.
    assert (answer["churn_risk"]["score"], answer["churn_risk"]["tier"]) == (84.21, "critical")


def test_unknown_account_is_a_tool_error_not_a_crash():
    tool = {t.name: t for t in langchain_tools()}["score_account"]
    # the error sentence quotes the id it was given (account text): it comes as a data block
    error = read_data_blocks(tool.invoke({"account_id": "nope"}))["score_account.error"]
    assert error.startswith("no account with id 'nope'")
    with pytest.raises(ToolError):
        READ_TOOLS["score_account"]("nope")


def test_list_accounts_filters():
    critical = READ_TOOLS["list_accounts"](tier="critical")
    assert critical["total"] == 3 and all(a["tier"] == "critical" for a in critical["accounts"])
    drops = READ_TOOLS["list_accounts"](signal="engagement_drop")
    assert drops["total"] >= 2 and all("engagement_drop" in a["signals"] for a in drops["accounts"])
    soon = READ_TOOLS["list_accounts"](renewal_within_days=30)
    assert all(a["renewal_date"] <= "2026-12-20" for a in soon["accounts"])


def test_writes_are_separate_and_named():
    assert set(READ_TOOLS).isdisjoint(WRITE_TOOLS)
    assert all(name.startswith("write_") for name in WRITE_TOOLS)
    assert {t.name for t in langchain_tools()} == set(READ_TOOLS)
    assert {t.name for t in langchain_tools(include_writes=True)} == set(READ_TOOLS) | set(
        WRITE_TOOLS
    )


# one source of truth, re-read when it changes ----------------------------------------------


def _write(path, ids, mrr=None, as_of=None):
    """A portfolio of sample accounts under new ids (and, when given, another MRR)."""
    from tools.portfolio.readers import read_portfolio, write_portfolio

    sample = read_portfolio().accounts
    extra = {"mrr": mrr} if mrr is not None else {}
    records = [{**a.model_dump(mode="json", exclude_none=True), "id": new, **extra}
               for a, new in zip(sample, ids, strict=False)]
    write_portfolio(records, path, as_of=as_of)
    return path


def test_import_is_visible_right_after_in_the_same_process(tmp_path, monkeypatch):
    monkeypatch.delenv("CSM_PORTFOLIO", raising=False)
    before = READ_TOOLS["list_accounts"]()
    assert before["source"]["kind"] == "sample" and before["total"] == 40

    imported = WRITE_TOOLS["write_import_portfolio"](str(_write(tmp_path / "a.jsonl",
                                                                ["new-1", "new-2"])))
    assert imported["imported"] == 2 and imported["source"]["kind"] == "store"
    after = READ_TOOLS["list_accounts"]()
    assert after["source"] == imported["source"]
    assert sorted(a["id"] for a in after["accounts"]) == ["new-1", "new-2"]

    # the same ids again, another MRR, within the same second: seen at once
    WRITE_TOOLS["write_import_portfolio"](str(_write(tmp_path / "b.jsonl", ["new-1"], mrr=123)))
    assert READ_TOOLS["score_account"]("new-1")["source"]["kind"] == "store"
    rows = {a["id"]: a for a in READ_TOOLS["list_accounts"]()["accounts"]}
    assert rows["new-1"]["mrr"] == 123 and rows["new-2"]["mrr"] != 123


def test_an_explicit_portfolio_wins_and_an_edit_is_seen(tmp_path, monkeypatch):
    WRITE_TOOLS["write_import_portfolio"](str(_write(tmp_path / "store.jsonl", ["in-store"])))
    path = _write(tmp_path / "clients.json", ["f-1", "f-2", "f-3"])
    monkeypatch.setenv("CSM_PORTFOLIO", str(path))
    first = READ_TOOLS["list_accounts"]()
    assert first["source"] == {"kind": "file", "path": str(path)} and first["total"] == 3

    _write(path, ["f-9", "f-8"])  # edited while the process runs
    assert sorted(a["id"] for a in READ_TOOLS["list_accounts"]()["accounts"]) == ["f-8", "f-9"]
    with pytest.raises(ToolError, match=f"no account with id 'f-1' in {path}"):
        READ_TOOLS["score_account"]("f-1")

    note = WRITE_TOOLS["write_import_portfolio"](str(path))["note"]
    assert note == f"CSM_PORTFOLIO is set, so the tools keep reading {path}; unset it to read " \
                   "the store."


def test_the_graph_reads_the_same_source_and_its_day(tmp_path, monkeypatch):
    from datetime import date

    from agent.assessment.context import RunSettings
    from agent.assessment.nodes import _account, _as_of

    monkeypatch.delenv("CSM_AS_OF")
    assert _as_of(RunSettings()) == date(2026, 11, 20)  # the sample's own as_of, as csm assess
    monkeypatch.setenv("CSM_AS_OF", "2026-12-24")
    assert _as_of(RunSettings()) == date(2026, 12, 24)
    assert _as_of(RunSettings(as_of=date(2027, 1, 5))) == date(2027, 1, 5)
    monkeypatch.delenv("CSM_AS_OF")
    dated = _write(tmp_path / "dated.json", ["d-1"], as_of=date(2026, 10, 1))
    assert _as_of(RunSettings(portfolio=str(dated))) == date(2026, 10, 1)

    WRITE_TOOLS["write_import_portfolio"](str(_write(tmp_path / "a.jsonl", ["new-1"])))
    assert _account({"account_id": "new-1"}, RunSettings()).id == "new-1"
    assert _as_of(RunSettings()) == date.today()  # the store keeps no as_of


# arguments: bounded, described, one sentence when wrong ------------------------------------


def test_bounds_are_in_the_schema_and_enforced_with_one_sentence():
    tools = {t.name: t for t in langchain_tools()}
    k = tools["search_knowledge"].args["k"]
    limit = tools["list_accounts"].args["limit"]
    assert (k["minimum"], k["maximum"], limit["minimum"], limit["maximum"]) == (1, 10, 1, 500)

    cases = [
        ("search_knowledge", {"query": "qbr", "k": -1}, "k must be an integer from 1 to 10 "
                                                        "(got -1)."),
        ("list_accounts", {"limit": 0}, "limit must be an integer from 1 to 500 (got 0)."),
        ("list_accounts", {"tier": "bad"}, "tier must be one of 'low', 'medium', 'high', "
                                           "'critical', or left out (got 'bad')."),
        ("assess_account", {"account_id": "acc-001", "lang": "de"},
         "lang must be one of 'en', 'ru' (got 'de')."),
    ]
    for name, args, sentence in cases:
        with pytest.raises(ToolError) as raised:
            READ_TOOLS[name](**args)
        assert str(raised.value) == sentence
        assert tools[name].invoke(args) == sentence
    assert READ_TOOLS["list_accounts"](limit=500)["total"] == 40


def test_descriptions_have_no_docstring_indentation():
    for tool in langchain_tools(include_writes=True):
        assert tool.description and all(
            line == line.lstrip() for line in tool.description.splitlines()
        ), tool.name
