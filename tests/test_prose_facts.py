"""The short facts of each report's summary (agent.assessment.facts) still hold every number its
deterministic draft states about the client, over the whole sample portfolio in both languages:
a model given the facts may say whatever the draft says of the client (the playbook passage a
draft cites is guidance: its example figures are not the client's). And the prompts stay
short."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import build_graph
from agent.assessment.prose import stray_numbers, system_prompt
from agent.assessment.writer import REPORTS
from tests.scripted_model import ScriptedChatModel, prose_answer
from tools.playbook import load_playbook
from tools.portfolio.readers import numbered_accounts, sample_portfolio_path

AS_OF = date(2026, 11, 20)
CITED = re.compile(r"(?:Playbook|Плейбук) \(")  # where a draft's cited passage begins
MAX_CHARACTERS = 6000  # system prompt and request; about 1,000 tokens (they were 10-30k chars)


@pytest.fixture(scope="module")
def requests() -> dict[str, list[dict]]:
    """Language -> every request the model was sent over the sample portfolio."""
    _, rows = numbered_accounts(sample_portfolio_path())
    accounts = [a for _, a in rows if not isinstance(a, list) and a.status != "churned"]
    graph = build_graph(checkpointer=None)
    sent: dict[str, list[dict]] = {}
    for lang in ("en", "ru"):
        sent[lang] = []
        for account in accounts:
            model = ScriptedChatModel(script=[prose_answer("Fine.") for _ in REPORTS], calls=[])
            graph.invoke({"account": account}, context=AssessmentContext(
                as_of=AS_OF, lang=lang, model=model))
            sent[lang] += [json.loads(str(messages[-1].content)) for messages in model.calls]
    return sent


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_number_of_a_draft_is_in_its_facts(requests, lang):
    free = load_playbook().reports.prose_free_numbers
    missing = [
        (r["report"], r["facts"]["client"],
         stray_numbers(CITED.split(r["deterministic_draft"])[0], r["facts"], free))
        for r in requests[lang]
    ]
    assert len(requests[lang]) >= 5 * 30
    assert {r["report"] for r in requests[lang]} == set(REPORTS)
    assert [m for m in missing if m[2]] == []


def test_the_prompts_are_short(requests):
    longest = max(len(system_prompt()) + len(json.dumps(r, ensure_ascii=False))
                  for lang in requests for r in requests[lang])
    assert longest < MAX_CHARACTERS
