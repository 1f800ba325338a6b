"""Render scored accounts for people (rich table), spreadsheets (CSV) and programs (JSON)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import IO, TYPE_CHECKING, Any, TypeVar

import orjson
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tools.escaping import csv_cell, terminal_line, terminal_text
from tools.portfolio.readers import RowError, RowWarning
from tools.scoring.expansion import expected_expansion
from tools.scoring.score import AccountScore, ScoreSummary

Scored = TypeVar("Scored")

if TYPE_CHECKING:
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


class _Console(Console):
    """A rich console that lets a closed pipe (`csm score | head`) reach the CLI, which ends
    quietly, instead of rich's own exit with status 1."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _plain(value: object, style: str = "") -> Text:
    """Account (or playbook) text for rich: a `Text`, so no markup or emoji code is read in
    it, with terminal escape sequences and control characters removed."""
    return Text(terminal_line(value), style=style)


def _cells(s: AccountScore | ScoreSummary) -> tuple[tuple[str, str], ...]:
    """One table row: each cell's text, cleaned for the terminal, and its style."""
    signals = "\n".join(terminal_line(sig.id) for sig in s.signals)
    color, tier = s.health.color or "unknown", s.churn_risk.tier or "unknown"
    return (
        (terminal_line(s.id), ""),
        (terminal_line(s.name), ""),
        (terminal_line(_num(s.health.score)), ""),
        (terminal_line(color), COLOR_STYLE.get(s.health.color or "", "dim")),
        (terminal_line(_num(s.churn_risk.score)), ""),
        (terminal_line(tier), TIER_STYLE.get(s.churn_risk.tier or "", "dim")),
        (terminal_line(f"{s.health.coverage:.0%}/{s.churn_risk.coverage:.0%}"), ""),
        (signals, "") if signals else ("none", "dim"),
        (terminal_line(_num(expected_expansion(s.opportunities), 0)), "")
        if s.opportunities
        else ("—", "dim"),
    )


def write_table(
    scores: Iterable[AccountScore | ScoreSummary], as_of: date, currency: str, out: IO[str]
) -> int:
    """A readable terminal table with coloured tier and health; returns the account count.

    Every cell is a `Text` cleaned for the terminal: names and ids are shown, never obeyed.
    Without colours (a pipe or a file), the rows are laid out by `plain_table_lines`, which
    writes what rich would, byte for byte, in a fraction of the time."""
    def empty_table() -> Table:
        table = Table(
            title=f"Portfolio as of {as_of.isoformat()}", header_style="bold", expand=False
        )
        for column, justify in TABLE_COLUMNS:
            name = column.format(currency=currency)
            table.add_column(_plain(name), justify=justify, overflow="fold")  # type: ignore[arg-type]
        return table

    table = empty_table()
    probe = Console(file=out)
    console = _Console(file=out, width=probe.width if probe.is_terminal else 160)
    plain = console.color_system is None and console.encoding.lower().startswith("utf")
    tiers: Counter[str] = Counter()
    colors: Counter[str] = Counter()
    rows: list[tuple[str, ...]] = []
    count = 0
    for s in scores:
        count += 1
        tiers[s.churn_risk.tier or "unknown"] += 1
        colors[s.health.color or "unknown"] += 1
        cells = _cells(s)
        if plain:
            rows.append(tuple(text for text, _ in cells))
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
    return count


def _measure(text: str) -> tuple[int, int]:
    """rich's measurement of a `Text` cell: (longest word, longest line) in terminal cells."""
    if text.isascii() and text.isprintable() and " " not in text:
        return len(text), len(text)
    lines = text.splitlines()
    widest = max(map(cell_len, lines)) if lines else 0
    words = text.split()
    return (max(map(cell_len, words)) if words else widest), widest


def _fits(text: str, width: int) -> str | None:
    """The cell's line padded to `width` as rich lays out a left-justified line that fits, or
    None when it does not fit (rich would wrap it)."""
    if text.isascii() and text.isprintable():
        return text.ljust(width) if len(text) <= width else None
    used = cell_len(text)
    return text + " " * (width - used) if used <= width else None


def _fits_right(text: str, width: int) -> str | None:
    """As `_fits`, right-justified: rich strips the line's trailing whitespace first."""
    text = text.rstrip()
    if text.isascii() and text.isprintable():
        return text.rjust(width) if len(text) <= width else None
    used = cell_len(text)
    return " " * (width - used) + text if used <= width else None


def plain_table_lines(
    console: Console, empty_table: Callable[[], Table], rows: list[tuple[str, ...]]
) -> list[str]:
    """The lines rich prints for a table (`empty_table()`: its columns, no rows) holding `rows`
    of plain text, on a console without colours.

    rich sizes a column by its widest line and its longest word, so a copy of the table holding
    only the rows with those cells gets the same widths, title, header and borders; rich
    renders that copy. Each row is then laid out here, the way rich lays out a line that fits
    its column; a row with a line that does not fit is rendered by rich alone, at the same
    widths."""
    columns = len(rows[0])
    extremes: set[int] = set()
    for j in range(columns):
        measured = [_measure(row[j]) for row in rows]
        extremes.add(max(range(len(rows)), key=lambda i: measured[i][0]))
        extremes.add(max(range(len(rows)), key=lambda i: measured[i][1]))
    sizing = empty_table()
    for i in sorted(extremes):
        sizing.add_row(*(Text(text) for text in rows[i]))
    with console.capture() as captured:
        console.print(sizing)
    printed = captured.get().split("\n")
    header_end = next(i for i, line in enumerate(printed) if line.startswith("┡"))
    widths = [len(part) - 2 for part in printed[header_end][1:-1].split("╇")]
    lines = printed[: header_end + 1]
    right = [c.justify == "right" for c in sizing.columns]
    for row in rows:
        cells: list[list[str]] = []
        for text, width, is_right in zip(row, widths, right, strict=True):
            fit = _fits_right if is_right else _fits
            laid = [fit(part, width) for part in text.split("\n")]
            if None in laid:
                lines.extend(_row_by_rich(console, empty_table(), widths, row))
                break
            cells.append(laid)  # type: ignore[arg-type]
        else:
            height = max(map(len, cells))
            if height == 1:
                lines.append("│ " + " │ ".join(cell[0] for cell in cells) + " │")
                continue
            for k in range(height):
                lines.append(
                    "│ "
                    + " │ ".join(
                        cell[k] if k < len(cell) else " " * width
                        for cell, width in zip(cells, widths, strict=True)
                    )
                    + " │"
                )
    lines.append(printed[-2] if printed[-1] == "" else printed[-1])
    return lines


def _row_by_rich(
    console: Console, table: Table, widths: list[int], row: tuple[str, ...]
) -> list[str]:
    """One row rendered by rich at the given content widths (its border lines left out)."""
    alone = Table(show_header=False, box=table.box, expand=False, padding=table.padding)
    for column, width in zip(table.columns, widths, strict=True):
        alone.add_column(justify=column.justify, overflow=column.overflow, width=width)
    alone.add_row(*(Text(text) for text in row))
    with console.capture() as captured:
        console.print(alone)
    return captured.get().split("\n")[1:-2]


def write_csv(scores: Iterable[AccountScore | ScoreSummary], out: IO[str]) -> int:
    """One flat row per account; text cells are neutralised for spreadsheets (`csv_cell`)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
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
        writer.writerow([csv_cell(cell) for cell in row])
    return count


def write_json(
    scores: Iterable[AccountScore | dict[str, Any]],
    as_of: date,
    errors: list[RowError],
    out: IO[str],
    warnings: list[RowWarning] | None = None,
) -> int:
    """`{"as_of", "accounts": [...], "errors": [...], "warnings": [...]}`, streamed one account
    at a time. An account is an `AccountScore` or the same as plain data (`score_dict`), which
    orjson writes byte for byte as pydantic would, faster.

    `errors` and `warnings` are read after the accounts, so a generator may keep filling them
    while it runs."""
    out.write('{"as_of": ' + json.dumps(as_of.isoformat()) + ', "accounts": [')
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
    console = _Console(file=out)
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
