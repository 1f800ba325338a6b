"""Model-written prose, held to the numbers the tools computed.

One structured-output call per report, the five of an account in flight together within the
run's budget (`agent.assessment.budget`: deadlines, retries, a limit on the calls in flight, a
circuit breaker), the facts and the draft inside data blocks; the answer is rejected when the
grounding guard (agent.assessment.guard) finds something its facts do not support (a number, a
date, a name, a signal, a link, an instruction), and any failure (no model, timeout, rate
limit, invalid output, a rejection, a deadline or the call budget spent) falls back to the
deterministic prose. Every outcome is recorded, a fallback with its kind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.assessment.budget import Failed, ModelBudget
from agent.assessment.budget import describe as describe_error
from agent.assessment.guard import (  # noqa: F401 - read_numbers, stray_numbers: re-exported
    Grounding,
    check,
    describe,
    prose_request,
    read_numbers,
    stray_numbers,
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


@lru_cache(maxsize=1)  # five calls per account: the bundled file is read once per process
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
        """The human message of one report's call: the report and its language, then its facts
        and the deterministic draft inside data blocks (guard.prose_request)."""
        return prose_request(job.report, lang, facts, job.fallback)

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
            outcomes[i] = Failed("invalid", describe_error(error))

    def _judge(self, job: Job, outcome: Any, facts: Any, free_up_to: int) -> str:
        """The text kept for one report: the model's when it answered and the grounding guard
        found nothing unsupported, else the deterministic fallback with the kind of failure."""
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
        findings = check(text, Grounding.of(facts, quoted=[fallback]), free_up_to)
        if findings:
            reason = f"model prose rejected: {describe(findings)}"
            kind = "numbers" if all(f.kind == "number" for f in findings) else "grounding"
            return self._keep(report, fallback, "deterministic", reason, kind)
        return self._keep(report, text, "model", "model prose accepted")

    def _keep(self, report: str, text: str, source: str, reason: str,
              fallback: str | None = None) -> str:
        self.records.append(ProseRecord(report=report, source=source, reason=reason,  # type: ignore[arg-type]
                                        fallback=fallback))
        return text
