"""The portfolio report of a sweep (Markdown and JSON): distribution, alerts, outreach plan,
upsell pipeline, renewals, QBRs due, SPEC 9 metrics against targets, next quarter's forecast."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from agent.assessment.budget import FALLBACKS
from agent.assessment.writer import environment
from agent.sweeps.store import Store
from tools.learning.scoring import model_portfolio
from tools.numbers import add_days
from tools.playbook import Playbook
from tools.scoring.portfolio_metrics import (
    NO_BASELINE,
    Retention,
    check_targets,
    forecast_quarter,
    retention,
)
from tools.scoring.signals import in_renewal_window, renewal_talks_days

LIST_LIMIT = 1000  # entries per list in the JSON report; the Markdown shows fewer


def _outreach(s: dict[str, Any], as_of: date, days: int) -> dict[str, Any] | None:
    """Who to contact within `days` (`reports.outreach_days`, this week), when and why (tier
    cadence and fired signals)."""
    dues = [(m["due"], f"{m['signal']}: {m['action']} ({m['owner']})") for m in s["mitigations"]]
    if s["next_contact_due"]:
        dues.append((s["next_contact_due"], f"{s['tier']} tier cadence: {s['cadence']}"))
    soon = [d for d in dues if date.fromisoformat(d[0]) <= add_days(as_of, days)]
    if not soon:
        return None
    return {
        "id": s["id"],
        "name": s["name"],
        "contact": s["primary_contact"],
        "when": min(d[0] for d in soon),
        "why": [d[1] for d in sorted(soon)],
        "tier": s["tier"],
        "revenue_at_risk": s["expected_churned_mrr"],
    }


def _mrr_by_id(store: Store, sweep: sqlite3.Row) -> dict[str, float | None]:
    """Account id -> MRR in a sweep's snapshots; an account whose row the sweep rejected is
    still a client, with its MRR unknown (not absent, which would count it as churned)."""
    mrr: dict[str, float | None] = {s["id"]: s["mrr"] for s in store.snapshots(int(sweep["id"]))}
    for error in json.loads(sweep["errors"] or "[]"):
        if error.get("id"):
            mrr.setdefault(error["id"], None)
    return mrr


def _metrics(
    store: Store,
    as_of: date,
    playbook: Playbook,
    accounts: int,
    current_mrr: float,
    csat: list[float],
) -> dict[str, Any]:
    """SPEC 9 metrics: retention over the period, its annual equivalent, the four targets
    (`current_mrr`: known MRR of this sweep's accounts; `csat`: their known CSAT values)."""
    targets = playbook.targets
    end = store.sweep(as_of.isoformat())
    end_mrr = _mrr_by_id(store, end) if end is not None else {}
    baseline = store.baseline_sweep(as_of.isoformat(), targets.period_days)
    period = None
    named: dict[str, Any] = {}
    if baseline is not None:
        start = _mrr_by_id(store, baseline)
        gone = [i for i in start if i not in end_mrr]
        last = store.last_known_mrr(gone, baseline["as_of"], as_of.isoformat())
        period = retention(
            start, end_mrr, baseline["as_of"], as_of.isoformat(), targets.min_annualise_days, last
        )
        named = _named(store, baseline, period)
    shown = period.model_dump(exclude={"churned_accounts", "zero_mrr_accounts"}) if period else None
    return {
        "retention": shown,
        "retention_note": None if period else NO_BASELINE,
        **named,
        "targets": {
            k: v.model_dump()
            for k, v in check_targets(
                period, current_mrr, csat, accounts, as_of.isoformat(), targets
            ).items()
        },
    }


def _named(store: Store, baseline: sqlite3.Row, period: Retention) -> dict[str, Any]:
    """The accounts behind the period's churned MRR (with the day each churned, when the store
    knows it) and the active accounts whose MRR fell to 0, with their names at the start."""
    lost, zero = period.churned_accounts[:LIST_LIMIT], period.zero_mrr_accounts[:LIST_LIMIT]
    names = store.names(int(baseline["id"]), [a.id for a in lost] + zero)
    days = store.churn_days() if lost else {}
    return {
        "churned_accounts": [
            {
                "id": a.id,
                "name": names.get(a.id),
                "churned_on": days.get(a.id),
                "start_mrr": a.start_mrr,
                "last_mrr": a.last_mrr,
            }
            for a in lost
        ],
        "churned_total": len(period.churned_accounts),
        "zero_mrr_accounts": [{"id": i, "name": names.get(i)} for i in zero],
        "zero_mrr_total": len(period.zero_mrr_accounts),
    }


def rows_not_processed(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per row (row, id, reason) from a sweep's row errors, in the order found; a
    row's several problems are joined into its reason."""
    rows: dict[tuple[Any, Any], dict[str, Any]] = {}
    for error in errors:
        key = (error.get("source"), error.get("row"))
        problem = f"{error.get('field')}: {error.get('reason')}"
        if key in rows:
            rows[key]["reason"] += f"; {problem}"
        else:
            rows[key] = {"source": key[0], "row": key[1], "id": error.get("id"), "reason": problem}
    return list(rows.values())


def model_summaries(snapshots: Any) -> dict[str, Any] | None:
    """How the summaries asked of a model came out: how many were asked and fell back, why
    (kind -> count, with its words) and which accounts; None when no model was asked."""
    asked = fell = 0
    reasons: Counter[str] = Counter()
    accounts: list[dict[str, Any]] = []
    seen = False
    for s in snapshots:
        if "prose_fallbacks" not in s:
            continue
        seen = True
        fallbacks = s["prose_fallbacks"]
        asked += s.get("prose_model", 0) + len(fallbacks)
        if not fallbacks:
            continue
        fell += len(fallbacks)
        reasons.update(kind for _, kind in fallbacks)
        accounts.append({"id": s["id"], "name": s["name"], "reports": len(fallbacks),
                         "kinds": sorted({kind for _, kind in fallbacks})})
    if not seen:
        return None
    return {
        "reports_asked": asked,
        "reports_fell_back": fell,
        "reasons": dict(reasons.most_common()),
        "reason_texts": {k: FALLBACKS.get(k, FALLBACKS["invalid"])["en"] for k in reasons},
        "accounts": accounts[:LIST_LIMIT],
        "accounts_total": len(accounts),
    }


def build_portfolio_report(
    store: Store,
    sweep_id: int,
    as_of: date,
    playbook: Playbook,
    routine: str,
    churn_model: Any = None,
) -> dict[str, Any]:
    """Everything the portfolio report says, as JSON-ready data; with a churn model, also its
    forecast (`model_forecast`) and each renewal's model churn probability."""
    tiers: Counter[str] = Counter()
    colors: Counter[str] = Counter()
    pipeline: dict[str, dict[str, Any]] = defaultdict(lambda: {"accounts": 0, "expected": 0.0})
    held: dict[str, dict[str, Any]] = defaultdict(lambda: {"accounts": 0, "expected": 0.0})
    outreach, renewals, qbrs, stories = [], [], [], []
    csat: list[float] = []
    mrr_total = 0.0
    horizon = renewal_talks_days(playbook)
    rules = playbook.reports
    for s in store.snapshots(sweep_id):
        tiers[s["tier"] or "unknown"] += 1
        colors[s["color"] or "unknown"] += 1
        mrr_total += s["mrr"] or 0.0
        if s["csat"] is not None:
            csat.append(s["csat"])
        for o in s["opportunities"]:
            entry = (held if s["expansion_hold"] else pipeline)[o["id"]]
            entry.update(offer=o["offer"])
            entry["accounts"] += 1
            entry["expected"] += o["expected_value"]
        if (item := _outreach(s, as_of, rules.outreach_days)) is not None:
            outreach.append(item)
        if s["renewal_date"] and in_renewal_window(
            date.fromisoformat(s["renewal_date"]), as_of, playbook
        ):
            renewals.append(
                {
                    k: s[k]
                    for k in (
                        "id",
                        "name",
                        "renewal_date",
                        "mrr",
                        "tier",
                        "renewal_status",
                        "renewal_probability",
                    )
                }
                | ({"churn_probability": s["churn_probability"]} if "churn_probability" in s
                   else {})
            )
        if (
            s["qbr_status"] in ("due", "overdue")
            and s["qbr_date"]
            and date.fromisoformat(s["qbr_date"]) <= add_days(as_of, rules.qbr_lookahead_days)
        ):
            qbrs.append({k: s[k] for k in ("id", "name", "qbr_date", "qbr_status", "tier")})
        if routine == "weekly" and s["color"] == "green" and s["tier"] == "low":
            stories.append(
                {
                    "id": s["id"],
                    "name": s["name"],
                    "health_score": s["health_score"],
                    "nps": s["nps"],
                }
            )
    outreach.sort(key=lambda o: (-(o["revenue_at_risk"] or 0.0), o["when"]))
    renewals.sort(key=lambda r: r["renewal_date"])
    qbrs.sort(key=lambda q: q["qbr_date"])
    stories.sort(key=lambda s: -(s["health_score"] or 0.0))
    forecast = forecast_quarter(store.snapshots(sweep_id), as_of, playbook.forecast.horizon_days)
    rejected, errors = store.rejections(sweep_id)
    model = (
        {"model_forecast": model_portfolio(store.snapshots(sweep_id), churn_model)}
        if churn_model is not None
        else {}
    )
    prose = model_summaries(store.snapshots(sweep_id))
    return {
        "as_of": as_of.isoformat(),
        "routine": routine,
        "sweep_id": sweep_id,
        "accounts": sum(tiers.values()),
        "mrr": round(mrr_total, 2),
        "tiers": dict(tiers),
        "colors": dict(colors),
        "alerts": store.alerts(sweep_id),
        "outreach_plan": outreach[:LIST_LIMIT],
        "outreach_total": len(outreach),
        "upsell_pipeline": {
            k: {**v, "expected": round(v["expected"], 2)} for k, v in sorted(pipeline.items())
        },
        "upsell_expected_total": round(sum(v["expected"] for v in pipeline.values()), 2),
        "upsell_held": {
            k: {**v, "expected": round(v["expected"], 2)} for k, v in sorted(held.items())
        },
        "upsell_held_total": round(sum(v["expected"] for v in held.values()), 2),
        "renewals": renewals[:LIST_LIMIT],
        "renewals_total": len(renewals),
        "renewal_window_days": horizon,
        "qbrs_due": qbrs[:LIST_LIMIT],
        "qbrs_total": len(qbrs),
        "success_stories": stories[: rules.success_stories],
        "metrics": _metrics(store, as_of, playbook, sum(tiers.values()), mrr_total, csat),
        "forecast": forecast.model_dump(),
        **model,
        **({"model_summaries": prose} if prose is not None else {}),
        "rows_not_processed": rows_not_processed(errors)[:LIST_LIMIT],
        "rows_not_processed_total": rejected,
        "report_files": {k: Path(v).name for k, v in store.report_files(sweep_id).items()},
    }


def _plain(text: Any) -> Any:
    """Text safe on one Markdown line: control characters (a newline in an id, say) escaped."""
    if not isinstance(text, str):
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def render_portfolio_report(report: dict[str, Any], playbook: Playbook) -> str:
    """The Markdown portfolio report."""
    env = environment("en", playbook.currency)
    template = env.get_template("en/portfolio.md.j2")
    rules = playbook.reports
    return template.render(r=report, shown=25, plain=_plain, rules=rules).strip() + "\n"
