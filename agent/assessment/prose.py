"""Model-written prose, held to the numbers the tools computed.

One structured-output call per report, the five of an account in flight together within the
run's budget (`agent.assessment.budget`: deadlines, retries, a limit on the calls in flight, a
circuit breaker); the answer is rejected when it quotes a number that is not in the facts it
was given, and any failure (no model, timeout, rate limit, invalid output, a number not in the
facts, a deadline or the call budget spent) falls back to the deterministic prose. Every outcome
is recorded, a fallback with its kind."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.assessment.budget import Failed, ModelBudget
from tools.numbers import plain

NUMBER = re.compile(
    r"(?<![\w.,])-?\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+(?:[.,]\d+)?|(?<![\w.,])-?\d+(?:[.,]\d+)?"
)


class Prose(BaseModel):
    """What the model writes for one report."""

    summary: str = Field(
        description="2-4 sentences for the report's summary, in the requested "
        "language, quoting only numbers present in the facts"
    )


class ProseRecord(BaseModel):
    """Where one report's prose came from."""

    report: str
    source: Literal["model", "deterministic"]
    reason: str
    fallback: str | None = Field(
        None, description="why a model was asked and its prose not kept: a kind of "
        "agent.assessment.budget.FALLBACKS (None: model prose, or no model configured)"
    )


def read_numbers(text: str) -> list[float]:
    """Numbers in text written as 345000, 345,000, 345 000, 0.65, 0,65 or 65%."""
    found = []
    for token in NUMBER.findall(text):
        compact = re.sub(r"[ \u00a0\u202f]", "", token)
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", compact):
            compact = compact.replace(",", "")
        else:
            compact = compact.replace(",", ".")
        try:
            found.append(float(compact))
        except ValueError:
            continue
    return found


def allowed_numbers(facts: Any, free_up_to: int) -> set[float]:
    """Every number in the facts, with probabilities as percentages and rounded forms, and the
    whole numbers 0 to `free_up_to` (`reports.prose_free_numbers`: counts, months, list
    numbering)."""
    values: set[float] = {float(n) for n in range(free_up_to + 1)}
    for number in read_numbers(json.dumps(facts, ensure_ascii=False, default=str)):
        for variant in (number, number * 100 if 0 < abs(number) < 1 else number):
            values |= {round(variant, d) for d in (0, 1, 2)} | {variant}
    return values


def stray_numbers(text: str, facts: Any, free_up_to: int) -> list[float]:
    """Numbers in the text that the facts do not contain (0 to `free_up_to` are free)."""
    allowed = allowed_numbers(facts, free_up_to)
    return [n for n in read_numbers(text) if not any(abs(n - a) < 1e-6 for a in allowed)]


def system_prompt() -> str:
    """The writer's instructions (prompts/report_prose.md)."""
    return resources.files("prompts").joinpath("report_prose.md").read_text(encoding="utf-8")


@dataclass
class Job:
    """One report's summary to write: its facts (built only when a model is called) and the
    deterministic text it falls back to."""

    report: str
    facts_of: Callable[[], dict[str, Any]]
    fallback: str


@dataclass
class ProseWriter:
    """Writes report prose with a model when one is given, within a per-account call budget
    (`max_calls`) and the run's `budget` (deadlines, retries, breaker, calls in flight; without
    one, a budget of this writer's own from the environment)."""

    model: Any | None = None
    max_calls: int = 5
    backoff_seconds: float = 1.0
    budget: ModelBudget | None = None
    calls: int = 0
    records: list[ProseRecord] = field(default_factory=list)

    def write(
        self,
        report: str,
        facts_of: Callable[[], dict[str, Any]],
        fallback: str,
        lang: str,
        free_up_to: int,
    ) -> str:
        """The model's prose for a report when valid, else the deterministic fallback.

        `facts_of` builds the facts the model may draw on (only when a model will be called);
        the prose may quote the whole numbers 0 to `free_up_to` that the facts lack."""
        return self.write_all([Job(report, facts_of, fallback)], lang, free_up_to)[0]

    def write_all(self, jobs: list[Job], lang: str, free_up_to: int) -> list[str]:
        """The prose of several reports of one account, their model calls in flight together
        (as many as the budget's gate lets through) and all ended by the account's deadline: a
        call still running then is abandoned (its answer, if any, is dropped)."""
        if self.model is None:
            return [self._keep(j.report, j.fallback, "deterministic", "no model configured")
                    for j in jobs]
        budget = self.budget or self._own_budget()
        ends, late = budget.account_ends()
        runnable = self.model.with_structured_output(Prose)
        outcomes: list[Any] = [None] * len(jobs)
        threads: list[tuple[int, threading.Thread]] = []
        facts: list[Any] = [None] * len(jobs)
        for i, job in enumerate(jobs):
            if self.calls >= self.max_calls:
                outcomes[i] = Failed("budget", "model call budget spent")
                continue
            self.calls += 1
            facts[i] = job.facts_of()
            messages = [("system", system_prompt()), ("human", self.request(job, lang, facts[i]))]
            thread = threading.Thread(
                target=self._call, args=(budget, runnable, messages, ends, late, outcomes, i),
                name=f"prose-{job.report}", daemon=True,  # abandoned at the deadline
            )
            thread.start()
            threads.append((i, thread))
        for i, thread in threads:
            thread.join(max(0.0, ends - time.monotonic()))
            if thread.is_alive() or outcomes[i] is None:
                outcomes[i] = Failed(late, budget.late_detail(late))
        return [self._judge(job, outcomes[i], facts[i], free_up_to)
                for i, job in enumerate(jobs)]

    def request(self, job: Job, lang: str, facts: dict[str, Any]) -> str:
        """The human message of one report's call: the report, its language, its facts and
        the deterministic draft."""
        return json.dumps(
            {"report": job.report, "language": lang, "facts": facts,
             "deterministic_draft": job.fallback},
            ensure_ascii=False, default=str,
        )

    def _own_budget(self) -> ModelBudget:
        from agent.models import model_concurrency, model_deadline, model_max_failures

        self.budget = ModelBudget.local(model_deadline(), None, model_concurrency(),
                                        model_max_failures())
        self.budget.backoff = self.backoff_seconds
        return self.budget

    @staticmethod
    def _call(budget: ModelBudget, runnable: Any, messages: list[Any], ends: float, late: str,
              outcomes: list[Any], i: int) -> None:
        try:
            outcomes[i] = budget.call(lambda: runnable.invoke(messages), ends, late)
        except Failed as failure:
            outcomes[i] = failure
        except BaseException as error:  # noqa: BLE001 - a thread must not die unrecorded
            outcomes[i] = Failed("invalid", f"{type(error).__name__}: {str(error)[:160]}")

    def _judge(self, job: Job, outcome: Any, facts: Any, free_up_to: int) -> str:
        """The text kept for one report: the model's when it answered and passed the number
        check, else the deterministic fallback with the kind of failure."""
        report, fallback = job.report, job.fallback
        if isinstance(outcome, Failed):
            reason = (outcome.detail if outcome.kind in ("budget", "breaker", "deadline",
                                                          "run_deadline")
                      else f"model failed: {outcome.detail}")
            return self._keep(report, fallback, "deterministic", reason, outcome.kind)
        text = (outcome.summary if isinstance(outcome, Prose) else "").strip()
        if not text:
            return self._keep(report, fallback, "deterministic", "model returned no prose",
                              "empty")
        strays = stray_numbers(text, facts, free_up_to)
        if strays:
            shown = ", ".join(plain(n) for n in strays[:5])
            reason = f"model prose rejected: numbers not in the tool results ({shown})"
            return self._keep(report, fallback, "deterministic", reason, "numbers")
        return self._keep(report, text, "model", "model prose accepted")

    def _keep(self, report: str, text: str, source: str, reason: str,
              fallback: str | None = None) -> str:
        self.records.append(ProseRecord(report=report, source=source, reason=reason,  # type: ignore[arg-type]
                                        fallback=fallback))
        return text
