"""The prose number guard (agent/assessment/prose.py) without a graph run: how numbers are read,
which forms of a fact's number are allowed (percentages, rounding, free numbers), the tolerance, and
the writer's budget, retries and fallbacks, each against an expectation worked out by hand."""

import json
from datetime import date

import pytest

from agent.assessment.budget import ModelBudget
from agent.assessment.prose import ProseWriter, read_numbers, system_prompt
from agent.assessment.prose import stray_numbers as strays_up_to
from tests.scripted_model import ScriptedChatModel, prose_answer
from tools.playbook import load_playbook

FREE = load_playbook().reports.prose_free_numbers  # 12 in the bundled playbook


def stray_numbers(text, facts):
    """The guard with the bundled playbook's free numbers."""
    return strays_up_to(text, facts, FREE)


# --- reading numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("345 000", [345_000.0]),  # plain space
        ("345\u00a0000", [345_000.0]),  # no-break space (Russian thousands)
        ("345\u202f000", [345_000.0]),  # narrow no-break space
        ("1,234,567", [1_234_567.0]),  # comma thousands
        ("345,000.5", [345_000.5]),  # comma thousands with a decimal point
        ("0,65", [0.65]),  # decimal comma
        ("12,5%", [12.5]),
        ("-3", [-3.0]),
    ],
)
def test_read_numbers_formats(text, numbers):
    assert read_numbers(text) == numbers


def test_an_unreadable_token_does_not_hide_the_numbers_after_it():
    # "1,234,56" matches the number pattern but is no number: 1,234 then ",56" as decimals,
    # "1.234.56" once the commas become points. It is skipped; 99 after it is still read.
    assert read_numbers("1,234,56 then 99") == [99.0]


# --- allowed forms ------------------------------------------------------------------------


def test_free_numbers_are_zero_to_twelve():
    assert FREE == 12
    assert stray_numbers("steps 0 to 12", {}) == []
    assert stray_numbers("13 steps", {}) == [13.0]


def test_free_numbers_follow_the_playbook_key():
    assert strays_up_to("steps 0 to 3, then 4", {}, 3) == [4.0]
    assert strays_up_to("0 steps, then 1", {}, 0) == [1.0]


def test_a_probability_is_allowed_as_a_percentage():
    facts = {"probability": 0.65, "negative_change": -0.25}
    # 0.65 x 100 = 65; -0.25 x 100 = -25 (the size, not the sign, decides)
    assert stray_numbers("65% now, -25% change, or 0.65", facts) == []
    assert stray_numbers("66%", facts) == [66.0]


def test_only_numbers_strictly_between_0_and_1_become_percentages():
    # 1 is a count here, not 100%; 1.5 and 345,000 are not probabilities either.
    assert stray_numbers("100", {"accounts": 1}) == [100.0]
    assert stray_numbers("150", {"ratio": 1.5}) == [150.0]
    assert stray_numbers("34,500,000", {"mrr": 345_000}) == [34_500_000.0]


def test_rounded_forms_of_a_fact():
    facts = {"churn": 0.842136}
    # 0.842136 x 100 = 84.2136: allowed as 84.2136, and rounded to 2, 1 and 0 decimals as
    # 84.21, 84.2 and 84; not to 3 decimals (84.214), and nothing else near it.
    assert stray_numbers("84.2136, 84.21, 84.2 or 84", facts) == []
    assert stray_numbers("84.214", facts) == [84.214]
    assert stray_numbers("85", facts) == [85.0]  # the rounded 84 is allowed, 85 is not
    assert stray_numbers("84.3", facts) == [84.3]


def test_tolerance_is_a_millionth():
    # churn 84.21 (0.8421 x 100 = 84.21): 84.22 is 0.01 away, 85 is 0.79 away: both stray.
    facts = {"churn": 0.8421}
    assert stray_numbers("churn 85", facts) == [85.0]
    assert stray_numbers("churn 84.22", facts) == [84.22]
    assert stray_numbers("churn 84.21", facts) == []
    # 0.000001 is exactly 1e-6 from the free number 0: not within the tolerance (strict <).
    assert stray_numbers("0.000001", {}) == [0.000001]


def test_numbers_of_dates_and_formatted_strings_in_the_facts():
    # A date is written as 2026-11-20 (json default=str): 2026, 11 and 20 are allowed.
    facts = {"renewal_date": date(2026, 11, 20), "mrr_text": "345\u00a0000 RUB"}
    # The facts keep the no-break space (ensure_ascii=False), so 345 000 is one number.
    assert stray_numbers("renews 2026-11-20 at 345 000 RUB", facts) == []


# --- the writer ---------------------------------------------------------------------------


def _facts():
    return {
        "name": "Добрые Руки",
        "renewal_date": date(2026, 12, 5),
        "churn_risk": 84.21,
        "probability": 0.1579,
    }


def test_without_a_model_the_fallback_is_kept_and_the_facts_are_not_built():
    built = []
    writer = ProseWriter()
    text = writer.write(
        "dashboard", lambda: built.append(1) or _facts(), "fallback text", "en", FREE
    )
    assert text == "fallback text" and built == []
    assert [(r.report, r.source, r.reason) for r in writer.records] == [
        ("dashboard", "deterministic", "no model configured")
    ]


def test_accepted_prose_and_what_the_model_is_sent():
    model = ScriptedChatModel(script=[prose_answer("  Churn risk 84.21, renewal at 15.79%.  ")])
    writer = ProseWriter(model=model)
    text = writer.write("dashboard", _facts, "fallback", "ru", FREE)
    # 0.1579 x 100 = 15.79; the answer is stripped
    assert text == "Churn risk 84.21, renewal at 15.79%."
    assert (writer.calls, len(model.calls)) == (1, 1)
    assert [(r.source, r.reason) for r in writer.records] == [("model", "model prose accepted")]
    system, human = model.calls[0]
    assert system.content == system_prompt()
    assert system_prompt().startswith("You write the summary paragraph of one report")
    assert json.loads(human.content) == {
        "report": "dashboard",
        "language": "ru",
        "facts": {
            "name": "Добрые Руки",
            "renewal_date": "2026-12-05",  # a date is sent as written
            "churn_risk": 84.21,
            "probability": 0.1579,
        },
        "deterministic_draft": "fallback",
    }
    assert "Добрые Руки" in human.content  # sent as is, not as \u escapes


def test_a_stray_number_rejects_the_prose_and_names_up_to_five():
    # the facts allow 84.21, 84.2, 84, 15.79, 15.8, 16 (0.1579 as a percentage), 2026, 12 and
    # 5 (the date), not 31-36
    invented = "Scores 31, 32, 33, 34, 35 and 36 against 84.21."
    model = ScriptedChatModel(script=[prose_answer(invented)])
    writer = ProseWriter(model=model)
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "fallback"
    assert [(r.source, r.reason) for r in writer.records] == [
        (
            "deterministic",
            "model prose rejected: numbers not in the tool results (31, 32, 33, 34, 35)",
        )
    ]


def test_empty_prose_falls_back():
    writer = ProseWriter(model=ScriptedChatModel(script=[prose_answer("   ")]))
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "fallback"
    assert writer.records[0].reason == "model returned no prose"


def test_a_model_error_is_not_retried_and_its_message_is_cut_at_160():
    model = ScriptedChatModel(script=[ValueError("x" * 300), prose_answer("unused")])
    writer = ProseWriter(model=model)
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "fallback"
    assert len(model.calls) == 1
    assert writer.records[0].reason == "model failed: ValueError: " + "x" * 160


def test_the_default_budget_is_five_calls():
    model = ScriptedChatModel(script=[prose_answer("All good.")] * 6)
    writer = ProseWriter(model=model)
    sources = [writer.write(f"r{i}", _facts, "fallback", "en", FREE) for i in range(6)]
    assert sources == ["All good."] * 5 + ["fallback"]
    assert (writer.calls, len(model.calls)) == (5, 5)
    assert writer.records[-1].reason == "model call budget spent"


def test_a_smaller_budget_is_kept():
    model = ScriptedChatModel(script=[prose_answer("All good.")] * 3)
    writer = ProseWriter(model=model, max_calls=2)
    for i in range(3):
        writer.write(f"r{i}", _facts, "fallback", "en", FREE)
    assert [r.source for r in writer.records] == ["model", "model", "deterministic"]
    assert len(model.calls) == 2


@pytest.mark.parametrize("error", [TimeoutError("slow"), ConnectionError("reset")])
def test_a_transient_error_is_retried(monkeypatch, error):
    monkeypatch.setattr("time.sleep", lambda _seconds: None)  # tenacity's backoff: no wait
    model = ScriptedChatModel(script=[error, prose_answer("Renewal talks open now.")])
    writer = ProseWriter(model=model)
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "Renewal talks open now."
    assert len(model.calls) == 2 and writer.calls == 1


def test_three_attempts_then_the_fallback(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    model = ScriptedChatModel(script=[TimeoutError("slow")] * 3 + [prose_answer("late")])
    writer = ProseWriter(model=model)
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "fallback"
    assert len(model.calls) == 3
    assert writer.records[0].reason == "model failed: TimeoutError: slow"


@pytest.mark.parametrize(("backoff", "first", "second"), [(1.0, 1, 2), (5.0, 5, 10)])
def test_retries_wait_exponentially_from_the_backoff(monkeypatch, backoff, first, second):
    # tenacity sleeps through time.sleep; record the waits instead of sleeping. Wait n is
    # backoff x 2 ** (n - 1) plus a jitter in [0, 1]: the default 1 s gives 1-2 s, then 2-3 s.
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    model = ScriptedChatModel(script=[TimeoutError("slow")] * 2 + [prose_answer("Fine.")])
    writer = ProseWriter(model=model) if backoff == 1.0 else ProseWriter(model, backoff_seconds=5)
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "Fine."
    assert len(waits) == 2
    assert first <= waits[0] <= first + 1 and second <= waits[1] <= second + 1


class _Gate:
    """A semaphore of one that records whether the model was called while it was held."""

    def __init__(self):
        self.inside = False
        self.seen: list[bool] = []

    def acquire(self, timeout=None):
        self.inside = True
        return True

    def release(self):
        self.inside = False


def test_the_model_is_called_inside_the_shared_gate():
    gate = _Gate()

    class Watched(ScriptedChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            gate.seen.append(gate.inside)
            return super()._generate(messages, stop, run_manager, **kwargs)

    budget = ModelBudget.local(60, None, 1, 3)
    budget.gate = gate
    writer = ProseWriter(model=Watched(script=[prose_answer("Fine.")]), budget=budget)
    assert writer.write("qbr", _facts, "fallback", "en", FREE) == "Fine."
    assert gate.seen == [True] and gate.inside is False
