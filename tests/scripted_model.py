"""A scripted chat model for offline tests: it answers from a list, tools and structured output
included, and records every call."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class ScriptedChatModel(BaseChatModel):
    """Replies with the next scripted item: an AIMessage, a string, or an exception to raise."""

    script: list[Any]
    calls: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if not self.script:
            raise RuntimeError("the scripted model has no answer left")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        message = item if isinstance(item, AIMessage) else AIMessage(content=str(item))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self


def prose_answer(summary: str) -> AIMessage:
    """A tool-call answer that LangChain's structured output parses as `Prose`."""
    return AIMessage(
        content="",
        tool_calls=[
            {"name": "Prose", "args": {"summary": summary}, "id": "call-1", "type": "tool_call"}
        ],
    )
