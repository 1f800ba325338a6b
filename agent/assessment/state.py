"""The state of the assessment graph: what starts a run and what each step adds."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, get_origin, get_type_hints

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from 3.12

from agent.assessment.writer import Reports
from tools.learning.scoring import ModelForecast
from tools.planning.forecast import AccountForecast
from tools.planning.proposal import ExpansionProposal
from tools.planning.risk_plan import RiskPlan
from tools.planning.stakeholders import StakeholderMap
from tools.planning.success_plan import SuccessPlan
from tools.portfolio.account import Account
from tools.scoring.score import AccountScore


class Citation(BaseModel):
    """A knowledge-base passage a step relied on."""

    step: str
    topic: str
    lang: str
    source: str
    heading: str
    excerpt: str
    score: float


class AssessmentInput(TypedDict, total=False):
    """What starts an assessment: an `account_id` (looked up in the run's portfolio) or a
    whole `account` (the fields of SPEC 1)."""

    account_id: Annotated[str, Field(description="an account id of the portfolio, e.g. acc-001")]
    account: Annotated[Account, Field(description="a whole account instead of an id")]


class AssessmentState(TypedDict, total=False):
    """What the steps add, in order. Input: `account` (fields of SPEC 1) or `account_id`."""

    account_id: str
    account: Account
    score: AccountScore
    stakeholders: StakeholderMap
    success_plan: SuccessPlan
    expansion: ExpansionProposal
    risk_plan: RiskPlan
    forecast: AccountForecast
    model_forecast: ModelForecast  # only with a churn model file
    reports: Reports
    citations: Annotated[list[Citation], operator.add]
    steps: Annotated[list[str], operator.add]


# A batch of accounts through the graph in one run (a sweep's workers, `build_batch_graph`): each
# item is one account's state, the steps' updates applied to it as the graph's channels apply
# them. Kept here, without LangGraph, for the sweep's main process.

FAILED = "failed"  # an item's key for the exception that stopped its assessment


class BatchState(TypedDict):
    """A batch of assessments: each item is one account's `AssessmentState` (what a run of the
    one-account graph returns), or that state so far and, under FAILED, the step's exception."""

    items: list[dict[str, Any]]


def _reducers() -> dict[str, Callable[[Any, Any], Any]]:
    """The state's keys that add up their updates (`Annotated[..., reducer]`) and how."""
    hints = get_type_hints(AssessmentState, include_extras=True)
    return {
        key: hint.__metadata__[0]
        for key, hint in hints.items()
        if get_origin(hint) is Annotated and callable(hint.__metadata__[0])
    }


REDUCERS = _reducers()
STATE_KEYS = tuple(get_type_hints(AssessmentState))


def start_item(account: Account) -> dict[str, Any]:
    """One account's state before the steps, as the graph's channels start it: the keys that
    add up their updates start empty."""
    return {key: [] for key in REDUCERS} | {"account": account}


def applied(item: dict[str, Any], update: dict[str, Any] | None) -> dict[str, Any]:
    """The item after a step's update, as the graph's channels apply it, its keys in the
    state's order (as the graph returns them)."""
    merged = dict(item)
    for key, value in (update or {}).items():
        reducer = REDUCERS.get(key)
        merged[key] = reducer(merged[key], value) if reducer is not None else value
    return {key: merged[key] for key in STATE_KEYS if key in merged}
