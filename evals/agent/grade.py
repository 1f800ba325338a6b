"""Grading one chat task: the tool calls against the expected ones (name and arguments, defaults
filled in), and the answer against values the grader computes itself by running the expected
calls: the right account ids and figures, the sources it cites, the question's language."""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from agent.assessment.guard_read import IDENTIFIER, LINK, mentions
from agent.assessment.guard_words import language_of
from agent.chat.tool_surface import READ_TOOLS, ToolError
from evals.agent.tasks import Call, Task, values_at

TOLERANCE = 1e-6


def run_call(call: Call) -> Any:
    """What the tool returns for the call (its error sentence when it refuses)."""
    try:
        return READ_TOOLS[call.name](**call.args)
    except (ToolError, ValueError) as error:
        return str(error)


def _with_defaults(name: str, args: dict[str, Any]) -> dict[str, Any]:
    parameters = inspect.signature(READ_TOOLS[name]).parameters.values()
    filled = {p.name: p.default for p in parameters if p.default is not p.empty}
    return {**filled, **args}


def call_matches(expected: Call, name: str, args: dict[str, Any]) -> bool:
    """Whether a call the model made is the expected one (the compared arguments equal, each
    side's defaults filled in)."""
    if name != expected.name or not isinstance(args, dict):
        return False
    try:
        made = _with_defaults(name, args)
    except (TypeError, ValueError):
        return False
    wanted = _with_defaults(name, expected.args)
    return all(made.get(key) == wanted.get(key) for key in expected.match or expected.args)


def matched_calls(task: Task, made: Sequence[tuple[str, dict[str, Any]]]) -> int:
    """How many expected calls the model made (each call it made counts once)."""
    left = list(made)
    found = 0
    for expected in task.calls:
        hit = next((c for c in left if call_matches(expected, *c)), None)
        if hit is not None:
            left.remove(hit)
            found += 1
    return found


def _number_in(value: float, answer: str) -> bool:
    for m in mentions(answer):
        if m.date:
            continue
        candidates = [value] + ([value * 100] if m.percent and 0 < abs(value) < 1 else [])
        for target in candidates:
            if any(abs(round(target, d) - m.value) < TOLERANCE for d in (0, 1, 2, 4)):
                return True
    return False


def _value_in(value: Any, answer: str) -> bool:
    if isinstance(value, bool) or value is None:
        return True  # not a figure: nothing to find
    if isinstance(value, (int, float)):
        return _number_in(float(value), answer)
    text = str(value)
    return text in answer or any(m.date == text for m in mentions(answer) if m.date)


def answer_problems(task: Task, answer: str, expected: Sequence[Any],
                    results: Sequence[tuple[str, Any]]) -> list[str]:
    """What the answer lacks or has wrong (empty: right). `expected`: the results of the
    expected calls, run by the grader; `results`: the (tool, result) pairs the model saw."""
    problems: list[str] = []
    ids = list(task.expect.ids)
    for ref in task.expect.ids_from:
        ids += [str(v) for v in values_at(expected[ref.call], ref.path)]
    missing = [i for i in ids if not re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", answer)]
    if missing:
        problems.append(f"ids missing: {', '.join(missing)}")
    for ref in task.expect.numbers:
        values = values_at(expected[ref.call], ref.path)
        if not values:
            problems.append(f"no value at {ref.path} in the expected result")
        absent = [v for v in values if not _value_in(v, answer)]
        if absent:
            problems.append(f"{ref.path} missing: {', '.join(str(v) for v in absent)}")
    if task.expect.cites:
        sources = {str(p.get("source")) for name, r in results if name == "search_knowledge"
                   and isinstance(r, dict) for p in r.get("results") or []}
        names = sources | {s.rsplit("/", 1)[-1] for s in sources}
        if not any(n and n in answer for n in names):
            problems.append("cites no source of its search results")
    if task.expect.no_numbers:
        figures = [m.text for m in mentions(answer) if not m.date]
        if figures:
            problems.append(f"figures where none is known: {', '.join(figures)}")
    return problems


def answer_language(text: str) -> str:
    """The language of an answer, its ids, snake_case names and links left out."""
    text = LINK.sub(" ", text)
    text = IDENTIFIER.sub(" ", text)
    text = re.sub(r"\b\w*_\w*\b", " ", text)
    return language_of(text)
