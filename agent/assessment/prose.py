"""Model-written prose, held to the numbers the tools computed.

One structured-output call per report; the answer is rejected when it quotes a number that is
not in the facts it was given, and any failure (no model, timeout, rate limit, invalid output,
a number not in the facts, the call budget spent) falls back to the deterministic prose. Every
outcome is recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.numbers import plain

ATTEMPTS = 3  # one call plus two retries with exponential backoff, on transient errors only
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
        request = json.dumps(
            {"report": report, "language": lang, "facts": facts, "deterministic_draft": fallback},
            ensure_ascii=False, default=str,
        )
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
        strays = stray_numbers(text, facts, free_up_to)
        if strays:
            shown = ", ".join(plain(n) for n in strays[:5])
            reason = f"model prose rejected: numbers not in the tool results ({shown})"
            return self._keep(report, fallback, "deterministic", reason)
        return self._keep(report, text, "model", "model prose accepted")

    def _keep(self, report: str, text: str, source: str, reason: str) -> str:
        self.records.append(ProseRecord(report=report, source=source, reason=reason))  # type: ignore[arg-type]
        return text
