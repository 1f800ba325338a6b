"""Render scored accounts for people (rich table), spreadsheets (CSV) and programs (JSON)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache, partial
from typing import IO, TYPE_CHECKING, Any, TypeVar

import orjson

from tools.escaping import csv_cell, terminal_line, terminal_text
from tools.portfolio.readers import RowError, RowWarning
from tools.scoring.expansion import expected_expansion
from tools.scoring.score import AccountScore, ScoreSummary

Scored = TypeVar("Scored")

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tools.knowledge.index import Passage

TIER_STYLE = {"low": "green", "medium": "yellow", "high": "red", "critical": "bold white on red"}
COLOR_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}
TABLE_COLUMNS = [  # header (with {currency}) and justification
    ("ID", "left"),
    ("Account", "left"),
    ("Health", "right"),
    ("Colour", "left"),
    ("Churn risk", "right"),
    ("Tier", "left"),
    ("Coverage h/c", "right"),
    ("Signals", "left"),
    ("Upsell EV, {currency}/mo", "right"),
]
CSV_COLUMNS = [
    "id",
    "name",
    "health_score",
    "health_color",
    "health_coverage",
    "churn_risk_score",
    "churn_tier",
    "churn_coverage",
    "signals",
    "opportunities",
    "expected_expansion",
]
MODEL_COLUMNS = ["churn_probability", "model_renewal_probability"]


@cache
def _console_class() -> type[Console]:
    """A rich console that lets a closed pipe (`csm score | head`) reach the CLI, which ends
    quietly, instead of rich's own exit with status 1 (rich is imported when a table or a
    passage is printed, not for CSV or JSON)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _plain(value: object, style: str = "") -> Text:
    """Account (or playbook) text for rich: a `Text`, so no markup or emoji code is read in
    it, with terminal escape sequences and control characters removed."""
    from rich.text import Text

    return Text(terminal_line(value), style=style)


def _cells(
    s: AccountScore | ScoreSummary, model: dict[str, Any] | None = None
) -> tuple[tuple[str, str], ...]:
    """One table row: each cell's text, cleaned for the terminal, and its style (numbers are
    formatted here, so they need no cleaning); with a churn model, its churn probability."""
    signals = "\n".join(terminal_line(sig.id) for sig in s.signals)
    color, tier = s.health.color or "unknown", s.churn_risk.tier or "unknown"
    cells = [
        (terminal_line(s.id), ""),
        (terminal_line(s.name), ""),
        (_num(s.health.score), ""),
        (terminal_line(color), COLOR_STYLE.get(s.health.color or "", "dim")),
        (_num(s.churn_risk.score), ""),
        (terminal_line(tier), TIER_STYLE.get(s.churn_risk.tier or "", "dim")),
        (f"{s.health.coverage:.0%}/{s.churn_risk.coverage:.0%}", ""),
        (signals, "") if signals else ("none", "dim"),
        (_num(expected_expansion(s.opportunities), 0), "") if s.opportunities else ("—", "dim"),
    ]
    if model is not None:
        forecast = getattr(s, "model_forecast", None)
        cells.insert(6, (f"{forecast.churn_probability:.1%}" if forecast else "—", ""))
    return tuple(cells)


def score_table(as_of: date, currency: str, model: dict[str, Any] | None = None) -> Table:
    """The rich table of `csm score`, with its columns and no rows."""
    from rich.table import Table

    table = Table(title=f"Portfolio as of {as_of.isoformat()}", header_style="bold", expand=False)
    columns = [(column.format(currency=currency), justify) for column, justify in TABLE_COLUMNS]
    if model is not None:
        columns.insert(6, (f"Model churn {model['horizon_days']}d", "right"))
    for column, justify in columns:
        table.add_column(_plain(column), justify=justify, overflow="fold")  # type: ignore[arg-type]
    return table


def write_table(
    scores: Iterable[AccountScore | ScoreSummary],
    as_of: date,
    currency: str,
    out: IO[str],
    model: dict[str, Any] | None = None,
) -> int:
    """A readable terminal table with coloured tier and health; returns the account count.
    With a churn model (`model`: its summary), one more column shows its churn probability
    and a line under the table states its method.

    Every cell is a `Text` cleaned for the terminal: names and ids are shown, never obeyed.
    Without colours (a pipe or a file), the rows are laid out by `plain_table_lines`, which
    writes what rich would, byte for byte, in a fraction of the time."""
    from rich.console import Console
    from rich.text import Text

    from agent.interfaces.plain_table import plain_table_lines

    empty_table = partial(score_table, as_of, currency, model)
    table = empty_table()
    probe = Console(file=out)
    console = _console_class()(file=out, width=probe.width if probe.is_terminal else 160)
    plain = console.color_system is None and console.encoding.lower().startswith("utf")
    tiers: Counter[str] = Counter()
    colors: Counter[str] = Counter()
    rows: list[tuple[str, ...]] = []
    count = 0
    for s in scores:
        count += 1
        tiers[s.churn_risk.tier or "unknown"] += 1
        colors[s.health.color or "unknown"] += 1
        cells = _cells(s, model)
        if plain:
            rows.append(tuple([cell[0] for cell in cells]))
        else:
            table.add_row(*(Text(text, style=style) for text, style in cells))
    if plain and rows:
        for line in plain_table_lines(console, empty_table, rows):
            out.write(line + "\n")
    else:
        console.print(table)
    console.print(
        _plain(
            f"{count} account{'s' if count != 1 else ''}. Tiers: "
            + ", ".join(f"{k} {v}" for k, v in sorted(tiers.items()))
            + ". Health: "
            + ", ".join(f"{k} {v}" for k, v in sorted(colors.items()))
            + "."
        )
    )
    if model is not None:
        console.print(_plain(f"Model churn: {model['method']}."))
    return count


def write_csv(
    scores: Iterable[AccountScore | ScoreSummary], out: IO[str], model: bool = False
) -> int:
    """One flat row per account; text cells are neutralised for spreadsheets (`csv_cell`).
    With a churn model, two more columns: its churn and renewal probability."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS + (MODEL_COLUMNS if model else []))
    count = 0
    for s in scores:
        count += 1
        row = [
            s.id,
            s.name,
            s.health.score,
            s.health.color,
            s.health.coverage,
            s.churn_risk.score,
            s.churn_risk.tier,
            s.churn_risk.coverage,
            ";".join(sig.id for sig in s.signals),
            ";".join(o.id for o in s.opportunities),
            expected_expansion(s.opportunities),
        ]
        if model:
            forecast = getattr(s, "model_forecast", None)
            row += [forecast.churn_probability, forecast.renewal_probability] if forecast else [
                None,
                None,
            ]
        writer.writerow([csv_cell(cell) for cell in row])
    return count


def write_json(
    scores: Iterable[AccountScore | dict[str, Any]],
    as_of: date,
    errors: list[RowError],
    out: IO[str],
    warnings: list[RowWarning] | None = None,
    model: dict[str, Any] | None = None,
) -> int:
    """`{"as_of", "accounts": [...], "errors": [...], "warnings": [...]}`, streamed one account
    at a time; with a churn model, `"model"` (its summary) after `as_of`, and each account
    has `model_forecast`. An account is an `AccountScore` or the same as plain data
    (`score_dict`), which orjson writes byte for byte as pydantic would, faster.

    `errors` and `warnings` are read after the accounts, so a generator may keep filling them
    while it runs."""
    out.write('{"as_of": ' + json.dumps(as_of.isoformat()))
    if model is not None:
        out.write(', "model": ' + json.dumps(model, ensure_ascii=False))
    out.write(', "accounts": [')
    count = 0
    for s in scores:
        text = orjson.dumps(s).decode() if isinstance(s, dict) else s.model_dump_json()
        out.write(("\n  " if count == 0 else ",\n  ") + text)
        count += 1
    out.write('\n], "errors": ' + json.dumps([e.model_dump() for e in errors], ensure_ascii=False))
    shown = [w.model_dump() for w in warnings or []]
    out.write(', "warnings": ' + json.dumps(shown, ensure_ascii=False))
    out.write("}\n")
    return count


def only_scores(
    items: Iterable[Scored | list[RowError]], errors: list[RowError]
) -> Iterator[Scored]:
    """Pass scores through; collect row errors into `errors`."""
    for item in items:
        if isinstance(item, list):
            errors.extend(item)
        else:
            yield item


def write_passages(passages: list[Passage], fmt: str, out: IO[str]) -> None:
    """Knowledge-base search results as a readable list or `{"results": [...]}`."""
    if fmt == "json":
        results = [p.model_dump() for p in passages]
        out.write(json.dumps({"results": results}, ensure_ascii=False, indent=2) + "\n")
        return
    from rich.text import Text

    console = _console_class()(file=out)
    if not passages:
        console.print("no passages found")
    for rank, p in enumerate(passages, start=1):
        console.print(
            Text.assemble(
                _plain(f"{rank}. {p.heading}", "bold"),
                "  ",
                _plain(f"{p.topic} · {p.lang} · {p.source} · score {p.score:.3f}", "dim"),
            )
        )
        console.print(Text(terminal_text(unwrap(p.text))), highlight=False)
        console.print()


_BLOCK_START = re.compile(r"^\s*([|#>*-]|\d+\.|```)")


def unwrap(text: str) -> str:
    """Join the hard-wrapped lines of Markdown paragraphs (lists, tables and headings stay)."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        joinable = lines and lines[-1].strip() and line.strip()
        if joinable and not _BLOCK_START.match(line) and not lines[-1].lstrip().startswith("|"):
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)
