"""`csm chat`: a tool-calling chat agent over the csm tools, with memory per thread.

The agent is LangChain's `create_agent` with the read-only tools of `agent.chat.tool_surface`, the
system prompt in `prompts/chat_system.md`, a bounded tool loop (CSM_CHAT_MAX_STEPS) and, in
the terminal, a SQLite checkpointer in the data directory. Model failures end in one sentence
and the session goes on."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.chat.grounding import message_text
from agent.models import NO_MODEL, chat_model, max_steps, model_timeout

__all__ = ["NO_MODEL", "build_chat_agent", "chat_model", "max_steps", "message_text",
           "model_timeout"]


def system_prompt() -> str:
    """The chat agent's instructions (prompts/chat_system.md)."""
    return resources.files("prompts").joinpath("chat_system.md").read_text(encoding="utf-8")


def build_chat_agent(model: BaseChatModel | str, checkpointer: Any = None) -> Any:
    """The chat agent: `create_agent` over the read-only tools with the grounding middleware
    (agent.chat.grounding), bounded to `max_steps()`."""
    from langchain.agents import create_agent

    from agent.chat.grounding import GroundingMiddleware
    from agent.chat.tool_surface import langchain_tools

    tools = langchain_tools()
    # the stand-in for a missing model speaks our own sentence: nothing to guard
    guard = [] if isinstance(model, UnconfiguredModel) else [
        GroundingMiddleware(t.name for t in tools)]
    agent = create_agent(
        model, tools=tools, system_prompt=system_prompt(), checkpointer=checkpointer,
        middleware=guard,
    )
    return agent.with_config({"recursion_limit": max_steps()})


def chat_db_path() -> Path:
    """Where the chat threads live: chat.sqlite3 in the data directory."""
    from tools.paths import data_dir

    return data_dir() / "chat.sqlite3"


def sqlite_checkpointer(path: Path | str | None = None) -> Any:
    """A SqliteSaver on `path` (default: chat.sqlite3 in the data directory); close its `conn`."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    target = Path(path) if path else chat_db_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(target), check_same_thread=False))


class UnconfiguredModel(BaseChatModel):
    """Stands in for a model that is not configured: every turn answers, as one AI message,
    the sentence that says how to configure one (`reason`)."""

    reason: str = NO_MODEL.replace("csm chat needs", "the chat graph needs")

    @property
    def _llm_type(self) -> str:
        return "unconfigured"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reason))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> UnconfiguredModel:
        return self


def server_graph() -> Any:
    """The chat agent for `langgraph dev` (the server brings its own checkpointer). Without a
    usable model it answers each message with the sentence that says how to configure one."""
    try:
        model: BaseChatModel = chat_model()
    except ValueError as error:
        reason = str(error).replace("csm chat needs", "the chat graph needs")
        model = UnconfiguredModel(reason=reason)
    return build_chat_agent(model)


def explain(error: BaseException) -> str:
    """One sentence for a failed turn, without a traceback."""
    from langgraph.errors import GraphRecursionError

    if isinstance(error, GraphRecursionError):
        return (
            f"stopped after {max_steps()} steps without a final answer; ask a narrower "
            "question or raise CSM_CHAT_MAX_STEPS."
        )
    broken = _broken_stream(error)
    if broken:
        return (
            f"the model server broke off the answer mid-stream ({broken}); the partial answer "
            "is not saved; try again."
        )
    try:
        import openai
    except ImportError:  # pragma: no cover - openai comes with langchain-openai
        openai = None  # type: ignore[assignment]
    if openai is not None:
        if isinstance(error, openai.AuthenticationError):
            return "the model server rejected the API key; check OPENAI_API_KEY."
        if isinstance(error, openai.APITimeoutError):
            return (
                f"the model did not answer within {model_timeout():g} s (after retries); "
                "try again or raise CSM_MODEL_TIMEOUT."
            )
        if isinstance(error, openai.RateLimitError):
            return "the model server is still rate-limiting after retries; wait and try again."
        if isinstance(error, openai.APIConnectionError):
            return (
                "cannot reach the model server; check OPENAI_BASE_URL and that the server "
                "is running."
            )
        if isinstance(error, openai.APIStatusError):
            return (
                f"the model server answered HTTP {error.status_code} "
                f"({_first_line(error.message)})."
            )
    if isinstance(error, ValueError) and str(error).startswith(("csm chat needs", "the chat")):
        return str(error)
    return f"the model call failed ({type(error).__name__}: {_first_line(str(error))})."


def _broken_stream(error: BaseException) -> str | None:
    """The reason when the error (or one it came from) is a response body cut off midway."""
    seen: BaseException | None = error
    while seen is not None:
        text = str(seen)
        if type(seen).__name__ == "RemoteProtocolError" or "incomplete chunked read" in text:
            return _first_line(text)
        seen = seen.__cause__ or seen.__context__
    return None


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return (lines[0] if lines else "no details")[:200]


def close_open_tool_calls(agent: Any, config: dict[str, Any]) -> None:
    """After a failed turn, answer tool calls left without results so the thread stays valid."""
    try:
        messages = agent.get_state(config).values.get("messages", [])
    except Exception:  # noqa: BLE001 - nothing to repair without a checkpointer
        return
    if not messages or not isinstance(messages[-1], AIMessage) or not messages[-1].tool_calls:
        return
    closing = [
        ToolMessage(
            content="not run: the turn was stopped.",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )
        for call in messages[-1].tool_calls
    ]
    agent.update_state(config, {"messages": closing}, as_node="tools")
