"""A table of plain text at given column widths, laid out line by line as rich lays out the
same table (issue 15: rich itself is imported only when the output has colours).

The table has no outer border: a header, a rule under it, and the rows; columns two spaces
apart; a cell wraps at spaces, a word longer than its column is cut, and each line is padded
to the column's width (left- or right-justified). This is rich's `Table` with the `SIMPLE_HEAD`
box, no edge, no edge padding and collapsed padding (`rich_table` builds it), which the tests
use as the reference. Widths count terminal cells (`rich.cells`: wide characters take two)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from rich.cells import cell_len, chop_cells, set_cell_size

if TYPE_CHECKING:
    from rich.table import Table

GAP = "  "
RULE = "─"
_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")


class Column(NamedTuple):
    """A column: its header (lines apart by \\n), whether its cells are right-justified, and
    whether it may be narrowed (its cells wrap) when the table is too wide."""

    header: str
    right: bool = False
    flexible: bool = False


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def natural_width(text: str) -> int:
    """The width a text takes unwrapped: its longest line."""
    if text.isascii() and "\n" not in text:  # the common case
        return len(text)
    return max(map(_width, text.split("\n")))


def _breaks(line: str, width: int) -> list[int]:
    """Where a line of text is broken to fit `width` cells: greedily at the start of a word (a
    word keeps the spaces after it); a word wider than a whole line is cut at cell bounds."""
    breaks: list[int] = []
    used = 0
    size = len if line.isascii() else cell_len
    for match in _WORD.finditer(line):
        start, word = match.start(), match.group()
        need = size(word.rstrip())
        if need <= width - used:
            used += size(word)
        elif need > width:
            pieces = chop_cells(word, width)
            for piece in pieces[:-1]:
                if start:
                    breaks.append(start)
                start += len(piece)
            if start:
                breaks.append(start)
            used = size(pieces[-1])
        elif used and start:
            breaks.append(start)
            used = size(word)
    return breaks


def wrap(line: str, width: int) -> list[str]:
    """One line of text as the lines it wraps into at `width` (not padded); the spaces at a
    break stay at the end of the line before it, unless they would overflow it."""
    cuts = [0, *_breaks(line, width), len(line)]
    lines = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        piece = line[start:end]
        if len(piece) > width and (space := _TRAILING_SPACE.search(piece)):
            piece = piece[: len(piece) - min(len(space.group()), len(piece) - width)]
        lines.append(piece)
    return lines


def cell_lines(text: str, width: int, right: bool = False) -> list[str]:
    """A cell's lines, each exactly `width` cells: wrapped, then padded on the right (or, for
    a right-justified cell, stripped of trailing spaces and padded on the left)."""
    if text.isascii() and text.isprintable() and len(text) <= width:  # the common case
        return [text.rstrip().rjust(width) if right else text.ljust(width)]
    lines = []
    for paragraph in text.split("\n"):
        if paragraph.isascii() and paragraph.isprintable() and len(paragraph) <= width:
            lines.append(paragraph.rstrip().rjust(width) if right else paragraph.ljust(width))
            continue
        for line in wrap(paragraph, width):
            if right:
                line = line.rstrip()
                line = " " * (width - _width(line)) + line if _width(line) <= width else (
                    set_cell_size(line, width))
            lines.append(set_cell_size(line, width))
    return lines


def table_lines(
    columns: Sequence[Column], widths: Sequence[int], rows: Iterable[Sequence[str]]
) -> Iterator[str]:
    """The table's lines, one row's at a time: the header (aligned to its last line), a rule,
    then each row (as tall as its tallest cell)."""
    yield from _row_lines(columns, widths, [c.header for c in columns], [{} for _ in columns],
                          True)
    yield RULE * (sum(widths) + len(GAP) * (len(widths) - 1))
    # a column's cells often repeat (tiers, signal labels, amounts): each is laid out once
    laid: list[dict[str, list[str]]] = [{} for _ in columns]
    for row in rows:
        yield from _row_lines(columns, widths, row, laid)


def _row_lines(
    columns: Sequence[Column],
    widths: Sequence[int],
    row: Sequence[str],
    laid: list[dict[str, list[str]]],
    bottom: bool = False,
) -> list[str]:
    """A row's lines; its shorter cells padded below (above for the header, as rich aligns a
    header to the bottom). `laid` keeps each column's cells already laid out, by text, but for
    one-line ASCII cells, quicker to lay out again than to keep (ids, names)."""
    cells = []
    height = 1
    for text, width, column, known in zip(row, widths, columns, laid, strict=True):
        lines = known.get(text)
        if lines is None:
            lines = cell_lines(text, width, column.right)
            if len(lines) > 1 or not text.isascii():
                known[text] = lines
        if len(lines) > height:
            height = len(lines)
        cells.append(lines)
    if height == 1:
        return [GAP.join([cell[0] for cell in cells])]
    padded = [
        cell if len(cell) == height
        else (([" " * width] * (height - len(cell)) + cell) if bottom
              else cell + [" " * width] * (height - len(cell)))
        for cell, width in zip(cells, widths, strict=True)
    ]
    return [GAP.join(line) for line in zip(*padded, strict=True)]


def fit_widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], limit: int | None
) -> list[int]:
    """Each column's width: its widest line (header included); when the table would be wider
    than `limit` cells, the flexible columns share what the others leave, each narrowed no
    further than its widest header word or 6 cells, the widest first (water-filling)."""
    widths = [natural_width(c.header) for c in columns]
    for row in rows:
        for i, text in enumerate(row):
            if (size := natural_width(text)) > widths[i]:
                widths[i] = size
    gaps = len(GAP) * (len(columns) - 1)
    if limit is None or sum(widths) + gaps <= limit:
        return widths
    flexible = sorted((i for i, c in enumerate(columns) if c.flexible), key=widths.__getitem__)
    room = limit - gaps - sum(w for i, w in enumerate(widths) if i not in flexible)
    for left, i in zip(range(len(flexible), 0, -1), flexible, strict=True):
        floor = min(widths[i], max([6, *map(_width, columns[i].header.split())]))
        widths[i] = max(floor, min(widths[i], room // left))
        room -= widths[i]
    return widths


def rich_table(columns: Sequence[Column], widths: Sequence[int]) -> Table:
    """The same table in rich (for colours in a terminal, and as the tests' reference), with
    its columns at `widths` and no rows."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                  header_style="bold", expand=False)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(Text(column.header), justify="right" if column.right else "left",
                         width=width, overflow="fold")
    return table
