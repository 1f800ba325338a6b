"""The run context of the assessment graph: the public settings a server client may set, and the
context Python callers pass with the hooks a server client cannot set."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RunSettings(BaseModel):
    """The public context of an assessment run: what a server client (LangGraph Studio, the
    SDK) may set. Every field is optional."""

    model_config = ConfigDict(extra="forbid", title="Assessment context")

    as_of: date | None = Field(
        None,
        description="the day to assess as of (default: CSM_AS_OF, else the portfolio's own "
        "as_of, else today)",
    )
    lang: Literal["en", "ru"] = Field("en", description="language of the reports and citations")
    playbook: str | None = Field(
        None, description="a playbook YAML file (default: the bundled playbook)"
    )
    portfolio: str | None = Field(
        None,
        description="the portfolio file `account_id` is looked up in (default: CSM_PORTFOLIO, "
        "else the store when it holds accounts, else the bundled sample)",
    )
    model: str | None = Field(
        None,
        description='`provider:model` for the report prose, "none" for no model '
        "(default: CSM_MODEL)",
    )
    max_model_calls: int = Field(5, ge=0, description="model calls allowed per account")


class AssessmentContext(RunSettings):
    """The context Python callers pass (`csm assess`, the sweep, the tools): the public fields,
    `model` also as a chat model instance, and hooks a server client cannot set: `search` (a
    function with the signature of `tools.knowledge.index.search_knowledge`), `calibration` (the
    portfolio's forecast calibration), `model_budget` (the run's model budget: deadlines, the
calls in flight, the circuit breaker; `agent.assessment.budget.ModelBudget`) and
    `churn_model` (a loaded churn model file; without it the forecast step uses
    CSM_MODEL_FILE or the playbook's forecast.model_file, if set)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: Any = None
    search: Any = None
    calibration: Any = None
    model_budget: Any = None
    churn_model: Any = None


def hook(ctx: RunSettings, name: str) -> Any:
    """An internal hook of the context (None in a server run, whose context is public)."""
    return getattr(ctx, name, None)
