"""The playbook: every weight, threshold, band, offer and target, validated on load."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tools.portfolio.account import FIELD_KINDS, nearest_field
from tools.texts import PlaybookText

CHURN_FACTORS = (
    "contract_value",
    "engagement",
    "payment_delays",
    "support_volume",
    "feature_adoption",
    "satisfaction",
    "login_recency",
)
TIERS = ("low", "medium", "high", "critical")
HEALTH_COMPONENTS = ("financial", "engagement", "performance", "strategic", "growth", "technical")
COLORS = ("green", "yellow", "red")
SIGNALS = (
    "engagement_drop",
    "payment_delay",
    "support_spike",
    "stakeholder_change",
    "performance_plateau",
    "renewal_window",
)
OPPORTUNITIES = ("technical_seo", "content_marketing", "link_building", "local_seo")
WINDOW_SIGNALS = ("stakeholder_change", "renewal_window")  # each needs `within_days`
GAPS = (
    "stakeholders_unknown",
    "no_champion",
    "no_executive_sponsor",
    "influential_detractor",
    "new_primary_contact",
    "contact_overdue",
)
GAP_PLACEHOLDERS = ("person", "via")
PLACEHOLDER = re.compile(r"\{(\w*)\}")
# The roles the success plan names; `client_primary` stands for the client's primary contact
# and is replaced by their name when the stakeholder map has one.
ROLES = ("csm", "seo", "client_primary")
# Objectives with a fixed title (success_plan.objectives); raise_weakest_component and
# grow_via_opportunity take theirs from health.components.<id>.objective and
# expansion.offers.<id>.objective.
OBJECTIVES = (
    "reduce_churn_risk",
    "protect_renewal",
    "close_stakeholder_gaps",
    "raise_csat",
    "grow_organic_traffic",
    "sustain_health",
    "hold_qbr",
)
# The figures a QBR agenda item can show (qbr.sections.*.items.*.figures); each is a set of
# the account's figures computed by tools/planning/success_plan/qbr_figures.py.
FIGURE_SETS = (
    "achievements",
    "impact",
    "goals",
    "traffic",
    "rankings",
    "technical",
    "content",
    "priorities",
    "investment",
    "risks",
    "metrics",
    "feedback",
    "opportunities",
    "partnership",
)
# Keys merged into one (issue 10): an old playbook copy that still has them is told where to go.
MOVED_KEYS = {
    ("renewal", "talks_start_days"): "signals.renewal_window.within_days",
    ("stakeholders", "new_primary_days"): "signals.stakeholder_change.within_days",
}


class PlaybookError(ValueError):
    """A playbook file that cannot be read or does not validate."""


class KeyedError(ValueError):
    """A validation error about a key below the one being validated (`key`: its path)."""

    def __init__(self, key: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.key = key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


KIND_NAMES = {
    "number": "a number",
    "date": "a date",
    "flag": "a yes/no flag",
    "series": "a weekly series",
    "list": "a list of records",
    "text": "text",
}


def _exactly(keys: object, ids: tuple[str, ...], what: str) -> None:
    """Raise unless the keys are exactly the ids (in any order)."""
    if sorted(keys) != sorted(ids):
        raise ValueError(f"{what} must be exactly {', '.join(ids)}")


def account_field(name: str | None) -> str | None:
    """An `input`/`per` must name a field of the account model (tools/portfolio/account.py)."""
    if name is not None and name not in FIELD_KINDS:
        guess = nearest_field(name, FIELD_KINDS)
        hint = f"; did you mean '{guess}'?" if guess else ""
        raise ValueError(f"'{name}' is not a field of the account model{hint}")
    return name


def _needs(name: str, kinds: tuple[str, ...], use: str, key: str = "") -> None:
    """Raise when the field's kind does not fit its use (`key`: the setting named, if any)."""
    kind = FIELD_KINDS.get(name)
    if kind is not None and kind not in kinds:
        wanted = " or ".join(KIND_NAMES[k] for k in kinds)
        raise ValueError(f"{key}'{name}' is {KIND_NAMES[kind]}, but {use} needs {wanted}")


def number_field(use: str) -> Callable[[str | None], str | None]:
    """A validator: the name is an account field holding a number."""

    def check(name: str | None) -> str | None:
        if account_field(name) is not None:
            _needs(name, ("number",), use)
        return name

    return check


class ChurnFactor(_Strict):
    label: PlaybookText
    input: str
    transform: Literal["days_since"] | None = None
    weight: float = Field(ge=0)
    ok: float
    bad: float

    _input = field_validator("input")(account_field)

    @field_validator("transform")
    @classmethod
    def _transform_fits(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = info.data.get("input")
        if name is not None:
            if value == "days_since":
                _needs(name, ("date",), "transform days_since")
            else:
                _needs(name, ("number",), "a factor without a transform")
        return value

    @model_validator(mode="after")
    def _bounds_differ(self) -> ChurnFactor:
        if self.ok == self.bad:
            raise ValueError("ok and bad must differ")
        return self


class Band(_Strict):
    id: str
    min: int
    max: int


class Tier(Band):
    cadence: PlaybookText
    cadence_days: int = Field(gt=0)
    escalation: PlaybookText
    interventions: list[PlaybookText] = Field(min_length=1)


def _check_bands(bands: list[Band], ids: tuple[str, ...]) -> None:
    _exactly([b.id for b in bands], ids, "bands")
    ordered = sorted(bands, key=lambda b: b.min)
    if ordered[0].min != 0 or ordered[-1].max != 100:
        raise ValueError("bands must cover 0 to 100")
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if upper.min != lower.max + 1:
            raise ValueError(f"bands {lower.id} and {upper.id} leave a gap or overlap")


class ChurnRiskRules(_Strict):
    factors: dict[str, ChurnFactor]
    tiers: list[Tier]

    @model_validator(mode="after")
    def _complete(self) -> ChurnRiskRules:
        _exactly(self.factors, CHURN_FACTORS, "factors")
        if sum(f.weight for f in self.factors.values()) <= 0:
            raise ValueError("factor weights must not all be zero")
        _check_bands(self.tiers, TIERS)
        return self


class Condition(_Strict):
    input: str
    above: float

    _input = field_validator("input")(number_field("a condition"))


class Metric(_Strict):
    input: str
    kind: Literal["linear", "penalty", "flag"]
    zero: float | None = None
    full: float | None = None
    window: int | None = Field(default=None, gt=0)
    per: str | None = None
    start: float | None = None
    per_unit: float | None = None
    zero_if: Condition | None = None

    _input = field_validator("input")(account_field)
    _per = field_validator("per")(number_field("per"))

    @model_validator(mode="after")
    def _params(self) -> Metric:
        if self.kind == "flag":
            _needs(self.input, ("flag", "number"), "a flag metric", "input ")
        elif self.window:
            _needs(self.input, ("series",), "a metric with a window", "input ")
        else:
            _needs(self.input, ("number",), f"a {self.kind} metric without a window", "input ")
        if self.kind == "linear" and (
            self.zero is None or self.full is None or self.zero == self.full
        ):
            raise ValueError("a linear metric needs distinct zero and full")
        if self.kind == "penalty" and (self.start is None or self.per_unit is None):
            raise ValueError("a penalty metric needs start and per_unit")
        return self


class Component(_Strict):
    label: PlaybookText
    objective: PlaybookText  # the success-plan objective's title when it is the weakest
    weight: float = Field(ge=0)
    metrics: dict[str, Metric] = Field(min_length=1)


class HealthRules(_Strict):
    components: dict[str, Component]
    colors: list[Band]

    @model_validator(mode="after")
    def _complete(self) -> HealthRules:
        _exactly(self.components, HEALTH_COMPONENTS, "components")
        _check_bands(self.colors, COLORS)
        return self


class Signal(_Strict):
    label: PlaybookText
    severity: Literal["medium", "high"]
    action: PlaybookText
    input: str
    weeks: int | None = Field(default=None, gt=0)
    below: float | None = None
    above: float | None = None
    within_days: int | None = Field(default=None, ge=0)

    _input = field_validator("input")(account_field)

    @model_validator(mode="after")
    def _fits(self) -> Signal:
        if self.weeks is not None:
            _needs(self.input, ("series",), "a signal over weeks", "input ")
        return self


class Clause(_Strict):
    input: str
    op: Literal["lt", "gt"]
    value: float

    _input = field_validator("input")(number_field("a condition"))


class Opportunity(_Strict):
    label: PlaybookText
    offer: PlaybookText
    price: float = Field(gt=0)
    probability: float = Field(ge=0, le=1)
    when: list[Clause] = Field(min_length=1)


class Criterion(_Strict):
    id: str
    text: PlaybookText
    due_day: int = Field(ge=0)
    target: float | None = None


class Phase(_Strict):
    id: str
    start_day: int = Field(ge=0)
    end_day: int = Field(ge=0)
    deliverables: list[PlaybookText]
    success_criteria: list[Criterion]


class Onboarding(_Strict):
    days: int = Field(gt=0)
    phases: list[Phase] = Field(min_length=1)


class QbrItem(_Strict):
    id: str
    text: PlaybookText
    figures: Literal[FIGURE_SETS] | None = None  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: object) -> object:
        if isinstance(data, str):
            raise ValueError(
                f"the agenda item '{data}' needs an id and the figures it shows: "
                "{id: ..., text: ..., figures: ...} (see the bundled playbook)"
            )
        return data


class QbrSection(_Strict):
    id: str
    title: PlaybookText
    minutes: int = Field(gt=0)
    items: list[QbrItem]


class Qbr(_Strict):
    minutes: int = Field(gt=0)
    cadence_days: int = Field(gt=0)
    sections: list[QbrSection]

    @model_validator(mode="after")
    def _adds_up(self) -> Qbr:
        if sum(s.minutes for s in self.sections) != self.minutes:
            raise ValueError("section minutes must add up to minutes")
        seen: set[str] = set()
        for i, section in enumerate(self.sections):
            for j, item in enumerate(section.items):
                if item.id in seen:
                    raise KeyedError(
                        ("sections", str(i), "items", str(j), "id"),
                        f"'{item.id}' names two agenda items; give each its own id",
                    )
                seen.add(item.id)
        return self


class Targets(_Strict):
    annual_retention: float = Field(ge=0, le=1)
    expansion_share_of_arr: float = Field(ge=0)
    referrals_per_satisfied_client_quarter: float = Field(ge=0)
    average_csat: float = Field(ge=0, le=10)
    period_days: int = Field(gt=0)
    min_annualise_days: int = Field(gt=0)


class GapRule(_Strict):
    severity: Literal["medium", "high"]
    outcome: PlaybookText  # what closing the gap means (objective close_stakeholder_gaps)
    action: PlaybookText  # the success plan's next action; {person} and {via} are filled in

    @field_validator("action")
    @classmethod
    def _placeholders(cls, value: PlaybookText) -> PlaybookText:
        allowed = ", ".join(f"{{{p}}}" for p in GAP_PLACEHOLDERS)
        for lang, text in {"en": str(value), **value.translations}.items():
            unknown = sorted(set(PLACEHOLDER.findall(text)) - set(GAP_PLACEHOLDERS))
            if unknown:
                raise ValueError(
                    f"the {lang} text names {{{unknown[0]}}}; an action may name only {allowed}"
                )
            try:
                text.format(**dict.fromkeys(GAP_PLACEHOLDERS, ""))
            except (ValueError, IndexError, KeyError, AttributeError, TypeError):
                raise ValueError(
                    f"the {lang} text has a brace that is not {allowed}; write {{{{ or }}}} "
                    "for a brace itself"
                ) from None
        return value


class StakeholderRules(_Strict):
    cadence_days: dict[str, int]
    default_cadence_days: int = Field(gt=0)
    sponsor_roles: list[str]
    champion_roles: list[str]
    gaps: dict[str, GapRule]

    @field_validator("gaps")
    @classmethod
    def _every_gap(cls, value: dict[str, GapRule]) -> dict[str, GapRule]:
        _exactly(value, GAPS, "gaps")
        return value


class Kpi(_Strict):
    id: str
    label: PlaybookText
    source: Literal["health", "churn"] | None = None
    input: str | None = None
    target: float | None = None
    gain: float | None = None
    growth_pct: float | None = None
    lower_is_better: bool = False
    unit: str = ""

    _input = field_validator("input")(number_field("a KPI"))

    @model_validator(mode="after")
    def _one_source(self) -> Kpi:
        if (self.source is None) == (self.input is None):
            raise ValueError("a KPI needs exactly one of source and input")
        if self.target is None and self.gain is None and self.growth_pct is None:
            raise ValueError("a KPI needs a target, gain or growth_pct")
        return self


class Industry(_Strict):
    label: PlaybookText
    review_cadence_days: int = Field(gt=0)
    contract_months: int | None = None
    peak_quarter: int | None = Field(default=None, ge=1, le=4)
    focus: list[PlaybookText]
    kpis: list[PlaybookText]


class SuccessPlanRules(_Strict):
    horizon_days: int = Field(gt=0)
    next_action_days: int = Field(gt=0)
    kpis: list[Kpi]
    industries: dict[str, Industry]
    roles: dict[str, PlaybookText]
    criterion_owners: dict[str, str]
    objectives: dict[str, PlaybookText]

    @field_validator("roles")
    @classmethod
    def _named_roles(cls, value: dict[str, PlaybookText]) -> dict[str, PlaybookText]:
        missing = [r for r in ROLES if r not in value]
        if missing:
            raise ValueError(f"roles must name {', '.join(ROLES)} (missing: {', '.join(missing)})")
        return value

    @field_validator("objectives")
    @classmethod
    def _every_objective(cls, value: dict[str, PlaybookText]) -> dict[str, PlaybookText]:
        _exactly(value, OBJECTIVES, "objectives")
        return value

    @model_validator(mode="after")
    def _owners_are_roles(self) -> SuccessPlanRules:
        for criterion, role in self.criterion_owners.items():
            if role not in self.roles:
                raise KeyedError(
                    ("criterion_owners", criterion),
                    f"'{role}' is not a role of success_plan.roles ({', '.join(self.roles)})",
                )
        return self


class ProposalPhase(_Strict):
    name: PlaybookText
    weeks: int = Field(gt=0)


class OfferPlan(_Strict):
    traffic_uplift_pct: float = Field(ge=0)
    problem: PlaybookText
    objective: PlaybookText  # the success-plan objective's title when it is the best offer
    client_resources: PlaybookText  # what the client provides (success-plan initiative)
    phases: list[ProposalPhase] = Field(min_length=1)


class RecommendRules(_Strict):
    """Which matched offers the proposal recommends now (tools/planning/offer_fit.py)."""

    min_roi_pct: float = 0.0
    max_price_to_mrr: float = Field(2.0, gt=0)
    max_budget_share: float = Field(0.6, gt=0)


class ExpansionRules(_Strict):
    roi_horizon_months: int = Field(gt=0)
    cost_per_visit: float = Field(ge=0)
    hold_tiers: list[str]
    budget_planning_month: int = Field(ge=1, le=12)
    renewal_bundle_days: int = Field(ge=0)
    recommend: RecommendRules = Field(default_factory=RecommendRules)
    offers: dict[str, OfferPlan]


class Mitigation(_Strict):
    owner: PlaybookText
    due_days: int = Field(ge=0)
    steps: list[PlaybookText] = Field(min_length=1)


class RiskRules(_Strict):
    mitigations: dict[str, Mitigation]
    retention_offers: dict[str, list[PlaybookText]]


class BacktestRules(_Strict):
    """How `csm backtest` and `csm learn` judge churn models (SPEC 14)."""

    test_share: float = Field(0.3, gt=0, lt=1)
    min_class_count: int = Field(20, gt=0)
    bins: int = Field(10, ge=2, le=100)
    folds: int = Field(5, ge=2, le=20)
    probability_floor: float = Field(0.001, ge=0, lt=0.5)


class ForecastRules(_Strict):
    signal_penalty: dict[str, float]
    floor: float = Field(ge=0, le=1)
    ceiling: float = Field(ge=0, le=1)
    min_history_points: int = Field(gt=0)
    horizon_days: int = Field(gt=0)
    model_file: str | None = None
    backtest: BacktestRules = Field(default_factory=BacktestRules)


class ReportRules(_Strict):
    prose_free_numbers: int = Field(ge=0)
    outreach_days: int = Field(ge=0)
    qbr_lookahead_days: int = Field(ge=0)
    success_stories: int = Field(ge=0)


class Playbook(_Strict):
    version: str
    currency: str = Field(min_length=1)
    # how reports write the currency after an amount, per language (the code when unset)
    currency_label: PlaybookText | None = None
    churn_risk: ChurnRiskRules
    health: HealthRules
    signals: dict[str, Signal]
    opportunities: dict[str, Opportunity]
    onboarding: Onboarding
    qbr: Qbr
    targets: Targets
    stakeholders: StakeholderRules
    success_plan: SuccessPlanRules
    expansion: ExpansionRules
    risk: RiskRules
    forecast: ForecastRules
    reports: ReportRules

    @model_validator(mode="after")
    def _ids(self) -> Playbook:
        _exactly(self.signals, SIGNALS, "signals")
        for signal_id in WINDOW_SIGNALS:
            if self.signals[signal_id].within_days is None:
                raise ValueError(f"signals.{signal_id}.within_days is required")
        _exactly(self.opportunities, OPPORTUNITIES, "opportunities")
        _exactly(self.expansion.offers, OPPORTUNITIES, "expansion.offers")
        _exactly(self.risk.mitigations, SIGNALS, "risk.mitigations")
        criteria = [c.id for p in self.onboarding.phases for c in p.success_criteria]
        for criterion in self.success_plan.criterion_owners:
            if criterion not in criteria:
                raise KeyedError(
                    ("success_plan", "criterion_owners", criterion),
                    f"'{criterion}' is not an onboarding success criterion ({', '.join(criteria)})",
                )
        return self

    def warnings(self) -> list[str]:
        """Valid but doubtful settings: weights that do not add up to 100."""
        found = []
        for key, weights in (
            ("churn_risk.factors", [f.weight for f in self.churn_risk.factors.values()]),
            ("health.components", [c.weight for c in self.health.components.values()]),
        ):
            total = sum(weights)
            if abs(total - 100) > 1e-9:
                found.append(
                    f"{key}: the weights add up to {total:g}, not 100; each weight counts as "
                    f"its share of {total:g}, so check for a typo"
                )
        return found

    def currency_in(self, lang: str) -> str:
        """The currency as a report in `lang` writes it: 'RUB', '₽'."""
        return self.currency_label.in_lang(lang) if self.currency_label else self.currency

    def tier(self, rounded_score: int) -> Tier:
        """The churn tier whose band holds a whole-number score."""
        return next(t for t in self.churn_risk.tiers if t.min <= rounded_score <= t.max)

    def open_tiers(self) -> list[str]:
        """The churn tiers at which expansion may be proposed (not in `expansion.hold_tiers`,
        retention first), riskiest first: ['medium', 'low']."""
        ordered = sorted(self.churn_risk.tiers, key=lambda t: -t.min)
        return [t.id for t in ordered if t.id not in self.expansion.hold_tiers]

    def color(self, rounded_score: int) -> str:
        """The health colour whose band holds a whole-number score."""
        return next(b.id for b in self.health.colors if b.min <= rounded_score <= b.max)


def default_playbook_path() -> Path:
    """The playbook bundled with the package."""
    import knowledge

    return Path(knowledge.__path__[0]) / "playbook.yaml"


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    below = cause.key if isinstance(cause, KeyedError) else ()
    key = ".".join(str(part) for part in (*first["loc"], *below)) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    more = len(error.errors()) - 1
    tail = f" ({more} more problem{'s' if more > 1 else ''})" if more else ""
    return (
        f"playbook {source}: key '{key}': {message}{tail}; "
        "fix that key or start from a copy of the bundled playbook."
    )


def _moved_key(data: object) -> str | None:
    """The first merged-away key the data still has, as 'old.key' -> 'new.key'."""
    for (section, key), target in MOVED_KEYS.items():
        part = data.get(section) if isinstance(data, dict) else None
        if isinstance(part, dict) and key in part:
            return f"key '{section}.{key}' was merged into '{target}'"
    return None


def parse_playbook(data: object, source: str = "<data>") -> Playbook:
    """Validate already-parsed playbook data."""
    moved = _moved_key(data)
    if moved:
        raise PlaybookError(
            f"playbook {source}: {moved}; set the value there and delete the old key."
        )
    try:
        return Playbook.model_validate(data)
    except ValidationError as error:
        raise PlaybookError(_describe(error, source)) from None


def _load_yaml(text: str) -> object:
    """`yaml.safe_load`, through libyaml when PyYAML has it (seven times faster: most of the
    start-up of `csm score`); text libyaml refuses is read again by the pure-Python loader, so
    that an error names the same place."""
    import yaml  # only when a playbook is parsed (not when the bundled one comes from the cache)

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - the safe loader, in C
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise PlaybookError(
            f"playbook {file}: file not found; pass an existing YAML file to --playbook."
        ) from None
    except OSError as error:
        raise PlaybookError(f"playbook {file}: cannot be read ({error}).") from None


def _parse(file: Path, raw: bytes) -> Playbook:
    """Parse and validate the bytes of a playbook file."""
    import yaml

    try:
        text = raw.decode("utf-8")
        if "\r" in text:  # line ends as a file read as text has them
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        data = _load_yaml(text)
    except UnicodeDecodeError as error:
        raise PlaybookError(f"playbook {file}: cannot be read ({error}).") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PlaybookError(
            f"playbook {file}: not valid YAML{where}; fix the syntax there."
        ) from None
    return parse_playbook(data, str(file))


def _cached(raw: bytes, file: Path, custom: bool) -> Playbook:
    """A playbook from its file's bytes: as last validated when the cache in the data
    directory holds it for these bytes and this code (`tools.model_cache`), else parsed,
    validated and cached. The bundled playbook has its cache file; a `--playbook` file has one
    per path (`playbook-<digest of the path>.pickle`), written again when the file changes."""
    from tools import texts
    from tools.model_cache import cache_key, read_cached, write_cache
    from tools.paths import data_dir
    from tools.portfolio import account

    try:
        key = cache_key(raw, (sys.modules[__name__], texts, account))
        name = "playbook.pickle"
        if custom:
            where = hashlib.sha256(str(file.resolve()).encode("utf-8", "surrogatepass"))
            name = f"playbook-{where.hexdigest()[:16]}.pickle"
        path = data_dir() / "cache" / name
    except (OSError, ValueError):  # no source to key by, or no usable data directory
        return _parse(file, raw)
    classes = [texts.Text, *(c for c in globals().values()
                             if isinstance(c, type) and issubclass(c, _Strict))]
    playbook = read_cached(path, key, Playbook, classes)
    if playbook is None:
        playbook = _parse(file, raw)
        write_cache(path, key, playbook)
    return playbook


@lru_cache(maxsize=8)
def load_playbook(path: str | Path | None = None) -> Playbook:
    """Read and validate a playbook YAML file (the bundled one by default); each is kept
    validated in the data directory's cache for the next command (`_cached`)."""
    file = Path(path) if path else default_playbook_path()
    return _cached(_read(file), file, custom=bool(path))
