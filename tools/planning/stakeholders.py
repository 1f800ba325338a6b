"""Stakeholder map (step 2): people, roles, reporting tree, contact cadence and relationship gaps.

Rules (playbook section `stakeholders`):

- `cadence_days`: the person's `meeting_cadence` looked up in `stakeholders.cadence_days`
  (trimmed, case-insensitive); otherwise `stakeholders.default_cadence_days`.
  `cadence_source` says which was used.
- `next_contact_due` = `last_contact` + `cadence_days`; `contact_overdue` when `as_of` is later
  than that (so a contact exactly `cadence_days` ago is not overdue); None when `last_contact`
  is unknown.
- The reporting tree follows `reports_to` (names matched trimmed, case-insensitive). Roots are
  people whose manager is missing or names nobody on the map. A reporting cycle is broken at the
  member listed first, who is shown at the top; `tree_notes` says so.
- Gaps (`stakeholders.gaps.<id>.severity` sets the severity):
  `no_champion` (no role in `champion_roles`), `no_executive_sponsor` (no role in
  `sponsor_roles`), `influential_detractor` (a detractor at the top of the tree, reporting
  directly to a sponsor-role person, or with someone reporting to them), `new_primary_contact`
  (a primary in the role 0 to `signals.stakeholder_change.within_days` days, both ends included:
  the rule of the `stakeholder_change` signal, `tools.scoring.signals.new_primary`),
  `contact_overdue` (one per person).
- Unknown stakeholders (`stakeholders` missing or an empty list, as elsewhere in the tools):
  `known` is False, every list is empty, and the only gap is `stakeholders_unknown`.
"""

from __future__ import annotations

from datetime import date
from statistics import fmean

from pydantic import BaseModel

from tools.numbers import add_days, days_between, r2
from tools.playbook import Playbook, StakeholderRules
from tools.portfolio.account import Account, Stakeholder
from tools.scoring.signals import new_primary

ENGAGEMENT_LEVELS = ("high", "medium", "low", "unknown")


class Person(BaseModel):
    """One stakeholder with the derived figures: days in role, cadence, contact status."""

    name: str
    title: str | None
    role: str | None
    reports_to: str | None
    primary: bool
    since: date | None
    days_in_role: int | None
    satisfaction: float | None
    engagement: str | None
    preferred_channel: str | None
    meeting_cadence: str | None
    cadence_days: int
    cadence_source: str
    last_contact: date | None
    days_since_contact: int | None
    next_contact_due: date | None
    contact_overdue: bool | None


class TreeNode(BaseModel):
    """A person in the reporting tree with their direct reports."""

    name: str
    title: str | None
    role: str | None
    children: list[TreeNode]


class StakeholderGap(BaseModel):
    """A relationship gap: what is missing or at risk, about whom, and the evidence."""

    id: str
    severity: str
    person: str | None
    evidence: str


class StakeholderMap(BaseModel):
    """The account's stakeholder map as of a date (empty lists when `known` is False)."""

    as_of: date
    known: bool
    people: list[Person]
    primary_contact: str | None
    decision_makers: list[str]
    champions: list[str]
    influencers: list[str]
    users: list[str]
    detractors: list[str]
    unknown_role: list[str]
    tree: list[TreeNode]
    tree_lines: list[str]
    tree_notes: list[str]
    gaps: list[StakeholderGap]
    mean_satisfaction: float | None
    satisfaction_known: int
    engagement_counts: dict[str, int]
    contact_unknown: list[str]


def _key(name: str | None) -> str:
    return (name or "").strip().casefold()


def cadence_for(text: str | None, rules: StakeholderRules) -> tuple[int, str]:
    """Days between contacts for a cadence text, and which playbook key gave it."""
    table = {_key(k): (k, v) for k, v in rules.cadence_days.items()}
    if _key(text) in table:
        key, days = table[_key(text)]
        return days, f"stakeholders.cadence_days.{key}"
    why = "meeting_cadence unknown" if not _key(text) else f"meeting_cadence '{text}' not listed"
    return rules.default_cadence_days, f"stakeholders.default_cadence_days ({why})"


def _person(s: Stakeholder, rules: StakeholderRules, as_of: date) -> Person:
    cadence, source = cadence_for(s.meeting_cadence, rules)
    contact_days = days_between(s.last_contact, as_of) if s.last_contact else None
    return Person(
        name=s.name.strip(),
        title=s.title,
        role=s.role,
        reports_to=s.reports_to.strip() if s.reports_to and s.reports_to.strip() else None,
        primary=s.primary is True,
        since=s.since,
        days_in_role=days_between(s.since, as_of) if s.since else None,
        satisfaction=s.satisfaction,
        engagement=s.engagement,
        preferred_channel=s.preferred_channel,
        meeting_cadence=s.meeting_cadence,
        cadence_days=cadence,
        cadence_source=source,
        last_contact=s.last_contact,
        days_since_contact=contact_days,
        next_contact_due=add_days(s.last_contact, cadence) if s.last_contact else None,
        contact_overdue=contact_days > cadence if contact_days is not None else None,
    )


def _label(p: Person) -> str:
    parts = ", ".join(x for x in (p.title, p.role) if x)
    return f"{p.name} ({parts})" if parts else p.name


def _cycle_from(start: int, manager: dict[int, int | None]) -> list[int]:
    """The cycle reached by walking up from `start` (every unplaced person leads to one)."""
    seen: list[int] = []
    node: int | None = start
    while node is not None and node not in seen:
        seen.append(node)
        node = manager[node]
    return seen[seen.index(node) :] if node is not None else []


def build_tree(people: list[Person]) -> tuple[list[TreeNode], list[str], list[str]]:
    """Roots of the reporting tree, its indented lines, and notes on unknown managers/cycles."""
    index = {}
    for i, p in enumerate(people):
        index.setdefault(_key(p.name), i)
    manager = {
        i: index.get(_key(p.reports_to)) if p.reports_to else None for i, p in enumerate(people)
    }
    notes = [
        f"{p.name} reports to '{p.reports_to}', who is not on the map; shown at the top"
        for i, p in enumerate(people)
        if p.reports_to and manager[i] is None
    ]
    placed: set[int] = set()
    lines: list[str] = []

    def grow(i: int, depth: int) -> TreeNode:
        placed.add(i)
        p = people[i]
        lines.append(f"{'  ' * depth}└ {_label(p)}" if depth else _label(p))
        children = [
            grow(j, depth + 1) for j in range(len(people)) if manager[j] == i and j not in placed
        ]
        return TreeNode(name=p.name, title=p.title, role=p.role, children=children)

    roots = [grow(i, 0) for i in range(len(people)) if manager[i] is None and i not in placed]
    for i in range(len(people)):
        if i in placed:
            continue
        cycle = _cycle_from(i, manager)
        top = min(cycle)
        names = " -> ".join(people[j].name for j in [*cycle, cycle[0]])
        notes.append(f"reporting cycle {names}; shown with {people[top].name} at the top")
        roots.append(grow(top, 0))
    return roots, lines, notes


def _gap(
    rules: StakeholderRules, gap_id: str, evidence: str, person: str | None = None
) -> StakeholderGap:
    return StakeholderGap(
        id=gap_id, severity=rules.gaps[gap_id].severity, person=person, evidence=evidence
    )


def _role_gaps(people: list[Person], rules: StakeholderRules) -> list[StakeholderGap]:
    gaps = []
    for gap_id, roles in (
        ("no_champion", rules.champion_roles),
        ("no_executive_sponsor", rules.sponsor_roles),
    ):
        if not any(p.role in roles for p in people):
            key = "champion_roles" if gap_id == "no_champion" else "sponsor_roles"
            gaps.append(
                _gap(
                    rules,
                    gap_id,
                    f"none of {len(people)} stakeholders has a role in stakeholders.{key} "
                    f"({', '.join(roles)})",
                )
            )
    return gaps


def _detractor_gaps(
    people: list[Person], roots: list[TreeNode], rules: StakeholderRules
) -> list[StakeholderGap]:
    by_key: dict[str, Person] = {}
    for p in people:
        by_key.setdefault(_key(p.name), p)
    tops = {_key(r.name) for r in roots}
    gaps = []
    for p in people:
        if p.role != "detractor":
            continue
        boss = by_key.get(_key(p.reports_to))
        reports = [q.name for q in people if q is not p and _key(q.reports_to) == _key(p.name)]
        reasons = []
        if _key(p.name) in tops:
            reasons.append("at the top of the reporting tree")
        elif boss is not None and boss.role in rules.sponsor_roles:
            reasons.append(f"reports directly to {boss.name} ({boss.role})")
        if reports:
            reasons.append(f"has direct reports: {', '.join(reports)}")
        if reasons:
            evidence = f"detractor {p.name} " + "; ".join(reasons)
            gaps.append(_gap(rules, "influential_detractor", evidence, p.name))
    return gaps


def _person_gaps(people: list[Person], playbook: Playbook, as_of: date) -> list[StakeholderGap]:
    within = playbook.signals["stakeholder_change"].within_days
    rules = playbook.stakeholders
    gaps = []
    for p in people:
        if new_primary(p.primary, p.since, as_of, playbook):
            gaps.append(
                _gap(
                    rules,
                    "new_primary_contact",
                    f"primary contact {p.name} in role since {p.since.isoformat()} "
                    f"({p.days_in_role} days, within signals.stakeholder_change.within_days "
                    f"{within})",
                    p.name,
                )
            )
    for p in people:
        if p.contact_overdue:
            gaps.append(
                _gap(
                    rules,
                    "contact_overdue",
                    f"last contact with {p.name} on {p.last_contact.isoformat()} is "
                    f"{p.days_since_contact} days ago, over the {p.cadence_days}-day cadence "
                    f"({p.cadence_source}); next contact was due {p.next_contact_due.isoformat()}",
                    p.name,
                )
            )
    return gaps


def _unknown(as_of: date, rules: StakeholderRules) -> StakeholderMap:
    return StakeholderMap(
        as_of=as_of,
        known=False,
        people=[],
        primary_contact=None,
        decision_makers=[],
        champions=[],
        influencers=[],
        users=[],
        detractors=[],
        unknown_role=[],
        tree=[],
        tree_lines=[],
        tree_notes=[],
        gaps=[
            _gap(
                rules,
                "stakeholders_unknown",
                "stakeholders unknown: no stakeholder data for this account; map the decision "
                "maker, the champion and the primary contact",
            )
        ],
        mean_satisfaction=None,
        satisfaction_known=0,
        engagement_counts=dict.fromkeys(ENGAGEMENT_LEVELS, 0),
        contact_unknown=[],
    )


def map_stakeholders(account: Account, playbook: Playbook, as_of: date) -> StakeholderMap:
    """Map the account's stakeholders: people, groups by role, reporting tree, gaps."""
    rules = playbook.stakeholders
    if not account.stakeholders:
        return _unknown(as_of, rules)
    people = [_person(s, rules, as_of) for s in account.stakeholders]
    tree, lines, notes = build_tree(people)
    scores = [p.satisfaction for p in people if p.satisfaction is not None]
    primary = next((p.name for p in people if p.primary), None)

    def named(role: str | None) -> list[str]:
        return [p.name for p in people if p.role == role]

    return StakeholderMap(
        as_of=as_of,
        known=True,
        people=people,
        primary_contact=primary,
        decision_makers=named("decision_maker"),
        champions=named("champion"),
        influencers=named("influencer"),
        users=named("user"),
        detractors=named("detractor"),
        unknown_role=named(None),
        tree=tree,
        tree_lines=lines,
        tree_notes=notes,
        gaps=_role_gaps(people, rules)
        + _detractor_gaps(people, tree, rules)
        + _person_gaps(people, playbook, as_of),
        mean_satisfaction=r2(fmean(scores)) if scores else None,
        satisfaction_known=len(scores),
        engagement_counts={
            level: sum(1 for p in people if (p.engagement or "unknown") == level)
            for level in ENGAGEMENT_LEVELS
        },
        contact_unknown=[p.name for p in people if p.last_contact is None],
    )
