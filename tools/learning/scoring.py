"""A saved churn model beside the playbook: one account's churn and renewal probability from the
model file, with the method and the backtest figures in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.learning.features import account_features
from tools.learning.model_file import ModelFile, ModelName, load_model
from tools.learning.model_path import MODEL_FILE_ENV as MODEL_FILE_ENV  # re-exported
from tools.learning.model_path import model_file_path
from tools.numbers import plain, r2
from tools.planning.forecast import forecast_account
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.scoring.score import AccountScore


class ModelForecast(BaseModel):
    """The model's churn probability within `horizon_days` and the renewal probability
    (1 - churn), with the method that made them."""

    model: ModelName
    churn_probability: float
    renewal_probability: float
    horizon_days: int
    method: str
    trained_snapshots: int
    trained_to: date
    test_auc: float | None
    test_brier: float
    baseline_brier: float


class ModelScore(AccountScore):
    """An account's score with the churn model's forecast beside the playbook's figures."""

    model_forecast: ModelForecast


def playbook_churn(account: Account, score: AccountScore, playbook: Playbook) -> float | None:
    """The playbook's churn probability: 1 - the section-9 renewal probability (churn score and
    signal penalties, no history calibration); None when the churn score is unknown."""
    renewal = forecast_account(account, score, playbook).renewal_probability
    return None if renewal is None else round(1 - renewal, 4)


def predict(
    model: ModelFile, account: Account, score: AccountScore, playbook: Playbook, as_of: date
) -> ModelForecast:
    """The model file's chosen model applied to one account as of a date."""
    churn = model.churn_probability(
        account_features(account, as_of), playbook_churn(account, score, playbook), model.use
    )
    churn = round(churn, 4)
    test = model.backtest.models[model.use]
    return ModelForecast(
        model=model.use,
        churn_probability=churn,
        renewal_probability=round(1 - churn, 4),
        horizon_days=model.horizon_days,
        method=model.describe(),
        trained_snapshots=model.training.n,
        trained_to=model.training.end,
        test_auc=test.auc,
        test_brier=test.brier,
        baseline_brier=model.backtest.models["baseline"].brier,
    )


def with_model(
    model: ModelFile, account: Account, score: AccountScore, playbook: Playbook, as_of: date
) -> ModelScore:
    """The score with the model's forecast added (`model_forecast`)."""
    forecast = predict(model, account, score, playbook, as_of)
    return ModelScore.model_construct(**dict(score), model_forecast=forecast)


def model_summary(model: ModelFile) -> dict[str, Any]:
    """What a run's output says once about the model it used: the file, the model, its
    method sentence and its backtest figures."""
    test = model.backtest.models[model.use]
    return {
        "file": model.source,
        "model": model.use,
        "horizon_days": model.horizon_days,
        "method": model.describe(),
        "trained_snapshots": model.training.n,
        "trained_to": model.training.end.isoformat(),
        "test_snapshots": model.backtest.test.n,
        "test_auc": test.auc,
        "test_brier": test.brier,
        "baseline_brier": model.backtest.models["baseline"].brier,
        "forced": model.forced,
    }


def load_model_for(
    given: str | Path | None, playbook: Playbook, playbook_path: str | Path | None
) -> ModelFile | None:
    """The model file a run uses, loaded and checked (None: no model file); a file already
    loaded is read again only when its modification time or size changed."""
    path = model_file_path(given, playbook, playbook_path)
    if path is None:
        return None
    try:
        info = path.resolve().stat()
    except OSError:
        return load_model(path)  # names the problem in one sentence
    return _cached(str(path.resolve()), info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int, size: int) -> ModelFile:
    return load_model(path)


def playbook_mismatch(model: ModelFile, playbook: Playbook) -> str | None:
    """A warning when the model was fitted with another playbook version than the run's."""
    if model.playbook_version == playbook.version:
        return None
    return (
        f"the churn model was fitted with playbook {model.playbook_version}, this run uses "
        f"{playbook.version}; its figures assume the playbook it was fitted with (refit it "
        "with `csm learn`)"
    )


def model_portfolio(snapshots: Iterable[Mapping[str, Any]], model: ModelFile) -> dict[str, Any]:
    """The churn model's view of a portfolio over its horizon: expected churned MRR = sum of
    MRR x churn probability over every account with both known (not only those renewing), and
    the gross retention that leaves; an account with either unknown is left out and counted."""
    counted = left_out = 0
    mrr = churn = 0.0
    for s in snapshots:
        probability = s.get("churn_probability")
        if s.get("mrr") is None or probability is None:
            left_out += 1
            continue
        counted += 1
        mrr += s["mrr"]
        churn += s["mrr"] * probability
    return {
        "model": model.use,
        "horizon_days": model.horizon_days,
        "accounts": counted,
        "left_out_accounts": left_out,
        "current_mrr": r2(mrr),
        "expected_churned_mrr": r2(churn),
        "grr": round((mrr - churn) / mrr, 4) if mrr else None,
        "method": (
            f"sum of MRR x the model's churn probability within {model.horizon_days} days over "
            f"the {counted} account(s) with both known ({left_out} left out); GRR = (MRR "
            f"{plain(r2(mrr))} - {plain(r2(churn))}) / MRR; {model.describe()}"
        ),
    }
