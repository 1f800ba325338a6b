"""Plausibility review: values that are valid one by one but cannot be true as of the scoring
date, or together. Each such value is ignored (made unknown) and named in a warning, so no
score rests on it. The table of rules is in docs/result-shape.md."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from tools.portfolio.account import Account

# Dates that record something that already happened, with what happened for the reason.
PAST_ONLY = {
    "last_login": "a last login",
    "last_qbr_date": "a QBR held",
}
STAKEHOLDER_PAST_ONLY = {
    "since": "a start in the role",
    "last_contact": "a last contact",
}


class FieldWarning(BaseModel):
    """One doubted input: the field (dotted, with list positions), its value and why."""

    model_config = ConfigDict(defer_build=True)

    field: str
    value: str | int | float | bool | None
    reason: str


class Reviewed(NamedTuple):
    """The account with every doubted value made unknown, and one warning per value."""

    account: Account
    warnings: list[FieldWarning]


def _future(what: str, as_of: date) -> str:
    return f"after the as-of date {as_of.isoformat()}, but {what} cannot be in the future (ignored)"


def _past_only(account: Account, as_of: date, warnings: list[FieldWarning]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, what in PAST_ONLY.items():
        value: date | None = getattr(account, name)
        if value is not None and value > as_of:
            warnings.append(
                FieldWarning(field=name, value=value.isoformat(), reason=_future(what, as_of))
            )
            changes[name] = None
    return changes


def _stakeholders(account: Account, as_of: date, warnings: list[FieldWarning]) -> dict[str, Any]:
    if not account.stakeholders:
        return {}
    people, changed = [], False
    for i, person in enumerate(account.stakeholders):
        update: dict[str, Any] = {}
        for name, what in STAKEHOLDER_PAST_ONLY.items():
            value: date | None = getattr(person, name)
            if value is not None and value > as_of:
                warnings.append(
                    FieldWarning(
                        field=f"stakeholders[{i}].{name}",
                        value=value.isoformat(),
                        reason=_future(what, as_of),
                    )
                )
                update[name] = None
        people.append(person.model_copy(update=update) if update else person)
        changed = changed or bool(update)
    return {"stakeholders": people} if changed else {}


def _history(account: Account, as_of: date, warnings: list[FieldWarning]) -> dict[str, Any]:
    if not account.history:
        return {}
    kept = []
    for i, point in enumerate(account.history):
        if point.date > as_of:
            warnings.append(
                FieldWarning(
                    field=f"history[{i}].date",
                    value=point.date.isoformat(),
                    reason=f"after the as-of date {as_of.isoformat()}, but a history point "
                    "records the past (the point is ignored)",
                )
            )
        else:
            kept.append(point)
    return {"history": kept} if len(kept) != len(account.history) else {}


def _counts(account: Account, warnings: list[FieldWarning]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    active, licensed = account.active_seats, account.licensed_seats
    if active is not None and licensed is not None and active > licensed:
        warnings.append(
            FieldWarning(
                field="active_seats",
                value=active,
                reason=f"more than licensed_seats ({licensed}); both are ignored for seat usage",
            )
        )
        changes.update(active_seats=None, licensed_seats=None)
    complaints, interactions = account.complaints, account.interactions
    if complaints is not None and interactions is not None and complaints > interactions:
        warnings.append(
            FieldWarning(
                field="complaints",
                value=complaints,
                reason=f"more than interactions ({interactions}), which count every "
                "complaint; complaints are ignored",
            )
        )
        changes["complaints"] = None
    return changes


def review(account: Account, as_of: date) -> Reviewed:
    """Make every implausible input unknown and say why. Pure: the given account is not
    changed; with nothing to doubt, the same account comes back with no warnings."""
    warnings: list[FieldWarning] = []
    changes = _past_only(account, as_of, warnings)
    changes |= _stakeholders(account, as_of, warnings)
    changes |= _history(account, as_of, warnings)
    changes |= _counts(account, warnings)
    if not changes:
        return Reviewed(account, warnings)
    return Reviewed(account.model_copy(update=changes), warnings)
