"""The account model of SPEC section 1: every field but id and name may be unknown (None)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Industry = Literal["ecommerce", "saas", "local", "enterprise", "other"]
Role = Literal["decision_maker", "champion", "influencer", "user", "detractor"]
Level = Literal["high", "medium", "low"]

Rating = Annotated[float, Field(ge=0, le=10)]
Percent = Annotated[float, Field(ge=0, le=100)]
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0)]

LIST_FIELDS = ("weekly_logins", "weekly_tickets", "stakeholders", "history")


class Stakeholder(BaseModel):
    """One person at the client."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    title: str | None = None
    role: Role | None = None
    reports_to: str | None = None
    primary: bool | None = None
    since: date | None = None
    satisfaction: Rating | None = None
    engagement: Level | None = None
    preferred_channel: str | None = None
    meeting_cadence: str | None = None
    last_contact: date | None = None


class HistoryPoint(BaseModel):
    """A past snapshot of the account."""

    model_config = ConfigDict(extra="allow")

    date: date
    health_score: Annotated[float, Field(ge=0, le=100)] | None = None
    churn_risk: Annotated[float, Field(ge=0, le=100)] | None = None
    mrr: Amount | None = None
    churned: bool | None = None


class Account(BaseModel):
    """A client account. Unknown inputs stay None; extra columns are kept and ignored."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    industry: Industry | None = None
    mrr: Amount | None = None
    contract_start: date | None = None
    renewal_date: date | None = None
    auto_pay: bool | None = None
    payment_delays_last_quarter: Count | None = None
    days_overdue: Count | None = None
    licensed_seats: Count | None = None
    active_seats: Count | None = None
    engagement_score: Percent | None = None
    weekly_logins: list[Count] | None = None
    last_login: date | None = None
    meeting_attendance_pct: Percent | None = None
    email_response_hours: Amount | None = None
    tickets_last_month: Count | None = None
    weekly_tickets: list[Count] | None = None
    open_tickets: Count | None = None
    avg_ticket_response_hours: Amount | None = None
    feature_adoption_pct: Percent | None = None
    csat: Rating | None = None
    nps: Rating | None = None
    complaints: Count | None = None
    interactions: Count | None = None
    goal_attainment_pct: Amount | None = None
    stakeholder_support: Rating | None = None
    roadmap_alignment: Rating | None = None
    communication_quality: Rating | None = None
    expansion_interest: Rating | None = None
    partnership_depth: Rating | None = None
    team_competence: Rating | None = None
    change_implementation_days: Amount | None = None
    technical_score: Percent | None = None
    content_score: Percent | None = None
    domain_authority: Percent | None = None
    organic_traffic: Count | None = None
    days_since_improvement: Count | None = None
    budget: Amount | None = None
    locations: Count | None = None
    renewal_conversation_started: bool | None = None
    last_qbr_date: date | None = None
    stakeholders: list[Stakeholder] | None = None
    history: list[HistoryPoint] | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unknown(cls, data: object) -> object:
        """An empty cell or string is an unknown input, like a missing key."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @field_validator("id", "name", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value).removesuffix(".0")
        return value

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _json_text(cls, value: object) -> object:
        """CSV cells carry lists as JSON text."""
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("expected a JSON list in this cell, e.g. [3, 4, 2]") from None
        return value

    def known(self, field: str) -> bool:
        """True when the input is present (an empty series counts as unknown)."""
        value = getattr(self, field, None)
        return value is not None and value != []
