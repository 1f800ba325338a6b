"""The playbook's scoring rules as plain tuples and tables, read once per playbook.

Scoring a portfolio applies the same rules to every account; reading them from the frozen
playbook models on every account (attribute lookups, generators over the bands) cost more than
the arithmetic (issue 15). Each function here is cached per playbook object."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tools.playbook import Playbook

T = TypeVar("T")


def per_playbook(build: Callable[[Playbook], T]) -> Callable[[Playbook], T]:
    """Cache `build(playbook)` per playbook object (a playbook is frozen: its rules never
    change); a few playbooks at most are kept."""
    cache: dict[int, tuple[Playbook, T]] = {}

    def cached(playbook: Playbook) -> T:
        entry = cache.get(id(playbook))
        if entry is None or entry[0] is not playbook:
            if len(cache) >= 8:
                cache.clear()
            entry = cache[id(playbook)] = (playbook, build(playbook))
        return entry[1]

    cached.__doc__ = build.__doc__
    return cached


@per_playbook
def tier_ids(playbook: Playbook) -> dict[int, str]:
    """The churn tier of every whole-number score its bands cover (`Playbook.tier`)."""
    return {n: t.id for t in playbook.churn_risk.tiers for n in range(t.min, t.max + 1)}


@per_playbook
def color_ids(playbook: Playbook) -> dict[int, str]:
    """The health colour of every whole-number score its bands cover (`Playbook.color`)."""
    return {n: b.id for b in playbook.health.colors for n in range(b.min, b.max + 1)}
