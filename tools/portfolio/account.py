"""The account model of SPEC section 1: every field but id and name may be unknown (None)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import date
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

Industry = Literal["ecommerce", "saas", "local", "enterprise", "other"]
Role = Literal["decision_maker", "champion", "influencer", "user", "detractor"]
Level = Literal["high", "medium", "low"]
Status = Literal["active", "churned"]
STATUSES: tuple[str, ...] = get_args(Status)

LIMIT_EXPONENT = 15
NUMBER_LIMIT = 10**LIMIT_EXPONENT  # |x| above this is no plausible count, rating or amount
MAX_DEPTH = 32  # an account is 3 levels deep (row, stakeholders, a stakeholder)
_JSON_INT_DIGITS = 4000  # longer integers stay text (Python refuses more than 4300 digits)
_INTEGER = re.compile(r"[+-]?[0-9]+")
# orjson reads an integer beyond 64 bits as a float, so text with 19 digits in a row takes the
# standard parser; so does text that may nest near the standard parser's recursion limit (about
# 1000 levels, orjson's is 1024). Digits become 0 and `{` becomes `[`, then both are counted.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789{", b"000000000[")
_LONG_NUMBER = b"0" * 19
_FAST_NESTING = 900
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonNestingError(ValueError):
    """JSON text nested deeper than the parser can follow."""


def parse_json(text: str) -> Any:
    """`json.loads` for untrusted text. Integers too long for Python, numbers beyond the float
    range and NaN/Infinity stay as their source text, so a number field rejects them with a
    reason (and a text field keeps them); nesting too deep to parse is a JsonNestingError.

    orjson reads the common case, to the same values, three times faster; text it refuses or
    could read otherwise goes to `json.loads`, which also words every error."""
    shape = text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)
    if shape.count(b"[") < _FAST_NESTING and _LONG_NUMBER not in shape:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=str)
    except RecursionError:
        raise JsonNestingError(
            "nested too deeply to read (JSON arrays or objects inside "
            "each other hundreds of levels deep)"
        ) from None


def _json_int(text: str) -> int | str:
    return int(text) if len(text) <= _JSON_INT_DIGITS else text


def _json_float(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{len(text)} characters"


def _out_of_range(shown: str, negative: bool) -> ValueError:
    if negative:
        return ValueError(
            f"too large a negative number ({shown}); numbers below "
            f"-10^{LIMIT_EXPONENT} are rejected"
        )
    return ValueError(f"too large ({shown}); numbers above 10^{LIMIT_EXPONENT} are rejected")


def _check_float(number: float, text: str) -> None:
    if math.isnan(number):
        raise ValueError("not a number (NaN); write a number or leave the field empty")
    if math.isinf(number) and "inf" in text.lower():
        raise ValueError("infinite; write a finite number or leave the field empty")
    if abs(number) > NUMBER_LIMIT:
        raise _out_of_range(_shown(text), number < 0)


def bounded(value: object) -> object:
    """Reject a number beyond +-10^15, NaN or an infinity, given as a number or as text."""
    if (type(value) is int or type(value) is float) and -NUMBER_LIMIT <= value <= NUMBER_LIMIT:
        return value  # the common case, first (NaN fails the comparison)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > NUMBER_LIMIT:
            bits = value.bit_length()  # str() of a huge int may itself be refused
            digits = len(str(abs(value))) if bits < 10_000 else int(bits * math.log10(2)) + 1
            raise _out_of_range(f"{digits} digits", value < 0)
    elif isinstance(value, float):
        _check_float(value, repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            digits = len(text.lstrip("+-").lstrip("0"))
            if digits > LIMIT_EXPONENT and (
                digits > _JSON_INT_DIGITS or abs(int(text)) > NUMBER_LIMIT
            ):
                raise _out_of_range(f"{digits} digits", text.startswith("-"))
        else:
            try:
                number = float(text)
            except ValueError:
                return value  # not a number at all: the field's own type explains it
            _check_float(number, text)
    return value


Bounded = BeforeValidator(bounded)
Rating = Annotated[float, Field(ge=0, le=10), Bounded]
Percent = Annotated[float, Field(ge=0, le=100), Bounded]
Count = Annotated[int, Field(ge=0), Bounded]
Amount = Annotated[float, Field(ge=0), Bounded]
Score = Annotated[float, Field(ge=0, le=100), Bounded]

LIST_FIELDS = ("weekly_logins", "weekly_tickets", "stakeholders", "history")


def _inspect(data: dict[str, Any]) -> None:
    """Reject values nested deeper than MAX_DEPTH and text that is not valid Unicode (lone
    surrogates from JSON escapes): neither can be stored, printed or written back. Runs on
    every row, so ASCII text and flat values take the shortest path."""
    for key, value in data.items():
        if isinstance(value, dict | list):
            _walk(key, value)
        elif isinstance(value, str) and not value.isascii():
            _text_ok(key, value)
        if isinstance(key, str) and not key.isascii():
            _text_ok(key, key)


def _text_ok(key: object, text: str) -> None:
    if _SURROGATE.search(text):
        raise ValueError(
            f"'{_SURROGATE.sub('?', str(key))}' holds text that is not valid Unicode (an "
            "escaped lone surrogate such as \\ud800); fix that text"
        )


def _walk(key: object, root: dict[Any, Any] | list[Any]) -> None:
    """Depth and text of one field's nested value, without recursion."""
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise ValueError(
                f"'{_SURROGATE.sub('?', str(key))}' is nested more than {MAX_DEPTH} levels "
                "deep; account fields are at most 3 levels deep"
            )
        for child in [*node, *node.values()] if isinstance(node, dict) else node:
            kind = type(child)
            if kind is int or kind is float or child is None:
                continue  # most children: weekly counts
            if kind is str:
                if not child.isascii():
                    _text_ok(key, child)
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1))


class Stakeholder(BaseModel):
    """One person at the client."""

    model_config = ConfigDict(extra="allow", defer_build=True)

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

    model_config = ConfigDict(extra="allow", defer_build=True)

    date: date
    health_score: Score | None = None
    churn_risk: Score | None = None
    mrr: Amount | None = None
    churned: bool | None = None


class Account(BaseModel):
    """A client account. Unknown inputs stay None; extra columns are kept and ignored."""

    model_config = ConfigDict(
        extra="allow", str_strip_whitespace=True, allow_inf_nan=False, defer_build=True
    )

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
    status: Status = "active"
    churned_on: date | None = Field(default=None, validate_default=True)

    _origin: tuple[str, int] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unknown(cls, data: object) -> object:
        """An empty cell or string is an unknown input, like a missing key."""
        if isinstance(data, dict):
            _inspect(data)
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @property
    def origin(self) -> tuple[str, int] | None:
        """(source, row) of the portfolio row this account was read from, when known."""
        return self._origin

    def located(self, source: str, row: int) -> Account:
        """Remember where the account was read from (for warnings); returns the account."""
        private = self.__pydantic_private__
        if private is None:
            self._origin = (source, row)
        else:
            private["_origin"] = (source, row)  # what `self._origin = ...` does, for every row
        return self

    @field_validator("id", "name", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return as_text(value)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        """`active` or `churned`, in any case; anything else is refused with the choices."""
        if value is None:
            return "active"
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in STATUSES:
            raise ValueError("not a status; write 'active' or 'churned' (empty means active)")
        return text

    @field_validator("churned_on")
    @classmethod
    def _churn_day(cls, value: date | None, info: ValidationInfo) -> date | None:
        """A churned account needs the day it left (SPEC 14)."""
        if value is None and info.data.get("status") == "churned":
            raise ValueError(
                "required when status is churned; give the day the client left (YYYY-MM-DD)"
            )
        return value

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _json_text(cls, value: object, info: ValidationInfo) -> object:
        """CSV cells carry lists as JSON text."""
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            try:
                parsed = parse_json(text)
            except JsonNestingError as error:
                raise ValueError(str(error)) from None
            except json.JSONDecodeError:
                raise ValueError("expected a JSON list in this cell, e.g. [3, 4, 2]") from None
            _inspect({info.field_name: parsed})
            return parsed
        return value

    def known(self, field: str) -> bool:
        """True when the input is present (an empty series counts as unknown)."""
        value = getattr(self, field, None)
        return value is not None and value != []


def as_text(value: object) -> object:
    """An id or name given as a number, as its text (12 -> "12", 12.0 -> "12")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value).removesuffix(".0")
    return value


def _kind(annotation: Any) -> str:
    if get_origin(annotation) in (Union, UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is list:
        return "series" if _kind(get_args(annotation)[0]) == "number" else "list"
    if annotation is bool:
        return "flag"
    if annotation in (int, float):
        return "number"
    return "date" if annotation is date else "text"


# What each account field holds: number, date, flag (bool), series (list of numbers), list
# (of records) or text. The playbook checks that every input it names fits its use.
FIELD_KINDS: dict[str, str] = {
    name: _kind(f.annotation) for name, f in Account.model_fields.items()
}


def nearest_field(name: str, known: Iterable[str]) -> str | None:
    """The known field a misspelled name most likely means: the same name up to case, spaces
    and hyphens; a known field the name starts or ends with ("csat_score"); else the closest
    spelling (difflib); None when nothing is close."""
    fields = list(known)
    key = "_".join(name.strip().lower().replace("-", " ").split())
    if key in fields:
        return key
    affixed = [f for f in fields if key.startswith(f + "_") or key.endswith("_" + f)]
    if affixed:
        return max(affixed, key=len)
    import difflib  # only for a misspelt column: not at start-up

    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.7)
    return close[0] if close else None
