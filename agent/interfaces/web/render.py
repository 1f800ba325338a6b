"""HTML for `csm serve`: the template environment (autoescape everywhere, account text cleaned
of control characters and bidi overrides), the reports' Markdown as HTML, and the account
charts. Numbers arrive computed by the tools; this module only formats and draws them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from agent.sweeps.charts import COLORS, Bar, Series, bar_chart, line_chart
from agent.sweeps.portfolio_html import html_environment
from tools.escaping import terminal_text
from tools.scoring.churn import tier_of
from tools.scoring.health import color_of

if TYPE_CHECKING:
    from tools.playbook import Playbook


@lru_cache(maxsize=4)
def templates(lang: str, currency: str) -> Environment:
    """The environment of the web templates (`templates/*.html.j2`)."""
    base = html_environment(lang, currency)
    env = Environment(
        loader=PackageLoader("agent.interfaces.web", "templates"),
        autoescape=True,
        undefined=base.undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=base.finalize,
    )
    env.filters.update(base.filters)
    env.globals.update(base.globals)
    env.filters["lines"] = lambda v: Markup(escape(terminal_text(v)))
    return env


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # no raw HTML, no images (nothing fetched), links checked by markdown-it's validateLink
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table") \
        .disable("image")


def markdown_html(text: str) -> Markup:
    """A report's Markdown as HTML; the report's own escaping keeps account text literal, and
    raw HTML in it is shown as text."""
    return Markup(_markdown().render(text))


def report_parts(text: str, fallback: str) -> tuple[Markup, Markup]:
    """A report's title (its own first `##` heading, in the report's language; else
    `fallback`) and the rest of it, each as HTML: the page shows the title once, as the
    report's summary line."""
    first, _, rest = text.partition("\n")
    if first.startswith("## "):
        return Markup(_markdown().renderInline(first[3:].strip())), markdown_html(rest)
    return Markup.escape(fallback), markdown_html(text)


def health_chart(health: Mapping[str, Any], num: Any, playbook: Playbook) -> Markup:
    """Each health component's score (0-100), with its weight and what it adds to the score,
    in the colour of the playbook's health band it falls in; the components whose inputs are
    all unknown as empty outlines."""
    bars = [
        Bar(c["label"], c["score"],
            f"{num(c['score'])} · adds {num(c['contribution'])}",
            COLORS[color_of(playbook, c["score"]) or "unknown"])
        for c in health["components"]
    ]
    bars += [Bar(m.replace("_", " "), None, "unknown") for m in health["missing"]]
    return Markup(bar_chart(bars, "Health components", label_width=170))


def churn_chart(churn: Mapping[str, Any], num: Any, playbook: Playbook) -> Markup:
    """Each churn factor's risk (0-100), with its weight and what it adds to the score, in the
    colour of the playbook's churn tier it falls in."""
    bars = [
        Bar(f["label"], f["risk"],
            f"{num(f['risk'])} · adds {num(f['contribution'])}",
            COLORS[tier_of(playbook, f["risk"]) or "unknown"])
        for f in churn["factors"]
    ]
    bars += [Bar(m.replace("_", " "), None, "unknown") for m in churn["missing"]]
    return Markup(bar_chart(bars, "Churn risk factors", label_width=170))


def history_charts(points: Sequence[Mapping[str, Any]], num: Any, money: Any) -> dict[str, Markup]:
    """Health and churn risk (one chart, 0-100) and MRR (another) over the history points."""
    if not points:
        return {}
    days = [p["date"] for p in points]
    return {
        "scores": Markup(line_chart(
            [Series("health", [p["health_score"] for p in points], COLORS["green"]),
             Series("churn risk", [p["churn_score"] for p in points], COLORS["red"])],
            days, "Health and churn risk over time", lambda v: num(v))),
        "mrr": Markup(line_chart(
            [Series("MRR", [p["mrr"] for p in points], COLORS["bar"])],
            days, "MRR over time", lambda v: money(v))),
    }
