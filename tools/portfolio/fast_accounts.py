"""A shortcut past pydantic for rows whose values already have their final types (issue 15).

Most rows of a JSON or JSONL portfolio hold exactly what the account model keeps: text without
padding, numbers inside their bounds, ISO dates, lists of whole numbers, stakeholders and history
points made of such values. `fast_account` builds the `Account` of such a row directly, with the
same field values (types included), fields set, extras and private state as
`Account.model_validate`, about ten times faster; for any other row it returns None, and the
caller validates it with pydantic, which also explains every problem. It never rejects a row.

Every rule here is read from the models (types, bounds, which fields may be None, the models'
configuration), so a field added to the account is handled or, when its type is not one of
those below, sent to pydantic. The models' own validators are known by name (`_KNOWN`): they
leave the values accepted here unchanged. A model that gains another validator, or a
configuration this module does not know, turns the shortcut off for that model
(`shortcut_enabled`, checked by a test)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from math import inf
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from tools.portfolio.account import NUMBER_LIMIT, Account, HistoryPoint, Stakeholder, bounded

_SKIP: Any = object()  # "not sure": the row goes to pydantic
_SURROGATE = re.compile("[\ud800-\udfff]")
_ISO_DATE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The validators of the models, by name, with the fields they apply to; each leaves the values
# this module accepts unchanged: `_text` turns numbers into text (only text is accepted here),
# `_json_text` parses a CSV cell's JSON (only lists are accepted), `_blank_is_unknown` drops
# blank text (a row with blank text goes to pydantic) and rejects lone surrogates and deep
# nesting (neither passes the checks below); `_status` lower-cases and checks a status (only
# the exact choices are accepted here) and `_churn_day` requires `churned_on` of a churned
# account (`_complete` sends such a row without it to pydantic).
_KNOWN: dict[type[BaseModel], tuple[dict[str, tuple[str, ...]], set[str]]] = {
    Account: (
        {"_text": ("id", "name"),
         "_json_text": ("weekly_logins", "weekly_tickets", "stakeholders", "history"),
         "_status": ("status",),
         "_churn_day": ("churned_on",)},
        {"_blank_is_unknown"},
    ),
    Stakeholder: ({}, set()),
    HistoryPoint: ({}, set()),
}


def _complete(model: type[BaseModel], fields: dict[str, Any]) -> bool:
    """The checks across fields of the models' validators: a churned account has its day."""
    return not (
        model is Account and fields.get("status") == "churned" and fields.get("churned_on") is None
    )
_INT_ONLY = {int}
_IMMUTABLE = (type(None), bool, int, float, str)
_CONFIG_KEYS = {"extra", "str_strip_whitespace", "allow_inf_nan", "defer_build"}

# What a field holds, as read from its annotation: the value kinds this module builds itself.
FLOAT, INT, TEXT, CHOICE, FLAG, DATE, INTS, MODELS = range(8)

# (kind, low, high, may be None, detail): low and high bound a number or the items of a list of
# whole numbers, low is the minimum length of text; detail says whether text must be unpadded
# (the model strips it), holds a literal's choices or builds the models of a list; kind None:
# not one of these kinds (pydantic decides)
Spec = tuple[int | None, float, float, bool, Any]


def _text_ok(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def _constraints(metadata: list[Any]) -> tuple[float, float, int] | None:
    """(low, high, min_length) from Ge/Le/MinLen and the `bounded` validator; None when the
    metadata holds anything else."""
    low, high, min_length = -float("inf"), float("inf"), 0
    for item in metadata:
        if isinstance(item, FieldInfo):
            inner = _constraints(list(item.metadata))
            if inner is None:
                return None
            low, high = max(low, inner[0]), min(high, inner[1])
            min_length = max(min_length, inner[2])
        elif isinstance(item, annotated_types.Ge):
            low = max(low, item.ge)
        elif isinstance(item, annotated_types.Le):
            high = min(high, item.le)
        elif isinstance(item, annotated_types.MinLen):
            min_length = max(min_length, item.min_length)
        elif isinstance(item, BeforeValidator) and item.func is bounded:
            low, high = max(low, -NUMBER_LIMIT), min(high, NUMBER_LIMIT)
        else:
            return None
    return low, high, min_length


def _spec(annotation: Any, metadata: list[Any], strip: bool) -> Spec | None:
    """The field's spec, or None when this module does not know its type."""
    nullable = False
    if get_origin(annotation) in (Union, UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) != 1:
            return None
        annotation, nullable = options[0], True
    while get_origin(annotation) is Annotated:
        metadata = [*metadata, *annotation.__metadata__]
        annotation = get_args(annotation)[0]
    limits = _constraints(metadata)
    if limits is None:
        return None
    low, high, min_length = limits
    if annotation in (int, float):
        return (FLOAT if annotation is float else INT), low, high, nullable, None
    if metadata and annotation is not str:
        return None  # bounds on anything but numbers and text are not handled here
    if annotation is str:
        return TEXT, min_length, 0, nullable, strip
    if annotation is bool:
        return FLAG, 0, 0, nullable, None
    if annotation is date:
        return DATE, 0, 0, nullable, None
    if get_origin(annotation) is Literal and all(type(a) is str for a in get_args(annotation)):
        return CHOICE, 0, 0, nullable, frozenset(get_args(annotation))
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            build = _builder(item)
            return None if build is None else (MODELS, 0, 0, nullable, build)
        inner = _spec(item, [], strip)
        if inner is None or inner[0] != INT or inner[3]:
            return None
        return INTS, inner[1], inner[2], nullable, None
    return None


def _scalar_extra(value: Any, drop_blank: bool) -> bool:
    """An unknown key's value that pydantic keeps as it is (nested values go to pydantic)."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float:
        return True
    if kind is str:
        return _text_ok(value) and not (drop_blank and not value.strip())
    return False


def _known_model(model: type[BaseModel]) -> bool:
    if model not in _KNOWN or set(model.model_config) - _CONFIG_KEYS:
        return False
    if model.model_config.get("extra") != "allow":
        return False
    fields, model_validators = _KNOWN[model]
    decorators = model.__pydantic_decorators__
    found = {name: tuple(d.info.fields) for name, d in decorators.field_validators.items()}
    if found != fields or set(decorators.model_validators) != model_validators:
        return False
    others = (decorators.validators, decorators.field_serializers, decorators.model_serializers,
              decorators.root_validators, decorators.computed_fields)
    if any(others):
        return False
    post_init = model.__pydantic_post_init__
    return post_init is None or model.model_post_init.__name__ == "init_private_attributes"


def _specs(model: type[BaseModel]) -> dict[str, Spec] | None:
    """Every field's spec (kind None: a type this module leaves to pydantic), or None when the
    model is not one this module knows."""
    if not _known_model(model):
        return None
    strip = bool(model.model_config.get("str_strip_whitespace"))
    specs: dict[str, Spec] = {}
    for name, info in model.model_fields.items():
        if info.alias or info.validation_alias or info.default_factory is not None:
            return None
        if not info.is_required() and type(info.default) not in _IMMUTABLE:
            return None  # a default pydantic would copy
        found = _spec(info.annotation, list(info.metadata), strip)
        specs[name] = found if found is not None else (None, 0, 0, False, None)
    return specs


def _builder(model: type[BaseModel]) -> Callable[[Any], BaseModel | None] | None:  # noqa: C901
    """A function that builds `model` from a dict as its validation would, or returns None
    when it is not sure; None when the model is not one this module knows."""
    specs = _specs(model)
    if specs is None:
        return None
    drop_blank = "_blank_is_unknown" in _KNOWN[model][1]
    # the fields by kind, for a dispatch on the value's type first
    def of(kind: int) -> dict[str, Spec]:
        return {name: spec for name, spec in specs.items() if spec[0] == kind}

    floats, ints, texts, choices = of(FLOAT), of(INT), of(TEXT), of(CHOICE)
    dates, flags, int_lists, model_lists = of(DATE), of(FLAG), of(INTS), of(MODELS)
    nullable = frozenset(name for name, spec in specs.items() if spec[3])
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    defaults = {
        name: None if info.is_required() else info.default
        for name, info in model.model_fields.items()
    }
    private = {name: attr.get_default() for name, attr in model.__private_attributes__.items()}
    new, set_attribute, date_from = model.__new__, object.__setattr__, date.fromisoformat
    complete = _complete

    def build(data: Any) -> BaseModel | None:  # noqa: C901 - one flat loop, for speed
        if type(data) is not dict:
            return None
        fields = defaults.copy()
        fields.update(data)
        extra: dict[str, Any] | None = None
        for key, value in data.items():
            kind_of = type(value)
            if kind_of is float:
                spec = floats.get(key)
                if spec is not None:
                    if not spec[1] <= value <= spec[2]:
                        return None
                    continue
            elif kind_of is int:
                spec = ints.get(key)
                if spec is not None:
                    if not spec[1] <= value <= spec[2]:
                        return None
                    continue
                spec = floats.get(key)
                if spec is not None:
                    if not spec[1] <= value <= spec[2]:
                        return None
                    fields[key] = float(value)
                    continue
            elif kind_of is str:
                if key in dates:
                    if not (len(value) == 10 and value[4] == "-" and value[7] == "-"
                            and value.isascii()):
                        return None
                    try:
                        fields[key] = date_from(value)
                    except ValueError:
                        return None
                    continue
                spec = texts.get(key)
                if spec is not None:
                    if len(value) < spec[1]:
                        return None
                    if not value.isascii() and _SURROGATE.search(value) is not None:
                        return None
                    # pydantic strips fewer characters than str.strip: unpadded stays unpadded
                    if spec[4] and value and (value[0].isspace() or value[-1].isspace()):
                        return None
                    continue
                spec = choices.get(key)
                if spec is not None:
                    if value not in spec[4]:
                        return None
                    continue
            elif kind_of is list:
                spec = int_lists.get(key)
                if spec is not None:
                    if not set(map(type, value)) <= _INT_ONLY:
                        return None
                    if value and not (spec[1] <= min(value) and max(value) <= spec[2]):
                        return None
                    fields[key] = value[:]
                    continue
                spec = model_lists.get(key)
                if spec is not None:
                    items = list(map(spec[4], value))
                    if None in items:
                        return None
                    fields[key] = items
                    continue
            elif kind_of is bool:
                if key in flags:
                    continue
            elif value is None:
                if key in nullable:
                    continue
            if key in specs:
                return None  # a field with a value of another type: pydantic decides
            if type(key) is not str or not _text_ok(key) or not _scalar_extra(value, drop_blank):
                return None
            if extra is None:
                extra = {}
            extra[key] = value
            del fields[key]
        for name in required:
            if name not in data:
                return None
        if not complete(model, fields):
            return None
        made = new(model)
        set_attribute(made, "__dict__", fields)
        set_attribute(made, "__pydantic_fields_set__", set(data))
        set_attribute(made, "__pydantic_extra__", extra if extra is not None else {})
        set_attribute(made, "__pydantic_private__", dict(private) if private else None)
        return made

    return build


_ACCOUNT = _builder(Account)


def shortcut_enabled() -> bool:
    """Whether the shortcut knows the account model (a test keeps it so)."""
    return _ACCOUNT is not None


def fast_account(record: Any) -> Account | None:
    """The row's Account, exactly as `Account.model_validate` makes it, when every value already
    has its final type and lies within its bounds; else None (validate it with pydantic)."""
    if _ACCOUNT is None:
        return None
    return _ACCOUNT(record)  # type: ignore[return-value]


def _finite(bound: float) -> float | None:
    return None if bound in (-inf, inf) else bound


def _core_value(kind: int, low: float, high: float, detail: Any) -> CoreSchema:
    """The strict pydantic-core schema of one field kind of `_spec`."""
    if kind == FLOAT:
        return cs.float_schema(ge=_finite(low), le=_finite(high), allow_inf_nan=False,
                               strict=True)
    if kind in (INT, INTS):
        ge, le = _finite(low), _finite(high)
        item = cs.int_schema(ge=None if ge is None else int(ge),
                             le=None if le is None else int(le), strict=True)
        return item if kind == INT else cs.list_schema(item, strict=True)
    if kind == TEXT:
        return cs.str_schema(min_length=int(low) or None, strip_whitespace=bool(detail),
                             strict=True)
    if kind == CHOICE:
        return cs.literal_schema(sorted(detail))
    if kind == FLAG:
        return cs.bool_schema(strict=True)
    return cs.date_schema(strict=True)


def _core_model(model: type[BaseModel]) -> CoreSchema | None:
    """A strict schema of `model` that pydantic-core runs on JSON text without calling Python:
    the same fields, types, bounds and defaults as `_builder` reads; None when a field is of a
    kind this module does not know."""
    specs = _specs(model)
    if specs is None:
        return None
    fields = {}
    for name, info in model.model_fields.items():
        kind, low, high, nullable, detail = specs[name]
        if kind is None:
            return None
        if kind == MODELS:
            annotation = info.annotation
            if get_origin(annotation) in (Union, UnionType):
                (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
            item = _core_model(get_args(annotation)[0])
            if item is None:
                return None
            schema = cs.list_schema(item, strict=True)
        else:
            schema = _core_value(kind, low, high, detail)
        if nullable:
            schema = cs.nullable_schema(schema)
        if not info.is_required():
            schema = cs.with_default_schema(schema, default=info.default)
        fields[name] = cs.model_field(schema)
    return cs.model_schema(
        model, cs.model_fields_schema(fields, extra_behavior="allow"), extra_behavior="allow"
    )


_CORE = _core_model(Account) if _ACCOUNT is not None else None
_JSON = SchemaValidator(_CORE) if _CORE is not None else None
_PRIVATE = {name: attr.get_default() for name, attr in Account.__private_attributes__.items()}


# \u0010-\u001f escaped: U+001C-U+001F are blank to Python's str.strip, by which the model drops
# blank text (`_blank_is_unknown`), but not to pydantic-core's strip; such text goes the full way.
# A row is first searched for a backslash alone (one byte: some times faster), which most lack.
_TEXT_ESCAPES, _BYTE_ESCAPES = ("\\", "\\u001"), (b"\\", b"\\u001")


def account_from_json(text: str | bytes) -> Account | None:
    """The Account of one JSON object's text, exactly as `Account.model_validate(parse_json(
    text))` makes it, read and checked by pydantic-core in one pass (twice as fast as parsing
    and `fast_account`); None for text that may need more than that (unknown keys, values of
    other types or out of bounds, a lone surrogate escaped, which pydantic-core refuses as
    JSON): read it with `parse_json` and validate it."""
    if _JSON is None:
        return None
    backslash, separators = _TEXT_ESCAPES if isinstance(text, str) else _BYTE_ESCAPES
    if backslash in text and separators in text:
        return None
    try:
        account = _JSON.validate_json(text)
    except ValidationError:
        return None
    if account.__pydantic_extra__ or not _complete(Account, account.__dict__):
        return None
    for group in (account.stakeholders, account.history):
        for item in group or ():
            if item.__pydantic_extra__:
                return None
    object.__setattr__(account, "__pydantic_private__", dict(_PRIVATE))
    return account
