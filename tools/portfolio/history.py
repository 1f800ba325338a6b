"""The history file of SPEC 14: one row per account per snapshot date, every account field as
it was known on that date, plus `as_of` (the snapshot date) and `churned_on` (the day the
account churned, empty when it had not churned by the file's end). Pure functions; the store
and the command that read and write it live in `agent/`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.escaping import csv_cell
from tools.portfolio.account import Account
from tools.portfolio.readers import csv_value

# as_of first, then every account field in the order of SPEC 1 (churned_on among them)
HISTORY_COLUMNS: tuple[str, ...] = ("as_of", *Account.model_fields)


def history_row(
    as_of: str,
    inputs: Mapping[str, Any] | None,
    snapshot: Mapping[str, Any],
    churned_on: str | None,
    end: str,
) -> dict[str, Any]:
    """One row: the account's inputs as assessed on `as_of` (when the snapshot kept none, the
    account fields the snapshot record has), `as_of`, and `churned_on` when the account
    churned on or before `end` (the file's last date), else None."""
    if inputs is not None:
        fields = dict(inputs)
    else:
        fields = {
            k: v for k, v in snapshot.items() if k in Account.model_fields and v is not None
        }
    fields["churned_on"] = churned_on if churned_on is not None and churned_on <= end else None
    return {"as_of": as_of, **fields}


def history_csv_row(row: Mapping[str, Any]) -> list[Any]:
    """A history row as CSV cells in HISTORY_COLUMNS order: lists as JSON text, unknown as
    empty, text neutralised for spreadsheets (`csv_cell`)."""
    return [csv_cell(csv_value(row.get(column))) for column in HISTORY_COLUMNS]

