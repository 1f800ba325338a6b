"""A saved churn model beside the playbook: one account's churn and renewal probability from the
model file, with the method and the backtest figures in words."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel

from tools.learning.features import account_features
from tools.learning.model_file import ModelFile, ModelName, load_model
from tools.planning.forecast import forecast_account
from tools.playbook import Playbook
from tools.portfolio.account import Account
from tools.scoring.score import AccountScore

MODEL_FILE_ENV = "CSM_MODEL_FILE"


class ModelForecast(BaseModel):
    """The model's churn probability within `horizon_days` and the renewal probability
    (1 - churn), with the method that made them."""

    model: ModelName
    churn_probability: float
    renewal_probability: float
    horizon_days: int
    method: str


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
    return ModelForecast(
        model=model.use,
        churn_probability=churn,
        renewal_probability=round(1 - churn, 4),
        horizon_days=model.horizon_days,
        method=model.describe(),
    )


def model_file_path(
    given: str | Path | None, playbook: Playbook, playbook_path: str | Path | None
) -> Path | None:
    """Which model file a run uses: the one given (`--model-file`), else CSM_MODEL_FILE, else
    the playbook's forecast.model_file (relative to the playbook file), else none."""
    if given:
        return Path(given).expanduser()
    if os.environ.get(MODEL_FILE_ENV):
        return Path(os.environ[MODEL_FILE_ENV]).expanduser()
    key = playbook.forecast.model_file
    if not key:
        return None
    path = Path(key).expanduser()
    if not path.is_absolute() and playbook_path:
        path = Path(playbook_path).expanduser().parent / path
    return path


def load_model_for(
    given: str | Path | None, playbook: Playbook, playbook_path: str | Path | None
) -> ModelFile | None:
    """The model file a run uses, loaded and checked (None: no model file)."""
    path = model_file_path(given, playbook, playbook_path)
    return None if path is None else load_model(path)
