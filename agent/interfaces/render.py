"""Render scored accounts for people (a table), spreadsheets (CSV) and programs (JSON)."""

from __future__ import annotations

import codecs
import csv
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from typing import IO, TYPE_CHECKING, Any, TypeVar

import orjson

from agent.interfaces.console import console_class
from tools.escaping import csv_cell
from tools.portfolio.readers import RowError, RowWarning
from tools.scoring.expansion import expected_expansion
from tools.scoring.score import AccountScore, ScoreSummary

Scored = TypeVar("Scored")

if TYPE_CHECKING:
    from tools.playbook import Playbook

PLAIN_WIDTH = 80  # the table's width when the output is no terminal (more with --wide)
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


def write_table(
    scores: Iterable[AccountScore | ScoreSummary],
    as_of: date,
    playbook: Playbook,
    out: IO[str],
    model: dict[str, Any] | None = None,
    sort: str = "churn",
    wide: bool = False,
) -> int:
    """The accounts as a table for people (`score_table`), sorted by `sort`, fitting the
    terminal's width (80 columns when the output is no terminal; unlimited when `wide`);
    returns the account count. With a churn model (`model`: its summary), one more column
    shows its churn probability and a line under the table states its method.

    Every cell is cleaned for the terminal: names and ids are shown, never obeyed. With
    colours (a terminal), rich draws the table; otherwise `plain_table` writes the same lines
    without importing rich."""
    from agent.interfaces.plain_table import fit_widths, rich_table, table_lines, wrap
    from agent.interfaces.score_table import columns, footer, make_row, sorted_rows, title

    labels = {signal_id: str(signal.label) for signal_id, signal in playbook.signals.items()}
    rows = sorted_rows([make_row(s, labels, model) for s in scores], sort)
    if not rows:
        return 0
    header = columns(playbook.currency, model)
    colours = _needs_rich(out)
    limit = None if wide else (shutil.get_terminal_size().columns if colours else PLAIN_WIDTH)
    widths = fit_widths(header, [row.cells for row in rows], limit)
    text_width = max(limit or 0, sum(widths) + 2 * (len(widths) - 1), PLAIN_WIDTH)

    def say(line: str) -> None:
        out.write("".join(piece.rstrip() + "\n" for piece in wrap(line, text_width)))

    say(title(as_of, len(rows), sort))
    if colours:
        from rich.text import Text

        table = rich_table(header, widths)
        for row in rows:
            table.add_row(*(Text(c, style=st) for c, st in zip(row.cells, row.styles, strict=True)))
        console_class()(file=out, width=text_width).print(table)
    else:
        lines: list[str] = []  # written some thousand at a time, not kept
        for line in table_lines(header, widths, (row.cells for row in rows)):
            lines.append(line)
            if len(lines) == 4096:
                out.write("\n".join(lines) + "\n")
                lines.clear()
        if lines:
            out.write("\n".join(lines) + "\n")
    for line in footer(rows, playbook, model):
        say(line)
    return len(rows)


def _needs_rich(out: IO[str]) -> bool:
    """Whether rich must draw the table: the output takes colours (a terminal, or colours
    forced with TTY_COMPATIBLE=1 or FORCE_COLOR, as rich reads them), is not UTF-8 (rich
    swaps the box characters), or runs in a notebook."""
    if not (getattr(out, "encoding", None) or "").lower().replace("-", "").startswith("utf8"):
        return True
    if "IPython" in sys.modules:
        return True
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):
        return False


def write_csv(
    scores: Iterable[AccountScore | ScoreSummary], out: IO[str], model: bool = False
) -> int:
    """One flat row per account; text cells are neutralised for spreadsheets (`csv_cell`).
    With a churn model, two more columns: its churn and renewal probability."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS + (MODEL_COLUMNS if model else []))
    count = 0
    cell = csv_cell  # on text cells: numbers and None pass it unchanged
    for s in scores:
        count += 1
        health, churn = s.health, s.churn_risk
        row = [
            cell(s.id),
            cell(s.name),
            health.score,
            cell(health.color),
            health.coverage,
            churn.score,
            cell(churn.tier),
            churn.coverage,
            cell(";".join([sig.id for sig in s.signals])),
            cell(";".join([o.id for o in s.opportunities])),
            expected_expansion(s.opportunities),
        ]
        if model:
            forecast = getattr(s, "model_forecast", None)
            row += [forecast.churn_probability, forecast.renewal_probability] if forecast else [
                None,
                None,
            ]
        writer.writerow(row)
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
    raw = utf8_bytes(out)
    if raw is not None:  # orjson's bytes as they are: no decoding and encoding again
        out.flush()
        write: Any = raw.write
    else:
        def write(data: bytes) -> None:
            out.write(data.decode())
    for s in scores:
        data = orjson.dumps(s) if isinstance(s, dict) else s.model_dump_json().encode()
        write((b"\n  " if count == 0 else b",\n  ") + data)
        count += 1
    out.write('\n], "errors": ' + json.dumps([e.model_dump() for e in errors], ensure_ascii=False))
    shown = [w.model_dump() for w in warnings or []]
    out.write(', "warnings": ' + json.dumps(shown, ensure_ascii=False))
    out.write("}\n")
    return count


def utf8_bytes(out: IO[str]) -> IO[bytes] | None:
    """The byte stream under a text stream that writes UTF-8 and "\\n" as they are (stdout
    on Linux), where bytes written after a flush of the text stream keep their place; None
    for any other stream (a test's StringIO, another encoding, Windows line ends)."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is None or not isinstance(encoding, str) or os.linesep != "\n":
        return None
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return None
    return buffer if utf8 else None


def only_scores(
    items: Iterable[Scored | list[RowError]], errors: list[RowError]
) -> Iterator[Scored]:
    """Pass scores through; collect row errors into `errors`."""
    for item in items:
        if isinstance(item, list):
            errors.extend(item)
        else:
            yield item
