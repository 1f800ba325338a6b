"""The facts each report's summary may draw on: the few tool results its 2-4 sentences need.

A model reads every token of its prompt before it writes one (on a small CPU, 5-7k tokens took
44-183 s), so each report gets its own short selection of the state instead of whole sections:
the client's standing (health, churn risk, signals) and what the report is about (the next
steps, the plan, the offers, the mitigations, the QBR), with the lists cut to their first
items. Every number the deterministic draft states about the client is in its report's facts
(scores with their scale), so the model may repeat it; the playbook passage a draft cites is
guidance, and its example figures are not the client's (`tests/test_prose_facts.py` checks
both over the sample portfolio)."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

FIRST = 3  # items kept of a list: mitigations, next actions, objectives, offers
SCALE = 100  # health and churn risk are scores out of 100 (SPEC), and the drafts say so


def _pick(item: Any, *keys: str) -> dict[str, Any]:
    """The named fields of a tool result, JSON-ready, in the given order."""
    return {key: to_jsonable_python(getattr(item, key)) for key in keys}


def _health(score: Any) -> dict[str, Any]:
    return _pick(score.health, "score", "color") | {"out_of": SCALE}


def _churn_risk(score: Any) -> dict[str, Any]:
    return _pick(score.churn_risk, "score", "tier") | {"out_of": SCALE}


def _standing(state: dict[str, Any]) -> dict[str, Any]:
    """Who the client is and where it stands: health, churn risk, the signals that fired."""
    score = state["score"]
    return {
        "client": state["account"].name,
        "health": _health(score),
        "churn_risk": _churn_risk(score),
        "signals": [_pick(s, "label", "severity", "evidence") for s in score.signals],
    }


def _by_due(mitigations: list[Any]) -> list[dict[str, Any]]:
    ordered = sorted(mitigations, key=lambda m: m.due_date)
    return [_pick(m, "label", "action", "owner", "due_date") for m in ordered[:FIRST]]


def _renewal(state: dict[str, Any]) -> dict[str, Any]:
    return _pick(state["risk_plan"].renewal, "renewal_date", "days_to_renewal", "status")


def _offers(expansion: Any) -> list[dict[str, Any]]:
    return [_pick(o, "offer", "price", "probability", "expected_value")
            for o in expansion.offers[:FIRST]]


def _not_recommended(expansion: Any) -> list[dict[str, Any]]:
    """The matched offers not worth proposing now, each with its reason (all of them: the
    drafts count them)."""
    return [{"offer": o.offer, "reason": o.fit.reason} for o in expansion.not_recommended]


def dashboard(state: dict[str, Any]) -> dict[str, Any]:
    """The health dashboard: standing, renewal, usage, the next steps, offers, contacts."""
    risk, expansion, people = state["risk_plan"], state["expansion"], state["stakeholders"]
    return _standing(state) | {
        "arr": expansion.current_state.arr,
        "seat_usage_pct": expansion.current_state.usage.seat_usage_pct,
        "renewal": _renewal(state),
        "cadence": risk.cadence,
        "next_contact_due": to_jsonable_python(risk.next_contact_due),
        "next_steps": _by_due(risk.mitigations),
        "offers": _offers(expansion),
        "not_recommended": _not_recommended(expansion),
        "proposal_date": to_jsonable_python(expansion.timing.proposal_date),
        "expansion_on_hold": expansion.hold,
        "primary_contact": people.primary_contact,
        "stakeholder_gaps": [_pick(g, "id", "severity", "person") for g in people.gaps[:FIRST]],
    }


def success_plan(state: dict[str, Any]) -> dict[str, Any]:
    """The success plan: its quarter, objectives, milestones, first actions and the QBR."""
    plan, score = state["success_plan"], state["score"]
    return {
        "client": state["account"].name,
        "health": _health(score),
        "churn_risk": _churn_risk(score),
        **_pick(plan, "quarter", "horizon_end", "next_action_days"),
        "objectives": [_pick(o, "rank", "title", "criterion", "due")
                       for o in plan.objectives[:FIRST]],
        "milestones": [_pick(m, "date", "description") for m in plan.milestones[:FIRST]],
        "next_actions": [_pick(a, "action", "owner", "due") for a in plan.next_actions[:FIRST]],
        "qbr": _pick(plan.qbr, "date", "status", "days_overdue"),
        "primary_contact": state["stakeholders"].primary_contact,
    }


def expansion_proposal(state: dict[str, Any]) -> dict[str, Any]:
    """The expansion proposal: the offers with their value and ROI, the timing, a hold."""
    expansion, score = state["expansion"], state["score"]
    offers = [
        _pick(o, "offer", "problem", "price", "probability", "expected_value",
              "expected_annual_value", "timeline_weeks")
        | {"roi_pct": o.roi.roi_pct if o.roi is not None else None}
        for o in expansion.offers[:FIRST]
    ]
    return {
        "client": state["account"].name,
        "churn_risk": _churn_risk(score),
        "mrr": expansion.current_state.mrr,
        "arr": expansion.current_state.arr,
        "offers": offers,
        "not_recommended": _not_recommended(expansion),
        **_pick(expansion, "expected_expansion_monthly", "expected_expansion_annual", "hold",
                "hold_reason"),
        "timing": _pick(expansion.timing, "basis", "proposal_date", "rationale"),
    }


def risk_plan(state: dict[str, Any]) -> dict[str, Any]:
    """The risk mitigation plan: standing, cadence, mitigations, renewal and its forecast."""
    risk, forecast = state["risk_plan"], state["forecast"]
    return _standing(state) | {
        "cadence": risk.cadence,
        "next_contact_due": to_jsonable_python(risk.next_contact_due),
        "escalation_to": risk.escalation_path[-1] if risk.escalation_path else None,
        "interventions": risk.interventions[:FIRST],
        "mitigations": _by_due(risk.mitigations),
        "renewal": _renewal(state),
        "forecast": _pick(forecast, "renewal_probability", "expected_churned_mrr"),
    }


def qbr_agenda(state: dict[str, Any]) -> dict[str, Any]:
    """The QBR agenda: the meeting, the standing, the renewal odds, objectives and actions."""
    plan, expansion = state["success_plan"], state["expansion"]
    return _standing(state) | {
        "qbr": _pick(plan.qbr, "date", "status", "days_overdue", "minutes"),
        "renewal_probability": state["forecast"].renewal_probability,
        "objectives": [o.criterion for o in plan.objectives[:FIRST]],
        "next_actions": [_pick(a, "action", "owner", "due") for a in plan.next_actions[:FIRST]],
        "offers": _offers(expansion),
        "expansion_on_hold": expansion.hold,
    }


BUILDERS = {
    "dashboard": dashboard,
    "success_plan": success_plan,
    "expansion_proposal": expansion_proposal,
    "risk_plan": risk_plan,
    "qbr_agenda": qbr_agenda,
}


def report_facts(report: str, state: dict[str, Any]) -> dict[str, Any]:
    """The facts of one report's summary, JSON-ready."""
    return BUILDERS[report](state)
