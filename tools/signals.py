"""Early-warning signals (SPEC 4): each rule fires with the evidence that triggered it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel

from tools.account import Account
from tools.numbers import days_between, plain
from tools.playbook import Playbook, Signal

NOT_EVALUATED = None


class SignalResult(BaseModel):
    """A fired signal: what to do and why."""

    id: str
    label: str
    severity: str
    action: str
    evidence: str


class Signals(BaseModel):
    """Fired signals and the rules whose inputs were unknown."""

    fired: list[SignalResult]
    not_evaluated: list[str]


# Each check returns evidence when the rule fires, "" when it was evaluated and did not fire,
# and None when its inputs are unknown.
Check = Callable[[Account, Signal, date], str | None]


def _series(
    account: Account, rule: Signal, as_of: date, fires: Callable[[int], bool], cmp: str
) -> str | None:
    series = getattr(account, rule.input, None) or []
    weeks = rule.weeks or 1
    if len(series) < weeks:
        return NOT_EVALUATED
    last = series[-weeks:]
    if not all(fires(v) for v in last):
        return ""
    return f"{rule.input} last {weeks} weeks {last} all {cmp}"


def _engagement_drop(account: Account, rule: Signal, as_of: date) -> str | None:
    return _series(account, rule, as_of, lambda v: v < rule.below, f"< {plain(rule.below)}")


def _support_spike(account: Account, rule: Signal, as_of: date) -> str | None:
    return _series(account, rule, as_of, lambda v: v > rule.above, f"> {plain(rule.above)}")


def _above(account: Account, rule: Signal, as_of: date) -> str | None:
    value = getattr(account, rule.input, None)
    if value is None:
        return NOT_EVALUATED
    return f"{rule.input} is {plain(value)} (> {plain(rule.above)})" if value > rule.above else ""


def _stakeholder_change(account: Account, rule: Signal, as_of: date) -> str | None:
    primaries = [s for s in account.stakeholders or [] if s.primary and s.since is not None]
    if not primaries:
        return NOT_EVALUATED
    for person in primaries:
        age = days_between(person.since, as_of)
        if 0 <= age <= rule.within_days:
            return (
                f"primary contact {person.name} in role since {person.since.isoformat()} "
                f"({age} days, within {rule.within_days})"
            )
    return ""


def _renewal_window(account: Account, rule: Signal, as_of: date) -> str | None:
    if account.renewal_date is None:
        return NOT_EVALUATED
    ahead = days_between(as_of, account.renewal_date)
    if not 0 <= ahead <= rule.within_days or account.renewal_conversation_started is True:
        return ""
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


def detect_signals(account: Account, playbook: Playbook, as_of: date) -> Signals:
    """Evaluate every early-warning rule of the playbook for one account."""
    fired: list[SignalResult] = []
    unknown: list[str] = []
    for signal_id, rule in playbook.signals.items():
        evidence = CHECKS[signal_id](account, rule, as_of)
        if evidence is None:
            unknown.append(signal_id)
        elif evidence:
            fired.append(
                SignalResult(
                    id=signal_id,
                    label=rule.label,
                    severity=rule.severity,
                    action=rule.action,
                    evidence=evidence,
                )
            )
    return Signals(fired=fired, not_evaluated=unknown)
