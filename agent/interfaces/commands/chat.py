"""`csm chat`: the chat agent in the terminal, `you> ` prompts and streamed answers, memory per
thread in SQLite."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agent.interfaces.commands.kb import knowledge_ready
from agent.interfaces.errors import CliError
from tools.escaping import terminal_line, terminal_text

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

PROMPT = "you> "

def _lines(source: TextIO, output: TextIO) -> Iterator[str]:
    """The user's lines until EOF or /exit, prompting before each."""
    while True:
        output.write(PROMPT)
        output.flush()
        line = source.readline()
        if not line:
            output.write("\n")
            return
        text = line.strip()
        if text in ("/exit", "/quit"):
            return
        if text:
            yield text


def chat_turn(agent: Any, config: dict[str, Any], text: str, output: TextIO) -> None:
    """Send one user message and stream the answer's tokens to `output`."""
    from langchain_core.messages import AIMessage, ToolMessage

    from agent.chat.agent import message_text

    started = False
    for chunk, meta in agent.stream(
        {"messages": [{"role": "user", "content": text}]}, config, stream_mode="messages"
    ):
        if isinstance(chunk, ToolMessage):
            output.write(("\n" if started else "") + f"  [tool {terminal_line(chunk.name)}]\n")
            started = False
            continue
        if not isinstance(chunk, AIMessage) or meta.get("langgraph_node") != "model":
            continue
        piece = terminal_text(message_text(chunk))  # the model may echo account text
        if piece:
            if not started:
                output.write("csm> ")
                started = True
            output.write(piece)
            output.flush()
    output.write("\n")
    output.flush()


def run_chat(
    thread: str = "default",
    model: BaseChatModel | None = None,
    input: TextIO = sys.stdin,  # noqa: A002 - the REPL's input stream
    output: TextIO = sys.stdout,
    db: Path | str | None = None,
) -> int:
    """The terminal chat: `you> ` prompts, streamed answers, memory per thread, /exit quits."""
    from agent.chat.agent import (
        build_chat_agent,
        chat_model,
        close_open_tool_calls,
        explain,
        max_steps,
        sqlite_checkpointer,
    )

    model = model if model is not None else chat_model()
    saver = sqlite_checkpointer(db)
    try:
        agent = build_chat_agent(model, saver)
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread},
            "recursion_limit": max_steps(),
        }
        for text in _lines(input, output):
            try:
                chat_turn(agent, config, text, output)
            except KeyboardInterrupt:
                output.write("\n(interrupted)\n")
                close_open_tool_calls(agent, config)
            except Exception as error:  # noqa: BLE001 - one sentence; the session goes on
                output.write(f"\ncsm: {terminal_line(explain(error))}\n")
                close_open_tool_calls(agent, config)
            output.flush()
    finally:
        saver.conn.close()
    return 0


def register(sub: Any) -> None:
    """Add `csm chat` to the command line."""
    chat = sub.add_parser(
        "chat", help="talk to the agent in the terminal",
        description="A chat agent over the csm tools (scores, accounts, history, assessment, "
                    "knowledge search) that streams its answers. Each --thread keeps its "
                    "memory in chat.sqlite3 in the data directory. Type /exit to quit.",
        epilog="Needs a model: CSM_MODEL=openai:gpt-4.1-mini with OPENAI_API_KEY, or an "
               "OpenAI-compatible server (Ollama, vLLM) via OPENAI_BASE_URL.\n"
               "Examples:\n  csm chat --thread acme\n  csm chat --model openai:gpt-4.1-mini",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument("--thread", default="default", metavar="NAME",
                      help="conversation to continue or start (default: default)")
    chat.add_argument("--model", metavar="PROVIDER:MODEL", help="the model (default: $CSM_MODEL)")
    chat.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm chat`."""
    from agent.chat.agent import chat_model, max_steps

    try:
        max_steps()  # a bad CSM_CHAT_MAX_STEPS is named before the session starts
        model = chat_model(args.model)
    except ValueError as error:
        raise CliError(str(error)) from None
    knowledge_ready()
    return run_chat(args.thread, model=model)
