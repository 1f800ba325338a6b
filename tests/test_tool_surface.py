"""The shared tool surface: the same numbers as `csm score`, clear errors, read/write split."""

import json

import pytest

from agent.cli import main
from agent.tool_surface import READ_TOOLS, WRITE_TOOLS, ToolError, langchain_tools


@pytest.fixture(autouse=True)
def _sample_day(monkeypatch):
    monkeypatch.setenv("CSM_AS_OF", "2026-11-20")


def test_score_account_equals_csm_score(capsys):
    main(["score", "--format", "json", "--as-of", "2026-11-20"])
    scored = {a["id"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    tool = {t.name: t for t in langchain_tools()}["score_account"]
    answer = tool.invoke({"account_id": "acc-037"})
    assert answer == scored["acc-037"]
    # Both surfaces call score_account, so the equality alone proves no number. Churn of acc-037
    # by hand, risk x weight: mrr 80,000 -> 84 x 25 = 2100; engagement 15 -> 75 x 20 = 1500;
    # 3 payment delays -> 100 x 15; 21 tickets -> 100 x 15; adoption 14 -> 65 x 10 = 650;
    # CSAT 2.3 -> 4.7 / 7 = 67.143 x 10 = 671.43; last login 31 days -> 100 x 5 = 500.
    # (2100 + 1500 + 1500 + 1500 + 650 + 671.43 + 500) / 100 = 84.21: critical.
    assert (answer["churn_risk"]["score"], answer["churn_risk"]["tier"]) == (84.21, "critical")


def test_unknown_account_is_a_tool_error_not_a_crash():
    tool = {t.name: t for t in langchain_tools()}["score_account"]
    assert tool.invoke({"account_id": "nope"}).startswith("no account with id 'nope'")
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
