"""The churn model file written by `csm learn`: JSON, versioned, human-readable, nothing
executable. It names its features, its training window and its backtest figures, and carries a
digest of its own content; loading validates every part and refuses an unknown format version,
a structure that does not validate, or content changed after it was written.

Scoring needs no scikit-learn: both models are evaluated here in plain Python (a logistic
regression over standardised features; a Platt or isotonic map of the playbook's churn
probability)."""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from tools.learning.features import FEATURE_NAMES, FEATURES_VERSION

FORMAT = "csm-churn-model"
FORMAT_VERSION = 1
MAX_BYTES = 50_000_000
ModelName = Literal["calibrated", "learned"]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class ModelFileError(ValueError):
    """A model file that cannot be used (missing, not JSON, unknown version, changed)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float, floor: float) -> float:
    """ln(p / (1 - p)) of p kept within [floor, 1 - floor]."""
    p = min(1 - floor, max(floor, p))
    return math.log(p / (1 - p))


class Window(_Strict):
    """A set of labelled snapshots: how many, how many churned, their first and last dates."""

    n: int = Field(ge=0)
    positives: int = Field(ge=0)
    from_: date | None = Field(alias="from")
    to: date | None


class Metrics(_Strict):
    """One model's test figures (the reliability table stays in the backtest report)."""

    auc: Finite | None
    pr_auc: Finite | None
    brier: Finite
    log_loss: Finite
    ece: Finite


class Platt(_Strict):
    """p = sigmoid(slope x logit(playbook churn probability) + intercept)."""

    kind: Literal["platt"] = "platt"
    slope: Finite
    intercept: Finite

    def apply(self, value: float, floor: float) -> float:
        """The mapped probability."""
        return sigmoid(self.slope * logit(value, floor) + self.intercept)


class Isotonic(_Strict):
    """A non-decreasing step-linear map: `y` at the thresholds `x`, linear in between, held
    flat beyond the ends."""

    kind: Literal["isotonic"] = "isotonic"
    x: list[Probability] = Field(min_length=1, max_length=100_000)
    y: list[Probability] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _monotone(self) -> Isotonic:
        if len(self.x) != len(self.y):
            raise ValueError("x and y must have the same length")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("x must not decrease")
        if any(b < a for a, b in zip(self.y, self.y[1:], strict=False)):
            raise ValueError("y must not decrease")
        return self

    def apply(self, value: float, floor: float) -> float:
        """The mapped probability (linear interpolation, as scikit-learn's predict)."""
        x, y = self.x, self.y
        if value <= x[0]:
            return y[0]
        if value >= x[-1]:
            return y[-1]
        i = bisect.bisect_right(x, value)
        x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (value - x0) / (x1 - x0)


class Calibrated(_Strict):
    """The playbook's churn probability mapped by a monotone fit; `fallback` (the training
    churn rate) where the playbook has no probability (no churn input known)."""

    input: Literal["playbook_churn_probability"] = "playbook_churn_probability"
    map: Platt | Isotonic = Field(discriminator="kind")
    fallback: Probability
    fold_brier: dict[Literal["platt", "isotonic"], Finite]


class Feature(_Strict):
    """One input of the learned model: an unknown value becomes `impute` (and sets the
    missing indicator when the model has one), the value is held within [low, high], then
    standardised with `mean` and `scale`."""

    name: str
    about: str = Field(max_length=200)
    impute: Finite
    low: Finite
    high: Finite
    mean: Finite
    scale: Finite = Field(gt=0)
    coef: Finite
    missing_coef: Finite | None = None

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in FEATURE_NAMES:
            raise ValueError(f"'{name}' is not a feature this version computes")
        return name

    @model_validator(mode="after")
    def _ordered(self) -> Feature:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Learned(_Strict):
    """Logistic regression over the standardised features and their missing indicators."""

    kind: Literal["logistic_regression"] = "logistic_regression"
    features_version: Literal[1] = FEATURES_VERSION
    regularization_c: Finite = Field(gt=0)
    intercept: Finite
    features: list[Feature] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Learned:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("a feature is listed twice")
        return self

    def columns(self, values: Sequence[float | None]) -> list[float]:
        """The model's input row from the full feature row (FEATURE_NAMES order): each
        standardised value, then each missing indicator."""
        index = _INDEX
        row: list[float] = []
        flags: list[float] = []
        for f in self.features:
            raw = values[index[f.name]]
            known = raw is not None and math.isfinite(raw)
            x = float(raw) if known else f.impute  # type: ignore[arg-type]
            x = f.low if x < f.low else f.high if x > f.high else x
            row.append((x - f.mean) / f.scale)
            if f.missing_coef is not None:
                flags.append(0.0 if known else 1.0)
        return row + flags

    def coefficients(self) -> list[float]:
        """The coefficients in the order of `columns`."""
        return [f.coef for f in self.features] + [
            f.missing_coef for f in self.features if f.missing_coef is not None
        ]

    def probability(self, values: Sequence[float | None]) -> float:
        """The churn probability of one feature row."""
        z = self.intercept + sum(
            c * x for c, x in zip(self.coefficients(), self.columns(values), strict=True)
        )
        return sigmoid(z)


_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


class Training(Window):
    """The snapshots the saved models were fitted on, and the history's end date."""

    accounts: int = Field(ge=0)
    end: date


class Backtest(_Strict):
    """The backtest that judged the models before they were refitted on all history."""

    train: Window
    test: Window
    models: dict[Literal["baseline", "playbook", "calibrated", "learned"], Metrics]


class ModelFile(_Strict):
    """The whole model file."""

    format: Literal["csm-churn-model"]
    format_version: Literal[1]
    written_by: str
    playbook_version: str
    horizon_days: int = Field(gt=0)
    training: Training
    backtest: Backtest
    use: ModelName
    forced: bool
    reason: str | None = None
    probability_floor: Probability
    calibrated: Calibrated
    learned: Learned
    digest: str
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file the model was loaded from, when it was."""
        return self._source

    def churn_probability(
        self, features: Sequence[float | None], playbook_churn: float | None, which: ModelName
    ) -> float:
        """One model's churn probability, within [floor, 1 - floor]."""
        if which == "learned":
            p = self.learned.probability(features)
        elif playbook_churn is None:
            p = self.calibrated.fallback
        else:
            p = self.calibrated.map.apply(playbook_churn, self.probability_floor)
        return min(1 - self.probability_floor, max(self.probability_floor, p))

    def describe(self) -> str:
        """The method in one sentence, with the backtest figures."""
        test = self.backtest.models[self.use]
        base = self.backtest.models["baseline"]
        what = (
            f"logistic regression on {len(self.learned.features)} account features"
            if self.use == "learned"
            else f"{self.calibrated.map.kind} calibration of the playbook churn probability"
        )
        auc = f"AUC {test.auc:.2f}, " if test.auc is not None else ""
        text = (
            f"{self.use} model ({what}), fitted on {self.training.n:,} snapshots to "
            f"{self.training.end.isoformat()}; churn within {self.horizon_days} days; backtest "
            f"on {self.backtest.test.n:,} later snapshots: {auc}Brier {test.brier:.3f} vs "
            f"{base.brier:.3f} for the base rate"
        )
        if self.forced:
            text += " (kept with --force: it does not beat the base rate)"
        return text


def _canonical(data: dict[str, Any]) -> bytes:
    body = {k: v for k, v in data.items() if k != "digest"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: dict[str, Any]) -> str:
    """sha256 of the file's content without its digest, in canonical JSON."""
    return "sha256:" + hashlib.sha256(_canonical(data)).hexdigest()


def model_data(fields: dict[str, Any]) -> dict[str, Any]:
    """The JSON data of a model file from its fields (without digest), digest added and the
    whole validated."""
    data = json.loads(json.dumps({**fields, "digest": ""}, default=_json_default))
    data["digest"] = digest_of(data)
    ModelFile.model_validate(data)
    return data


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"{type(value).__name__} is not JSON")


def save_model(data: dict[str, Any], path: Path) -> None:
    """Write the model file atomically (a reader sees the whole file or the old one)."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def load_model(path: str | Path) -> ModelFile:
    """Read and check a model file; every problem is one ModelFileError sentence."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_BYTES:
            raise ModelFileError(f"model file {file}: larger than {MAX_BYTES:,} bytes; "
                                 "a churn model file is far smaller, pass the right file.")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"model file {file}: not found; write one with `csm learn` "
                             "or check the path.") from None
    except IsADirectoryError:
        raise ModelFileError(f"model file {file}: is a directory; pass the JSON file "
                             "`csm learn` wrote.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFileError(f"model file {file}: cannot be read ({error}).") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"model file {file}: not valid JSON; write it again with "
                             "`csm learn`.") from None
    model = parse_model(data, str(file))
    model._source = str(file)
    return model


def parse_model(data: Any, source: str) -> ModelFile:
    """Validate parsed model-file data (see load_model)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"model file {source}: not a csm churn model (no "
                             f'"format": "{FORMAT}"); pass a file `csm learn` wrote.')
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {source}: format version {version!r} is not one this csm reads "
            f"(it reads {FORMAT_VERSION}); write the model again with this csm's `csm learn`."
        )
    try:
        model = ModelFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        raise ModelFileError(
            f"model file {source}: key '{key}': {message}; the file is damaged or was edited, "
            "write it again with `csm learn`."
        ) from None
    if data.get("digest") != digest_of(data):
        raise ModelFileError(
            f"model file {source}: its content does not match its digest (it was changed "
            "after `csm learn` wrote it); write it again with `csm learn`."
        )
    return model
