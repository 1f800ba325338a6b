"""The column-by-column scorer (tools/scoring/bulk.py, issue 15) gives every account the summary
the per-account scorer gives it: printed health and churn scores, colour, tier, coverage, fired
signals and matched offers. Checked on generated portfolios, on arbitrary accounts (the property
tests' rows) and under playbooks with other weights, bands and bounds."""

from __future__ import annotations

import math
from datetime import date
from math import nan
from typing import Any
from unittest.mock import patch

import numpy as np
import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_properties import SETTINGS, as_of_dates, clean_rows
from tools.numbers import cents_summing_to, r2
from tools.playbook import Playbook, default_playbook_path, load_playbook, parse_playbook
from tools.portfolio.account import NUMBER_LIMIT, Account
from tools.portfolio.plausibility import review
from tools.portfolio.readers import parse_row
from tools.portfolio.sample import generate_accounts
from tools.scoring import bulk, bulk_dicts, health, score
from tools.scoring.inputs import input_names
from tools.scoring.score import (
    SMALL_BATCH,
    score_dict,
    score_dicts,
    score_summaries,
    score_summary,
    waiting,
)

AS_OF = date(2026, 11, 20)
PLAYBOOK = load_playbook()


def _accounts(records: list[dict[str, Any]]) -> list[Account]:
    parsed = [parse_row("rows", n, r) for n, r in enumerate(records, start=1)]
    return [a for a in parsed if isinstance(a, Account)]


def _agree(
    accounts: list[Account], playbook: Playbook, as_of: date, columns: bool = True
) -> None:
    """The batch's summaries and full scores, from the values its accounts wait with, are the
    per-account ones of the whole accounts, to the byte of their JSON (1 is not 1.0); with
    `columns`, taken column by column however small the batch."""
    reviewed = [review(a, as_of) for a in accounts]
    batch = [waiting(r, playbook) for r in reviewed]
    with patch.object(score, "SMALL_BATCH", 0 if columns else score.SMALL_BATCH):
        summaries = score_summaries(batch, playbook, as_of)
        dicts = score_dicts(batch, playbook, as_of)
    assert summaries == [score_summary(r, playbook, as_of) for r in reviewed]
    assert [orjson.dumps(d) for d in dicts] == [
        orjson.dumps(score_dict(r, playbook, as_of)) for r in reviewed
    ]


def _columns(accounts: list[Account], playbook: Playbook = PLAYBOOK) -> bulk.Columns:
    inputs = [waiting(review(a, AS_OF), playbook).inputs for a in accounts]
    return bulk.Columns(inputs, input_names(playbook))


def test_generated_portfolios_score_as_account_by_account():
    accounts = _accounts(list(generate_accounts(3000, 21, date(2026, 12, 10))))
    _agree(accounts, PLAYBOOK, AS_OF)
    # the rows near a rounding tie went to the per-account scorer, and the others did not
    columns = _columns(accounts)
    healths = bulk.health_summaries(columns, PLAYBOOK)
    churns = bulk.churn_summaries(columns, PLAYBOOK, AS_OF)
    assert healths is not None and churns is not None
    assert 0 < sum(h is None for h in healths) < 100
    assert 0 < sum(c is None for c in churns) < 100
    # the full scores print every element-wise value and every mean exactly, ties included:
    # only a score near a tie is left to the per-account scorer
    health_dicts = bulk_dicts.health_dicts(columns, PLAYBOOK)
    churn_dicts = bulk_dicts.churn_dicts(columns, PLAYBOOK, AS_OF)
    assert health_dicts is not None and churn_dicts is not None
    assert [h is None for h in health_dicts] == [h is None for h in healths]
    assert [c is None for c in churn_dicts] == [c is None for c in churns]


def test_printed_values_on_a_tie_are_rounded_half_up_as_r2_rounds_them():
    """Values exactly on a half cent (24.375, a mean of 83.335) are printed by `r2` itself,
    not by the binary rule; every other value by the binary rule."""
    values = np.array([24.375, 98.125, 83.335, 0.005, 66.66666666666667, 1e12, np.nan])
    printed = bulk_dicts.printed_cents(values)
    assert printed[:6] == [r2(v) for v in values[:6].tolist()]
    assert printed[:4] == [24.38, 98.13, 83.34, 0.01]


def test_component_means_are_those_of_fsum():
    """The means are `fsum`'s, as `health._components` takes them; numpy adds 0.1 + 0.2 + 0.3
    to 0.6000000000000001."""
    mapped = np.array([[0.1, 1.0, nan, 0.1], [0.2, nan, nan, 0.2], [0.3, 2.0, nan, nan]])
    means = bulk.exact_means(mapped)
    assert means[0] == math.fsum([0.1, 0.2, 0.3]) / 3 != (0.1 + 0.2 + 0.3) / 3
    assert means[1] == 1.5 and math.isnan(means[2]) and means[3] == (0.1 + 0.2) / 2


@settings(max_examples=200, **SETTINGS)
@given(
    st.lists(
        st.lists(st.none() | st.floats(0, 100) | st.floats(-1e6, 1e6) | st.sampled_from(
            [0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e-300, 5e-324, 1e-17, 66.66666666666667, 100.0]
        ), min_size=1, max_size=6),
        min_size=1, max_size=20,
    )
)
def test_means_in_columns_are_fsum_means(rows):
    """Summed with their rounding errors kept apart, or by fsum where those do not add up
    exactly, the means are `fsum(values) / len(values)` to the bit."""
    width = max(len(row) for row in rows)
    padded = [row + [None] * (width - len(row)) for row in rows]
    mapped = np.array([[nan if v is None else v for v in row] for row in padded]).T
    means = bulk.exact_means(mapped).tolist()
    for row, mean in zip(rows, means, strict=True):
        known = [v for v in row if v is not None]
        if known:
            assert mean == math.fsum(known) / len(known)
        else:
            assert math.isnan(mean)


@settings(max_examples=100, **SETTINGS)
@given(
    parts=st.lists(
        st.lists(st.none() | st.floats(0, 100) | st.sampled_from([12.5, 1 / 3, 10.005, 0.004,
                                                                  2.0000000005, 1e5 + 0.125]),
                 min_size=4, max_size=4),
        min_size=1, max_size=6,
    )
)
def test_contributions_in_columns_are_cents_summing_to(parts):
    """`cents_columns` distributes each row's cents as `cents_summing_to` does: the same
    floors, remainders, ties and order, over and under the total."""
    values = np.array([[nan if v is None else v for v in line] for line in parts])
    known = ~np.isnan(values)
    rows = [[v for v in column if v is not None] for column in zip(*parts, strict=True)]
    totals = [math.fsum(row) + extra for row, extra in zip(rows, (0, 0.01, -0.02, 0.3),
                                                           strict=True)]
    target = np.array([round(r2(t) * 100) if row else 0 for row, t in zip(rows, totals,
                                                                           strict=True)])
    got = bulk_dicts.cents_columns(values, known, target)
    for column, row in enumerate(rows):
        want = cents_summing_to(row, totals[column])
        assert [got[line][column] for line in range(len(parts)) if known[line, column]] == want


@settings(max_examples=150, **SETTINGS)
@given(records=st.lists(clean_rows, min_size=1, max_size=30), as_of=as_of_dates)
def test_any_accounts_score_as_account_by_account(records, as_of):
    _agree(_accounts(records), PLAYBOOK, as_of)


def test_every_whole_number_of_an_account_is_exactly_a_float():
    """The columns take numbers as floats, Python divides and compares whole numbers exactly:
    the two agree because the reader rejects any number beyond NUMBER_LIMIT (< 2**53)."""
    assert NUMBER_LIMIT < 2**53
    record = next(iter(generate_accounts(1, 4, date(2026, 12, 10))))
    assert not isinstance(parse_row("rows", 1, record | {"complaints": 2**53 + 1}), Account)


def _playbook(**changes: Any) -> Playbook:
    """The bundled playbook with some values replaced (dotted paths)."""
    data = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = data
        for key in path:
            node = node[key]
        node[last] = value
    return parse_playbook(data, "test")


@pytest.mark.parametrize(
    "changes",
    [
        # weights that are not whole numbers, and a component that weighs nothing
        {"health__components__financial__weight": 12.345,
         "health__components__engagement__weight": 0,
         "churn_risk__factors__contract_value__weight": 0.1},
        # a penalty without its guard, bounds the other way round
        {"health__components__financial__metrics__payment_timeliness__zero_if": None,
         "health__components__engagement__metrics__email_response__zero": 10,
         "health__components__engagement__metrics__email_response__full": 200},
        # longer windows and other signal bounds
        {"health__components__engagement__metrics__logins__window": 8,
         "signals__engagement_drop__weeks": 4, "signals__support_spike__above": 3,
         "signals__stakeholder_change__within_days": 400},
    ],
)
def test_other_playbooks_score_as_account_by_account(changes):
    playbook = _playbook(**changes)
    accounts = _accounts(list(generate_accounts(600, 5, date(2026, 12, 10))))
    _agree(accounts, playbook, AS_OF)


def test_a_rule_of_another_kind_is_scored_account_by_account(monkeypatch):
    """A rule the columns do not take (here a penalty read from a flag) turns the column path
    off for that score; the summaries are still the per-account ones."""
    total, rules = health.metric_rules(PLAYBOOK)
    (component, metrics), *others = rules
    odd = ("odd", "auto_pay", "penalty", None, None, None, None, 100.0, 40.0, None, None)
    changed = [(component, [*metrics, odd]), *others]
    monkeypatch.setattr(health, "metric_rules", lambda _: (total, changed))
    accounts = _accounts(list(generate_accounts(200, 2, date(2026, 12, 10))))
    assert bulk.health_summaries(_columns(accounts), PLAYBOOK) is None
    _agree(accounts, PLAYBOOK, AS_OF)


def test_an_empty_batch_scores_nothing():
    assert score_summaries([], PLAYBOOK, AS_OF) == []


def test_accounts_scored_one_by_one_from_their_inputs_score_as_the_whole_accounts(monkeypatch):
    """Every account the columns leave to the per-account scorer is rebuilt from the values it
    waited with (tools/scoring/inputs.py): here all of them, as no printed score counts as far
    enough from a tie, so a rule reading a field outside `input_names` would show."""
    monkeypatch.setattr(bulk, "SAFE", -1.0)
    accounts = _accounts(list(generate_accounts(400, 8, date(2026, 12, 10))))
    columns = _columns(accounts)
    assert set(bulk.health_summaries(columns, PLAYBOOK) or [0]) == {None}
    _agree(accounts, PLAYBOOK, AS_OF)
    _agree(_accounts(_boundary_records(PLAYBOOK, AS_OF)), PLAYBOOK, AS_OF)


def test_a_batch_below_the_columns_threshold_is_scored_one_by_one(monkeypatch):
    """Under SMALL_BATCH accounts the columns (and numpy) are not used at all."""
    monkeypatch.setattr(bulk, "Columns", None)
    accounts = _accounts(list(generate_accounts(SMALL_BATCH - 1, 3, date(2026, 12, 10))))
    _agree(accounts, PLAYBOOK, AS_OF, columns=False)


def _boundary_records(playbook: Playbook, as_of: date) -> list[dict[str, Any]]:
    """Accounts on and beside every bound of the signal and offer rules."""
    day = as_of.toordinal()
    records: list[dict[str, Any]] = []
    within = playbook.signals["stakeholder_change"].within_days or 0
    for offset in (-1, 0, 1, within - 1, within, within + 1):
        for primary in (True, False, None):
            person = {"name": "P", "since": date.fromordinal(day - offset).isoformat()}
            if primary is not None:
                person["primary"] = primary
            records.append({"stakeholders": [person, {"name": "Q", "primary": True}]})
    ahead = playbook.signals["renewal_window"].within_days or 0
    for offset in (-1, 0, 1, ahead - 1, ahead, ahead + 1):
        for started in (True, False, None):
            record = {"renewal_date": date.fromordinal(day + offset).isoformat()}
            if started is not None:
                record["renewal_conversation_started"] = started
            records.append(record)
    for signal in playbook.signals.values():
        bound = signal.below if signal.below is not None else signal.above
        if bound is None:
            continue
        for value in (bound - 1, bound, bound + 1):
            value = max(int(value), 0)
            records.append({signal.input: [value] * (signal.weeks or 1)}
                           if signal.weeks else {signal.input: value})
    for offer in playbook.opportunities.values():
        for clause in offer.when:
            for step in (-1, 0, 1):
                records.append({c.input: c.value for c in offer.when}
                               | {clause.input: max(clause.value + step, 0)})
    return [{"id": f"b{i}", "name": "B", **r} for i, r in enumerate(records)]


def test_accounts_on_every_bound_score_as_account_by_account():
    records = _boundary_records(PLAYBOOK, AS_OF)
    accounts = _accounts(records)
    assert len(accounts) == len(records) > 60
    _agree(accounts, PLAYBOOK, AS_OF)


def test_offers_read_row_by_row_match_as_in_columns(monkeypatch):
    """Offers whose clauses the columns do not take are matched by `expansion.outcome` on each
    row's values: the same matches, unknown rules and evidence."""
    monkeypatch.setattr(bulk, "offers_in_columns", lambda _: False)
    _agree(_accounts(_boundary_records(PLAYBOOK, AS_OF)), PLAYBOOK, AS_OF)
    _agree(_accounts(list(generate_accounts(300, 6, date(2026, 12, 10)))), PLAYBOOK, AS_OF)
