"""Scoring evals: run the golden cases through `score_account` and report pass rates.

A case gives an account, an `as_of` date and `expect`: dotted paths into the
scored account's JSON (docs/result-shape.md) mapped to expected values.

Path rules: a segment selects a dict key; on a list it selects the element whose
`id` equals the segment (or, failing that, a numeric index).

Comparison rules: numbers match within an absolute tolerance (0.01); an expected
list is compared as a set, where list elements that are objects stand for their
`id`; an expected object matches when each of its keys matches; everything else
(strings, booleans, null) must be equal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from tools.playbook import Playbook, PlaybookError, load_playbook
from tools.portfolio.account import Account

SUITES = ("churn_risk", "health", "signals", "opportunities", "unknowns")
TOLERANCE = 0.01
DATASET = "scoring_cases.json"

Suite = Literal["churn_risk", "health", "signals", "opportunities", "unknowns"]
Scorer = Callable[[Account, Playbook, date], Any]


class _Missing:
    """Marks a path that leads nowhere in the result."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class EvalCase(BaseModel):
    """One golden case."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    suite: Suite
    description: str = ""
    as_of: date
    account: dict[str, Any]
    expect: dict[str, Any] = Field(min_length=1)

    def to_account(self) -> Account:
        """The case's account; id and name default to the case id."""
        return Account.model_validate({"id": self.id, "name": self.id, **self.account})


class Failure(BaseModel):
    """One expectation that did not hold (or a case that could not be scored)."""

    case: str
    suite: str
    path: str
    expected: Any
    actual: Any


class SuiteSummary(BaseModel):
    """Pass counts of one suite."""

    suite: str
    cases: int
    passed: int
    failed: int
    pass_rate: float


class EvalReport(BaseModel):
    """The outcome of an eval run."""

    playbook_version: str
    cases: int
    passed: int
    failed: int
    suites: list[SuiteSummary]
    failures: list[Failure]

    @property
    def ok(self) -> bool:
        """True when every case passed."""
        return self.failed == 0


def dataset_path() -> Path:
    """The golden dataset bundled with the package."""
    return Path(str(resources.files("evals").joinpath("data", DATASET)))


def load_cases(path: str | Path | None = None, suite: str | None = None) -> list[EvalCase]:
    """Read and validate the cases of a dataset file (the bundled one by default)."""
    file = Path(path) if path else dataset_path()
    data = json.loads(file.read_text(encoding="utf-8"))
    cases = [EvalCase.model_validate(item) for item in data["cases"]]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise ValueError(f"{file}: duplicate case id {case.id!r}")
        seen.add(case.id)
    if suite is not None:
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
        cases = [case for case in cases if case.suite == suite]
    return cases


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or MISSING."""
    current = data
    for segment in path.split("."):
        if isinstance(current, dict):
            if segment not in current:
                return MISSING
            current = current[segment]
        elif isinstance(current, list):
            hit = next((i for i in current if isinstance(i, dict) and i.get("id") == segment), None)
            if hit is not None:
                current = hit
            elif segment.isdigit() and int(segment) < len(current):
                current = current[int(segment)]
            else:
                return MISSING
        else:
            return MISSING
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _set_key(item: Any) -> str:
    """What a list element stands for in a set comparison."""
    if isinstance(item, dict) and "id" in item:
        item = item["id"]
    return json.dumps(item, sort_keys=True)


def as_set(items: Iterable[Any]) -> set[str]:
    """A list as an order-free set: objects by their `id`, other values by themselves."""
    return {_set_key(item) for item in items}


def matches(expected: Any, actual: Any, tolerance: float = TOLERANCE) -> bool:
    """True when `actual` satisfies `expected` under the comparison rules."""
    if actual is MISSING:
        return False
    if _is_number(expected):
        return _is_number(actual) and abs(actual - expected) <= tolerance + 1e-9
    if isinstance(expected, list):
        return isinstance(actual, list) and as_set(expected) == as_set(actual)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            matches(value, lookup(actual, key), tolerance) for key, value in expected.items()
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


def _shown(value: Any) -> Any:
    """A JSON-friendly form of an actual value for the report."""
    if value is MISSING:
        return "<missing>"
    if isinstance(value, list) and value and all(isinstance(i, dict) and "id" in i for i in value):
        return [item["id"] for item in value]
    return value


def check(case: EvalCase, result: dict[str, Any]) -> list[Failure]:
    """The expectations of a case that the result does not meet."""
    failures = []
    for path, expected in case.expect.items():
        actual = lookup(result, path)
        if not matches(expected, actual):
            failures.append(
                Failure(case=case.id, suite=case.suite, path=path, expected=expected,
                        actual=_shown(actual))
            )
    return failures


def load_scorer() -> Scorer:
    """The project's scoring function (imported late: evals load without it)."""
    from tools.scoring.score import score_account

    return score_account


def _score(case: EvalCase, playbook: Playbook, scorer: Scorer) -> list[Failure]:
    try:
        scored = scorer(case.to_account(), playbook, case.as_of)
        result = scored.model_dump(mode="json") if hasattr(scored, "model_dump") else scored
    except Exception as error:  # one broken case must not stop the run
        return [Failure(case=case.id, suite=case.suite, path="<error>",
                        expected="a scored account", actual=f"{type(error).__name__}: {error}")]
    return check(case, result)


def run_evals(
    suite: str | None = None,
    playbook: str | Path | Playbook | None = None,
    *,
    cases: str | Path | list[EvalCase] | None = None,
    scorer: Scorer | None = None,
) -> EvalReport:
    """Score every case (of one suite, if given) and collect pass rates and failures."""
    rules = playbook if isinstance(playbook, Playbook) else load_playbook(
        str(playbook) if playbook else None
    )
    if isinstance(cases, list):
        selected = [case for case in cases if suite is None or case.suite == suite]
    else:
        selected = load_cases(cases, suite)
    score = scorer or load_scorer()

    failures: list[Failure] = []
    counts: dict[str, list[int]] = {}
    for case in selected:
        found = _score(case, rules, score)
        failures.extend(found)
        tally = counts.setdefault(case.suite, [0, 0])
        tally[0 if not found else 1] += 1

    order = [name for name in SUITES if name in counts] + sorted(set(counts) - set(SUITES))
    suites = [
        SuiteSummary(suite=name, cases=sum(counts[name]), passed=counts[name][0],
                     failed=counts[name][1],
                     pass_rate=round(counts[name][0] / sum(counts[name]), 4))
        for name in order
    ]
    passed = sum(s.passed for s in suites)
    return EvalReport(playbook_version=rules.version, cases=len(selected), passed=passed,
                      failed=len(selected) - passed, suites=suites, failures=failures)


def _cell(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def print_report(report: EvalReport, console: Console | None = None) -> None:
    """Print pass rates per suite, then one row per failed expectation."""
    console = console or Console()
    table = Table(title=f"Scoring evals (playbook {report.playbook_version})")
    for column in ("suite", "cases", "passed", "failed", "pass rate"):
        table.add_column(column, justify="left" if column == "suite" else "right")
    for s in report.suites:
        table.add_row(s.suite, str(s.cases), str(s.passed), str(s.failed), f"{s.pass_rate:.1%}")
    rate = report.passed / report.cases if report.cases else 1.0
    table.add_section()
    table.add_row("total", str(report.cases), str(report.passed), str(report.failed), f"{rate:.1%}",
                  style="bold")
    console.print(table)
    if report.failures:
        failed = Table(title=f"{len(report.failures)} failed expectation(s)")
        for column in ("case", "path", "expected", "actual"):
            failed.add_column(column, overflow="fold")
        for f in report.failures:
            failed.add_row(f.case, f.path, _cell(f.expected), _cell(f.actual))
        console.print(failed)


def main(argv: list[str] | None = None) -> int:
    """`python -m evals`: exit 0 when every case passes, 1 when one fails, 2 on a setup error."""
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=SUITES, help="run one suite only")
    parser.add_argument("--playbook", metavar="FILE", help="playbook YAML (default: bundled)")
    parser.add_argument("--cases", metavar="FILE", help="dataset JSON (default: bundled)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    try:
        report = run_evals(args.suite, args.playbook, cases=args.cases)
    except (PlaybookError, ImportError, OSError, ValueError) as error:
        print(f"evals: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    else:
        print_report(report)
    return 0 if report.ok else 1
