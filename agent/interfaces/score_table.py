"""What the `csm score` table shows (issue 14): one row per account, the riskiest first by
default, signals by their playbook labels, scores that rest on part of their inputs marked and
explained under the table. Laid out by `plain_table` (rich only for colours)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from agent.interfaces.plain_table import Column
from tools.escaping import terminal_line
from tools.scoring.expansion import expected_expansion

if TYPE_CHECKING:
    from tools.playbook import Playbook
    from tools.scoring.score import AccountScore, ScoreSummary

PARTIAL = "*"  # after a score computed from part of its inputs
NONE = "—"
TIER_STYLE = {"low": "green", "medium": "yellow", "high": "red", "critical": "bold white on red"}
COLOR_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}


class Row(NamedTuple):
    """One account's cells (text cleaned for the terminal, numbers formatted), each cell's
    style (for colours), and what the sorts and the footer need."""

    cells: tuple[str, ...]
    styles: tuple[str, ...]
    id: str
    name: str
    health: float | None
    churn: float | None
    tier: str
    color: str
    expansion: float
    partial: bool


# --sort: the key of a row (the input order breaks the remaining ties) and the title's words
SORTS: dict[str, tuple[Callable[[Row], tuple[Any, ...]], str]] = {
    "churn": (lambda r: (r.churn is None, -(r.churn or 0), r.health is None, r.health or 0),
              "riskiest first"),
    "health": (lambda r: (r.health is None, r.health or 0, r.churn is None, -(r.churn or 0)),
               "least healthy first"),
    "upsell": (lambda r: (-r.expansion, r.churn is None, -(r.churn or 0)),
               "largest expected upsell first"),
    "id": (lambda r: (r.id,), "by id"),
    "name": (lambda r: (r.name.casefold(), r.id), "by name"),
}


def columns(currency: str, model: dict[str, Any] | None) -> list[Column]:
    """The table's columns; with a churn model, its churn probability after the churn risk."""
    found = [
        Column("ID", flexible=True),
        Column("Account", flexible=True),
        Column("Churn risk"),
        Column("Health"),
        Column("Signals", flexible=True),
        Column(f"Upsell\n{terminal_line(currency)}/mo", right=True),
    ]
    if model is not None:
        found.insert(3, Column(f"Model\nchurn {model['horizon_days']}d", right=True))
    return found


def _score(score: float | None, band: str | None, coverage: float) -> tuple[str, str, bool]:
    """A score with its tier or colour (`42.10 medium`), marked when part of its inputs were
    unknown; the band's text and whether it was marked."""
    word = terminal_line(band or "unknown")
    if score is None:
        return f"{NONE:>5} {word}", word, False
    partial = coverage < 1
    return f"{score:5.2f} {word}{PARTIAL if partial else ''}", word, partial


def make_row(
    s: AccountScore | ScoreSummary, labels: dict[str, str], model: dict[str, Any] | None
) -> Row:
    """The row of one scored account (`labels`: each signal's label)."""
    churn, tier, churn_partial = _score(s.churn_risk.score, s.churn_risk.tier,
                                        s.churn_risk.coverage)
    health, color, health_partial = _score(s.health.score, s.health.color, s.health.coverage)
    signals = "\n".join(terminal_line(labels.get(sig.id, sig.id)) for sig in s.signals)
    value = expected_expansion(s.opportunities) if s.opportunities else 0.0
    cells = [terminal_line(s.id), terminal_line(s.name), churn, health, signals or NONE,
             f"{value:,.0f}" if s.opportunities else NONE]
    styles = ["", "", TIER_STYLE.get(s.churn_risk.tier or "", "dim"),
              COLOR_STYLE.get(s.health.color or "", "dim"), "" if signals else "dim",
              "" if s.opportunities else "dim"]
    if model is not None:
        forecast = getattr(s, "model_forecast", None)
        cells.insert(3, f"{forecast.churn_probability:.1%}" if forecast else NONE)
        styles.insert(3, "" if forecast else "dim")
    return Row(tuple(cells), tuple(styles), s.id, s.name, s.health.score, s.churn_risk.score,
               tier, color, value, churn_partial or health_partial)


def sorted_rows(rows: list[Row], sort: str) -> list[Row]:
    """The rows in the order `--sort` names (stable: equal keys keep the input order)."""
    key, _ = SORTS[sort]
    return sorted(rows, key=key)


def title(as_of: date, count: int, sort: str) -> str:
    return (f"Portfolio as of {as_of.isoformat()}: {count} account{'s' if count != 1 else ''}, "
            f"{SORTS[sort][1]}")


def footer(rows: Iterable[Row], playbook: Playbook, model: dict[str, Any] | None) -> list[str]:
    """The lines under the table: the accounts per churn tier and health colour (worst
    first), what a marked score means, and the churn model's method."""
    tiers: Counter[str] = Counter()
    colors: Counter[str] = Counter()
    partial = count = 0
    for row in rows:
        count += 1
        tiers[row.tier] += 1
        colors[row.color] += 1
        partial += row.partial
    tier_order = [t.id for t in sorted(playbook.churn_risk.tiers, key=lambda t: -t.min)]
    color_order = [c.id for c in sorted(playbook.health.colors, key=lambda c: c.min)]
    lines = [f"Churn risk: {_counts(tiers, tier_order)}.",
             f"Health: {_counts(colors, color_order)}."]
    if partial:
        lines.append(
            f"{PARTIAL} {partial} of {count} scores rest on part of their inputs: the unknown "
            "inputs drop out and the others are reweighted (coverage below 100%; `--format "
            "csv` gives each coverage, `--format json` names the unknown inputs)."
        )
    else:
        lines.append("Every score rests on all of its inputs (coverage 100%).")
    if model is not None:
        lines.append(terminal_line(f"Model churn: {model['method']}."))
    return lines


def _counts(counter: Counter[str], order: list[str]) -> str:
    """`critical 3, high 5, ...` in the playbook's order, then any other band (unknown)."""
    names = order + sorted(k for k in counter if k not in order)
    return ", ".join(f"{name} {counter[name]}" for name in names if name in order or counter[name])
