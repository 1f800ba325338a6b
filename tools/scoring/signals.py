"""Early-warning signals (SPEC 4): each rule fires with the evidence that triggered it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, ConfigDict

from tools.numbers import add_days, days_between, plain
from tools.playbook import Playbook, Signal
from tools.portfolio.account import Account, Stakeholder

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


# Each check returns evidence when the rule fires, "" when it was evaluated and did not fire,
# and None when its inputs are unknown.
Check = Callable[[Account, Signal, Playbook, date], str | None]


def _series(account: Account, rule: Signal, below: bool) -> str | None:
    """Fires when each of the last `weeks` values is below `rule.below` (or above
    `rule.above`)."""
    series = getattr(account, rule.input, None) or []
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


def _engagement_drop(account: Account, rule: Signal, _: Playbook, __: date) -> str | None:
    return _series(account, rule, below=True)


def _support_spike(account: Account, rule: Signal, _: Playbook, __: date) -> str | None:
    return _series(account, rule, below=False)


def _above(account: Account, rule: Signal, _: Playbook, __: date) -> str | None:
    value = getattr(account, rule.input, None)
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
    account: Account, rule: Signal, playbook: Playbook, as_of: date
) -> str | None:
    """Three-valued over the people: fires when someone is known to qualify, is evaluated when
    everyone is known not to, and is not evaluated otherwise (or when stakeholders are unknown)."""
    people = account.stakeholders or []
    verdicts = [new_primary(p.primary, p.since, as_of, playbook) for p in people]
    for person, verdict in zip(people, verdicts, strict=True):
        if verdict:
            return _new_primary_evidence(person, rule, as_of)
    if people and all(v is False for v in verdicts):
        return ""
    return NOT_EVALUATED


def _renewal_window(account: Account, rule: Signal, playbook: Playbook, as_of: date) -> str | None:
    if account.renewal_date is None:
        return NOT_EVALUATED
    opened = in_renewal_window(account.renewal_date, as_of, playbook)
    if not opened or account.renewal_conversation_started is True:
        return ""
    ahead = days_between(as_of, account.renewal_date)
    talks = "not started" if account.renewal_conversation_started is False else "not recorded"
    return (
        f"renewal_date {account.renewal_date.isoformat()} is {ahead} days ahead "
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


def fired_signals(
    account: Account, playbook: Playbook, as_of: date
) -> tuple[list[dict[str, str]], list[str]]:
    """The fired signals as plain data (the fields of `SignalResult`) and the ids of the rules
    whose inputs are unknown."""
    fired: list[dict[str, str]] = []
    unknown: list[str] = []
    for signal_id, rule in playbook.signals.items():
        evidence = CHECKS[signal_id](account, rule, playbook, as_of)
        if evidence is None:
            unknown.append(signal_id)
        elif evidence:
            fired.append(
                {"id": signal_id, "label": rule.label, "severity": rule.severity,
                 "action": rule.action, "evidence": evidence}
            )
    return fired, unknown


def detect_signals(account: Account, playbook: Playbook, as_of: date) -> Signals:
    """Evaluate every early-warning rule of the playbook for one account."""
    fired, unknown = fired_signals(account, playbook, as_of)
    return Signals.model_validate({"fired": fired, "not_evaluated": unknown})
