"""A rich table without colours, laid out row by row: what rich prints, byte for byte, at a
fraction of its cost on a large portfolio (issue 15)."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text


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
