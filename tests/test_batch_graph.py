"""The batch graph of a sweep's workers (issue 15) runs the seven steps over many accounts in one
graph run: each account comes out exactly as the one-account graph returns it, and a step that
raises for one account stops only that account."""

from __future__ import annotations

from datetime import date

import pytest

import agent.assessment.nodes as nodes
from agent.assessment.context import AssessmentContext
from agent.assessment.graph import build_batch_graph, build_graph
from agent.assessment.state import FAILED, REDUCERS, start_item
from agent.sweeps.sweep import playbook_answers
from tests.test_hostile_ids import crash_for
from tools.playbook import load_playbook
from tools.portfolio.account import Account
from tools.portfolio.readers import parse_row
from tools.portfolio.sample import generate_accounts

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def context() -> AssessmentContext:
    return AssessmentContext(as_of=AS_OF, model="none",
                             search=playbook_answers(load_playbook(), "en"))


@pytest.fixture(scope="module")
def accounts() -> list[Account]:
    rows = generate_accounts(60, 9, date(2026, 12, 10))
    parsed = [parse_row("g", n, row) for n, row in enumerate(rows, start=1)]
    assert all(isinstance(a, Account) for a in parsed)
    return parsed


def test_each_account_comes_out_as_the_one_account_graph_returns_it(accounts, context):
    one = build_graph(checkpointer=None)
    expected = [one.invoke({"account": a}, context=context) for a in accounts]
    items = build_batch_graph().invoke({"items": [start_item(a) for a in accounts]},
                                       context=context)["items"]
    assert items == expected
    assert all(list(item) == list(state) for item, state in zip(items, expected, strict=True))
    assert set(REDUCERS) == {"citations", "steps"}


def test_a_step_that_raises_for_one_account_stops_only_that_one(accounts, context, monkeypatch):
    broken = accounts[7].id
    real = nodes.score_reviewed
    crash_for(broken, monkeypatch)  # the scoring step raises "disk on fire" for that account
    items = build_batch_graph().invoke({"items": [start_item(a) for a in accounts]},
                                       context=context)["items"]
    failed = [item for item in items if FAILED in item]
    assert [item["account"].id for item in failed] == [broken]
    assert str(failed[0][FAILED]) == "disk on fire"
    assert "score" not in failed[0] and "reports" not in failed[0]  # the later steps skipped it
    monkeypatch.setattr(nodes, "score_reviewed", real)
    one = build_graph(checkpointer=None)
    for account, item in zip(accounts, items, strict=True):
        if account.id != broken:
            assert item == one.invoke({"account": account}, context=context)


def test_an_empty_batch_is_an_empty_batch(context):
    assert build_batch_graph().invoke({"items": []}, context=context) == {"items": []}
