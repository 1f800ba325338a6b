"""The scripted model: a chat model that plays each task's script, so the agent evals run offline
(CI) through the real chat agent, tools, grounding guard and grader.

In a chat turn it first makes the task's expected tool calls (the task is found by the user's
question), then writes the task's `answer` with its `{N:path}` placeholders filled from the tool
results it was given (not from the task file). Asked for report prose, it returns the
deterministic draft it was sent, so the report-prose checks measure whether the guard accepts the
drafts the tools wrote. Its tasks can be replaced (tests give it faulty ones)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.assessment.guard import read_data_blocks
from agent.chat.grounding import message_text, tool_payload
from evals.agent.tasks import Task, load_tasks, values_at
from tools.numbers import plain

PLACEHOLDER = re.compile(r"\{(\d+):([\w.*]+)\}")


def fill(template: str, results: Sequence[Any]) -> str:
    """The template with each `{N:path}` replaced by the value(s) at path in result N."""

    def value(match: re.Match[str]) -> str:
        n, path = int(match.group(1)), match.group(2)
        found = values_at(results[n], path) if n < len(results) else []
        shown = [plain(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                 for v in found]
        return ", ".join(shown) if shown else "unknown"

    return PLACEHOLDER.sub(value, " ".join(template.split()))


class ScriptedAgentModel(BaseChatModel):
    """Plays the tasks' scripts (see the module docstring)."""

    tasks: tuple[Task, ...] = ()

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def model_post_init(self, context: Any) -> None:
        if not self.tasks:
            self.tasks = load_tasks()

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedAgentModel:
        return self

    def _answer(self, messages: list[BaseMessage]) -> AIMessage:
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        text = message_text(human) if human is not None else ""
        draft = read_data_blocks(text).get("deterministic_draft")
        if draft is not None:  # report prose: structured output through a `Prose` tool call
            return AIMessage(content="", tool_calls=[{
                "name": "Prose", "args": {"summary": draft}, "id": "call-prose",
                "type": "tool_call"}])
        task = next((t for t in self.tasks if t.question == text), None)
        if task is None:
            return AIMessage(content="The scripted model has no script for this question.")
        start = max(i for i, m in enumerate(messages) if m is human)
        results = [tool_payload(m) for m in messages[start:] if isinstance(m, ToolMessage)]
        if not results:
            return AIMessage(content="", tool_calls=[
                {"name": c.name, "args": dict(c.args), "id": f"call-{i}", "type": "tool_call"}
                for i, c in enumerate(task.calls)])
        return AIMessage(content=fill(task.answer, results))
