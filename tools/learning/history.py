"""History files (SPEC 14): one row per account per snapshot date, every account field as it was
known that day plus `as_of` (the snapshot date) and `churned_on` (the day the account left, empty
if it had not left by the file's end).

Rows come from any source of raw records (a JSONL or CSV file here; the store's snapshots plug
in the same way): each row is validated with the portfolio readers, a bad row is named and
skipped, never fatal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tools.portfolio.account import Account
from tools.portfolio.history import HISTORY_COLUMNS, history_csv_row
from tools.portfolio.readers import (
    RowError,
    RowWarning,
    iter_rows,
    parse_row,
    unknown_field_reason,
)

SNAPSHOT_FIELDS = ("as_of", "churned_on")


@dataclass(frozen=True)
class Snapshot:
    """One account as known on `as_of`, with the churn date its row gives (None: not churned
    by the file's end, as far as this row says)."""

    account: Account
    as_of: date
    churned_on: date | None
    row: int


@dataclass
class History:
    """A history read in full: the valid snapshots, the rejected rows' errors and the
    warnings (unknown columns or keys, conflicting churn dates)."""

    source: str
    snapshots: list[Snapshot] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        """How many rows were rejected."""
        return len({e.row for e in self.errors})


def _day(source: str, row: int, name: str, value: Any, account_id: str | None) -> date | RowError:
    """An ISO date cell, or the row error that explains why it is not one."""
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:30]}..."
        return RowError(
            source=source,
            row=row,
            id=account_id,
            field=name,
            reason=f"not an ISO date (got {shown}); write it as YYYY-MM-DD",
        )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_snapshot(source: str, row: int, record: Any) -> Snapshot | list[RowError]:
    """Validate one raw history row: the account with the readers' rules, `as_of` required,
    `churned_on` optional; every problem of the row is named."""
    if not isinstance(record, dict):
        result = parse_row(source, row, record)
        return result if isinstance(result, list) else [_not_a_record(source, row)]
    record = dict(record)
    raw_as_of = record.pop("as_of", None)
    raw_churned = record.get("churned_on")
    if "churned_on" not in Account.model_fields:
        record.pop("churned_on", None)
    account = parse_row(source, row, record)
    errors = list(account) if isinstance(account, list) else []
    account_id = account.id if isinstance(account, Account) else _id(record)
    as_of: date | RowError
    if _blank(raw_as_of):
        as_of = RowError(
            source=source,
            row=row,
            id=account_id,
            field="as_of",
            reason="required, but missing; give the snapshot date (YYYY-MM-DD)",
        )
    else:
        as_of = _day(source, row, "as_of", raw_as_of, account_id)
    churned: date | RowError | None = None
    if not _blank(raw_churned):
        churned = _day(source, row, "churned_on", raw_churned, account_id)
    errors += [e for e in (as_of, churned) if isinstance(e, RowError)]
    if errors or not isinstance(account, Account):
        return errors
    assert isinstance(as_of, date) and not isinstance(churned, RowError)
    return Snapshot(account=account, as_of=as_of, churned_on=churned, row=row)


def _not_a_record(source: str, row: int) -> RowError:
    return RowError(
        source=source, row=row, id=None, field="(row)", reason="expected an object with fields"
    )


def _id(record: dict[str, Any]) -> str | None:
    raw = record.get("id")
    if raw is None or isinstance(raw, dict | list):
        return None
    return str(raw).strip()[:60] or None


def history_rows(
    source: str,
    rows: Iterable[tuple[int, Any]],
    warnings: list[RowWarning] | None = None,
) -> Iterator[Snapshot | list[RowError]]:
    """Each raw row validated into a snapshot, or its errors, in order. A second row for the
    same account and date is rejected (the first wins); `warnings`, when given, receives one
    warning per unknown key per source."""
    first: dict[tuple[str, date], int] = {}
    unknown: set[str] = set()
    for row, record in rows:
        try:
            result = parse_snapshot(source, row, record)
        except Exception as error:  # noqa: BLE001 - one row never stops the others
            detail = " ".join(str(error).split())[:200]
            result = [
                RowError(
                    source=source,
                    row=row,
                    id=_id(record) if isinstance(record, dict) else None,
                    field="(row)",
                    reason=f"not processed: {type(error).__name__}: {detail}",
                )
            ]
        if isinstance(result, Snapshot):
            key = (result.account.id, result.as_of)
            if key in first:
                result = [
                    RowError(
                        source=source,
                        row=row,
                        id=result.account.id,
                        field="as_of",
                        reason=f"a second snapshot of this account on {result.as_of} (the "
                        f"first is row {first[key]}); keep one row per account per date",
                    )
                ]
            else:
                first[key] = row
                if warnings is not None:
                    warnings.extend(_unknown(source, result, unknown))
        yield result


def _unknown(source: str, snapshot: Snapshot, seen: set[str]) -> Iterator[RowWarning]:
    for name in snapshot.account.model_extra or {}:
        if name not in seen:
            seen.add(name)
            yield RowWarning(
                source=source,
                row=snapshot.row,
                id=snapshot.account.id,
                field=name,
                reason=unknown_field_reason(name, "key", (*Account.model_fields, *SNAPSHOT_FIELDS)),
            )


def history_file_rows(
    path: Path, warnings: list[RowWarning] | None = None
) -> Iterator[Snapshot | list[RowError]]:
    """The snapshots of a history file (JSONL or CSV; a JSON list works too), validated row by
    row. CSV columns other than the account fields, `as_of` and `churned_on` are warned about
    once, from the header."""
    header: list[RowWarning] = []
    _, rows = iter_rows(path, header)
    is_csv = path.suffix.lower() == ".csv"

    def relay() -> Iterator[tuple[int, Any]]:
        for row in rows:
            if warnings is not None and header:
                warnings.extend(w for w in header if w.field not in SNAPSHOT_FIELDS)
                header.clear()
            yield row

    return history_rows(path.name, relay(), None if is_csv else warnings)


def read_history(path: str | Path) -> History:
    """A whole history file: snapshots, row errors and warnings."""
    file = Path(path)
    history = History(source=file.name)
    for item in history_file_rows(file, history.warnings):
        if isinstance(item, Snapshot):
            history.snapshots.append(item)
        else:
            history.errors.extend(item)
    return history


def write_history(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Write history rows as JSONL or CSV (by extension; the CSV has the columns and cells of
    `csm history export`, tools.portfolio.history); returns the count."""
    import csv
    import json

    kind = path.suffix.lower()
    if kind not in (".csv", ".jsonl", ".ndjson"):
        raise ValueError(f"{path}: a history file is .jsonl or .csv; use one of those")
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        if kind == ".csv":
            writer = csv.writer(handle)
            writer.writerow(HISTORY_COLUMNS)
            for record in records:
                writer.writerow(history_csv_row(record))
                count += 1
        else:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    return count
