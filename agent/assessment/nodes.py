"""The nodes of the assessment graph, one per step. Each calls the deterministic tools,
retrieves the knowledge-base passages it cites and adds one typed section to the state; no node
computes a number itself."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from langgraph.runtime import Runtime

from agent.accounts import current, run_day
from agent.assessment.context import RunSettings, hook
from agent.assessment.prose import ProseWriter
from agent.assessment.questions import (
    FORECAST_QUERIES,
    expansion_queries,
    health_queries,
    risk_queries,
    stakeholder_queries,
    success_queries,
)
from agent.assessment.state import AssessmentState, Citation
from agent.assessment.writer import write_reports
from agent.models import report_model
from tools.learning.scoring import load_model_for, predict
from tools.planning.forecast import Calibration, calibrate, forecast_account
from tools.planning.proposal import build_expansion_proposal
from tools.planning.risk_plan import build_risk_plan
from tools.planning.stakeholders import map_stakeholders
from tools.planning.success_plan import build_success_plan
from tools.playbook import Playbook, load_playbook
from tools.portfolio.account import Account
from tools.portfolio.plausibility import review
from tools.scoring.score import score_reviewed

EXCERPT_CHARS = 400
Search = Callable[..., list[Any]]
Update = dict[str, Any]
Ctx = Runtime[RunSettings]


class AssessmentError(ValueError):
    """The assessment cannot start (no account given, unknown account id)."""


def _playbook(ctx: RunSettings) -> Playbook:
    return load_playbook(ctx.playbook)


def _as_of(ctx: RunSettings) -> date:
    """The context's day, else CSM_AS_OF, else the portfolio's own as_of, else today."""
    if ctx.as_of or os.environ.get("CSM_AS_OF"):
        return run_day(ctx.as_of)
    return run_day(None, current(ctx.portfolio))


def _search(ctx: RunSettings) -> Search:
    if hook(ctx, "search") is not None:
        return hook(ctx, "search")
    from tools.knowledge.index import search_knowledge

    return search_knowledge


def cite(ctx: RunSettings, step: str, queries: list[tuple[str, str]]) -> list[Citation]:
    """The best passage of each (topic, question) pair, in the run's language."""
    found: list[Citation] = []
    for topic, question in queries:
        for passage in _search(ctx)(question, k=1, topic=topic, lang=ctx.lang):
            found.append(
                Citation(
                    step=step,
                    topic=passage.topic,
                    lang=passage.lang,
                    source=passage.source,
                    heading=passage.heading,
                    score=passage.score,
                    excerpt=excerpt(passage.text),
                )
            )
    return found


_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BLOCK_MARK = re.compile(r"^(?:[-*+]\s+|\d+[.)]\s+|>\s*|#+\s+)")


@lru_cache(maxsize=1024)  # a sweep cites the same few passages for every account
def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The prose of a passage as plain text (no tables, code, list or quote markers, emphasis
    or link syntax), cut at a sentence end near `limit`."""
    prose, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and not line.lstrip().startswith("|"):
            plain_line = _LINK.sub(r"\1", _BLOCK_MARK.sub("", line.strip()))
            prose.append(_EMPHASIS.sub("", plain_line))
    flat = " ".join(" ".join(prose).split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(". ", 0, limit)
    return flat[: cut + 1] if cut > limit // 3 else flat[:limit].rstrip() + "…"


def _account(state: AssessmentState, ctx: RunSettings) -> Account:
    given = state.get("account")
    if isinstance(given, Account):
        return given
    if isinstance(given, dict):
        return Account.model_validate(given)
    wanted = state.get("account_id")
    if not wanted:
        raise AssessmentError("give the assessment an `account` or an `account_id`.")
    source = current(ctx.portfolio)
    found = source.get(wanted)
    if found is not None:
        return found
    known = ", ".join(a.id for a in source.accounts[:3])
    raise AssessmentError(
        f"no account with id '{wanted}' in {source.label()}; use one of its ids "
        f"(for example {known}), or set the context's `portfolio` to another file."
    )


def assess_health(state: AssessmentState, runtime: Ctx) -> Update:
    """Step 1: health, churn risk, signals and opportunities. Later steps get the reviewed
    account: implausible values made unknown (named in `score.warnings`)."""
    ctx = runtime.context
    reviewed = review(_account(state, ctx), _as_of(ctx))
    score = score_reviewed(reviewed, _playbook(ctx), _as_of(ctx))
    queries = health_queries(score.health.color, score.churn_risk.tier)
    return {
        "account": reviewed.account,
        "score": score,
        "steps": ["assess_health"],
        "citations": cite(ctx, "assess_health", queries),
    }


def map_stakeholders_node(
    state: AssessmentState, runtime: Runtime[RunSettings]
) -> dict[str, Any]:
    """Step 2: who decides, who champions, who resists, and the gaps."""
    ctx = runtime.context
    result = map_stakeholders(state["account"], _playbook(ctx), _as_of(ctx))
    return {
        "stakeholders": result,
        "steps": ["map_stakeholders"],
        "citations": cite(ctx, "map_stakeholders", stakeholder_queries(g.id for g in result.gaps)),
    }


def plan_success(state: AssessmentState, runtime: Ctx) -> Update:
    """Step 3: objectives, milestones, KPIs, QBR agenda, onboarding, next actions."""
    ctx = runtime.context
    account = state["account"]
    plan = build_success_plan(
        account, state["score"], state["stakeholders"], _playbook(ctx), _as_of(ctx)
    )
    onboarding = plan.onboarding is not None
    queries = success_queries(onboarding, plan.onboarding.phase if onboarding else None,
                              account.industry)
    return {
        "success_plan": plan,
        "steps": ["plan_success"],
        "citations": cite(ctx, "plan_success", queries),
    }


def analyze_expansion(
    state: AssessmentState, runtime: Runtime[RunSettings]
) -> dict[str, Any]:
    """Step 4: one proposal per matched opportunity, with ROI and timing."""
    ctx = runtime.context
    proposal = build_expansion_proposal(
        state["account"],
        state["score"],
        _playbook(ctx),
        _as_of(ctx),
        next_qbr=state["success_plan"].qbr.date,
    )
    return {
        "expansion": proposal,
        "steps": ["analyze_expansion"],
        "citations": cite(ctx, "analyze_expansion",
                          expansion_queries(o.offer for o in proposal.offers)),
    }


def plan_risk_mitigation(
    state: AssessmentState, runtime: Runtime[RunSettings]
) -> dict[str, Any]:
    """Step 5: tier interventions, one mitigation per signal, escalation, renewal plan."""
    ctx = runtime.context
    plan = build_risk_plan(state["account"], state["score"], _playbook(ctx), _as_of(ctx))
    queries = risk_queries(plan.tier, [m.signal for m in plan.mitigations])
    return {
        "risk_plan": plan,
        "steps": ["plan_risk_mitigation"],
        "citations": cite(ctx, "plan_risk_mitigation", queries),
    }


def forecast_node(state: AssessmentState, runtime: Ctx) -> Update:
    """Step 6: renewal probability, expected churned MRR and expected expansion."""
    ctx = runtime.context
    playbook = _playbook(ctx)
    calibration: Calibration | None = hook(ctx, "calibration")
    if calibration is None:
        calibration = calibrate([state["account"]], playbook, _as_of(ctx))
    result = forecast_account(state["account"], state["score"], playbook, calibration)
    update: Update = {
        "forecast": result,
        "steps": ["forecast"],
        "citations": cite(ctx, "forecast", FORECAST_QUERIES),
    }
    model = hook(ctx, "churn_model") or load_model_for(None, playbook, ctx.playbook)
    if model is not None:
        update["model_forecast"] = predict(
            model, state["account"], state["score"], playbook, _as_of(ctx)
        )
    return update


def write_reports_node(
    state: AssessmentState, runtime: Runtime[RunSettings]
) -> dict[str, Any]:
    """Render the five reports; prose from the model when one is configured and honest."""
    ctx = runtime.context
    model = ctx.model
    budget = hook(ctx, "model_budget")
    if model is None or isinstance(model, str):  # the writer retries on its own
        model = report_model(model, budget.deadline if budget is not None else None)
    writer = ProseWriter(model=model, max_calls=ctx.max_model_calls, budget=budget)
    reports = write_reports(state, _playbook(ctx), _as_of(ctx), ctx.lang, writer)
    return {"reports": reports, "steps": ["write_reports"]}
