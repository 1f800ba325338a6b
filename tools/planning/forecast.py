"""Forecast (step 6), per account: renewal probability with its method, expected churned MRR and
expected expansion over the recommended offers (`tools.planning.offer_fit`; none while the
proposal holds them back). `calibrate` turns account
history into observed renewal rates per tier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

from pydantic import BaseModel

from tools.numbers import add_days, half_up, plain, r2
from tools.planning.offer_fit import recommended_offers
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.scoring.expansion import MONTHS_PER_YEAR, expansion_held, expected_expansion
from tools.scoring.score import AccountScore


class TierCalibration(BaseModel):
    """History points of one tier: how many, how many churned, the observed renewal rate."""

    tier: str
    points: int
    churned: int
    renewal_rate: float | None
    usable: bool


class Calibration(BaseModel):
    """Observed renewal rates per churn tier from account history up to `as_of`."""

    as_of: date
    min_history_points: int
    points: int
    tiers: list[TierCalibration]
    method: str


class SignalPenalty(BaseModel):
    """What one fired signal takes off the renewal probability."""

    signal: str
    severity: str
    penalty: float


class AccountForecast(BaseModel):
    """One account's forecast over `horizon_days`, each figure with the rule that made it."""

    id: str
    name: str
    horizon_days: int
    churn_score: float | None
    tier: str | None
    coverage: float
    basis: Literal["calibration", "churn_score", "unknown"]
    renewal_probability: float | None
    penalties: list[SignalPenalty]
    method: str
    mrr: float | None
    expected_churned_mrr: float | None
    expected_churned_mrr_method: str
    expected_expansion_monthly: float
    expected_expansion_annual: float
    held_expansion_monthly: float
    expansion_method: str


def calibrate(accounts: Iterable[Account], playbook: Playbook, as_of: date) -> Calibration:
    """Count history points whose outcome window has closed by as_of (point date +
    forecast.horizon_days <= as_of) and whose churn_risk and churned are known, per tier of
    round-half-up(churn_risk); renewal rate = 1 - churned / points, usable from
    forecast.min_history_points points. A point whose window is still open is left out: whether
    that client renews is not known yet."""
    rules = playbook.forecast
    minimum = rules.min_history_points
    counts = {t.id: [0, 0] for t in sorted(playbook.churn_risk.tiers, key=lambda t: t.min)}
    for account in accounts:
        for point in account.history or []:
            if point.churn_risk is None or point.churned is None:
                continue
            if add_days(point.date, rules.horizon_days) > as_of:
                continue
            count = counts[playbook.tier(half_up(point.churn_risk)).id]
            count[0] += 1
            count[1] += int(point.churned)
    tiers = [
        TierCalibration(
            tier=tier,
            points=points,
            churned=churned,
            renewal_rate=round(1 - churned / points, 4) if points else None,
            usable=points >= minimum,
        )
        for tier, (points, churned) in counts.items()
    ]
    return Calibration(
        as_of=as_of,
        min_history_points=minimum,
        points=sum(t.points for t in tiers),
        tiers=tiers,
        method=(
            f"history points dated at least {rules.horizon_days} days (forecast.horizon_days) "
            "before as-of, so that their outcome is known, with churn_risk and churned known, "
            "grouped by the tier of churn_risk rounded half up; renewal rate = 1 - churned / "
            f"points; usable with at least {minimum} points (forecast.min_history_points)"
        ),
    )


def _usable(calibration: Calibration | None, tier: str | None) -> TierCalibration | None:
    if calibration is None or tier is None:
        return None
    return next(
        (
            t
            for t in calibration.tiers
            if t.tier == tier and t.usable and t.renewal_rate is not None
        ),
        None,
    )


def forecast_account(
    account: Account,
    score: AccountScore,
    playbook: Playbook,
    calibration: Calibration | None = None,
) -> AccountForecast:
    """Renewal probability: the tier's observed rate when calibration makes it usable, else
    1 - churn risk / 100 minus forecast.signal_penalty per fired signal, within [floor, ceiling].
    """
    rules = playbook.forecast
    churn = score.churn_risk
    penalties: list[SignalPenalty] = []
    observed = _usable(calibration, churn.tier)
    probability: float | None
    basis: Literal["calibration", "churn_score", "unknown"]
    if churn.score is None:
        basis, probability = "unknown", None
        method = "renewal probability unknown: the churn-risk score has no known input"
    elif observed is not None and observed.renewal_rate is not None:
        rate = observed.renewal_rate
        basis, probability = "calibration", round(min(rules.ceiling, max(rules.floor, rate)), 4)
        method = (
            f"observed renewal rate of tier {observed.tier} over {observed.points} history "
            f"points: 1 - {observed.churned} churned / {observed.points} = "
            f"{plain(rate)} (at least {rules.min_history_points} points, "
            f"forecast.min_history_points); kept within [{plain(rules.floor)}, "
            f"{plain(rules.ceiling)}]{_bound_note(rate, rules.floor, rules.ceiling)}"
        )
    else:
        basis = "churn_score"
        base = 1 - churn.score / 100
        penalties = [
            SignalPenalty(
                signal=s.id, severity=s.severity, penalty=rules.signal_penalty.get(s.severity, 0.0)
            )
            for s in score.signals
        ]
        raw = base - sum(p.penalty for p in penalties)
        probability = round(min(rules.ceiling, max(rules.floor, raw)), 4)
        method = f"1 - churn risk {plain(churn.score)} / 100 = {plain(round(base, 4))}"
        if penalties:
            terms = "".join(f" - {plain(p.penalty)} ({p.signal}, {p.severity})" for p in penalties)
            method += f"; signal penalties: {plain(round(base, 4))}{terms} = {plain(round(raw, 4))}"
        method += f"; kept within [{plain(rules.floor)}, {plain(rules.ceiling)}]"
        method += _bound_note(raw, rules.floor, rules.ceiling)
        method += (
            f" -> {plain(probability)} (forecast.signal_penalty, forecast.floor, forecast.ceiling)"
        )
    mrr = account.mrr
    if mrr is None or probability is None:
        churned = None
        missing = "mrr" if mrr is None else "the renewal probability"
        churned_method = f"expected churned MRR unknown: {missing} is unknown"
    else:
        churned = r2(mrr * (1 - probability))
        churned_method = (
            f"mrr {plain(mrr)} x (1 - {plain(probability)}) = {plain(churned)} {playbook.currency}"
        )
    offers = recommended_offers(account, score.opportunities, playbook)
    matched = expected_expansion(offers)
    held = expansion_held(churn.tier, playbook) and bool(offers)
    monthly = 0.0 if held else matched
    terms = " + ".join(f"{plain(o.price)} x {plain(o.probability)} ({o.id})" for o in offers)
    left_out = sorted({o.id for o in score.opportunities} - {o.id for o in offers})
    skipped = (
        f"; not recommended now, not counted: {', '.join(left_out)} (expansion.recommend)"
        if left_out
        else ""
    )
    if held:
        expansion_method = (
            f"0: churn tier {churn.tier} is in expansion.hold_tiers, so the proposal holds its "
            f"offers back and the forecast does not count them (held: {terms} = "
            f"{plain(r2(matched))} a month){skipped}"
        )
    elif terms:
        expansion_method = (
            f"sum of price x probability over the recommended offers: {terms} = "
            f"{plain(r2(monthly))} a month{skipped}"
        )
    elif left_out:
        expansion_method = f"no recommended offer: 0{skipped}"
    else:
        expansion_method = "no expansion offer matched: 0"
    return AccountForecast(
        id=account.id,
        name=account.name,
        horizon_days=rules.horizon_days,
        churn_score=churn.score,
        tier=churn.tier,
        coverage=churn.coverage,
        basis=basis,
        renewal_probability=probability,
        penalties=penalties,
        method=method,
        mrr=mrr,
        expected_churned_mrr=churned,
        expected_churned_mrr_method=churned_method,
        expected_expansion_monthly=r2(monthly),
        expected_expansion_annual=r2(monthly * MONTHS_PER_YEAR),
        held_expansion_monthly=r2(matched) if held else 0.0,
        expansion_method=expansion_method,
    )


def _bound_note(raw: float, floor: float, ceiling: float) -> str:
    """What keeping a probability within [floor, ceiling] did to it, if anything."""
    if raw < floor:
        return f": raised to the floor {plain(floor)}"
    if raw > ceiling:
        return f": capped at the ceiling {plain(ceiling)}"
    return ""
