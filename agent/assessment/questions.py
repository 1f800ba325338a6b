"""The knowledge-base questions of the assessment's steps, as (topic, question): built from the
ids a step found (`agent.assessment.nodes`), and enumerated from a playbook by
`playbook_questions`, so that a sweep answers them once for every worker (`Answers`). A light
module: no LangGraph; the knowledge base loads only for a question outside the answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tools.knowledge.passage import Passage, Question

if TYPE_CHECKING:
    from tools.playbook import Playbook

Query = tuple[str, str]
INDUSTRY_TOPICS = ("ecommerce", "saas")  # the industries with their own knowledge document
FORECAST_QUERIES: list[Query] = [("forecasting", "renewal probability method")]


def health_queries(color: str | None, tier: str | None) -> list[Query]:
    return [
        ("health_score", f"what a {color or 'unknown'} health score calls for"),
        ("churn_risk", f"what a {tier or 'unknown'} churn risk tier means"),
    ]


def stakeholder_queries(gap_ids: Iterable[str]) -> list[Query]:
    gaps = ", ".join(sorted({g.replace("_", " ") for g in gap_ids})) or "stakeholder mapping"
    return [("stakeholders", gaps)]


def success_queries(onboarding: bool, phase: str | None, industry: str | None) -> list[Query]:
    queries = [
        ("success_plan", "objectives milestones and KPIs of a success plan"),
        ("qbr", "how to prepare and run the quarterly business review"),
    ]
    if onboarding:
        queries.append(("onboarding", f"onboarding {phase or 'foundation'} phase"))
    if industry in INDUSTRY_TOPICS:
        queries.append((f"industry_{industry}", f"{industry} client success"))
    return queries


def expansion_queries(offers: Iterable[str]) -> list[Query]:
    named = ", ".join(sorted(offers)) or "expansion readiness"
    return [("upsell", f"how to propose {named}")]


def risk_queries(tier: str | None, signals: Iterable[str]) -> list[Query]:
    queries = [("interventions", f"interventions for the {tier or 'unknown'} risk tier")]
    queries += [("early_warning", f"what to do about {s.replace('_', ' ')}") for s in signals]
    return queries


def playbook_questions(playbook: Playbook) -> list[Query]:
    """Every question a step can ask under this playbook (each colour, tier, set of gaps, phase,
    industry, set of offers and signal; unknown ones too), without repeats."""
    colors = [None, *(c.id for c in playbook.health.colors)]
    tiers = [None, *(t.id for t in playbook.churn_risk.tiers)]
    found = [q for c in colors for t in tiers for q in health_queries(c, t)]
    for gaps in _subsets(playbook.stakeholders.gaps):
        found += stakeholder_queries(gaps)
    phases = [None, *(p.id for p in playbook.onboarding.phases)]
    for industry in [None, *INDUSTRY_TOPICS]:
        found += success_queries(False, None, industry)
        found += [q for phase in phases for q in success_queries(True, phase, industry)]
    for offers in _subsets({str(o.offer) for o in playbook.opportunities.values()}):
        found += expansion_queries(offers)
    found += [q for t in tiers for q in risk_queries(t, playbook.signals)]
    found += FORECAST_QUERIES
    return list(dict.fromkeys(found))


def _subsets(items: Iterable[str]) -> list[tuple[str, ...]]:
    """Every subset of a few items (the empty one too)."""
    ordered = sorted(items)
    return [tuple(x for i, x in enumerate(ordered) if mask >> i & 1)
            for mask in range(1 << len(ordered))]


class Answers:
    """A search function (the signature of `search_knowledge`) that answers the questions it
    was given the passages of, and any other question by `fallback` (default: the knowledge
    base, opened on the first such question)."""

    def __init__(
        self, passages: dict[Question, list[Passage]], fallback: Callable[..., Any] | None = None
    ) -> None:
        self.passages = passages
        self.fallback = fallback

    def __call__(
        self, query: str, k: int = 5, topic: str | None = None, lang: str | None = None
    ) -> list[Passage]:
        found = self.passages.get((query, k, topic, lang))
        if found is not None:
            return list(found)
        if self.fallback is None:
            from tools.knowledge.index import search_knowledge

            self.fallback = search_knowledge
        return list(self.fallback(query, k=k, topic=topic, lang=lang))
