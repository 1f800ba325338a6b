"""The writer: renders the reports from the state through the templates in `prompts/reports/`.

Every figure comes from the state. Each report has one summary paragraph: deterministic (from
the playbook, the tool results and the cited knowledge) unless a model is configured and its
paragraph passes the number check (agent.assessment.prose). A summary that was asked of a model
and fell back says so on a line under it, with the reason in a few words.

Every value a report template prints is account data until proven otherwise, so the
environment's `finalize` hook escapes each `{{ ... }}` for Markdown (`markdown_inline`: one
line, syntax characters escaped). Two kinds of templates write plain text instead, escaped where
their output is printed: helper templates (a name starting with `_`, the macros) and the
summary drafts (`*_summary.md.j2`, also the model's input); their values are only kept on one
line and cleaned of control characters (`terminal_line`). The summary paragraph goes into a
report through the `paragraph` filter (`markdown_block`: its lines kept, each escaped)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from pydantic import BaseModel

from agent.assessment.budget import fallback_note
from agent.assessment.facts import report_facts
from agent.assessment.prose import Job, ProseRecord, ProseWriter
from tools.escaping import markdown_block, markdown_inline, terminal_line
from tools.playbook import Playbook
from tools.texts import NBSP, count, format_number, in_lang, plural

REPORTS = ("dashboard", "success_plan", "expansion_proposal", "risk_plan", "qbr_agenda")
UNKNOWN = {"en": "unknown", "ru": "нет данных"}


class Reports(BaseModel):
    """The rendered reports of one account and where their prose came from."""

    lang: str
    dashboard: str
    success_plan: str
    expansion_proposal: str
    risk_plan: str
    qbr_agenda: str
    prose: list[ProseRecord]
    model_calls: int


class Escaped(str):
    """Text already escaped for Markdown (the output of the `paragraph` filter)."""


@lru_cache(maxsize=256)
def writes_plain_text(template: str | None) -> bool:
    """Whether a template writes plain text (macros, summary drafts), not Markdown."""
    name = (template or "").rsplit("/", 1)[-1]
    return name.startswith("_") or name.endswith("_summary.md.j2")


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Escape every printed value of a Markdown template (see the module docstring)."""
    if isinstance(value, Escaped):
        return value
    if writes_plain_text(context.name):
        return terminal_line(value)
    return markdown_inline(value)


def make_environment(lang: str, currency: str) -> Environment:
    """A Jinja environment with the formatting filters of one language (`currency`: how its
    reports write the currency, `Playbook.currency_in`); Markdown templates escape every value
    they print."""
    env = Environment(
        loader=PackageLoader("prompts", "reports"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize,
        auto_reload=False,  # the bundled templates do not change while a sweep runs
    )
    unknown = UNKNOWN[lang]
    # a space that keeps an amount and its currency on one line in Russian
    gap = NBSP if lang == "ru" else " "

    def num(value: Any, digits: int = 2) -> str:
        """A number in the language's format, its decimals trimmed: 31.0 -> 31, 62.70 -> 62.7,
        960000 -> 960,000 (en) or 960 000 (ru)."""
        return unknown if value is None else format_number(value, lang, digits)

    def counted(value: Any, *forms: str, digits: int = 2) -> str:
        """A number and its noun in the right plural form: count(3, "day", "days")."""
        return unknown if value is None else count(value, lang, forms, digits)

    env.filters.update(
        num=num,
        money=lambda v: unknown if v is None else f"{format_number(v, lang, 0)}{gap}{currency}",
        pct=lambda v, digits=0: (
            unknown if v is None else f"{format_number(v * 100, lang, digits, trim=False)}%"
        ),
        day=lambda v: unknown if v is None else (v.isoformat() if isinstance(v, date) else str(v)),
        known=lambda v: unknown if v is None or v == [] else v,
        label=lambda v: str(v).replace("_", " "),
        sentence=lambda v: str(v)[:1].upper() + str(v)[1:],
        paragraph=lambda v: Escaped(markdown_block(v)),
    )
    labels = _labels(lang)
    env.filters.update(
        # the label of an id (a tier, colour, status, role, signal...) in the report's language
        t=lambda v: labels.get(str(v), str(v)) if v is not None else unknown,
        # a playbook text in the report's language (English when it has no translation)
        text=lambda v: in_lang(v, lang) if v is not None else unknown,
        # a text's {placeholders} filled in: {{ rule.action | text | fill(person=name) }}
        fill=lambda v, **values: str(v).format(**values),
    )
    env.globals.update(
        unknown=unknown,
        lang=lang,
        currency=currency,
        count=counted,
        plural=lambda n, *forms: plural(n, lang, forms),
        # a Markdown hard line break at the end of a format line, so that the seed's header
        # lines (CLIENT:, HEALTH SCORE:, ...) render as lines, not one paragraph
        br=Escaped("  "),
    )
    return env


def _labels(lang: str) -> dict[str, str]:
    """The labels of ids in a language (prompts/reports/<lang>/labels.yaml), keyed by id."""
    return catalogue(lang, "labels")


def catalogue(lang: str, name: str) -> dict[str, str]:
    """The entries of prompts/reports/<lang>/<name>.yaml as text, keyed by text; {} when the
    language has no such file."""
    from importlib import resources

    import yaml

    path = resources.files("prompts").joinpath(f"reports/{lang}/{name}.yaml")
    if not path.is_file():
        return {}
    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text("utf-8")) or {}).items()}


@lru_cache(maxsize=8)
def environment(lang: str, currency: str) -> Environment:
    """The cached environment for a language and currency."""
    return make_environment(lang, currency)


def write_reports(
    state: dict[str, Any], playbook: Playbook, as_of: date, lang: str, prose: ProseWriter
) -> Reports:
    """Render every report; its summary from the model when valid, else deterministic (with a
    note under it when a model was asked)."""
    env = environment(lang, playbook.currency_in(lang))
    values: dict[str, Any] = {**state, "playbook": playbook, "as_of": as_of}
    # the shared macros, made once for the account's ten templates (as an import "with context"
    # on each would make them, from the same values)
    values["fmt"] = env.get_template(f"{lang}/_macros.j2").make_module(values)
    jobs = [
        Job(
            report,
            lambda r=report: report_facts(r, state),
            env.get_template(f"{lang}/{report}_summary.md.j2").render(values).strip(),
        )
        for report in REPORTS
    ]
    first = len(prose.records)
    summaries = prose.write_all(jobs, lang, playbook.reports.prose_free_numbers)
    rendered: dict[str, str] = {}
    for report, summary, record in zip(REPORTS, summaries, prose.records[first:], strict=True):
        if record.fallback is not None:
            summary += "\n\n" + fallback_note(record.fallback, lang)
        rendered[report] = (
            env.get_template(f"{lang}/{report}.md.j2").render(values, summary=summary).strip()
            + "\n"
        )
    return Reports(lang=lang, prose=prose.records, model_calls=prose.calls, **rendered)


def state_json(state: dict[str, Any]) -> dict[str, Any]:
    """The graph's final state as JSON-ready data."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if hasattr(value, "model_dump"):
            out[key] = value.model_dump(mode="json")
        elif isinstance(value, list):
            out[key] = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
        else:
            out[key] = value
    return out


def join_reports(texts: dict[str, str]) -> str:
    """The five reports of one account (name -> text), one after another, as one file."""
    return "\n\n".join(texts[name] for name in REPORTS).rstrip() + "\n"


def markdown(state: dict[str, Any]) -> str:
    """The five reports of one account, one after another."""
    reports = state["reports"]
    return join_reports({name: getattr(reports, name) for name in REPORTS})
