"""Portfolio I/O: read JSON, JSONL and CSV row by row (a bad row never loses the good ones)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.portfolio.account import (
    LIST_FIELDS,
    Account,
    HistoryPoint,
    JsonNestingError,
    Stakeholder,
    as_text,
    nearest_field,
    parse_json,
)
from tools.portfolio.fast_accounts import account_from_json, fast_account

T = TypeVar("T")

FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


class PortfolioError(ValueError):
    """The portfolio as a whole cannot be read (missing file, unknown format, broken JSON)."""


class RowError(BaseModel):
    """One problem with one row: where it is, which account, which field, and why."""

    model_config = ConfigDict(defer_build=True)

    source: str
    row: int
    id: str | None
    field: str
    reason: str

    def sentence(self) -> str:
        """The error as one line for stderr."""
        who = f" (id {self.id})" if self.id else ""
        return f"{self.source}: row {self.row}{who}: {self.field}: {self.reason}"


class RowWarning(BaseModel):
    """Something read but ignored or doubted: an unknown column, an implausible value."""

    model_config = ConfigDict(defer_build=True)

    source: str
    row: int
    id: str | None
    field: str
    value: str | int | float | bool | None = None
    reason: str

    def sentence(self) -> str:
        """The warning as one line for stderr."""
        who = f" (id {self.id})" if self.id else ""
        return f"{self.source}: row {self.row}{who}: {self.field}: {self.reason}"


@dataclass
class Portfolio:
    """A portfolio read in full: valid accounts, rejected rows, warnings (unknown columns or
    keys), and the data's own as-of date."""

    accounts: list[Account] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    as_of: date | None = None
    warnings: list[RowWarning] = field(default_factory=list)


def sample_portfolio_path() -> Path:
    """The sample portfolio bundled with the package."""
    import knowledge

    return Path(knowledge.__path__[0]) / "sample_portfolio.json"


def detect_format(path: Path) -> str:
    """json, jsonl or csv from the file extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise PortfolioError(
            f"{path}: unknown portfolio format '{path.suffix or '(none)'}'; "
            "use a .json, .jsonl or .csv file."
        ) from None


# a portfolio is read in blocks of 64 KB: with the default 8 KB, a row of 2 KB costs twice as
# much to find (a read from the file every four rows)
READ_BLOCK = 1 << 16


def _open_text(path: Path, errors: str = "strict") -> io.TextIOWrapper:
    return _open(path, lambda: open(path, encoding="utf-8-sig", newline="", errors=errors,
                                    buffering=READ_BLOCK))


def _open_binary(path: Path) -> io.BufferedReader:
    return _open(path, lambda: open(path, "rb", buffering=READ_BLOCK))


def _open(path: Path, opener: Callable[[], T]) -> T:
    try:
        return opener()
    except FileNotFoundError:
        raise PortfolioError(f"{path}: file not found; check the path.") from None
    except IsADirectoryError:
        raise PortfolioError(f"{path}: is a directory; pass a portfolio file.") from None
    except OSError as error:
        raise PortfolioError(f"{path}: cannot be opened ({error.strerror}).") from None


def _json_rows(path: Path) -> tuple[date | None, Iterator[tuple[int, Any]]]:
    with _open_text(path) as handle:
        try:
            data = parse_json(handle.read())
        except json.JSONDecodeError as error:
            raise PortfolioError(
                f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
            ) from None
        except JsonNestingError as error:
            raise PortfolioError(
                f"{path}: {error}; an account needs at most 3 levels, fix the file's structure."
            ) from None
        except UnicodeDecodeError:
            raise PortfolioError(f"{path}: not UTF-8 text; save it as UTF-8.") from None
    as_of = None
    if isinstance(data, dict):
        as_of = _file_as_of(path, data.get("as_of"))
        data = data.get("accounts")
    if not isinstance(data, list):
        raise PortfolioError(
            f'{path}: expected a JSON list of accounts or an object with an "accounts" list.'
        )
    return as_of, enumerate(data, start=1)


def _file_as_of(path: Path, value: object) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PortfolioError(
            f'{path}: "as_of" {value!r} is not an ISO date (YYYY-MM-DD).'
        ) from None


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _not_utf8(text: str) -> bool:
    """True when text read with surrogateescape held bytes that are not UTF-8."""
    return not text.isascii() and _ESCAPED_BYTE.search(text) is not None


NOT_UTF8 = "not UTF-8 text; save the file as UTF-8"


# where text mode (newline="") ends a line: at \n, \r\n or a lone \r
_TEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes | str]]:
    """The file's lines numbered as the text mode of `_open_text` numbers them (a line ends at
    \n, \r\n or a lone \r; a leading byte-order mark is dropped): an ASCII line as its bytes,
    any other decoded with surrogateescape. Read in binary, which finds the line ends some
    times faster than text mode's search for all three."""
    number = 0
    with _open_binary(path) as handle:
        for raw in handle:
            if not number:
                raw = raw.removeprefix(codecs.BOM_UTF8)
                if not raw:  # the mark alone: no line
                    continue
            if b"\r" in raw and not (raw.endswith(b"\r\n") and raw.count(b"\r") == 1):
                for line in _TEXT_LINE.findall(raw.decode("utf-8", "surrogateescape")):
                    number += 1
                    yield number, line
                continue
            number += 1
            yield number, raw if raw.isascii() else raw.decode("utf-8", "surrogateescape")


def _jsonl_rows(path: Path, accounts: bool = False) -> Iterator[tuple[int, Any]]:
    for line_no, read in _jsonl_lines(path):
        if accounts and isinstance(read, bytes):  # pydantic-core reads the bytes themselves
            account = account_from_json(read)
            if account is not None:
                yield line_no, account
                continue
        line = read.decode("ascii") if isinstance(read, bytes) else read
        if line.isspace():  # as `not line.strip()`, without copying the line
            continue
        if _not_utf8(line):
            yield line_no, _Broken(NOT_UTF8)
            continue
        if accounts and isinstance(read, str):
            account = account_from_json(line)
            if account is not None:
                yield line_no, account
                continue
        try:
            yield line_no, parse_json(line)
        except json.JSONDecodeError as error:
            yield line_no, _Broken(f"not valid JSON ({error.msg})")
        except JsonNestingError as error:
            yield line_no, _Broken(f"{error}; an account needs at most 3 levels")


KNOWN = {
    "": tuple(Account.model_fields),
    "stakeholders": tuple(Stakeholder.model_fields),
    "history": tuple(HistoryPoint.model_fields),
}


def unknown_field_reason(name: str, kind: str, known: Iterable[str]) -> str:
    """The warning text, e.g. unknown column 'MRR'; did you mean 'mrr'? (ignored)."""
    guess = nearest_field(name, known)
    hint = f"; did you mean '{guess}'?" if guess else ""
    return f"unknown {kind} '{name}'{hint} (ignored)"


def _csv_rows(path: Path, warnings: list[RowWarning] | None) -> Iterator[tuple[int, Any]]:
    with _open_text(path, errors="surrogateescape") as handle:
        first = handle.readline()
        handle.seek(0)
        delimiter = max(",;\t", key=first.count) if first else ","
        reader = csv.reader(handle, delimiter=delimiter)
        header = [name.strip() for name in next(reader, [])]
        if not header:
            return
        if warnings is not None:
            warnings.extend(_header_warnings(path.name, header))
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # e.g. a cell over the csv module's size limit
                yield reader.line_num, _Broken(f"not valid CSV ({error})")
                continue
            if not cells:
                continue  # a blank line
            if len(cells) != len(header):
                yield (
                    reader.line_num,
                    _Broken(
                        f"{len(cells)} cells, but the header has {len(header)} columns; "
                        "a separator is missing or extra in this row (quote cells that contain one)"
                    ),
                )
                continue
            record = dict(zip(header, cells, strict=True))
            if any(_not_utf8(f"{k}{v}") for k, v in record.items()):
                yield reader.line_num, _Broken(NOT_UTF8)
                continue
            yield reader.line_num, record


def _header_warnings(source: str, header: list[str]) -> Iterator[RowWarning]:
    seen: set[str] = set()
    for name in header:
        if _not_utf8(name):
            continue  # every row says so
        if name in seen:
            yield RowWarning(
                source=source,
                row=1,
                id=None,
                field=name,
                reason=f"column '{name}' appears more than once; the last one is used",
            )
        elif name not in Account.model_fields:
            yield RowWarning(
                source=source,
                row=1,
                id=None,
                field=name,
                reason=unknown_field_reason(name, "column", KNOWN[""]),
            )
        seen.add(name)


@dataclass
class _Broken:
    reason: str


def iter_rows(
    path: Path, warnings: list[RowWarning] | None = None, accounts: bool = False
) -> tuple[date | None, Iterator[tuple[int, Any]]]:
    """The file's as-of date (JSON only) and its raw rows with their row numbers.

    Row numbers are where a person finds the row: the line for JSONL and CSV (header = line 1),
    the position in the list for JSON. `warnings`, when given, receives one warning per unknown
    or repeated CSV column as the rows are read. With `accounts`, a JSONL row that
    `account_from_json` reads in one pass comes as its Account, ready for `validated_rows`."""
    kind = detect_format(path)
    if kind == "json":
        return _json_rows(path)
    if not path.exists():
        raise PortfolioError(f"{path}: file not found; check the path.")
    return None, (_jsonl_rows(path, accounts) if kind == "jsonl" else _csv_rows(path, warnings))


def _field_name(loc: tuple[Any, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(row)"


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return "required, but missing; add it"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    shown = _shown(error.get("input"))
    if not shown or message.startswith("too large"):  # the reason says it already
        return message
    return f"{message} (got {shown})"


def _shown(value: Any) -> str | None:
    """A short, printable form of a rejected input, or None for structures and huge values."""
    if isinstance(value, bool) or (isinstance(value, int) and value.bit_length() <= 64):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else f"{value[:40]!r}... ({len(value)} characters)"
    return None


def parse_row(source: str, row: int, record: Any) -> Account | list[RowError]:
    """Validate one raw row into an Account, or explain every problem in it (a row that
    `iter_rows` read as an Account already is only located)."""
    if isinstance(record, Account):
        return record.located(source, row)
    if isinstance(record, _Broken):
        return [RowError(source=source, row=row, id=None, field="(row)", reason=record.reason)]
    if not isinstance(record, dict):
        return [
            RowError(
                source=source,
                row=row,
                id=None,
                field="(row)",
                reason="expected an object with account fields",
            )
        ]
    try:
        account = fast_account(record) or Account.model_validate(record)
        return account.located(source, row)
    except ValidationError as error:
        raw_id = record.get("id")
        account_id = _shown_id(raw_id)
        return [
            RowError(
                source=source,
                row=row,
                id=account_id,
                field=_field_name(e["loc"]),
                reason=_reason(e),
            )
            for e in error.errors()
        ]


def _shown_id(raw: Any) -> str | None:
    if raw is None or raw == "" or isinstance(raw, dict | list):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 64:
        return None
    text = str(raw).strip()
    return (text if len(text) <= 60 else text[:60] + "...") or None


def _unknown_keys(
    account: Account, row: int, source: str, top_level: bool, seen: set[str]
) -> list[RowWarning]:
    """One warning per unknown key of a row, a stakeholder or a history point, per file."""
    places: list[tuple[str, str, BaseModel]] = (
        [("", "", account)] if top_level and account.__pydantic_extra__ else []
    )
    for group in ("stakeholders", "history"):
        items = getattr(account, group)
        if items:  # a plain loop: this runs for every row, and almost no row has any
            for i, item in enumerate(items):
                if item.__pydantic_extra__:
                    places.append((group, f"{group}[{i}].", item))
    found: list[RowWarning] = []
    for group, prefix, item in places:
        for name in item.model_extra or {}:
            if f"{group}.{name}" in seen:
                continue
            seen.add(f"{group}.{name}")
            found.append(RowWarning(
                source=source,
                row=row,
                id=account.id,
                field=f"{prefix}{name}",
                reason=unknown_field_reason(name, "key", KNOWN[group]),
            ))
    return found


def failed_row(source: str, row: int, account_id: str | None, error: BaseException) -> RowError:
    """A row that failed while it was being processed (not a validation error), as a row error."""
    detail = " ".join(str(error).split())[:200]
    return RowError(
        source=source,
        row=row,
        id=account_id,
        field="(row)",
        reason=f"not processed: {type(error).__name__}" + (f": {detail}" if detail else ""),
    )


def validated_rows(
    source: str,
    rows: Iterable[tuple[int, Any]],
    warnings: list[RowWarning] | None = None,
    top_level: bool = True,
) -> Iterator[tuple[int, Any, Account | list[RowError]]]:
    """Each raw row with its row number and its validation: the account, or the row's errors.

    A duplicate id is rejected (the first row with an id wins); a row whose validation itself
    fails is named, never raised. `warnings`, when given, receives one warning per unknown key
    per source (`top_level` False: only inside stakeholders and history, as for CSV, whose
    columns the reader names once from the header)."""
    first_seen: dict[str, int] = {}
    unknown: set[str] = set()
    for row, record in rows:
        try:
            result = parse_row(source, row, record)
        except Exception as error:  # noqa: BLE001 - one row never stops the others
            raw = record.get("id") if isinstance(record, dict) else None
            result = [failed_row(source, row, None if raw is None else str(raw), error)]
        if isinstance(result, Account):
            # an account the reader built in one pass (`account_from_json`) has no unknown key
            if warnings is not None and not isinstance(record, Account):
                warnings += _unknown_keys(result, row, source, top_level, unknown)
            if result.id in first_seen:
                result = [
                    RowError(
                        source=source,
                        row=row,
                        id=result.id,
                        field="id",
                        reason=f"duplicate id, first used in row {first_seen[result.id]}; "
                        "give each account its own id",
                    )
                ]
            else:
                first_seen[result.id] = row
        yield row, record, result


def row_ids(rows: Iterable[tuple[int, Any]]) -> tuple[set[str], int]:
    """The account ids of raw rows, read as validation reads them (a number as its text,
    whitespace stripped), without validating the rest; and how many rows name no account
    although they hold something (unreadable, or no id): any of them may be a known account.
    A row whose every value is blank is no account and is not counted."""
    ids: set[str] = set()
    unidentified = 0
    for _, record in rows:
        value = as_text(record.get("id")) if isinstance(record, dict) else None
        if isinstance(value, str) and value.strip():
            ids.add(value.strip())
        elif not isinstance(record, dict) or any(
            not (v is None or (isinstance(v, str) and not v.strip())) for v in record.values()
        ):
            unidentified += 1
    return ids, unidentified


def numbered_accounts(
    path: Path, warnings: list[RowWarning] | None = None
) -> tuple[date | None, Iterator[tuple[int, Account | list[RowError]]]]:
    """The file's as-of date and each row's account or errors with its row number."""
    as_of, rows = iter_rows(path, warnings, accounts=True)
    results = validated_rows(path.name, rows, warnings, detect_format(path) != "csv")
    return as_of, ((row, result) for row, _, result in results)


def stream_accounts(
    path: Path, warnings: list[RowWarning] | None = None
) -> tuple[date | None, Iterator[Account | list[RowError]]]:
    """Validated accounts, or each bad row's errors, in file order; duplicate ids are rejected.

    `warnings`, when given, receives one warning per unknown column (CSV) or unknown key
    (JSON, JSONL; also inside stakeholders and history points) per file, as the rows are read."""
    as_of, results = numbered_accounts(path, warnings)
    return as_of, (result for _, result in results)


def read_portfolio(path: str | Path | None = None) -> Portfolio:
    """Read a whole portfolio (the bundled sample by default)."""
    file = Path(path) if path else sample_portfolio_path()
    portfolio = Portfolio()
    portfolio.as_of, results = stream_accounts(file, portfolio.warnings)
    for result in results:
        if isinstance(result, Account):
            portfolio.accounts.append(result)
        else:
            portfolio.errors.extend(result)
    return portfolio


def csv_value(value: Any) -> Any:
    """A field as a portfolio CSV cell: lists and records as JSON text, unknown as empty."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value


def write_portfolio(
    records: Iterable[dict[str, Any]], path: Path, as_of: date | None = None
) -> int:
    """Write account dicts as JSON, JSONL or CSV (by extension), streaming; returns the count."""
    kind = detect_format(path)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        if kind == "csv":
            columns = [name for name in Account.model_fields]
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for record in records:
                writer.writerow({k: csv_value(record.get(k)) for k in columns})
                count += 1
            return count
        if kind == "jsonl":
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
            return count
        header = {"as_of": as_of.isoformat()} if as_of else {}
        handle.write(json.dumps(header, ensure_ascii=False)[:-1] + (", " if header else ""))
        handle.write('"accounts": [\n')
        for record in records:
            handle.write(("" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
            count += 1
        handle.write("\n]}\n")
    return count


__all__ = [
    "LIST_FIELDS",
    "Portfolio",
    "PortfolioError",
    "RowError",
    "RowWarning",
    "detect_format",
    "csv_value",
    "failed_row",
    "iter_rows",
    "numbered_accounts",
    "parse_row",
    "read_portfolio",
    "row_ids",
    "sample_portfolio_path",
    "stream_accounts",
    "validated_rows",
    "write_portfolio",
]
