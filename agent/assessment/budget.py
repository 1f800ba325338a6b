"""The budgets of the model calls that write report prose, and why a summary falls back.

A run (one `csm assess`, one `csm sweep` across its workers) holds one `ModelBudget`: a deadline
per account and one for the run, a limit on the calls in flight (a semaphore), and a circuit
breaker that stops calling the model after `max_failures` failed calls in a row, at once when
the server rejects the key (401), refuses the model (403) or does not know it (404), and says
so once on stderr. One call is retried on timeouts, rate limits, connection and server errors,
after an exponential backoff; when the server says how long to wait (Retry-After), no call of
the run reaches it before then (a call that would have to wait past its deadline, or longer
than `MAX_WAIT`, falls back at once). Deadlines are `time.monotonic()` instants:
CLOCK_MONOTONIC is one clock for every process of the machine, so a sweep's workers share the
run's deadline (and the server's quiet time) as numbers.

A summary that falls back has a kind (`FALLBACKS`): its few words in each report language, for
the note under the summary, the stderr line and the portfolio report."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

ATTEMPTS = 3  # one call plus two retries, on transient errors only
MAX_WAIT = 60.0  # the longest Retry-After honoured, seconds; a longer one ends the call

FALLBACKS: dict[str, dict[str, str]] = {
    "deadline": {"en": "the model's time per account ran out",
                 "ru": "истекло время, отведённое модели на клиента"},
    "run_deadline": {"en": "the model's time for this run ran out",
                     "ru": "истекло время, отведённое модели на весь прогон"},
    "timeout": {"en": "the model did not answer in time", "ru": "модель не ответила вовремя"},
    "unreachable": {"en": "the model server could not be reached",
                    "ru": "сервер модели недоступен"},
    "server_error": {"en": "the model server failed", "ru": "сбой сервера модели"},
    "rate_limited": {"en": "the model server was rate-limiting",
                     "ru": "сервер модели ограничил частоту запросов"},
    "auth": {"en": "the model server rejected the API key",
             "ru": "сервер модели отклонил ключ API"},
    "forbidden": {"en": "the model server refused access to the model",
                  "ru": "сервер модели отказал в доступе к модели"},
    "not_found": {"en": "the model server does not know the model",
                  "ru": "сервер модели не знает такой модели"},
    "too_long": {"en": "the model's answer ran past its token limit",
                 "ru": "ответ модели превысил лимит токенов"},
    "invalid": {"en": "the model's answer was not valid", "ru": "ответ модели некорректен"},
    "empty": {"en": "the model returned no text", "ru": "модель не вернула текст"},
    "numbers": {"en": "the model quoted numbers the tools did not compute",
                "ru": "модель привела числа, которых нет в расчётах"},
    "breaker": {"en": "the model was switched off after repeated failures",
                "ru": "модель отключена после повторных сбоев"},
    "budget": {"en": "the model call budget was spent", "ru": "лимит вызовов модели исчерпан"},
}
NOTE = {"en": "This summary is the deterministic one: {reason}.",
        "ru": "Это резюме составлено без модели: {reason}."}
FATAL = ("auth", "forbidden", "not_found")  # no retry, and no further call in the run
TRANSIENT = ("timeout", "unreachable", "server_error", "rate_limited")  # retried


def fallback_note(kind: str, lang: str) -> str:
    """The line under a summary that fell back: it is the deterministic one, and why."""
    reason = FALLBACKS.get(kind, FALLBACKS["invalid"])
    return NOTE.get(lang, NOTE["en"]).format(reason=reason.get(lang, reason["en"]))


def say(line: str) -> None:
    """One line on stderr, at once (a sweep's workers share the terminal)."""
    print(line, file=sys.stderr, flush=True)


class Failed(Exception):  # noqa: N818 - an outcome, not an error of the caller
    """A model call that ended without an answer: its fallback kind and what happened."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


class _Cell:
    """An integer for the threads of one process, with the interface of multiprocessing.Value."""

    def __init__(self, value: float = 0) -> None:
        self.value = value
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


@dataclass
class Breaker:
    """Failed calls in a row, in cells shared by a run's threads (and, as multiprocessing
    Values, by a sweep's workers); open after `limit`, or at once on a fatal error."""

    limit: int
    failures: Any = field(default_factory=_Cell)
    opened: Any = field(default_factory=_Cell)
    tell: Callable[[str], None] = say

    def is_open(self) -> bool:
        """True once the run stopped calling the model."""
        return bool(self.opened.value)

    def success(self) -> None:
        """A call answered: the count starts again."""
        with self.failures.get_lock():
            self.failures.value = 0

    def failure(self, kind: str, detail: str) -> None:
        """A call failed; open the breaker at the limit (at once when `kind` is fatal) and say
        so, once per run."""
        with self.failures.get_lock():
            self.failures.value += 1
            count = self.failures.value
        if kind not in FATAL and count < self.limit:
            return
        with self.opened.get_lock():
            first = not self.opened.value
            self.opened.value = 1
        if first:
            why = (f"{FALLBACKS[kind]['en']} ({detail})" if kind in FATAL
                   else f"{count} model calls failed in a row (last: {detail})")
            self.tell(f"csm: {why}; no more model calls in this run: the remaining summaries "
                      "are the deterministic ones.")


@dataclass
class ModelBudget:
    """What a run's model calls may spend; see the module docstring."""

    deadline: float  # seconds of model work per account
    run_ends: float | None  # time.monotonic() after which no call starts; None: no run deadline
    gate: Any  # a semaphore: the calls in flight
    breaker: Breaker
    backoff: float = 1.0  # the first wait between attempts without Retry-After, seconds
    quiet_until: Any = field(default_factory=_Cell)  # time.monotonic() the server asked to wait for

    @classmethod
    def local(cls, deadline: float, run_deadline: float | None, concurrency: int,
              max_failures: int) -> ModelBudget:
        """A budget for the threads of one process (`csm assess`, one graph run)."""
        return cls(
            deadline=deadline,
            run_ends=time.monotonic() + run_deadline if run_deadline else None,
            gate=threading.BoundedSemaphore(concurrency),
            breaker=Breaker(max_failures),
        )

    @classmethod
    def shared(cls, context: Any, deadline: float, run_deadline: float | None,
               concurrency: int, max_failures: int) -> ModelBudget:
        """A budget for a sweep's worker processes (`context`: their multiprocessing context);
        it reaches them as an argument of their start."""
        return cls(
            deadline=deadline,
            run_ends=time.monotonic() + run_deadline if run_deadline else None,
            gate=context.BoundedSemaphore(concurrency),
            breaker=Breaker(max_failures, context.Value("i", 0), context.Value("i", 0)),
            quiet_until=context.Value("d", 0.0),
        )

    def account_ends(self) -> tuple[float, str]:
        """When the model work of an account starting now must end, and the fallback kind of
        that end (`deadline` or, when the run ends first, `run_deadline`)."""
        ends = time.monotonic() + self.deadline
        if self.run_ends is not None and self.run_ends <= ends:
            return self.run_ends, "run_deadline"
        return ends, "deadline"

    def late_detail(self, late: str) -> str:
        """What ran out, in words: the account's deadline or the run's."""
        if late == "run_deadline":
            return "the run's model deadline passed"
        return f"the account's model deadline ({self.deadline:g} s) passed"

    def call(self, invoke: Callable[[], Any], ends: float, late: str) -> Any:
        """`invoke()`'s answer, retried within the budget; raises Failed otherwise (`late`: the
        kind of a call that runs out of time)."""
        for attempt in range(ATTEMPTS):
            self._enter(ends, late)
            try:
                answer = invoke()
            except Exception as error:  # noqa: BLE001 - every failure is classified
                kind, detail, asked = classify(error), describe(error), retry_after(error)
                if kind in FATAL:  # open before the gate lets another call through
                    self.breaker.failure(kind, detail)
                    raise Failed(kind, detail) from None
                if asked is not None:  # the whole run waits, not only this call
                    self._quiet(asked)
            else:
                self.breaker.success()
                return answer
            finally:
                self.gate.release()
            if kind not in TRANSIENT or attempt == ATTEMPTS - 1:
                self.breaker.failure(kind, detail)
                raise Failed(kind, detail)
            wait = asked if asked is not None else (
                self.backoff * 2**attempt + random.uniform(0, 1))  # noqa: S311
            if wait > MAX_WAIT or time.monotonic() + wait >= ends:
                self.breaker.failure(kind, detail)
                raise Failed(kind, f"{detail}; a retry in {wait:.3g} s would pass the deadline")
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def _enter(self, ends: float, late: str) -> None:
        """Wait for the server's quiet time to pass and for a place in the gate; raises Failed
        when the breaker is open or the deadline comes first. Returns holding the gate."""
        while True:
            if self.breaker.is_open():
                raise Failed("breaker", "the model was switched off for this run")
            now = time.monotonic()
            quiet = self.quiet_until.value - now
            if quiet > 0:
                if now + quiet >= ends:
                    raise Failed("rate_limited", f"the server asked to wait {quiet:.3g} s more "
                                 "(Retry-After), past the deadline")
                time.sleep(quiet)
                continue
            if now >= ends or not self.gate.acquire(timeout=ends - now):
                raise Failed(late, self.late_detail(late))
            if self.breaker.is_open() or self.quiet_until.value > time.monotonic():
                self.gate.release()  # another call learnt something while this one waited
                continue
            return

    def _quiet(self, seconds: float) -> None:
        """No call of the run reaches the server for `seconds` (its Retry-After)."""
        with self.quiet_until.get_lock():
            self.quiet_until.value = max(self.quiet_until.value, time.monotonic() + seconds)


def describe(error: BaseException) -> str:
    """`Type: message`, the message cut at 160 characters."""
    return f"{type(error).__name__}: {str(error)[:160]}"


def classify(error: BaseException) -> str:
    """The fallback kind of a failed call (see FALLBACKS), from LangChain's provider-neutral
    model errors, the OpenAI client's (a length cut, say) and Python's own."""
    from langchain_core import exceptions as lc

    kinds: list[tuple[type[BaseException], str]] = [
        (lc.ModelAuthenticationError, "auth"),
        (lc.ModelPermissionDeniedError, "forbidden"),
        (lc.ModelNotFoundError, "not_found"),
        (lc.ModelRateLimitError, "rate_limited"),
        (lc.ModelTimeoutError, "timeout"),
        (lc.ModelConnectionError, "unreachable"),
        (lc.ModelAPIError, "server_error"),
        (TimeoutError, "timeout"),
        (ConnectionError, "unreachable"),
    ]
    try:
        import openai

        kinds += [
            (openai.AuthenticationError, "auth"),
            (openai.PermissionDeniedError, "forbidden"),
            (openai.NotFoundError, "not_found"),
            (openai.RateLimitError, "rate_limited"),
            (openai.APITimeoutError, "timeout"),
            (openai.APIConnectionError, "unreachable"),
            (openai.InternalServerError, "server_error"),
            (openai.LengthFinishReasonError, "too_long"),
        ]
    except ImportError:  # pragma: no cover - openai comes with langchain-openai
        pass
    for kind_of, kind in kinds:
        if isinstance(error, kind_of):
            return kind
    status = getattr(error, "status_code", None)
    return "server_error" if isinstance(status, int) and status >= 500 else "invalid"


def retry_after(error: BaseException) -> float | None:
    """Seconds the server asks to wait before the next request (`retry-after-ms`, or
    `retry-after` in seconds or as an HTTP date), None when it does not say."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    if not headers:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
