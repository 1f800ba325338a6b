"""The state of the assessment graph: what starts a run and what each step adds."""

from __future__ import annotations

import operator
from typing import Annotated

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
