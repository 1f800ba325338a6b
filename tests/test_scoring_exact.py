"""Scores, signals and offers where a user reads them: the exact evidence text of each signal,
playbook variants that point an input at an extra column of the accounts file (absent on some
rows: unknown, never a crash), a penalty metric without `zero_if`, a series rule without
`weeks`, and zero weights. Every expectation is worked out by hand in the comments."""

from datetime import timedelta

import yaml

from tests.conftest import AS_OF, make
from tools.playbook import default_playbook_path, parse_playbook
from tools.scoring.churn import score_churn_risk
from tools.scoring.expansion import match_opportunities
from tools.scoring.health import score_health
from tools.scoring.signals import detect_signals


def custom(edit) -> object:
    """The bundled playbook after `edit(data)` changed its parsed YAML."""
    data = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))
    edit(data)
    return parse_playbook(data)


def fired(account, playbook):
    return {s.id: s.evidence for s in detect_signals(account, playbook, AS_OF).fired}


# --- signal evidence ----------------------------------------------------------------------


def test_series_evidence(playbook):
    account = make(weekly_logins=[4, 1, 0], weekly_tickets=[2, 6, 7])
    assert fired(account, playbook) == {
        "engagement_drop": "weekly_logins last 2 weeks [1, 0] all < 2",
        "support_spike": "weekly_tickets last 2 weeks [6, 7] all > 5",
    }


def test_new_primary_contact_evidence(playbook):
    since = AS_OF - timedelta(days=30)  # 2026-10-21
    account = make(stakeholders=[{"name": "Ivan", "primary": True, "since": since.isoformat()}])
    assert fired(account, playbook) == {
        "stakeholder_change": "primary contact Ivan in role since 2026-10-21 (30 days, within 90)"
    }


def test_renewal_window_evidence_says_whether_talks_are_recorded(playbook):
    renewal = AS_OF + timedelta(days=30)  # 2026-12-20
    started = make(renewal_date=renewal, renewal_conversation_started=False)
    unrecorded = make(renewal_date=renewal)
    assert fired(started, playbook) == {
        "renewal_window": "renewal_date 2026-12-20 is 30 days ahead (within 180); "
        "renewal conversation not started"
    }
    assert fired(unrecorded, playbook) == {
        "renewal_window": "renewal_date 2026-12-20 is 30 days ahead (within 180); "
        "renewal conversation not recorded"
    }


def test_a_series_rule_without_weeks_looks_at_the_last_week():
    def drop_weeks(data):
        del data["signals"]["engagement_drop"]["weeks"]

    book = custom(drop_weeks)
    # one week is enough: the last value 1 < 2 fires, though the week before (5) did not drop
    assert fired(make(weekly_logins=[5, 1]), book) == {
        "engagement_drop": "weekly_logins last 1 weeks [1] all < 2"
    }


# --- inputs read from another account field ----------------------------------------------


def test_a_churn_factor_on_another_field():
    def engagement_column(data):
        data["churn_risk"]["factors"]["engagement"]["input"] = "meeting_attendance_pct"

    book = custom(engagement_column)
    # meeting_attendance_pct 30 -> (60 - 30) / 60 x 100 = 50, the only known factor
    known = score_churn_risk(make(meeting_attendance_pct=30), book, AS_OF)
    assert (known.score, known.tier) == (50, "medium")
    absent = score_churn_risk(make(engagement_score=30), book, AS_OF)  # no longer read
    assert (absent.score, absent.missing) == (None, list(book.churn_risk.factors))


def test_health_metrics_on_other_fields():
    def columns(data):
        metrics = data["health"]["components"]
        metrics["growth"]["metrics"]["nps"]["input"] = "technical_score"
        metrics["performance"]["metrics"]["complaints"]["per"] = "open_tickets"
        metrics["financial"]["metrics"]["payment_timeliness"]["zero_if"]["input"] = (
            "tickets_last_month"
        )

    book = custom(columns)
    # growth: technical_score 5 -> 50; performance: complaints 2 per 8 open_tickets = 0.25 ->
    # (0.25 - 1) / (0 - 1) x 100 = 75; financial: 1 delay -> 100 - 33.33 = 66.67 (the guard,
    # tickets_last_month, is unknown, so it does not zero the metric).
    # Score = (10 x 50 + 20 x 75 + 25 x 66.67) / 55 = (500 + 1500 + 1666.75) / 55 = 66.67
    account = make(technical_score=5, complaints=2, open_tickets=8, payment_delays_last_quarter=1)
    result = score_health(account, book)
    assert {c.id: c.score for c in result.components} == {
        "financial": 66.67, "performance": 75, "growth": 50,
    }
    assert result.score == 66.67
    # the same inputs without those fields: growth and performance unknown
    bare = score_health(make(complaints=2, payment_delays_last_quarter=1), book)
    assert [c.id for c in bare.components] == ["financial"]
    # the guard's field over 30 zeroes the metric, with the note naming it
    zeroed = score_health(make(payment_delays_last_quarter=1, tickets_last_month=31), book)
    [metric] = zeroed.components[0].metrics
    assert (metric.mapped, metric.note) == (
        0, "0 because tickets_last_month is 31 (> 30), whatever payment_delays_last_quarter is",
    )


def test_signals_on_other_fields():
    def columns(data):
        data["signals"]["engagement_drop"]["input"] = "weekly_tickets"
        data["signals"]["payment_delay"]["input"] = "open_tickets"

    book = custom(columns)
    result = detect_signals(make(weekly_logins=[0, 0], days_overdue=40), book, AS_OF)
    assert result.fired == []
    assert {"engagement_drop", "payment_delay"} <= set(result.not_evaluated)
    assert fired(make(weekly_tickets=[1, 1], open_tickets=8), book) == {
        "engagement_drop": "weekly_tickets last 2 weeks [1, 1] all < 2",
        "payment_delay": "open_tickets is 8 (> 7)",
    }


def test_an_offer_clause_on_another_field():
    def column(data):
        data["opportunities"]["local_seo"]["when"][0]["input"] = "open_tickets"

    book = custom(column)
    clause = book.opportunities["local_seo"].when[0]
    assert (clause.op, clause.value) == ("gt", 5)  # locations > 5 in the bundled playbook
    result = match_opportunities(make(locations=8), book)
    assert "local_seo" in result.not_evaluated  # open_tickets unknown: not a match
    matched = match_opportunities(make(open_tickets=8), book).matched
    assert [(o.id, o.evidence) for o in matched] == [("local_seo", "open_tickets 8 > 5")]


# --- penalty without zero_if, zero weights ------------------------------------------------


def test_a_penalty_metric_without_zero_if():
    def no_guard(data):
        del data["health"]["components"]["financial"]["metrics"]["payment_timeliness"]["zero_if"]

    book = custom(no_guard)
    # 2 delays: 100 - 2 x 33.33 = 33.34, whatever days_overdue is
    result = score_health(make(payment_delays_last_quarter=2, days_overdue=90), book)
    assert (result.score, result.components[0].metrics[0].note) == (33.34, None)


def test_known_factors_of_zero_weight_give_no_score():
    def weightless(data):
        data["churn_risk"]["factors"]["login_recency"]["weight"] = 0

    book = custom(weightless)
    # only last_login is known and it weighs nothing: no score, one factor worth 0
    result = score_churn_risk(make(last_login=AS_OF - timedelta(days=30)), book, AS_OF)
    assert (result.score, result.tier, result.coverage) == (None, None, 0)
    assert [(f.id, f.risk, f.contribution) for f in result.factors] == [("login_recency", 100, 0)]


def test_known_components_of_zero_weight_give_no_score():
    def weightless(data):
        data["health"]["components"]["technical"]["weight"] = 0

    book = custom(weightless)
    # team_competence 5 -> 50, in the weightless technical component only
    result = score_health(make(team_competence=5), book)
    assert (result.score, result.color, result.coverage) == (None, None, 0)
    assert [(c.id, c.score, c.contribution) for c in result.components] == [("technical", 50, 0)]
