"""Backtests (SPEC 14): label the history, split it by time, fit the calibrated and learned
models on the training snapshots and compare all four models on the same test snapshots; and
`learn`, which refits the models on all labelled history for the model file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.learning.features import account_features
from tools.learning.fit import FitError, fit_calibrated, fit_learned
from tools.learning.history import Snapshot
from tools.learning.metrics import ModelMetrics, auc_alone, model_metrics, wilson
from tools.learning.model_file import FORMAT, FORMAT_VERSION, Calibrated, Learned, model_data
from tools.learning.scoring import playbook_churn
from tools.learning.split import account_split, churn_dates, label, time_split
from tools.numbers import add_days
from tools.playbook import TIERS, Playbook
from tools.scoring.score import score_account

MODELS = ("baseline", "playbook", "calibrated", "learned")
EXTRA = "csm-agent[learn]"


class NotEnoughData(ValueError):
    """The history cannot support a meaningful backtest; the message says why and what helps."""


class Refused(ValueError):
    """`csm learn` keeps no model that does not beat the base rate (unless forced)."""


@dataclass
class Observation:
    """What a backtest needs of one snapshot: its date, churn date, the learned model's
    features, the playbook's churn probability, tier and factor inputs."""

    id: str
    as_of: date
    churned_on: date | None
    features: list[float | None]
    playbook: float | None
    tier: str | None
    factors: dict[str, float] = field(default_factory=dict)


def observe(snapshot: Snapshot, playbook: Playbook) -> Observation:
    """Score one snapshot as of its own date."""
    account, as_of = snapshot.account, snapshot.as_of
    score = score_account(account, playbook, as_of)
    return Observation(
        id=account.id,
        as_of=as_of,
        churned_on=snapshot.churned_on,
        features=account_features(account, as_of),
        playbook=playbook_churn(account, score, playbook),
        tier=score.churn_risk.tier,
        factors={f.id: float(f.value) for f in score.churn_risk.factors},
    )


class SetSummary(BaseModel):
    """A set of labelled snapshots: size, churned, first and last snapshot date."""

    model_config = ConfigDict(populate_by_name=True)

    n: int
    positives: int
    from_: date | None = Field(alias="from")
    to: date | None


class TierRow(BaseModel):
    """Observed churn of one playbook tier on the test set, with its 95% Wilson interval."""

    tier: str
    n: int
    churned: int
    churn_rate: float | None
    low: float | None
    high: float | None


class FactorRow(BaseModel):
    """One churn factor's input alone as a churn score on the test set (oriented the way the
    playbook reads it), and whether it points the playbook's way (AUC above 0.5)."""

    id: str
    n: int
    auc: float | None
    agrees: bool | None


class Verdict(BaseModel):
    """Which model to trust, and why, in plain words."""

    model: str | None
    reason: str


class Counts(BaseModel):
    """What happened to the snapshots on the way to the two sets."""

    snapshots: int
    labelled: int
    open_window: int
    after_churn: int
    after_end: int
    between_sets: int
    dates: int
    test_dates: int


class BacktestResult(BaseModel):
    """Everything `csm backtest` reports."""

    model_config = ConfigDict(populate_by_name=True)

    horizon_days: int
    end: date
    train: SetSummary
    test: SetSummary
    models: dict[str, ModelMetrics]
    calibration_map: str
    tiers: list[TierRow]
    tiers_monotonic: bool | None
    factors: list[FactorRow]
    verdict: Verdict
    counts: Counts
    warnings: list[str]


@dataclass
class Labelled:
    """The labelled snapshots and how many were left out, by reason."""

    rows: list[tuple[Observation, int]]
    left_out: dict[str, int]
    notes: list[str]


def label_all(observations: list[Observation], horizon_days: int, end: date) -> Labelled:
    """Label every snapshot with its account's churn date (tools.learning.split)."""
    churned, notes = churn_dates((o.id, o.as_of, o.churned_on) for o in observations)
    rows: list[tuple[Observation, int]] = []
    left_out = {"open": 0, "after_churn": 0, "after_end": 0}
    for o in observations:
        outcome = label(o.as_of, churned.get(o.id), horizon_days, end)
        if isinstance(outcome, bool):
            rows.append((o, int(outcome)))
        else:
            left_out[outcome] += 1
    return Labelled(rows, left_out, notes)


def _summary(rows: list[tuple[Observation, int]]) -> SetSummary:
    days = [o.as_of for o, _ in rows]
    return SetSummary(
        n=len(rows),
        positives=sum(y for _, y in rows),
        from_=min(days) if days else None,
        to=max(days) if days else None,
    )


def _check_enough(
    train: list[tuple[Observation, int]],
    test: list[tuple[Observation, int]],
    dates: list[date],
    minimum: int,
    horizon_days: int,
    end: date,
    by_time: bool = True,
) -> None:
    if not dates:
        raise NotEnoughData(
            f"no snapshot has a closed {horizon_days}-day window: a backtest needs snapshots "
            f"taken by {add_days(end, -horizon_days).isoformat()} (end {end.isoformat()} minus "
            "the horizon); use a longer history or a shorter --horizon-days."
        )
    if by_time and len(dates) == 1:
        raise NotEnoughData(
            f"every labelled snapshot is from one date ({dates[0].isoformat()}); a backtest "
            "trains on earlier dates and tests on later ones, so the history needs snapshots "
            "from several dates (monthly, say)."
        )
    problems = []
    for name, rows in (("training", train), ("test", test)):
        positives = sum(y for _, y in rows)
        negatives = len(rows) - positives
        if positives < minimum or negatives < minimum:
            problems.append(f"the {name} set has {positives} churned and {negatives} retained")
    if problems:
        raise NotEnoughData(
            "too little history for a backtest: "
            + " and ".join(problems)
            + f" snapshots, and each set needs at least {minimum} of both "
            "(forecast.backtest.min_class_count); add snapshots from more dates or accounts."
        )


def _tiers(test: list[tuple[Observation, int]]) -> tuple[list[TierRow], bool | None]:
    counts = {t: [0, 0] for t in TIERS}
    for o, y in test:
        if o.tier in counts:
            counts[o.tier][0] += 1
            counts[o.tier][1] += y
    rows = []
    for tier, (n, churned) in counts.items():
        interval = wilson(churned, n)
        rows.append(
            TierRow(
                tier=tier,
                n=n,
                churned=churned,
                churn_rate=round(churned / n, 4) if n else None,
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
            )
        )
    rates = [r.churn_rate for r in rows if r.churn_rate is not None]
    monotonic = (
        all(b >= a for a, b in zip(rates, rates[1:], strict=False)) if len(rates) >= 2 else None
    )
    return rows, monotonic


def _factors(test: list[tuple[Observation, int]], playbook: Playbook) -> list[FactorRow]:
    rows = []
    for factor_id, factor in playbook.churn_risk.factors.items():
        sign = 1.0 if factor.bad > factor.ok else -1.0
        pairs = [(y, sign * o.factors[factor_id]) for o, y in test if factor_id in o.factors]
        auc = auc_alone([y for y, _ in pairs], [v for _, v in pairs]) if pairs else None
        rows.append(
            FactorRow(
                id=factor_id, n=len(pairs), auc=auc, agrees=None if auc is None else auc > 0.5
            )
        )
    return rows


def _figure(value: float | None, digits: int = 2) -> str:
    return "unknown" if value is None else f"{value:.{digits}f}"


def verdict(models: dict[str, ModelMetrics]) -> Verdict:
    """The model with the lowest test Brier score, said in plain words with the figures that
    make it so; no model when none beats the base rate."""
    base = models["baseline"]
    best = min(("playbook", "calibrated", "learned"), key=lambda m: models[m].brier)
    chosen = models[best]
    playbook = models["playbook"]
    if chosen.brier >= base.brier:
        return Verdict(
            model=None,
            reason=(
                f"No model beats the base rate on the {base.n:,} test snapshots (Brier "
                f"{base.brier:.3f}; best: {best} {chosen.brier:.3f}): trust none of the churn "
                f"probabilities; the training churn rate is the best estimate there is."
            ),
        )
    names = {
        "playbook": "the playbook's own probability",
        "calibrated": "the calibrated playbook (its churn probability refitted on history)",
        "learned": "the learned model",
    }
    text = (
        f"Trust {names[best]}: on the {chosen.n:,} test snapshots it has the most accurate "
        f"probabilities (Brier {chosen.brier:.3f} vs {base.brier:.3f} for the base rate, "
        f"calibration error {chosen.ece:.3f}) and ranks churners with AUC "
        f"{_figure(chosen.auc)}."
    )
    ranked = [m for m in ("playbook", "calibrated", "learned") if models[m].auc is not None]
    sharper = max(ranked, key=lambda m: models[m].auc or 0.0, default=best)
    if chosen.auc is not None and (models[sharper].auc or 0.0) >= chosen.auc + 0.02:
        text += (
            f" The {sharper} model ranks churners better (AUC {_figure(models[sharper].auc)}): "
            "use it to order a call list, and this one for the probabilities."
        )
    if best != "playbook":
        if playbook.brier > base.brier:
            text += (
                f" The playbook's probabilities are worse than giving every account the base "
                f"rate (Brier {playbook.brier:.3f}, calibration error {playbook.ece:.3f}): use "
                f"its score to rank (AUC {_figure(playbook.auc)}), not as a probability."
            )
        else:
            text += (
                f" The playbook's probabilities are less accurate (Brier "
                f"{playbook.brier:.3f}, calibration error {playbook.ece:.3f})."
            )
    return Verdict(model=best, reason=text)


@dataclass
class Fitted:
    """The two fitted models of one training set."""

    calibrated: Calibrated
    learned: Learned


def fit_models(
    rows: list[tuple[Observation, int]], playbook: Playbook, by_time: bool = True
) -> Fitted:
    """Fit the calibrated and learned models on labelled snapshots (the calibration's folds
    grouped by snapshot date, or by account when `by_time` is off)."""
    rules = playbook.forecast.backtest
    labels = [y for _, y in rows]
    try:
        calibrated = fit_calibrated(
            [o.playbook for o, _ in rows],
            labels,
            [o.as_of if by_time else o.id for o, _ in rows],
            rules.folds,
            rules.probability_floor,
        )
        learned = fit_learned([o.features for o, _ in rows], labels)
    except FitError as error:
        raise NotEnoughData(f"the models cannot be fitted: {error}.") from None
    return Fitted(calibrated, learned)


def _predictions(
    fitted: Fitted, rows: list[tuple[Observation, int]], base_rate: float, floor: float
) -> dict[str, list[float]]:
    def bounded(p: float) -> float:
        return min(1 - floor, max(floor, p))

    return {
        "baseline": [base_rate] * len(rows),
        "playbook": [base_rate if o.playbook is None else o.playbook for o, _ in rows],
        "calibrated": [
            bounded(
                fitted.calibrated.fallback
                if o.playbook is None
                else fitted.calibrated.map.apply(o.playbook, floor)
            )
            for o, _ in rows
        ],
        "learned": [bounded(fitted.learned.probability(o.features)) for o, _ in rows],
    }


@dataclass
class Backtest:
    """A backtest's report, the labelled snapshots and the test set it scored."""

    result: BacktestResult
    labelled: Labelled
    test: list[tuple[Observation, int]] = field(default_factory=list)


def run_backtest(
    observations: list[Observation],
    playbook: Playbook,
    horizon_days: int,
    end: date,
    warnings: Iterable[str] = (),
    by_accounts: int | None = None,
) -> Backtest:
    """Label, split, fit on training, score all four models on test (SPEC 14). With
    `by_accounts` (a seed), the split is tools.learning.split.account_split instead of the time
    split: for a table with one snapshot date, where no time order exists to keep."""
    rules = playbook.forecast.backtest
    labelled = label_all(observations, horizon_days, end)
    rows = labelled.rows
    by_time = by_accounts is None
    if by_accounts is None:
        split = time_split([o.as_of for o, _ in rows], horizon_days, rules.test_share)
    else:
        split = account_split([o.id for o, _ in rows], [y for _, y in rows],
                              [o.as_of for o, _ in rows], rules.test_share, by_accounts)
    train = [rows[i] for i in split.train]
    test = [rows[i] for i in split.test]
    _check_enough(train, test, split.dates, rules.min_class_count, horizon_days, end, by_time)
    fitted = fit_models(train, playbook, by_time)
    base_rate = sum(y for _, y in train) / len(train)
    predictions = _predictions(fitted, test, base_rate, rules.probability_floor)
    labels = [y for _, y in test]
    models = {m: model_metrics(labels, predictions[m], rules.bins) for m in MODELS}
    tiers, monotonic = _tiers(test)
    notes = list(warnings) + labelled.notes
    unknown = sum(1 for o, _ in test if o.playbook is None)
    if unknown:
        notes.append(
            f"{unknown} test snapshot(s) have no playbook churn probability (no churn input "
            "known); the training churn rate stands in for the playbook and calibrated models"
        )
    return Backtest(
        result=BacktestResult(
            horizon_days=horizon_days,
            end=end,
            train=_summary(train),
            test=_summary(test),
            models=models,
            calibration_map=fitted.calibrated.map.kind,
            tiers=tiers,
            tiers_monotonic=monotonic,
            factors=_factors(test, playbook),
            verdict=verdict(models),
            counts=Counts(
                snapshots=len(observations),
                labelled=len(rows),
                open_window=labelled.left_out["open"],
                after_churn=labelled.left_out["after_churn"],
                after_end=labelled.left_out["after_end"],
                between_sets=split.dropped,
                dates=len(split.dates),
                test_dates=len({o.as_of for o, _ in test}),
            ),
            warnings=notes,
        ),
        labelled=labelled,
        test=test,
    )


def _package_version() -> str:
    try:
        return version("csm-agent")
    except PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "0+unknown"


def learn(
    observations: list[Observation],
    playbook: Playbook,
    horizon_days: int,
    end: date,
    force: bool = False,
    warnings: Iterable[str] = (),
) -> tuple[dict[str, Any], BacktestResult]:
    """Backtest, then refit both models on every labelled snapshot and return the model
    file's data with the backtest. The model with the lower test Brier is the one used; when
    it does not beat the base rate, Refused unless `force`."""
    backtest = run_backtest(observations, playbook, horizon_days, end, warnings)
    result = backtest.result
    models = result.models
    use = min(("calibrated", "learned"), key=lambda m: models[m].brier)
    reason = None
    if models[use].brier >= models["baseline"].brier:
        reason = (
            f"the better fitted model ({use}) does not beat the base rate on the backtest: "
            f"Brier {models[use].brier:.4f} vs {models['baseline'].brier:.4f}"
        )
        if not force:
            raise Refused(f"no model written: {reason}; pass --force to write it anyway.")
    rows = backtest.labelled.rows
    fitted = fit_models(rows, playbook)
    summary = _summary(rows)
    figures = {
        name: {k: getattr(m, k) for k in ("auc", "pr_auc", "brier", "log_loss", "ece")}
        for name, m in models.items()
    }
    data = model_data(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "written_by": f"csm-agent {_package_version()}",
            "playbook_version": playbook.version,
            "horizon_days": horizon_days,
            "training": {
                **summary.model_dump(mode="json", by_alias=True),
                "accounts": len({o.id for o, _ in rows}),
                "end": end,
            },
            "backtest": {
                "train": result.train.model_dump(mode="json", by_alias=True),
                "test": result.test.model_dump(mode="json", by_alias=True),
                "models": figures,
            },
            "use": use,
            "forced": reason is not None,
            "reason": reason,
            "probability_floor": playbook.forecast.backtest.probability_floor,
            "calibrated": fitted.calibrated.model_dump(mode="json"),
            "learned": fitted.learned.model_dump(mode="json"),
        }
    )
    return data, result
