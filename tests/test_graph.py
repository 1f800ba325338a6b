"""The six-step graph with no model, with a scripted model, and with a failing one."""

import json
import warnings
from datetime import date

import pytest

from agent.assessment.context import AssessmentContext
from agent.assessment.graph import STEPS, build_graph
from agent.assessment.nodes import AssessmentError
from agent.assessment.prose import stray_numbers
from tests.scripted_model import ScriptedChatModel, prose_answer
from tools.playbook import load_playbook
from tools.portfolio.readers import read_portfolio
from tools.scoring.score import score_account

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def sample():
    return {a.id: a for a in read_portfolio().accounts}


def run(account, model="none", **ctx):
    graph = build_graph(checkpointer=None)
    return graph.invoke(
        {"account": account}, context=AssessmentContext(as_of=AS_OF, model=model, **ctx)
    )


def test_six_steps_run_in_order_and_cite_the_playbook(sample):
    state = run(sample["acc-037"])
    assert state["steps"] == list(STEPS)
    cited = {c.step for c in state["citations"]}
    assert cited == set(STEPS) - {"write_reports"}
    topics = {c.topic for c in state["citations"]}
    assert {
        "health_score",
        "churn_risk",
        "stakeholders",
        "upsell",
        "interventions",
        "early_warning",
        "forecasting",
    } <= topics


def test_no_model_is_offline_and_deterministic(sample, monkeypatch):
    monkeypatch.delenv("CSM_MODEL", raising=False)
    state = run(sample["acc-003"], model=None)
    reports = state["reports"]
    assert reports.model_calls == 0
    assert {r.source for r in reports.prose} == {"deterministic"}
    assert all(r.reason == "no model configured" for r in reports.prose)
    assert run(sample["acc-003"], model=None)["reports"].dashboard == reports.dashboard


def test_reports_follow_the_prescribed_fields_with_data(sample):
    for account_id in ("acc-001", "acc-007", "acc-016", "acc-040"):
        reports = run(sample[account_id])["reports"]
        dashboard = reports.dashboard.splitlines()
        order = [
            "CLIENT:",
            "HEALTH SCORE:",
            "RENEWAL DATE:",
            "ARR:",
            "KEY METRICS:",
            "- Product Usage:",
            "- Support Tickets:",
            "- Engagement:",
            "- Stakeholder Satisfaction:",
            "RISKS:",
            "OPPORTUNITIES:",
        ]
        positions = [
            next(i for i, line in enumerate(dashboard) if line.startswith(f)) for f in order
        ]
        assert positions == sorted(positions)
        plan = reports.success_plan
        fields = [
            "SUCCESS PLAN:",
            "BUSINESS OBJECTIVES:",
            "MILESTONES:",
            "KEY INITIATIVES:",
            "SUCCESS METRICS:",
            "NEXT ACTIONS:",
        ]
        assert [plan.index(f) for f in fields] == sorted(plan.index(f) for f in fields)
        proposal = reports.expansion_proposal
        fields = [
            "EXPANSION PROPOSAL:",
            "CURRENT STATE:",
            "- Existing ARR:",
            "- Current usage:",
            "- Key contacts:",
            "PROPOSED EXPANSION:",
            "- Investment required:",
            "BUSINESS CASE:",
            "- Expected ROI:",
            "- Quantified benefits:",
            "IMPLEMENTATION PLAN:",
            "NEXT STEPS:",
        ]
        assert [proposal.index(f) for f in fields] == sorted(proposal.index(f) for f in fields)
        for text in (reports.dashboard, plan, proposal, reports.risk_plan, reports.qbr_agenda):
            assert "[" not in text.replace("[1", "").replace("[0", "") or "weekly_" in text
            assert "None" not in text and "{{" not in text


def test_report_numbers_equal_csm_score(sample):
    account = sample["acc-007"]
    state = run(account)
    dashboard = state["reports"].dashboard
    # Churn (SPEC 2) of acc-007 on 2026-11-20, each factor's risk x weight: mrr 160,000 ->
    # 340,000 / 500,000 = 68 x 25 = 1700; engagement 14 -> 46 / 60 = 76.667 x 20 = 1533.33;
    # 3 payment delays -> 100 x 15 = 1500; 22 tickets -> 100 x 15 = 1500; adoption 9 ->
    # 31 / 40 = 77.5 x 10 = 775; CSAT 1.4 -> 5.6 / 7 = 80 x 10 = 800; last login 31 days ago ->
    # 100 x 5 = 500. Sum 8308.33 / 100 = 83.08: critical (81-100).
    # Health (SPEC 3), component mean x weight: financial (0 as 46 days overdue > 30, mrr 16,
    # auto-pay 0) 5.333 x 25; engagement (logins 0.75 / 5 = 15, meetings 35, email 138.8 h ->
    # 0) 16.667 x 20; performance (23, CSAT 14, 8 complaints / 23 -> 65.217) 34.072 x 20;
    # strategic (20, 10, 10) 13.333 x 15; growth (20, 10, 10) 13.333 x 10; technical (9,
    # 70 days -> 0, 0) 3 x 10. (133.33 + 333.33 + 681.45 + 200 + 133.33 + 30) / 100 = 15.11: red.
    assert "(15.11/100)" in dashboard
    assert "Churn risk 83.08/100, tier critical" in dashboard
    assert (state["score"].churn_risk.score, state["score"].churn_risk.tier) == (83.08, "critical")
    assert (state["score"].health.score, state["score"].health.color) == (15.11, "red")


def test_model_prose_with_only_state_numbers_is_kept(sample):
    account = sample["acc-037"]
    scored = score_account(account, load_playbook(), AS_OF)
    honest = (
        f"Churn risk is {scored.churn_risk.score} and the tier is critical; "
        "open the renewal conversation now."
    )
    model = ScriptedChatModel(script=[prose_answer(honest)] * 5)
    reports = run(account, model=model)["reports"]
    assert reports.prose[0].source == "model" and honest in reports.dashboard
    assert reports.model_calls == 5


def test_model_prose_with_an_invented_number_is_rejected(sample):
    invented = "Churn risk is 97.3 and the client will cost us 4,444,444 RUB."
    model = ScriptedChatModel(script=[prose_answer(invented)] * 5)
    reports = run(sample["acc-037"], model=model)["reports"]
    assert all(r.source == "deterministic" for r in reports.prose)
    assert "numbers not in the tool results (97.3, 4444444" in reports.prose[0].reason
    assert invented not in reports.dashboard and "HEALTH SCORE: Red" in reports.dashboard


def test_model_exception_falls_back_without_losing_the_report(sample):
    model = ScriptedChatModel(script=[ValueError("invalid output")] * 5)
    reports = run(sample["acc-007"], model=model)["reports"]
    assert all(r.source == "deterministic" for r in reports.prose)
    assert reports.prose[0].reason.startswith("model failed: ValueError")
    assert "CLIENT: Brightloom Textiles" in reports.dashboard


def test_transient_errors_are_retried_with_backoff(sample):
    summary = "Renewal talks are open; the account CSM calls this week."
    model = ScriptedChatModel(
        script=[TimeoutError("slow"), TimeoutError("slow"), prose_answer(summary)]
        + [prose_answer(summary)] * 4
    )
    state = build_graph(checkpointer=None).invoke(
        {"account": sample["acc-037"]},
        context=AssessmentContext(as_of=AS_OF, model=model, max_model_calls=5),
    )
    # the backoff is real; the writer's default first wait is 1 second
    assert state["reports"].prose[0].source == "model"
    assert len(model.calls) == 7


def test_model_calls_are_bounded(sample):
    model = ScriptedChatModel(script=[prose_answer("The account CSM calls this week.")] * 9)
    reports = run(sample["acc-001"], model=model, max_model_calls=2)["reports"]
    assert reports.model_calls == 2 and len(model.calls) == 2
    assert [r.source for r in reports.prose] == ["model", "model"] + ["deterministic"] * 3
    assert reports.prose[-1].reason == "model call budget spent"


def test_stray_numbers_accepts_formats_of_state_numbers():
    facts = {"price": 500000, "probability": 0.65, "score": 31.0, "date": "2026-11-20"}
    assert stray_numbers("500 000 RUB at 65% by 2026-11-20, score 31", facts, 12) == []
    assert stray_numbers("500,000 and 0.65", facts, 12) == []
    assert stray_numbers("about 480,000", facts, 12) == [480000.0]


def test_russian_reports(sample):
    reports = run(sample["acc-037"], lang="ru")["reports"]
    assert reports.dashboard.startswith(
        "## Панель здоровья клиента\n\nКЛИЕНТ: Dobrye Ruki Foundation"
    )
    assert "ОЦЕНКА ЗДОРОВЬЯ:" in reports.dashboard and "ПЛАН УСПЕХА:" in reports.success_plan


def test_checkpointed_graph_restores_typed_state(sample):
    graph = build_graph()
    config = {"configurable": {"thread_id": "t-1"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph.invoke(
            {"account_id": "acc-001"},
            config=config,
            context=AssessmentContext(as_of=AS_OF, model="none"),
        )
        snapshot = graph.get_state(config)
    assert snapshot.values["score"].id == "acc-001"
    assert json.loads(snapshot.values["reports"].model_dump_json())["lang"] == "en"


def test_unknown_account_id_is_a_clear_error():
    with pytest.raises(AssessmentError, match="no account with id 'nope'"):
        build_graph(checkpointer=None).invoke(
            {"account_id": "nope"}, context=AssessmentContext(as_of=AS_OF, model="none")
        )
