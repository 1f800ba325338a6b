"""The language model, chosen by configuration: one place builds it for chat and reports.

`CSM_MODEL` is `provider:model` for LangChain's `init_chat_model`; `OPENAI_API_KEY` and
`OPENAI_BASE_URL` reach OpenAI or any OpenAI-compatible server; `CSM_MODEL_TIMEOUT` bounds a
request. No CSM_MODEL: no model.

The report prose has its own budgets, each an environment variable that a command's flag
overrides: `CSM_MODEL_MAX_TOKENS` (the answer's length, sent with every call),
`CSM_MODEL_DEADLINE` (seconds of model work per account), `CSM_MODEL_RUN_DEADLINE` (seconds of
model work per run: one `csm sweep` or `csm assess`), `CSM_MODEL_CONCURRENCY` (model calls in
flight at once, across a sweep's workers) and `CSM_MODEL_MAX_FAILURES` (failed calls in a row
after which a run stops calling the model)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # LangChain (and LangSmith with it) loads only when a model is built
    from langchain_core.language_models.chat_models import BaseChatModel

DEFAULT_MAX_STEPS = 24
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_TOKENS = 512  # a 2-4 sentence summary in JSON is about 150 tokens (Russian: 250)
DEFAULT_DEADLINE = 120.0  # seconds of model work per account (five summaries)
DEFAULT_RUN_DEADLINE = 3600.0  # seconds of model work per run
DEFAULT_CONCURRENCY = 2
DEFAULT_MAX_FAILURES = 3
MAX_RETRIES = 2  # the OpenAI client retries 429, 5xx and timeouts with exponential backoff
NO_MODEL = (
    "csm chat needs a model: set CSM_MODEL=openai:gpt-4.1-mini with OPENAI_API_KEY, or point "
    "OPENAI_BASE_URL at any OpenAI-compatible server such as Ollama or vLLM "
    "(CSM_MODEL=openai:MODEL, or --model openai:MODEL)."
)


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"{name}='{raw}' is not a positive number; unset it or give one.")
    return value


def _named(name: str | None) -> str | None:
    """The model `name` or CSM_MODEL names, stripped; None when neither names one ("none" too)."""
    name = (name or os.environ.get("CSM_MODEL", "")).strip()
    return None if not name or name.lower() == "none" else name


def max_steps() -> int:
    """The tool-loop bound: graph steps per turn (CSM_CHAT_MAX_STEPS, default 24)."""
    return int(_positive("CSM_CHAT_MAX_STEPS", DEFAULT_MAX_STEPS))


def model_timeout() -> float:
    """Seconds one model request may take (CSM_MODEL_TIMEOUT, default 60)."""
    return _positive("CSM_MODEL_TIMEOUT", DEFAULT_TIMEOUT)


def model_max_tokens() -> int:
    """Tokens a report summary may take (CSM_MODEL_MAX_TOKENS, default 512)."""
    return int(_positive("CSM_MODEL_MAX_TOKENS", DEFAULT_MAX_TOKENS))


def model_deadline() -> float:
    """Seconds of model work per account (CSM_MODEL_DEADLINE, default 120)."""
    return _positive("CSM_MODEL_DEADLINE", DEFAULT_DEADLINE)


def model_run_deadline() -> float:
    """Seconds of model work per run (CSM_MODEL_RUN_DEADLINE, default 3600)."""
    return _positive("CSM_MODEL_RUN_DEADLINE", DEFAULT_RUN_DEADLINE)


def model_concurrency() -> int:
    """Model calls in flight at once (CSM_MODEL_CONCURRENCY, default 2)."""
    return int(_positive("CSM_MODEL_CONCURRENCY", DEFAULT_CONCURRENCY))


def model_max_failures() -> int:
    """Failed calls in a row that stop a run's model calls (CSM_MODEL_MAX_FAILURES, default 3)."""
    return int(_positive("CSM_MODEL_MAX_FAILURES", DEFAULT_MAX_FAILURES))


def model_name(name: str | None = None) -> str:
    """The model a run uses, `none` when there is none: `name` or CSM_MODEL, with the
    OpenAI-compatible server it reaches when OPENAI_BASE_URL is set (a sweep's fingerprint)."""
    name = _named(name)
    if name is None:
        return "none"
    base = os.environ.get("OPENAI_BASE_URL", "").strip()
    return f"{name} at {base}" if base and name.startswith("openai:") else name


def chat_model(
    name: str | None = None,
    max_retries: int = MAX_RETRIES,
    max_tokens: int | None = None,
    timeout: float | None = None,
) -> BaseChatModel:
    """The chat model `name` (`provider:model`, default $CSM_MODEL) with a timeout (default
    CSM_MODEL_TIMEOUT), retries and, when given, a cap on the tokens of each answer.

    Raises ValueError with one sentence when no model is configured or it cannot be built."""
    name = _named(name)
    if name is None:
        raise ValueError(NO_MODEL)
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {"timeout": timeout or model_timeout(), "max_retries": max_retries}
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if (
        name.startswith("openai:")
        and os.environ.get("OPENAI_BASE_URL")
        and not os.environ.get("OPENAI_API_KEY")
    ):
        options["api_key"] = "unused"  # local OpenAI-compatible servers accept any key
    try:
        return init_chat_model(name, **options)
    except Exception as error:  # noqa: BLE001 - unknown provider, missing package or key
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"cannot use the model '{name}' ({type(error).__name__}: {detail[:200]}); "
            "check CSM_MODEL (provider:model) and the provider's API key."
        ) from None


def configured_model(
    name: str | None = None, max_retries: int = MAX_RETRIES
) -> BaseChatModel | None:
    """The model named by `name` or CSM_MODEL, or None when neither names one ("none" too)."""
    name = _named(name)
    if name is None:
        return None
    return chat_model(name, max_retries)


def report_model(name: str | None = None, deadline: float | None = None) -> BaseChatModel | None:
    """The model that writes report prose (`name` or CSM_MODEL; None when there is none): no
    client retries (the prose writer retries within its deadlines), `max_tokens` on every call,
    and a request timeout no longer than the per-account deadline."""
    name = _named(name)
    if name is None:
        return None
    timeout = min(model_timeout(), deadline or model_deadline())
    return chat_model(name, max_retries=0, max_tokens=model_max_tokens(), timeout=timeout)
