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

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

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
    """A Jinja environment for HTML: autoescape everywhere, account text cleaned, and the
    number formats of the reports in that language (`num`, `money`, `pct`, `day`, `label`)."""
    env = Environment(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    formats = report_environment(lang, currency).filters
    env.filters.update({k: formats[k] for k in ("num", "money", "pct", "day", "label")})
    env.globals.update(
        unknown=formats["num"](None), currency=currency, target_names=TARGET_NAMES,
        share_targets=SHARE_TARGETS, tiers=TIERS, colours=COLOURS, shown=SHOWN,
        alerts_shown=ALERTS_SHOWN,
    )
    return env


@lru_cache(maxsize=4)
def _template(lang: str, currency: str) -> Template:
    return html_environment(lang, currency).from_string(_resource("portfolio.html.j2"))


def distribution_charts(report: Mapping[str, Any]) -> dict[str, Markup]:
    """The tier and colour distributions as stacked bars."""
    def parts(counts: Mapping[str, int], ids: Sequence[str]) -> list[Part]:
        return [Part(i, counts.get(i, 0), str(counts.get(i, 0)), COLORS[i]) for i in ids
                if counts.get(i, 0) or i != "unknown"]

    return {
        "tiers": Markup(stacked_bar(parts(report["tiers"], TIERS), "Accounts by churn tier")),
        "colors": Markup(stacked_bar(parts(report["colors"], COLOURS),
                                     "Accounts by health colour")),
    }


def pipeline_chart(report: Mapping[str, Any], money: Callable[[Any], str]) -> Markup | None:
    """Expected upsell per offer (price x probability a month), as bars."""
    pipeline = report.get("upsell_pipeline") or {}
    if not pipeline:
        return None
    top = max(p["expected"] for p in pipeline.values()) or 1.0
    bars = [Bar(p["offer"], p["expected"], money(p["expected"])) for p in pipeline.values()]
    return Markup(bar_chart(bars, "Upsell pipeline, expected a month", scale_max=top,
                            label_width=230))


def trend_chart(trend: Sequence[Mapping[str, Any]], playbook: Playbook,
                pct: Callable[..., str]) -> Markup | None:
    """GRR and NRR of each sweep's retention period (and the annualised GRR against the annual
    retention target), oldest sweep first; None without a sweep that measured them."""
    if not any(t.get("grr") is not None for t in trend):
        return None
    target = playbook.targets.annual_retention
    return Markup(line_chart(
        [Series("GRR (period)", [t.get("grr") for t in trend], COLORS["bar"]),
         Series("NRR (period)", [t.get("nrr") for t in trend], COLORS["accent"]),
         Series("GRR a year", [t.get("annual_grr") for t in trend], COLORS["green"])],
        [t["as_of"] for t in trend],
        "GRR and NRR over the sweeps",
        lambda v: pct(v, 1),
        target=(target, f"annual retention target {pct(target)}"),
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
    template = _template(lang, playbook.currency)
    formats = report_environment(lang, playbook.currency).filters
    extra = {k: v for k, v in report.items()
             if k.startswith("upsell_") and isinstance(v, Mapping)
             and k not in ("upsell_pipeline", "upsell_held") and v}
    return Markup(template.render(
        r=report, link=link, charts=distribution_charts(report),
        pipeline=pipeline_chart(report, formats["money"]),
        trend=trend_chart(trend or [], playbook, formats["pct"]),
        trend_points=list(trend or []), rules=playbook.reports, extra_upsell=extra,
        standalone=False, headline=headline, body="", part=part,
    ))


def render_portfolio_html(
    report: Mapping[str, Any],
    playbook: Playbook,
    lang: str = "en",
    trend: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """portfolio.html: the whole report in one self-contained file."""
    body = report_sections(report, playbook, lang, trend=trend)
    return _template(lang, playbook.currency).render(
        r=report, standalone=True, body=body, style=Markup(css()), lang=lang,
    )
