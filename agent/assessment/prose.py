"""Model-written prose, held to the numbers the tools computed.

One structured-output call per report, the account's facts inside data blocks; the answer is
rejected when the grounding guard (agent.assessment.guard) finds something the facts do not
support (a number, a date, a name, a link, an instruction), and any failure (no model, timeout,
rate limit, invalid output, a rejection, the call budget spent) falls back to the deterministic
prose. Every outcome is recorded."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.assessment.guard import (  # noqa: F401 - read_numbers, stray_numbers: re-exported
    Grounding,
    check,
    describe,
    prose_request,
    read_numbers,
    stray_numbers,
)

ATTEMPTS = 3  # one call plus two retries with exponential backoff, on transient errors only


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


def system_prompt() -> str:
    """The writer's instructions (prompts/report_prose.md)."""
    return resources.files("prompts").joinpath("report_prose.md").read_text(encoding="utf-8")


def _transient() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [TimeoutError, ConnectionError]
    try:
        import openai

        kinds += [
            openai.RateLimitError,
            openai.APITimeoutError,
            openai.APIConnectionError,
            openai.InternalServerError,
        ]
    except ImportError:  # pragma: no cover - openai comes with langchain-openai
        pass
    return tuple(kinds)


@dataclass
class ProseWriter:
    """Writes report prose with a model when one is given, within a per-account call budget."""

    model: Any | None = None
    max_calls: int = 5
    backoff_seconds: float = 1.0
    gate: Any = None  # a semaphore shared by the sweep's workers: concurrent model calls
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
        if self.model is None:
            return self._keep(report, fallback, "deterministic", "no model configured")
        if self.calls >= self.max_calls:
            return self._keep(report, fallback, "deterministic", "model call budget spent")
        self.calls += 1
        facts = facts_of()
        request = prose_request(report, lang, facts, fallback)
        try:
            runnable = self.model.with_structured_output(Prose).with_retry(
                retry_if_exception_type=_transient(), wait_exponential_jitter=True,
                stop_after_attempt=ATTEMPTS,
                exponential_jitter_params={"initial": self.backoff_seconds},
            )
            with self.gate or nullcontext():
                answer = runnable.invoke([("system", system_prompt()), ("human", request)])
        except Exception as error:  # noqa: BLE001 - any model failure falls back
            reason = f"model failed: {type(error).__name__}: {str(error)[:160]}"
            return self._keep(report, fallback, "deterministic", reason)
        text = (answer.summary if isinstance(answer, Prose) else "").strip()
        if not text:
            return self._keep(report, fallback, "deterministic", "model returned no prose")
        findings = check(text, Grounding.of(facts, quoted=[fallback]), free_up_to)
        if findings:
            reason = f"model prose rejected: {describe(findings)}"
            return self._keep(report, fallback, "deterministic", reason)
        return self._keep(report, text, "model", "model prose accepted")

    def _keep(self, report: str, text: str, source: str, reason: str) -> str:
        self.records.append(ProseRecord(report=report, source=source, reason=reason))  # type: ignore[arg-type]
        return text
