"""`csm chat`: the chat agent in the terminal, `you> ` prompts and answers streamed sentence by
sentence through the grounding guard, memory per thread in SQLite, and an exit code that says
whether every turn was answered."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agent.interfaces.commands.kb import knowledge_ready
from agent.interfaces.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, CliError
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


@dataclass
class Turn:
    """How one turn ended: answered, or why not."""

    answered: bool
    reason: str = ""


class AnswerPrinter:
    """Prints a turn as it streams: each sentence of the answer once it is complete and the
    grounding guard has checked it against the thread's tool results (a sentence that fails is
    printed as its `[withheld: ...]` marker), a line per tool call, and how the answer ended."""

    def __init__(self, output: TextIO, messages: list[Any], lang: str) -> None:
        self.output, self.messages, self.lang = output, messages, lang
        self.buffers: dict[str, str] = {}
        self.held: set[str] = set()  # answers that may be tool calls written as text
        self.started = False  # a "csm> " line is open
        self.final: Any = None
        self._grounding: Any = None

    def grounding(self) -> Any:
        from agent.chat.grounding import conversation_grounding

        if self._grounding is None:
            self._grounding = conversation_grounding(self.messages)
        return self._grounding

    def write(self, text: str) -> None:
        if not self.started:
            text = text.lstrip()
            if not text:
                return
            self.output.write("csm> ")
            self.started = True
        self.output.write(terminal_text(text))
        self.output.flush()

    def line(self, text: str) -> None:
        if self.started:
            self.output.write("\n")
            self.started = False
        self.output.write(terminal_line(text) + "\n")
        self.output.flush()

    def token(self, message_id: str, piece: str) -> None:
        """A streamed piece of a model answer: print the sentences it completes."""
        from agent.assessment.guard import SENTENCE_END

        buffer = self.buffers.get(message_id, "") + piece
        if message_id not in self.held and buffer.lstrip()[:1] in ("{", "<", "[", "`"):
            self.held.add(message_id)
        while message_id not in self.held:
            cut = next((m for m in SENTENCE_END.finditer(buffer) if m.end() < len(buffer)), None)
            if cut is None:
                break
            self._say(buffer[:cut.start()], cut.group())
            buffer = buffer[cut.end():]
        self.buffers[message_id] = buffer

    def _say(self, sentence: str, gap: str) -> None:
        from agent.chat.grounding import guard_sentence

        self.write(guard_sentence(sentence, self.grounding(), self.lang)[0] + gap)

    def _flush(self, message_id: str | None) -> None:
        from agent.assessment.guard import sentences

        rest = self.buffers.pop(message_id or "", "")
        for sentence, gap in sentences(rest):
            self._say(sentence, gap)

    def update(self, node: str, update: Any) -> None:
        """A node's update: tool results, and each model message as the guard left it."""
        from langchain_core.messages import AIMessage, ToolMessage

        for message in (update or {}).get("messages", []) if isinstance(update, dict) else []:
            self._keep(message)
            if isinstance(message, ToolMessage):
                self._tool(message)
            elif isinstance(message, AIMessage) and node != "model":
                self._settle(message)
            elif isinstance(message, AIMessage) and message.tool_calls:
                if message.id in self.held:
                    self.buffers.pop(message.id, None)
                else:
                    self._flush(message.id)

    def _keep(self, message: Any) -> None:
        self.messages[:] = [m for m in self.messages if m.id is None or m.id != message.id]
        self.messages.append(message)
        self._grounding = None

    def _tool(self, message: Any) -> None:
        from agent.chat.grounding import invalid_arguments, message_text, tool_payload

        name = terminal_line(message.name)
        raw = invalid_arguments(message)
        if raw is not None:
            self.line(f"  [tool {name} not run: its arguments were not valid JSON: {raw}]")
        elif message.status == "error":
            payload = tool_payload(message)
            text = payload if isinstance(payload, str) else message_text(message)
            lines = text.strip().splitlines()
            reason = lines[0][:200] if lines else "no details"
            verb = "not run" if "is not a valid tool" in reason else "failed"
            self.line(f"  [tool {name} {verb}: {reason.removeprefix('Error: ')}]")
        else:
            self.line(f"  [tool {name}]")

    def _settle(self, message: Any) -> None:
        if message.tool_calls:  # a tool call the model wrote as text
            self.buffers.pop(message.id, None)
            self.held.discard(message.id)
            return
        guard = (message.response_metadata or {}).get("csm_guard", {})
        if message.id in self.held:
            self.buffers.pop(message.id, None)
            self.write(message.content)  # already guarded by the middleware
        else:
            self._flush(message.id)
            if guard.get("summary"):
                from agent.chat.grounding import WORDS

                words = WORDS.get(self.lang, WORDS["en"])
                self.line(f"{words['summary']}: {guard['summary']}")
        if guard.get("cut") and message.id not in self.held:
            from agent.chat.grounding import WORDS

            self.line(WORDS.get(self.lang, WORDS["en"])["cut"])
        self.final = message

    def result(self) -> Turn:
        """How the turn ended, once the stream is over."""
        if self.started:
            self.output.write("\n")
            self.started = False
        self.output.flush()
        if self.final is None:
            self.line("csm: the model gave no usable answer; ask again.")
            return Turn(False, "the model gave no usable answer")
        guard = (self.final.response_metadata or {}).get("csm_guard", {})
        if guard.get("cut"):
            return Turn(False, "the answer was cut off")
        if guard.get("empty"):
            self.line("csm: the model returned an empty answer; ask again.")
            return Turn(False, "the model returned an empty answer")
        if guard.get("withheld"):
            return Turn(False, "parts of the answer were not in the tool results and were "
                               "withheld")
        return Turn(True)


def chat_turn(agent: Any, config: dict[str, Any], text: str, output: TextIO) -> Turn:
    """Send one user message and print the answer as it streams, each sentence checked by the
    grounding guard before it is shown."""
    from langchain_core.messages import AIMessage, HumanMessage

    from agent.assessment.guard_words import language_of
    from agent.chat.grounding import message_text

    try:
        earlier = list(agent.get_state(config).values.get("messages", []))
    except Exception:  # noqa: BLE001 - no checkpointer: no earlier turns
        earlier = []
    printer = AnswerPrinter(output, [*earlier, HumanMessage(text)], language_of(text))
    for mode, payload in agent.stream(
        {"messages": [{"role": "user", "content": text}]}, config,
        stream_mode=["messages", "updates"],
    ):
        if mode == "messages":
            chunk, meta = payload
            if isinstance(chunk, AIMessage) and meta.get("langgraph_node") == "model":
                piece = message_text(chunk)
                if piece:
                    printer.token(chunk.id or "", piece)
        elif isinstance(payload, dict):
            for node, update in payload.items():
                for item in update if isinstance(update, list) else [update]:
                    printer.update(node, item)
    return printer.result()


def run_chat(
    thread: str = "default",
    model: BaseChatModel | None = None,
    input: TextIO = sys.stdin,  # noqa: A002 - the REPL's input stream
    output: TextIO = sys.stdout,
    db: Path | str | None = None,
) -> int:
    """The terminal chat: `you> ` prompts, streamed answers, memory per thread, /exit quits.

    Returns 0 when every turn was answered (or there was none), 2 when some turns failed (a
    model error, an answer cut off or partly withheld, no usable answer), 1 when every turn
    failed."""
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
    turns: list[Turn] = []
    try:
        agent = build_chat_agent(model, saver)
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread},
            "recursion_limit": max_steps(),
        }
        for text in _lines(input, output):
            try:
                turns.append(chat_turn(agent, config, text, output))
            except KeyboardInterrupt:
                output.write("\n(interrupted)\n")
                close_open_tool_calls(agent, config)
            except Exception as error:  # noqa: BLE001 - one sentence; the session goes on
                output.write(f"\ncsm: {terminal_line(explain(error))}\n")
                close_open_tool_calls(agent, config)
                turns.append(Turn(False, explain(error).split(";")[0].rstrip(".")[:120]))
            output.flush()
    finally:
        saver.conn.close()
    failed = [t for t in turns if not t.answered]
    if not failed:
        return EXIT_OK
    reasons = "; ".join(dict.fromkeys(t.reason for t in failed))
    output.write(terminal_line(f"csm: {len(failed)} of {len(turns)} turns failed ({reasons})")
                 + "\n")
    output.flush()
    return EXIT_FAILED if len(failed) == len(turns) else EXIT_PARTIAL


def register(sub: Any) -> None:
    """Add `csm chat` to the command line."""
    chat = sub.add_parser(
        "chat", help="talk to the agent in the terminal",
        description="A chat agent over the csm tools (scores, accounts, history, assessment, "
                    "knowledge search) that streams its answers. Each --thread keeps its "
                    "memory in chat.sqlite3 in the data directory. Type /exit to quit.",
        epilog="Needs a model: CSM_MODEL=openai:gpt-4.1-mini with OPENAI_API_KEY, or an "
               "OpenAI-compatible server (Ollama, vLLM) via OPENAI_BASE_URL.\n"
               "Exit code: 0 every turn answered, 2 some turns failed (model error, answer "
               "cut off or partly withheld as not in the tool results, no usable answer), 1 "
               "every turn failed.\n"
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
    return run_chat(args.thread, model=model, input=sys.stdin, output=sys.stdout)
