"""The chat panel's side of the server: the chat agent of `agent.chat` (the same tools, prompt
and step bound as `csm chat`), one thread per browser user and account, kept in the data
directory's chat store, answers streamed as JSON lines.

The account a page shows goes with each message as one context line, so the agent knows which
account "this client" is and looks it up with its tools; the line is not shown back in the
panel. Without a configured model the panel shows the one sentence that says how to configure
one, and nothing is sent."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from agent.chat.agent import (
    NO_MODEL,
    build_chat_agent,
    chat_model,
    close_open_tool_calls,
    explain,
    max_steps,
    message_text,
    sqlite_checkpointer,
)

CONTEXT = "[csm serve: the user is looking at {what}.]"
MAX_MESSAGE = 4000  # characters of one user message


def panel_sentence(reason: str) -> str:
    """The configuring sentence, worded for the panel."""
    return reason.replace("csm chat needs", "the chat panel needs")


class ChatService:
    """The chat agent of one `csm serve`, or the reason there is none."""

    def __init__(self, model: Any = None, db: Any = None) -> None:
        self.reason: str | None = None
        if model is None:
            try:
                model = chat_model()
            except ValueError as error:
                self.reason = panel_sentence(str(error))
        self._saver = sqlite_checkpointer(db)
        self._agent = build_chat_agent(model, self._saver) if model is not None else None
        self._locks: dict[str, threading.Lock] = {}  # one turn at a time per thread
        self._guard = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether a model answers."""
        return self._agent is not None

    def close(self) -> None:
        """Close the chat store."""
        self._saver.conn.close()

    @staticmethod
    def thread_id(user: str, account_id: str | None) -> str:
        """One thread per browser user and account (the portfolio has its own)."""
        if account_id is None:
            return f"web-{user}-portfolio"
        digest = hashlib.sha256(account_id.encode("utf-8", "surrogatepass")).hexdigest()
        return f"web-{user}-account-{digest[:20]}"

    def _config(self, user: str, account_id: str | None) -> dict[str, Any]:
        return {"configurable": {"thread_id": self.thread_id(user, account_id)},
                "recursion_limit": max_steps()}

    def history(self, user: str, account_id: str | None) -> list[dict[str, str]]:
        """The thread's messages as the panel shows them: the user's (without the context
        line) and the agent's answers; tool calls are left out."""
        if self._agent is None or not user:
            return []
        from langchain_core.messages import AIMessage, HumanMessage

        state = self._agent.get_state(self._config(user, account_id))
        shown = []
        for message in (state.values or {}).get("messages", []):
            if isinstance(message, HumanMessage):
                shown.append({"role": "user", "text": _without_context(message_text(message))})
            elif isinstance(message, AIMessage) and not message.tool_calls:
                text = message_text(message)
                if text:
                    shown.append({"role": "assistant", "text": text})
        return shown

    def stream(self, user: str, account: dict[str, str] | None, text: str) -> Iterator[str]:
        """One turn, as JSON lines: `{"type": "token", "text"}` pieces of the answer,
        `{"type": "tool", "name"}` when the agent calls a tool, `{"type": "error", "text"}`
        (one sentence) and a final `{"type": "done"}`."""
        if self._agent is None:
            yield _line("error", text=self.reason or panel_sentence(NO_MODEL))
            yield _line("done")
            return
        from langchain_core.messages import AIMessage, ToolMessage

        account_id = account["id"] if account else None
        config = self._config(user, account_id)
        what = (f"account id {json.dumps(account['id'], ensure_ascii=False)} named "
                f"{json.dumps(account['name'], ensure_ascii=False)}" if account
                else "the whole portfolio")
        content = f"{CONTEXT.format(what=what)}\n\n{text}"
        with self._guard:
            lock = self._locks.setdefault(config["configurable"]["thread_id"], threading.Lock())
        with lock:
            try:
                for chunk, meta in self._agent.stream(
                    {"messages": [{"role": "user", "content": content}]}, config,
                    stream_mode="messages",
                ):
                    if isinstance(chunk, ToolMessage):
                        yield _line("tool", name=chunk.name or "tool")
                    elif isinstance(chunk, AIMessage) and meta.get("langgraph_node") == "model":
                        piece = message_text(chunk)
                        if piece:
                            yield _line("token", text=piece)
            except Exception as error:  # noqa: BLE001 - one sentence; the thread stays usable
                close_open_tool_calls(self._agent, config)
                yield _line("error", text=explain(error))
        yield _line("done")


def _line(kind: str, **values: str) -> str:
    return json.dumps({"type": kind, **values}, ensure_ascii=False) + "\n"


def _without_context(text: str) -> str:
    """A user message without the context line the server put before it."""
    if text.startswith("[csm serve: ") and "]\n\n" in text:
        return text.split("]\n\n", 1)[1]
    return text
