"""The language model, chosen by configuration: one place builds it for chat and reports.

`CSM_MODEL` is `provider:model` for LangChain's `init_chat_model`; `OPENAI_API_KEY` and
`OPENAI_BASE_URL` reach OpenAI or any OpenAI-compatible server; `CSM_MODEL_TIMEOUT` bounds a
request. No CSM_MODEL: no model."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

DEFAULT_MAX_STEPS = 24
DEFAULT_TIMEOUT = 60.0
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


def max_steps() -> int:
    """The tool-loop bound: graph steps per turn (CSM_CHAT_MAX_STEPS, default 24)."""
    return int(_positive("CSM_CHAT_MAX_STEPS", DEFAULT_MAX_STEPS))


def model_timeout() -> float:
    """Seconds one model request may take (CSM_MODEL_TIMEOUT, default 60)."""
    return _positive("CSM_MODEL_TIMEOUT", DEFAULT_TIMEOUT)


def chat_model(name: str | None = None, max_retries: int = MAX_RETRIES) -> BaseChatModel:
    """The chat model `name` (`provider:model`, default $CSM_MODEL) with a timeout and retries.

    Raises ValueError with one sentence when no model is configured or it cannot be built."""
    name = (name or os.environ.get("CSM_MODEL", "")).strip()
    if not name or name.lower() == "none":
        raise ValueError(NO_MODEL)
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {"timeout": model_timeout(), "max_retries": max_retries}
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
    name = (name or os.environ.get("CSM_MODEL", "")).strip()
    if not name or name.lower() == "none":
        return None
    return chat_model(name, max_retries)
