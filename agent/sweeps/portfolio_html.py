"""The portfolio report as HTML: `portfolio.html`, one self-contained file (CSS and SVG charts
inline, no script, nothing fetched) that `csm sweep` writes beside `portfolio.md`, and the same
sections on the portfolio page of `csm serve`.

Every figure comes from the portfolio report (`build_portfolio_report`); the template only
formats and arranges them. Account text is escaped by the template's autoescape, after control
characters and bidi overrides are removed (`tools.escaping.terminal_line`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, Template
from markupsafe import Markup, escape

from agent.assessment.writer import catalogue
from agent.assessment.writer import environment as report_environment
from agent.sweeps.charts import COLORS, Bar, Part, Series, bar_chart, line_chart, stacked_bar
from tools.escaping import terminal_line
from tools.playbook import Playbook

TIERS = ("low", "medium", "high", "critical", "unknown")
COLOURS = ("green", "yellow", "red", "unknown")
SHOWN = 25  # entries per list in the HTML (the JSON report keeps up to 1,000)
ALERTS_SHOWN = 100
TARGET_NAMES = {
    "annual_retention": "Annual retention (annualised GRR)",
    "expansion_share_of_arr": "Expansion revenue, share of ARR a year",
    "referrals_per_satisfied_client_quarter": "Referrals per satisfied client a quarter",
    "average_csat": "Average CSAT",
}
SHARE_TARGETS = ("annual_retention", "expansion_share_of_arr")


def css() -> str:
    """The report's stylesheet (inline in portfolio.html, /static/report.css in csm serve)."""
    return _resource("portfolio.css")


@lru_cache(maxsize=4)
def _resource(name: str) -> str:
    return resources.files("agent.sweeps").joinpath(name).read_text(encoding="utf-8")


def _finalize(value: Any) -> Any:
    """Every printed value: markup passes (the charts), text is kept on one line without
    control characters or bidi overrides; autoescape then escapes it."""
    if value is None or isinstance(value, (Markup, int, float)):
        return value
    return terminal_line(value)


def html_environment(lang: str, currency: str) -> Environment:
    """A Jinja environment for HTML over the reports' own (`agent.assessment.writer`): its
    number formats and labels in that language (`num`, `money`, `pct`, `t`, `text`...), its
    macros (`<lang>/_portfolio.j2`: the methods and reasons worded from the report's fields),
    autoescape everywhere, account text cleaned, and `w`: a phrase of the page in the
    language (`phrases`)."""
    env = report_environment(lang, currency).overlay(
        autoescape=True, finalize=_finalize, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals = dict(env.globals)  # the reports' own environment stays as it is
    env.globals.update(
        w=phrase(lang), named=namer(lang, env.filters["t"]), currency=currency,
        target_names=TARGET_NAMES,
        share_targets=SHARE_TARGETS, tiers=TIERS, colours=COLOURS, shown=SHOWN,
        alerts_shown=ALERTS_SHOWN,
    )
    return env


@lru_cache(maxsize=4)
def phrases(lang: str) -> dict[str, str]:
    """The page's phrases in a language, keyed by their English
    (prompts/reports/<lang>/html.yaml; English has none)."""
    return catalogue(lang, "html")


def namer(lang: str, label: Callable[[Any], str]) -> Callable[[Any], str]:
    """An id as the page shows it: in English with spaces for underscores; in another
    language its label (`t`, labels.yaml), else the wording of its English, else that."""
    if lang == "en":
        return lambda value: str(value).replace("_", " ")
    wording = phrases(lang)

    def named(value: Any) -> str:
        shown = label(value)
        if shown != str(value):
            return shown
        english = str(value).replace("_", " ")
        return wording.get(english, english)

    return named


def phrase(lang: str) -> Callable[..., Markup]:
    """`w(english, **values)`: the phrase in the language with its {placeholders} filled in and
    escaped; a phrase without a wording in the language is an error (a test renders every
    branch of the page in every language)."""
    wording = phrases(lang)

    def w(english: str, **values: Any) -> Markup:
        if lang == "en":
            text = english
        elif english in wording:
            text = wording[english]
        else:
            raise KeyError(f"prompts/reports/{lang}/html.yaml has no wording of {english!r}")
        return Markup(escape(text)).format(**values)

    return w


@lru_cache(maxsize=4)
def _template(lang: str, currency: str) -> Template:
    return html_environment(lang, currency).from_string(_resource("portfolio.html.j2"))


def distribution_charts(
    report: Mapping[str, Any], w: Callable[..., Markup], named: Callable[[Any], str]
) -> dict[str, Markup]:
    """The tier and colour distributions as stacked bars."""
    def parts(counts: Mapping[str, int], ids: Sequence[str]) -> list[Part]:
        return [Part(named(i), counts.get(i, 0), str(counts.get(i, 0)), COLORS[i]) for i in ids
                if counts.get(i, 0) or i != "unknown"]

    return {
        "tiers": Markup(stacked_bar(parts(report["tiers"], TIERS), w("Accounts by churn tier"))),
        "colors": Markup(stacked_bar(parts(report["colors"], COLOURS),
                                     w("Accounts by health colour"))),
    }


def pipeline_chart(
    report: Mapping[str, Any], money: Callable[[Any], str], w: Callable[..., Markup],
    offer: Callable[[str, Mapping[str, Any]], str],
) -> Markup | None:
    """Expected upsell per offer (price x probability a month), as bars."""
    pipeline = report.get("upsell_pipeline") or {}
    if not pipeline:
        return None
    top = max(p["expected"] for p in pipeline.values()) or 1.0
    bars = [Bar(offer(i, p), p["expected"], money(p["expected"])) for i, p in pipeline.items()]
    return Markup(bar_chart(bars, w("Upsell pipeline, expected a month"), scale_max=top,
                            label_width=230))


def trend_chart(trend: Sequence[Mapping[str, Any]], playbook: Playbook,
                pct: Callable[..., str], w: Callable[..., Markup]) -> Markup | None:
    """GRR and NRR of each sweep's retention period (and the annualised GRR against the annual
    retention target), oldest sweep first; None without a sweep that measured them."""
    if not any(t.get("grr") is not None for t in trend):
        return None
    target = playbook.targets.annual_retention
    return Markup(line_chart(
        [Series(w("GRR (period)"), [t.get("grr") for t in trend], COLORS["bar"]),
         Series(w("NRR (period)"), [t.get("nrr") for t in trend], COLORS["accent"]),
         Series(w("GRR a year"), [t.get("annual_grr") for t in trend], COLORS["green"])],
        [t["as_of"] for t in trend],
        w("GRR and NRR over the sweeps"),
        lambda v: pct(v, 1),
        target=(target, w("annual retention target {target}", target=pct(target))),
    ))


def report_sections(
    report: Mapping[str, Any],
    playbook: Playbook,
    lang: str = "en",
    link: Callable[[str], str] | None = None,
    trend: Sequence[Mapping[str, Any]] | None = None,
    headline: bool = True,
    part: str = "all",
) -> Markup:
    """The portfolio report's sections as an HTML fragment. `link(id)`: the URL of an
    account's page (none in a file); `trend`: per sweep, oldest first, `as_of`, `grr`, `nrr`,
    `annual_grr` (from each sweep's portfolio report); `part`: "summary" (the figures and the
    distribution), "details" (the rest) or "all"."""
    template = _template(lang, playbook.currency_in(lang))
    env = template.environment
    formats, w, named = env.filters, env.globals["w"], env.globals["named"]
    extra = {k: v for k, v in report.items()
             if k.startswith("upsell_") and isinstance(v, Mapping)
             and k not in ("upsell_pipeline", "upsell_held") and v}

    def offer_text(offer_id: str, entry: Mapping[str, Any]) -> str:
        """An offer in the report's language: the playbook's text while it has the offer."""
        found = playbook.opportunities.get(offer_id)
        return formats["text"](found.offer) if found is not None else entry["offer"]

    return Markup(template.render(
        r=report, link=link, charts=distribution_charts(report, w, named),
        pipeline=pipeline_chart(report, formats["money"], w, offer_text),
        trend=trend_chart(trend or [], playbook, formats["pct"], w),
        trend_points=list(trend or []), rules=playbook.reports, extra_upsell=extra,
        standalone=False, headline=headline, body="", part=part, playbook=playbook,
        offer_text=offer_text,
    ))


def render_portfolio_html(
    report: Mapping[str, Any],
    playbook: Playbook,
    lang: str = "en",
    trend: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """portfolio.html: the whole report in one self-contained file."""
    body = report_sections(report, playbook, lang, trend=trend)
    return _template(lang, playbook.currency_in(lang)).render(
        r=report, standalone=True, body=body, style=Markup(css()), playbook=playbook,
    )
