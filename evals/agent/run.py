"""Running the agent evals: every chat task through the real chat agent (tools, grounding
middleware), then the report-prose checks through the assessment graph, and a table per language.

The tools read the bundled sample portfolio as of its own day and an empty store of their own,
whatever the environment says, so results are comparable between models and machines."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.callbacks import (
    BaseCallbackHandler,
    UsageMetadataCallbackHandler,
    get_usage_metadata_callback,
)
from langchain_core.messages import AIMessage, ToolMessage

from evals.agent.grade import answer_language, answer_problems, matched_calls, run_call
from evals.agent.tasks import Task, load_tasks

# accounts whose five reports the prose checks write (id, language)
PROSE_ACCOUNTS = (("acc-037", "en"), ("acc-007", "ru"), ("acc-034", "en"), ("acc-020", "ru"))


@dataclass
class TaskResult:
    """One chat task, graded."""

    id: str
    lang: str
    expected_calls: int
    matched_calls: int
    problems: list[str]
    violations: int
    language_ok: bool
    seconds: float
    tokens_in: int | None
    tokens_out: int | None
    answer: str
    error: str | None = None

    @property
    def right(self) -> bool:
        return not self.problems and not self.violations and self.error is None


@dataclass
class ProseResult:
    """The prose of one report: kept (the guard accepted it) or why not."""

    account: str
    lang: str
    report: str
    source: str
    reason: str
    seconds: float
    tokens_in: int | None
    tokens_out: int | None
    summaries: list[str] = field(default_factory=list)  # what the model wrote for it

    @property
    def accepted(self) -> bool:
        return self.source == "model"

    @property
    def rejected(self) -> bool:
        return self.reason.startswith("model prose rejected")


# the environment ---------------------------------------------------------------------------


@contextmanager
def sample_workspace() -> Iterator[None]:
    """The bundled sample as of its day and a fresh empty store, for the length of the run."""
    from tools.portfolio.readers import read_portfolio, sample_portfolio_path

    saved = {k: os.environ.get(k) for k in ("CSM_PORTFOLIO", "CSM_DB", "CSM_AS_OF")}
    with tempfile.TemporaryDirectory(prefix="csm-agent-evals-") as folder:
        os.environ["CSM_PORTFOLIO"] = str(sample_portfolio_path())
        os.environ["CSM_DB"] = os.path.join(folder, "csm.sqlite3")
        as_of = read_portfolio().as_of
        if as_of is not None:
            os.environ["CSM_AS_OF"] = as_of.isoformat()
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _tokens(usage: dict[str, Any]) -> tuple[int | None, int | None]:
    """Input and output tokens the providers reported (None: none reported any)."""
    if not usage:
        return None, None
    return (sum(u.get("input_tokens", 0) for u in usage.values()),
            sum(u.get("output_tokens", 0) for u in usage.values()))


# chat tasks --------------------------------------------------------------------------------


def run_task(agent: Any, task: Task, expected: Sequence[Any]) -> TaskResult:
    """Ask the task's question in a fresh thread and grade what came back."""
    from agent.chat.agent import explain, max_steps
    from agent.chat.grounding import message_text, tool_payload

    with get_usage_metadata_callback() as usage:
        started = time.perf_counter()
        try:
            state = agent.invoke({"messages": [("user", task.question)]},
                                 {"recursion_limit": max_steps()})
            error = None
        except Exception as failure:  # noqa: BLE001 - a failed task is graded, not raised
            state, error = {"messages": []}, explain(failure)
        seconds = time.perf_counter() - started
    messages = state["messages"]
    made: list[tuple[str, Any]] = []
    for m in messages:
        if isinstance(m, AIMessage):
            made += [(c["name"], c["args"]) for c in m.tool_calls]
            made += [(c.get("name") or "", None) for c in m.invalid_tool_calls]
    results = [(m.name or "", tool_payload(m)) for m in messages if isinstance(m, ToolMessage)]
    final = next((m for m in reversed(messages)
                  if isinstance(m, AIMessage) and not m.tool_calls), None)
    answer = message_text(final) if final is not None else ""
    guard = (final.response_metadata or {}).get("csm_guard", {}) if final is not None else {}
    # the model's own words: the summary the guard appends after a withheld sentence is the
    # tools', not the model's, so it earns nothing
    graded = answer.replace(guard["summary"], "") if guard.get("summary") else answer
    problems = answer_problems(task, graded, expected, results) if final is not None else []
    if error is None and final is None:
        error = "no final answer"
    if guard.get("cut"):
        problems.append("the answer was cut off")
    tokens_in, tokens_out = _tokens(usage.usage_metadata)
    return TaskResult(
        id=task.id, lang=task.lang, expected_calls=len(task.calls),
        matched_calls=matched_calls(task, made), problems=problems,
        violations=len(guard.get("withheld") or []),
        language_ok=bool(graded.strip()) and answer_language(graded) == task.lang,
        seconds=seconds, tokens_in=tokens_in, tokens_out=tokens_out, answer=answer, error=error,
    )


def run_tasks(model: Any, tasks: Sequence[Task]) -> list[TaskResult]:
    """Every task through one chat agent (no memory between tasks)."""
    from agent.chat.agent import build_chat_agent

    agent = build_chat_agent(model)
    cache: dict[str, Any] = {}

    def expected(task: Task) -> list[Any]:
        out = []
        for call in task.calls:
            key = json.dumps([call.name, call.args], sort_keys=True, ensure_ascii=False)
            if key not in cache:
                cache[key] = run_call(call)
            out.append(cache[key])
        return out

    return [run_task(agent, task, expected(task)) for task in tasks]


# report prose ------------------------------------------------------------------------------


class _Summaries(BaseCallbackHandler):
    """The summaries a model wrote (a `Prose` tool call, or JSON content with `summary`)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                if message is None:
                    continue
                for call in getattr(message, "tool_calls", None) or []:
                    if isinstance(call.get("args", {}).get("summary"), str):
                        self.texts.append(call["args"]["summary"])
                try:
                    data = json.loads(message.text)
                except (ValueError, TypeError):
                    continue
                if isinstance(data, dict) and isinstance(data.get("summary"), str):
                    self.texts.append(data["summary"])


def run_prose(model: Any, accounts: Sequence[tuple[str, str]] = PROSE_ACCOUNTS
              ) -> list[ProseResult]:
    """The five reports of each account with the model writing their summaries: which the
    guard kept, which it rejected and why."""
    from agent.accounts import current
    from agent.assessment.context import AssessmentContext
    from agent.assessment.graph import build_graph
    from tools.planning.forecast import calibrate
    from tools.playbook import load_playbook

    source = current(os.environ.get("CSM_PORTFOLIO"), os.environ.get("CSM_DB"))
    playbook = load_playbook()
    day = _as_of()
    calibration = calibrate(source.accounts, playbook, day)
    graph = build_graph(checkpointer=None)
    by_id = {a.id: a for a in source.accounts}
    out: list[ProseResult] = []
    for account_id, lang in accounts:
        # the writer calls the model from threads of its own: the handlers ride on the model
        collector, usage = _Summaries(), UsageMetadataCallbackHandler()
        watched = model.model_copy(update={"callbacks": [collector, usage]})
        context = AssessmentContext(as_of=day, lang=lang, model=watched, calibration=calibration)
        started = time.perf_counter()
        state = graph.invoke({"account": by_id[account_id]}, context=context)
        seconds = time.perf_counter() - started
        records = state["reports"].prose
        tokens_in, tokens_out = _tokens(usage.usage_metadata)
        share = len(records) or 1
        for record in records:
            out.append(ProseResult(
                account=account_id, lang=lang, report=record.report, source=record.source,
                reason=record.reason, seconds=seconds / share,
                tokens_in=None if tokens_in is None else tokens_in // share,
                tokens_out=None if tokens_out is None else tokens_out // share,
                summaries=list(collector.texts),
            ))
    return out


def _as_of() -> Any:
    from agent.accounts import run_day

    return run_day(None)


# the table ---------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "—"


def _latency(seconds: Sequence[float]) -> str:
    return f"{statistics.median(seconds):.2f} / {sum(seconds):.1f}" if seconds else "—"


def _token_cell(pairs: Sequence[tuple[int | None, int | None]]) -> str:
    known = [(i, o) for i, o in pairs if i is not None and o is not None]
    if not known:
        return "not reported"
    return f"{sum(i for i, _ in known)} / {sum(o for _, o in known)}"


def chat_row(name: str, results: Sequence[TaskResult]) -> dict[str, str]:
    """One row of the table for some chat tasks."""
    return {
        "suite": name, "tasks": str(len(results)),
        "tool calls": _pct(sum(r.matched_calls for r in results),
                           sum(r.expected_calls for r in results)),
        "answers right": _pct(sum(r.right for r in results), len(results)),
        "grounding violations": str(sum(r.violations for r in results)),
        "language": _pct(sum(r.language_ok for r in results), len(results)),
        "latency s (median / total)": _latency([r.seconds for r in results]),
        "tokens (in / out)": _token_cell([(r.tokens_in, r.tokens_out) for r in results]),
    }


def prose_row(results: Sequence[ProseResult]) -> dict[str, str]:
    """The report-prose row: kept by the guard, rejected by it, in the report's language."""
    accounts = {(r.account, r.lang): r.summaries for r in results}  # every summary, once
    written = [(lang, s) for (_, lang), texts in accounts.items() for s in texts]
    right_language = sum(answer_language(s) == lang for lang, s in written)
    return {
        "suite": "report prose", "tasks": str(len(results)), "tool calls": "—",
        "answers right": _pct(sum(r.accepted for r in results), len(results)),
        "grounding violations": str(sum(r.rejected for r in results)),
        "language": _pct(right_language, len(written)),
        "latency s (median / total)": _latency([r.seconds for r in results]),
        "tokens (in / out)": _token_cell([(r.tokens_in, r.tokens_out) for r in results]),
    }


def table_rows(tasks: Sequence[TaskResult], prose: Sequence[ProseResult]) -> list[dict[str, str]]:
    rows = [chat_row(f"chat {lang}", [r for r in tasks if r.lang == lang])
            for lang in ("en", "ru") if any(r.lang == lang for r in tasks)]
    if tasks:
        rows.append(chat_row("chat, all", tasks))
    if prose:
        rows.append(prose_row(prose))
    return rows


def markdown_table(rows: Sequence[dict[str, str]]) -> str:
    """The rows as a Markdown table (the README's form)."""
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row[h] for h in head) + " |" for row in rows]
    return "\n".join(lines)


def failures(tasks: Sequence[TaskResult], prose: Sequence[ProseResult]) -> list[str]:
    """One line per task that was not right and per report whose prose was not kept."""
    lines = []
    for r in tasks:
        if r.right and r.language_ok and r.matched_calls == r.expected_calls:
            continue
        why = [r.error] if r.error else []
        if r.matched_calls < r.expected_calls:
            why.append(f"{r.matched_calls} of {r.expected_calls} expected tool calls")
        why += r.problems
        if r.violations:
            why.append(f"{r.violations} sentences withheld by the grounding guard")
        if not r.language_ok:
            why.append(f"not in {r.lang}")
        lines.append(f"{r.id}: {'; '.join(why)}")
    lines += [f"prose {r.account} {r.lang} {r.report}: {r.reason}"
              for r in prose if not r.accepted]
    return lines


# the command -------------------------------------------------------------------------------


def resolve_model(name: str | None) -> tuple[str, Any]:
    """(label, model): `scripted` (also when nothing is configured) or provider:model."""
    from agent.models import chat_model
    from evals.agent.scripted import ScriptedAgentModel

    name = (name or os.environ.get("CSM_MODEL", "")).strip()
    if not name or name.lower() in ("scripted", "none"):
        return "scripted", ScriptedAgentModel()
    return name, chat_model(name)


def evaluate(model: Any, tasks: Sequence[Task], prose: bool = True
             ) -> tuple[list[TaskResult], list[ProseResult]]:
    """The chat tasks and, with `prose`, the report-prose checks, in the sample workspace."""
    with sample_workspace():
        return run_tasks(model, tasks), (run_prose(model) if prose else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.agent",
        description="Agent evals: chat tasks (English and Russian) with expected tool calls and "
                    "graded answers, and the report-prose checks, against a model.",
        epilog="Exit code: 0 every task right and every report's prose kept, 1 otherwise, 2 a "
               "bad argument or model setting.",
    )
    parser.add_argument("--model", metavar="PROVIDER:MODEL",
                        help="the model (default: $CSM_MODEL, else `scripted`, the offline "
                             "scripted model)")
    parser.add_argument("--task", action="append", metavar="ID", help="run only this task "
                        "(repeatable)")
    parser.add_argument("--lang", choices=("en", "ru"), help="run only the tasks in this language")
    parser.add_argument("--no-prose", action="store_true", help="skip the report-prose checks")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)

    tasks = list(load_tasks())
    if args.task:
        unknown = sorted(set(args.task) - {t.id for t in tasks})
        if unknown:
            print(f"python -m evals.agent: error: unknown task {', '.join(unknown)}; the ids "
                  "are in evals/agent/tasks.yaml.", file=sys.stderr)
            return 2
        tasks = [t for t in tasks if t.id in args.task]
    if args.lang:
        tasks = [t for t in tasks if t.lang == args.lang]
    try:
        label, model = resolve_model(args.model)
    except ValueError as error:
        print(f"python -m evals.agent: error: {error}", file=sys.stderr)
        return 2
    from agent.interfaces.commands.kb import knowledge_ready

    knowledge_ready()
    results, prose = evaluate(model, tasks, prose=not args.no_prose)
    rows = table_rows(results, prose)
    missed = failures(results, prose)
    if args.format == "json":
        print(json.dumps({"model": label, "rows": rows,
                          "tasks": [{**asdict(r), "right": r.right} for r in results],
                          "prose": [{**asdict(r), "accepted": r.accepted} for r in prose]},
                         ensure_ascii=False, indent=2))
    else:
        print(f"Agent evals, model {label}: {len(results)} chat tasks, {len(prose)} report "
              "summaries\n")
        print(markdown_table(rows))
        if missed:
            print("\nNot right:\n" + "\n".join(f"- {line}" for line in missed))
    return 0 if not missed else 1
