"""Early-warning signals (SPEC 4): each rule fires with the evidence that triggered it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.numbers import add_days, days_between, plain
from tools.playbook import Playbook, Signal
from tools.portfolio.account import Account, Stakeholder
from tools.scoring.rules import per_playbook

NOT_EVALUATED = None


class SignalResult(BaseModel):
    """A fired signal: what to do and why."""

    model_config = ConfigDict(defer_build=True)

    id: str
    label: str
    severity: str
    action: str
    evidence: str


class Signals(BaseModel):
    """Fired signals and the rules whose inputs were unknown."""

    model_config = ConfigDict(defer_build=True)

    fired: list[SignalResult]
    not_evaluated: list[str]


# Each check takes the values of its signal's inputs (`signal_rules`) and returns evidence when the
# rule fires, "" when it was evaluated and did not fire, and None when its inputs are unknown.
Check = Callable[[tuple[Any, ...], Signal, Playbook, date], str | None]


def _series(series: list[float] | None, rule: Signal, below: bool) -> str | None:
    """Fires when each of the last `weeks` values is below `rule.below` (or above
    `rule.above`)."""
    series = series or []
    weeks = rule.weeks or 1
    if len(series) < weeks:
        return NOT_EVALUATED
    last = series[-weeks:]
    if below:
        if not max(last) < rule.below:  # all below
            return ""
        cmp = f"< {plain(rule.below)}"
    else:
        if not min(last) > rule.above:  # all above
            return ""
        cmp = f"> {plain(rule.above)}"
    return f"{rule.input} last {weeks} weeks {last} all {cmp}"


def _engagement_drop(values: tuple[Any, ...], rule: Signal, _: Playbook, __: date) -> str | None:
    return _series(values[0], rule, below=True)


def _support_spike(values: tuple[Any, ...], rule: Signal, _: Playbook, __: date) -> str | None:
    return _series(values[0], rule, below=False)


def _above(values: tuple[Any, ...], rule: Signal, _: Playbook, __: date) -> str | None:
    (value,) = values
    if value is None:
        return NOT_EVALUATED
    return f"{rule.input} is {plain(value)} (> {plain(rule.above)})" if value > rule.above else ""


def in_window(days: int, within_days: int) -> bool:
    """A window of the playbook includes both ends: 0 <= days <= within_days."""
    return 0 <= days <= within_days


def new_primary(
    primary: bool | None, since: date | None, as_of: date, playbook: Playbook
) -> bool | None:
    """Whether a person is a primary contact in the role within `stakeholder_change.within_days`
    (SPEC 4): True or False when that is known, None when it hangs on an unknown input."""
    within = playbook.signals["stakeholder_change"].within_days
    if primary is False:
        return False
    if since is not None and not in_window(days_between(since, as_of), within):
        return False
    if primary is None or since is None:
        return None
    return True


def undetermined_primaries(
    account: Account, playbook: Playbook, as_of: date
) -> list[tuple[str, list[str]]]:
    """The people for whom `new_primary` is unknown, each with the inputs that are unknown."""
    return [
        (person.name, [f for f in ("primary", "since") if getattr(person, f) is None])
        for person in account.stakeholders or []
        if new_primary(person.primary, person.since, as_of, playbook) is None
    ]


def renewal_talks_days(playbook: Playbook) -> int:
    """Days before the renewal date that renewal talks open (`renewal_window.within_days`)."""
    return playbook.signals["renewal_window"].within_days


def renewal_talks_start(renewal_date: date, playbook: Playbook) -> date:
    """The day renewal talks open: the renewal date minus `renewal_window.within_days`."""
    return add_days(renewal_date, -renewal_talks_days(playbook))


def in_renewal_window(renewal_date: date, as_of: date, playbook: Playbook) -> bool:
    """Talks start <= as_of <= renewal date, i.e. 0 <= days to renewal <= within_days."""
    return in_window(days_between(as_of, renewal_date), renewal_talks_days(playbook))


def _new_primary_evidence(person: Stakeholder, rule: Signal, as_of: date) -> str:
    age = days_between(person.since, as_of)
    return (
        f"primary contact {person.name} in role since {person.since.isoformat()} "
        f"({age} days, within {rule.within_days})"
    )


def _stakeholder_change(
    values: tuple[Any, ...], rule: Signal, playbook: Playbook, as_of: date
) -> str | None:
    """Three-valued over the people: fires when someone is known to qualify, is evaluated when
    everyone is known not to, and is not evaluated otherwise (or when stakeholders are unknown)."""
    people: list[Stakeholder] = values[0] or []
    verdicts = [new_primary(p.primary, p.since, as_of, playbook) for p in people]
    for person, verdict in zip(people, verdicts, strict=True):
        if verdict:
            return _new_primary_evidence(person, rule, as_of)
    if people and all(v is False for v in verdicts):
        return ""
    return NOT_EVALUATED


def _renewal_window(
    values: tuple[Any, ...], rule: Signal, playbook: Playbook, as_of: date
) -> str | None:
    renewal_date, started = values
    if renewal_date is None:
        return NOT_EVALUATED
    opened = in_renewal_window(renewal_date, as_of, playbook)
    if not opened or started is True:
        return ""
    ahead = days_between(as_of, renewal_date)
    talks = "not started" if started is False else "not recorded"
    return (
        f"renewal_date {renewal_date.isoformat()} is {ahead} days ahead "
        f"(within {rule.within_days}); renewal conversation {talks}"
    )


CHECKS: dict[str, Check] = {
    "engagement_drop": _engagement_drop,
    "payment_delay": _above,
    "support_spike": _support_spike,
    "stakeholder_change": _stakeholder_change,
    "performance_plateau": _above,
    "renewal_window": _renewal_window,
}

# the account fields a check reads when they are not its rule's `input`
FIXED_INPUTS = {
    "stakeholder_change": ("stakeholders",),
    "renewal_window": ("renewal_date", "renewal_conversation_started"),
}

SignalRule = tuple[str, Signal, tuple[str, ...], Check]


@per_playbook
def signal_rules(playbook: Playbook) -> list[SignalRule]:
    """Every signal in the playbook's order: its id, rule, the account fields its check reads
    (in the order the check takes them) and the check."""
    return [
        (signal_id, rule, FIXED_INPUTS.get(signal_id, (rule.input,)), CHECKS[signal_id])
        for signal_id, rule in playbook.signals.items()
    ]


def fired(signal_id: str, rule: Signal, evidence: str) -> dict[str, str]:
    """A fired signal as plain data (the fields of `SignalResult`)."""
    return {"id": signal_id, "label": rule.label, "severity": rule.severity,
            "action": rule.action, "evidence": evidence}


def fired_signals(
    account: Account, playbook: Playbook, as_of: date
) -> tuple[list[dict[str, str]], list[str]]:
    """The fired signals as plain data (the fields of `SignalResult`) and the ids of the rules
    whose inputs are unknown."""
    shown: list[dict[str, str]] = []
    unknown: list[str] = []
    for signal_id, rule, fields, check in signal_rules(playbook):
        evidence = check(tuple(getattr(account, f, None) for f in fields), rule, playbook, as_of)
        if evidence is None:
            unknown.append(signal_id)
        elif evidence:
            shown.append(fired(signal_id, rule, evidence))
    return shown, unknown


def detect_signals(account: Account, playbook: Playbook, as_of: date) -> Signals:
    """Evaluate every early-warning rule of the playbook for one account."""
    fired, unknown = fired_signals(account, playbook, as_of)
    return Signals.model_validate({"fired": fired, "not_evaluated": unknown})
