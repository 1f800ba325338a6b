"""Chat answers held to the tool results of their conversation, like the report prose.

`GroundingMiddleware` runs after every model call of the chat agent:

- a final answer is checked sentence by sentence with the grounding guard
  (agent.assessment.guard) against every tool result, tool argument and user message of the
  thread; a sentence that fails is replaced by a `[withheld: ...]` marker naming what was
  unsupported, and a summary built only from this turn's tool results is appended, so nothing
  unsupported is kept or shown as fact;
- an answer whose stream ended without a finish reason (cut off) or at the token limit is kept
  with a marker saying it is incomplete, never as a complete answer;
- tool calls whose arguments are not JSON get an error result naming the tool, and the model
  one more try (two in a row end the turn); a streamed call's raw arguments are checked, since
  LangChain parses them leniently (`{account_id: acc-037` would become `{}`);
- a tool call written as text (`<tool_call>{...}</tool_call>`, `<function=name>{...}</function>`
  or a bare JSON object naming a known tool), as small local models do, becomes a real call.

What the middleware decides is in the final message's `response_metadata["csm_guard"]`."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain.agents.middleware import AgentMiddleware, hook_config
from langchain.agents.middleware.types import ModelResponse
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tracers.context import register_configure_hook

from agent.assessment.guard import (
    UNQUOTED,
    Finding,
    Grounding,
    check,
    read_data_blocks,
    sentences,
)
from agent.assessment.guard_words import language_of
from tools.numbers import plain

INVALID_ARGUMENTS = "invalid_arguments"  # the artifact key of a result for arguments not JSON
KINDS = {
    "en": {"number": "numbers not in the tool results", "date": "dates not in the tool results",
           "id": "account ids not in the tool results", "link": "links or e-mail addresses",
           "instruction": "instructions taken from the data",
           "topic": "signals, gaps or offers the tool results do not have",
           "name": "names not in the tool results"},
    "ru": {"number": "числа, которых нет в результатах инструментов",
           "date": "даты, которых нет в результатах инструментов",
           "id": "id клиентов, которых нет в результатах инструментов",
           "link": "ссылки или адреса e-mail", "instruction": "инструкции из данных",
           "topic": "сигналы, пробелы или предложения, которых нет в результатах",
           "name": "имена, которых нет в результатах инструментов"},
}
WORDS = {
    "en": {"withheld": "withheld", "summary": "From the tool results",
           "no_tools": "no tool was called in this turn, so no figure can be confirmed; ask "
                       "again naming the account (list_accounts shows the ids).",
           "cut": "[the answer was cut off: the model server ended it early; this is not a "
                  "complete answer]"},
    "ru": {"withheld": "скрыто", "summary": "По результатам инструментов",
           "no_tools": "в этом ходе не вызван ни один инструмент, поэтому ни одну цифру нельзя "
                       "подтвердить; спросите ещё раз, назвав клиента (list_accounts покажет id).",
           "cut": "[ответ оборван: сервер модели прервал его; это не полный ответ]"},
}


def message_text(message: BaseMessage) -> str:
    """The text of a message (the text parts of a list content)."""
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "") if isinstance(part, dict) else str(part)
        for part in content
        if isinstance(part, str) or part.get("type") == "text"
    )


def tool_payload(message: ToolMessage) -> Any:
    """What a tool returned: its artifact, else its data block, else its JSON, else its text."""
    if isinstance(message.artifact, (dict, list)):
        return message.artifact
    text = message_text(message)
    blocks = read_data_blocks(text)
    if blocks:
        return next(iter(blocks.values()))
    try:
        return json.loads(text)
    except ValueError:
        return text


def conversation_grounding(messages: Iterable[BaseMessage]) -> Grounding:
    """The grounding of a chat thread: its tool results and tool arguments (facts), its tool
    errors (quoted text) and its user messages (what the user said). Earlier answers are not
    grounding: a figure is only as good as the tool that gave it."""
    sources: list[Any] = []
    quoted: list[str] = []
    said: list[str] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            said.append(message_text(message))
        elif isinstance(message, ToolMessage):
            payload = tool_payload(message)
            if message.status == "error" or isinstance(payload, str):
                quoted.append(payload if isinstance(payload, str) else message_text(message))
            else:
                sources.append(payload)
        elif isinstance(message, AIMessage):
            sources += [call["args"] for call in message.tool_calls]
    return Grounding.of(*sources, quoted=quoted, said=said)


def describe_findings(findings: Sequence[Finding], lang: str, limit: int = 3) -> str:
    """The findings of one sentence, one clause per kind, in the answer's language (links and
    instructions named by kind only: the marker must not carry them to the reader)."""
    by_kind: dict[str, list[str]] = {}
    for f in findings:
        shown = by_kind.setdefault(f.kind, [])
        if f.text not in shown:
            shown.append(f.text)
    words = KINDS.get(lang, KINDS["en"])
    return "; ".join(words[k] if k in UNQUOTED else f"{words[k]}: {', '.join(v[:limit])}"
                     for k, v in by_kind.items())


def guard_sentence(sentence: str, grounding: Grounding, lang: str) -> tuple[str, list[Finding]]:
    """The sentence when the guard finds nothing, else its `[withheld: ...]` marker."""
    findings = check(sentence, grounding)
    if not findings:
        return sentence, []
    word = WORDS.get(lang, WORDS["en"])["withheld"]
    return f"[{word}: {describe_findings(findings, lang)}]", findings


@dataclass
class Guarded:
    """A final answer after the guard: what is shown and kept, and why."""

    text: str
    withheld: list[str] = field(default_factory=list)
    summary: str | None = None
    cut: bool = False
    empty: bool = False

    def metadata(self) -> dict[str, Any]:
        return {"withheld": self.withheld, "summary": self.summary, "cut": self.cut,
                "empty": self.empty}


def guard_answer(text: str, grounding: Grounding, lang: str,
                 results: Sequence[tuple[str, Any]], cut: bool = False) -> Guarded:
    """The answer with each unsupported sentence withheld, a summary from this turn's tool
    results when any was, and the cut-off marker when the stream ended early."""
    parts: list[str] = []
    withheld: list[str] = []
    for sentence, gap in sentences(text):
        shown, findings = guard_sentence(sentence, grounding, lang)
        if findings:
            withheld.append(describe_findings(findings, lang))
        parts.append(shown + gap)
    body = "".join(parts).rstrip()
    summary = grounded_summary(results, lang) if withheld else None
    words = WORDS.get(lang, WORDS["en"])
    if summary:
        body += f"\n{words['summary']}: {summary}"
    if cut:
        body = (body + "\n" if body else "") + words["cut"]
    return Guarded(body, withheld, summary, cut, empty=not text.strip() and not cut)


def is_cut(message: AIMessage) -> bool:
    """Whether an answer ended early: stopped at the token limit (any provider's key for it),
    or an OpenAI-compatible stream that ended without a finish reason (it broke off)."""
    meta = message.response_metadata or {}
    reasons = [meta.get(k) for k in ("finish_reason", "stop_reason", "done_reason")]
    if any(r in ("length", "max_tokens") for r in reasons):
        return True
    return meta.get("model_provider") == "openai" and not any(reasons)


# the grounded summary ------------------------------------------------------------------------


def grounded_summary(results: Sequence[tuple[str, Any]], lang: str) -> str:
    """One line per tool result of the turn, built only from the tools' own values."""
    lines = [line for name, result in results if (line := _summary(name, result, lang))]
    return " ".join(lines) if lines else WORDS.get(lang, WORDS["en"])["no_tools"]


def _n(value: Any) -> str:
    return "?" if value is None else plain(value) if isinstance(value, (int, float)) else str(value)


def _summary(name: str, result: Any, lang: str) -> str:
    ru = lang == "ru"
    if isinstance(result, str):
        return f"{name}: {result.strip()[:200]}"
    if not isinstance(result, dict):
        return ""
    if name == "score_account":
        health, churn = result.get("health") or {}, result.get("churn_risk") or {}
        signals = ", ".join(s.get("id", "") for s in result.get("signals") or []) or "—"
        return (f"{result.get('id')}: {'здоровье' if ru else 'health'} {_n(health.get('score'))} "
                f"({health.get('color')}), {'риск оттока' if ru else 'churn risk'} "
                f"{_n(churn.get('score'))} ({churn.get('tier')}); "
                f"{'сигналы' if ru else 'signals'}: {signals}.")
    if name == "list_accounts":
        rows = result.get("accounts") or []
        shown = "; ".join(f"{r.get('id')} ({'риск оттока' if ru else 'churn risk'} "
                          f"{_n(r.get('churn_risk'))}, {r.get('tier')})" for r in rows[:5])
        return (f"list_accounts: {'всего' if ru else 'total'} {_n(result.get('total'))}"
                + (f"; {shown}." if shown else "."))
    if name == "assess_account":
        forecast = result.get("forecast") or {}
        return (f"{result.get('id')}: {'вероятность продления' if ru else 'renewal probability'}"
                f" {_n(forecast.get('renewal_probability'))}, "
                f"{'уровень' if ru else 'tier'} {forecast.get('tier')}.")
    if name == "account_history":
        snapshots = result.get("snapshots") or []
        return (f"{result.get('id')}: {len(snapshots)} "
                f"{'снимков в истории' if ru else 'stored snapshots'}.")
    if name == "search_knowledge":
        found = "; ".join(f"{p.get('source')} > {p.get('heading')}"
                          for p in (result.get("results") or [])[:3])
        return f"search_knowledge: {found}." if found else ""
    return ""


# tool calls written as text ------------------------------------------------------------------

TAGGED = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)
FUNCTION = re.compile(r"<function=([\w-]+)>\s*(\{.*?\})\s*</function>", re.DOTALL)
FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def text_tool_calls(text: str, names: Iterable[str]) -> list[dict[str, Any]]:
    """Tool calls a model wrote as text instead of calling: Qwen's `<tool_call>{"name": ...,
    "arguments": {...}}</tool_call>`, `<function=name>{...}</function>`, or the whole answer a
    JSON object (or a list of them, fenced or not) naming a known tool. Anything else: []."""
    known = set(names)
    found: list[tuple[str, Any]] = []
    for m in FUNCTION.finditer(text):
        found.append((m.group(1), _loads(m.group(2))))
    objects = [_loads(m.group(1)) for m in TAGGED.finditer(text)]
    if not found and not objects:
        stripped = text.strip()
        fenced = FENCED.match(stripped)
        whole = _loads(fenced.group(1) if fenced else stripped)
        objects = whole if isinstance(whole, list) else [whole]
    for obj in objects:
        if isinstance(obj, dict):
            name = obj.get("name") or obj.get("tool") or (obj.get("function") or {}).get("name")
            args = obj.get("arguments", obj.get("parameters", obj.get("args", {})))
            if isinstance(args, str):
                args = _loads(args)
            found.append((name, args))
    calls = []
    for name, args in found:
        if name not in known or not isinstance(args, dict):
            return []
        calls.append({"name": name, "args": args, "id": f"call-text-{uuid.uuid4().hex[:12]}",
                      "type": "tool_call"})
    return calls


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


# raw arguments of streamed tool calls -------------------------------------------------------


class RawArguments(BaseCallbackHandler):
    """Collects the argument text of streamed tool calls, by call id, as the server sent it."""

    def __init__(self) -> None:
        self.parts: dict[int, list[str]] = {}
        self.ids: dict[int, str] = {}

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        for part in getattr(getattr(chunk, "message", None), "tool_call_chunks", None) or []:
            index = part.get("index") or 0
            self.parts.setdefault(index, []).append(part.get("args") or "")
            if part.get("id"):
                self.ids.setdefault(index, part["id"])

    def by_id(self) -> dict[str, str]:
        return {self.ids[i]: "".join(p) for i, p in self.parts.items() if i in self.ids}


RECORDER: ContextVar[RawArguments | None] = ContextVar("csm_raw_tool_arguments", default=None)
register_configure_hook(RECORDER, inheritable=True)  # every run started while it is set


def not_a_json_object(raw: str) -> bool:
    """Whether a tool call's raw arguments are anything but a JSON object (empty is `{}`)."""
    if not raw.strip():
        return False
    try:
        return not isinstance(json.loads(raw), dict)
    except ValueError:
        return True


def strict_calls(message: BaseMessage, raw: dict[str, str]) -> BaseMessage:
    """The message with each tool call whose raw streamed arguments are not a JSON object moved
    to `invalid_tool_calls` (raw: call id -> argument text)."""
    if not isinstance(message, AIMessage) or not message.tool_calls:
        return message
    bad = [c for c in message.tool_calls if not_a_json_object(raw.get(c.get("id") or "", ""))]
    if not bad:
        return message
    invalid = [{"type": "invalid_tool_call", "name": c["name"], "args": raw[c["id"] or ""],
                "id": c["id"], "error": "arguments are not valid JSON"} for c in bad]
    return message.model_copy(update={
        "tool_calls": [c for c in message.tool_calls if c not in bad],
        "invalid_tool_calls": [*message.invalid_tool_calls, *invalid],
    })


def _strict_response(response: Any, recorder: RawArguments) -> Any:
    raw = recorder.by_id()
    if not raw:
        return response
    if isinstance(response, AIMessage):
        return strict_calls(response, raw)
    if isinstance(response, ModelResponse):
        return ModelResponse(result=[strict_calls(m, raw) for m in response.result],
                             structured_response=response.structured_response)
    return response


# the middleware ------------------------------------------------------------------------------


def turn_start(messages: Sequence[BaseMessage]) -> int:
    """The index of the last user message (the start of the current turn)."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return 0


def turn_results(messages: Sequence[BaseMessage]) -> list[tuple[str, Any]]:
    """The tool results of the current turn, as (tool name, result)."""
    return [(m.name or "", tool_payload(m)) for m in messages[turn_start(messages):]
            if isinstance(m, ToolMessage) and invalid_arguments(m) is None]


def invalid_arguments(message: BaseMessage) -> str | None:
    """The raw arguments of a tool call that was not run because they were not JSON, else None."""
    artifact = getattr(message, "artifact", None)
    if isinstance(artifact, dict) and INVALID_ARGUMENTS in artifact:
        return str(artifact[INVALID_ARGUMENTS])
    return None


def invalid_call_results(message: AIMessage) -> list[ToolMessage]:
    """An error result for each tool call whose arguments were not JSON."""
    out = []
    for call in message.invalid_tool_calls:
        name, raw = call.get("name") or "unknown", str(call.get("args") or "")[:80]
        out.append(ToolMessage(
            content=f"not run: the arguments of {name} are not valid JSON ({raw!r}); call "
                    f"{name} again with a JSON object of arguments.",
            tool_call_id=call.get("id") or f"call-invalid-{uuid.uuid4().hex[:12]}",
            name=name, status="error", artifact={INVALID_ARGUMENTS: raw},
        ))
    return out


class GroundingMiddleware(AgentMiddleware):
    """The chat agent's guard after every model call (see the module docstring)."""

    def __init__(self, tool_names: Iterable[str]) -> None:
        super().__init__()
        self.tool_names = frozenset(tool_names)

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        recorder = RawArguments()
        token = RECORDER.set(recorder)
        try:
            response = handler(request)
        finally:
            RECORDER.reset(token)
        return _strict_response(response, recorder)

    async def awrap_model_call(self, request: Any,
                               handler: Callable[[Any], Awaitable[Any]]) -> Any:
        recorder = RawArguments()
        token = RECORDER.set(recorder)
        try:
            response = await handler(request)
        finally:
            RECORDER.reset(token)
        return _strict_response(response, recorder)

    @hook_config(can_jump_to=["model"])
    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """The same check off the event loop (the guard reads its vocabulary and the playbook
        from files once, and a server's loop must not block)."""
        return await asyncio.to_thread(self.after_model, state, runtime)

    @hook_config(can_jump_to=["model"])
    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        messages = state["messages"]
        last = messages[-1] if messages else None
        if not isinstance(last, AIMessage):
            return None
        if last.invalid_tool_calls:
            update: dict[str, Any] = {"messages": invalid_call_results(last)}
            retried = any(invalid_arguments(m) is not None
                          for m in messages[turn_start(messages):])
            if not retried and not last.tool_calls:
                update["jump_to"] = "model"  # one more try; the valid calls, if any, run first
            return update
        if last.tool_calls:
            return None
        text = message_text(last)
        recovered = text_tool_calls(text, self.tool_names) if text.strip() else []
        if recovered:
            return {"messages": [AIMessage(content="", tool_calls=recovered, id=last.id,
                                           response_metadata=last.response_metadata)]}
        human = next((message_text(m) for m in reversed(messages)
                      if isinstance(m, HumanMessage)), "")
        guarded = guard_answer(text, conversation_grounding(messages[:-1]), language_of(human),
                               turn_results(messages), cut=is_cut(last))
        meta = {**(last.response_metadata or {}), "csm_guard": guarded.metadata()}
        return {"messages": [AIMessage(content=guarded.text, id=last.id, response_metadata=meta,
                                       usage_metadata=last.usage_metadata)]}
