"""A rich table without colours, laid out row by row: what rich prints, byte for byte, at a
fraction of its cost on a large portfolio (issue 15)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat

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
    renders that copy. The cells are then laid out here, a column at a time, the way rich lays
    out a line that fits its column; a row with a line that does not fit is rendered by rich
    alone, at the same widths."""
    columns = list(zip(*rows, strict=True))
    sizing = empty_table()
    for i in sorted({i for column in columns for i in _widest(column)}):
        sizing.add_row(*(Text(text) for text in rows[i]))
    with console.capture() as captured:
        console.print(sizing)
    printed = captured.get().split("\n")
    header_end = next(i for i, line in enumerate(printed) if line.startswith("┡"))
    widths = [len(part) - 2 for part in printed[header_end][1:-1].split("╇")]
    laid: list[list[str | list[str]]] = []
    apart: set[int] = set()  # rows with a cell of several lines, or one rich must wrap
    for column, width, sized in zip(columns, widths, sizing.columns, strict=True):
        laid.append(_lay_out(column, width, sized.justify == "right", apart))
    lines = printed[: header_end + 1]
    for i, cells in enumerate(zip(*laid, strict=True)):
        if i not in apart:
            lines.append("│ " + " │ ".join(cells) + " │")  # type: ignore[arg-type]
        elif None in cells:
            lines.extend(_row_by_rich(console, empty_table(), widths, rows[i]))
        else:
            stacked = [cell if isinstance(cell, list) else [cell] for cell in cells]
            for k in range(max(map(len, stacked))):
                lines.append(
                    "│ "
                    + " │ ".join(
                        cell[k] if k < len(cell) else " " * width
                        for cell, width in zip(stacked, widths, strict=True)
                    )
                    + " │"
                )
    lines.append(printed[-2] if printed[-1] == "" else printed[-1])
    return lines


def _plain_ascii(column: tuple[str, ...]) -> bool:
    """Every cell is printable ASCII (so one line, one terminal cell per character)."""
    joined = "".join(column)
    return joined.isascii() and joined.isprintable()


def _widest(column: tuple[str, ...]) -> set[int]:
    """The rows holding the column's widest line and its longest word (rich sizes the column
    from those two)."""
    if _plain_ascii(column) and " " not in "".join(column):  # each cell one word: min = max
        lengths = list(map(len, column))
        return {lengths.index(max(lengths))}
    measured = [_measure(text) for text in column]
    rows = range(len(column))
    return {max(rows, key=lambda i: measured[i][0]), max(rows, key=lambda i: measured[i][1])}


def _lay_out(
    column: tuple[str, ...], width: int, right: bool, apart: set[int]
) -> list[str | list[str]]:
    """Each cell of a column padded to `width` as rich pads it: a line, a list of lines for a
    cell of several, or None when a line does not fit (the row's index then goes to `apart`)."""
    if _plain_ascii(column) and max(map(len, column)) <= width:
        if not right:
            return list(map(str.ljust, column, repeat(width)))
        if " " not in "".join(column):
            return list(map(str.rjust, column, repeat(width)))
    fit = _fits_right if right else _fits
    cells: list[str | list[str]] = []
    for i, text in enumerate(column):
        if "\n" not in text:
            line = fit(text, width)
            if line is None:
                apart.add(i)
            cells.append(line)  # type: ignore[arg-type]
            continue
        lines = [fit(part, width) for part in text.split("\n")]
        apart.add(i)
        cells.append(None if None in lines else lines)  # type: ignore[arg-type]
    return cells


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
