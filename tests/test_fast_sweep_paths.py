"""The faster paths of a sweep (issue 15) give what the plain ones give: Markdown escaping that
looks only at syntax characters escapes exactly what a look at every character escapes, the
shortcuts of `markdown_inline` change no value, and the answers a sweep precomputes for the
playbook's own questions are every question the steps ask, as the knowledge base answers them."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.escaping import (
    _BLOCK_START,
    _ORDERED_START,
    _OUTER_SPACE,
    _escape_characters,
    _needs_escape,
    markdown_inline,
    terminal_line,
)
from tools.portfolio.account import Account
from tools.portfolio.readers import sample_portfolio_path


def _every_character(text: str) -> str:
    """The reference: every character asked in turn."""
    return "".join("\\" + ch if _needs_escape(text, i) else ch for i, ch in enumerate(text))


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 \\`|[]*~_<&#;:(>-=.)xé全\t")), max_size=30))
def test_markdown_escaping_skips_only_characters_that_never_escape(text):
    assert _escape_characters(text) == _every_character(text)


def _inline_reference(value: str) -> str:
    """`markdown_inline` without its shortcuts: every regex applied to every value."""
    text = _OUTER_SPACE.sub(" ", terminal_line(value))
    text = _every_character(text)
    if _BLOCK_START.match(text):
        at = len(text) - len(text.lstrip())
        return text[:at] + "\\" + text[at:]
    if match := _ORDERED_START.match(text):
        return text[: match.end()] + "\\" + text[match.end():]
    return text


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("a1 \u00a0\u3000\t\n#>-+=.)*_[&")), max_size=12))
def test_markdown_inline_shortcuts_change_nothing(text):
    assert markdown_inline(text) == _inline_reference(text)


def test_every_question_of_a_sweep_is_one_of_the_playbooks_own(playbook):
    """The graph on generated accounts (every tier, colour, gap, phase, industry and offer) and
    the sample asks only questions `playbook_questions` lists: a sweep's precomputed answers
    leave nothing for the workers to search."""
    from agent.assessment.context import AssessmentContext
    from agent.assessment.graph import build_graph
    from agent.assessment.questions import Answers, playbook_questions
    from tools.portfolio.readers import read_portfolio
    from tools.portfolio.sample import generate_accounts

    listed = set(playbook_questions(playbook))
    asked: list[tuple[str, str]] = []

    def unexpected(query, k=5, topic=None, lang=None):
        asked.append((topic, query))
        return []

    search = Answers({(q, 1, t, "en"): [] for t, q in listed}, fallback=unexpected)
    graph = build_graph(checkpointer=None)
    context = AssessmentContext(as_of=date(2026, 11, 20), model="none", search=search)
    accounts = [Account.model_validate(json.loads(json.dumps(a, default=str)))
                for a in generate_accounts(300, seed=3, as_of=date(2026, 11, 20))]
    accounts += read_portfolio(sample_portfolio_path()).accounts
    for account in accounts:
        graph.invoke({"account": account}, context=context)
    assert asked == []


def test_answers_are_the_searches_and_follow_the_index(tmp_path, monkeypatch):
    """Precomputed answers equal what the knowledge base finds; the file is read back while
    the index stays, and searched again once it names another index."""
    from tools.knowledge.index import open_knowledge_base

    kb = open_knowledge_base()
    questions = [("what a red health score calls for", 1, "health_score", "en"),
                 ("renewal probability method", 1, "forecasting", "ru")]
    first = kb.answers(questions)
    assert first == {q: kb.search(q[0], k=q[1], topic=q[2], lang=q[3]) for q in questions}
    path = kb.path / "answers-csm-use-multilingual.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["collection"] == kb.collection.name
    calls: list[str] = []
    monkeypatch.setattr(kb, "search", lambda *a, **k: calls.append(a[0]) or [])
    assert kb.answers(questions) == first and calls == []  # from the file
    stored["collection"] = "an-older-index"
    path.write_text(json.dumps(stored), encoding="utf-8")
    assert kb.answers(questions) == {q: [] for q in questions}  # searched again
    assert len(calls) == 2
