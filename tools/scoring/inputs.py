"""The account fields a playbook's rules read, taken from an account as one tuple (issue 15).

Scoring many accounts at once keeps only these values of each account while its batch fills
(`tools/scoring/score.py: Waiting`): a whole validated account is some 17 KB of Python
objects, and a batch of them outgrows the processor's caches. An account that must be scored one
by one is rebuilt from them (`stand_in`): the playbook only lets a rule read account fields, and
every rule's fields are among these (tests/test_bulk_scoring.py scores every account that way)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from tools.playbook import Playbook
from tools.portfolio.account import FIELD_KINDS, Account
from tools.scoring import churn, health
from tools.scoring.expansion import offer_rules
from tools.scoring.rules import per_playbook
from tools.scoring.signals import signal_rules


@per_playbook
def input_names(playbook: Playbook) -> list[str]:
    """Every account field the playbook's health, churn, signal and offer rules read."""
    _, rules = health.metric_rules(playbook)
    names = [n for _, metrics in rules for r in metrics for n in (r[1], r[6], r[9]) if n]
    names += [rule[1] for rule in churn.factor_rules(playbook)[1]]
    names += [name for _, _, fields, _ in signal_rules(playbook) for name in fields]
    names += [name for _, _, clauses in offer_rules(playbook) for name, _, _ in clauses]
    return [name for name in dict.fromkeys(names) if name in FIELD_KINDS]


@per_playbook
def inputs_getter(playbook: Playbook) -> Callable[[Account], tuple[Any, ...]]:
    """An account's values of `input_names`, in that order."""
    names = input_names(playbook)
    if len(names) == 1:
        (name,) = names
        return lambda account: (vars(account)[name],)
    get = itemgetter(*names)
    return lambda account: get(vars(account))


def stand_in(account_id: str, name: str, names: Sequence[str], inputs: tuple[Any, ...]) -> Account:
    """An account with the id, the name and these inputs, every other field at its default."""
    fields = dict(zip(names, inputs, strict=True))
    return Account.model_construct(id=account_id, name=name, **fields)
