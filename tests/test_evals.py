"""The evals harness: path lookup, comparisons, reporting, CLI, and the golden dataset."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from evals import runner
from evals.runner import (
    MISSING,
    SUITES,
    EvalCase,
    check,
    load_cases,
    lookup,
    main,
    matches,
    run_evals,
)
from tools.playbook import Playbook
from tools.portfolio.account import Account

RESULT: dict[str, Any] = {
    "churn_risk": {
        "score": 31.0,
        "tier": "medium",
        "factors": [{"id": "contract_value", "risk": 31.0, "value": 345000}],
        "missing": ["engagement", "csat"],
    },
    "health": {"score": None, "components": []},
    "signals": [{"id": "payment_delay", "severity": "high"}, {"id": "renewal_window"}],
    "opportunities": [],
    "not_evaluated": {"signals": ["support_spike"], "opportunities": []},
}


def _case(expect: dict[str, Any], suite: str = "churn_risk", **account: Any) -> EvalCase:
    return EvalCase(id=f"t-{len(expect)}-{suite}", suite=suite, as_of=date(2026, 11, 20),
                    account=account, expect=expect)


def _fake_scorer(result: dict[str, Any]) -> runner.Scorer:
    def score(account: Account, playbook: Playbook, as_of: date) -> dict[str, Any]:
        return result

    return score


def test_lookup_follows_keys_and_selects_list_elements_by_id() -> None:
    assert lookup(RESULT, "churn_risk.tier") == "medium"
    assert lookup(RESULT, "churn_risk.factors.contract_value.risk") == 31.0
    assert lookup(RESULT, "signals.payment_delay.severity") == "high"
    assert lookup(RESULT, "churn_risk.missing.1") == "csat"


def test_lookup_reports_missing_paths() -> None:
    assert lookup(RESULT, "churn_risk.factors.engagement.risk") is MISSING
    assert lookup(RESULT, "churn_risk.nope") is MISSING
    assert lookup(RESULT, "churn_risk.tier.deeper") is MISSING
    assert lookup(RESULT, "health.score") is None


def test_numbers_match_within_tolerance() -> None:
    assert matches(31.0, 31.009)
    assert matches(31, 31.0)
    assert matches(66.67, 66.666667)
    assert not matches(31.0, 31.02)
    assert not matches(31.0, "31.0")
    assert not matches(1, True)
    assert not matches(31.0, MISSING)


def test_lists_compare_as_sets_of_ids() -> None:
    assert matches(["renewal_window", "payment_delay"], RESULT["signals"])
    assert matches(["csat", "engagement"], RESULT["churn_risk"]["missing"])
    assert matches([], [])
    assert not matches(["payment_delay"], RESULT["signals"])
    assert not matches(["payment_delay", "renewal_window", "support_spike"], RESULT["signals"])
    assert not matches([], None)


def test_null_bool_and_text_are_exact() -> None:
    assert matches(None, None)
    assert not matches(None, 0.0)
    assert not matches(0.0, None)
    assert matches(False, False)
    assert not matches(False, 0)
    assert not matches("low", "medium")
    assert matches({"tier": "medium"}, RESULT["churn_risk"])


def test_check_reports_each_wrong_expectation() -> None:
    case = _case({
        "churn_risk.score": 31.0,
        "churn_risk.tier": "high",
        "signals": ["payment_delay"],
        "churn_risk.factors.engagement.risk": 0.0,
    })
    failures = check(case, RESULT)
    assert [f.path for f in failures] == [
        "churn_risk.tier", "signals", "churn_risk.factors.engagement.risk",
    ]
    assert failures[0].expected == "high" and failures[0].actual == "medium"
    assert failures[1].actual == ["payment_delay", "renewal_window"]
    assert failures[2].actual == "<missing>"


def test_run_evals_counts_a_wrong_expectation_as_a_failure() -> None:
    cases = [
        _case({"churn_risk.score": 31.0}, mrr=345000),
        _case({"churn_risk.score": 99.0, "churn_risk.tier": "medium"}, suite="health"),
    ]
    report = run_evals(cases=cases, scorer=_fake_scorer(RESULT))
    assert (report.cases, report.passed, report.failed, report.ok) == (2, 1, 1, False)
    assert [(s.suite, s.passed, s.failed, s.pass_rate) for s in report.suites] == [
        ("churn_risk", 1, 0, 1.0), ("health", 0, 1, 0.0),
    ]
    assert [(f.case, f.path, f.expected, f.actual) for f in report.failures] == [
        (cases[1].id, "churn_risk.score", 99.0, 31.0),
    ]
    only = run_evals(suite="churn_risk", cases=cases, scorer=_fake_scorer(RESULT))
    assert only.ok and only.cases == 1


def test_a_scorer_error_fails_the_case_without_stopping_the_run() -> None:
    def broken(account: Account, playbook: Playbook, as_of: date) -> dict[str, Any]:
        raise ZeroDivisionError("boom")

    report = run_evals(cases=[_case({"churn_risk.score": 0.0})], scorer=broken)
    assert report.failed == 1
    assert report.failures[0].path == "<error>"
    assert "ZeroDivisionError" in report.failures[0].actual


def test_cli_exit_codes_and_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(runner, "load_scorer", lambda: _fake_scorer(RESULT))
    good = {"id": "g", "suite": "signals", "as_of": "2026-11-20", "account": {},
            "expect": {"signals": ["payment_delay", "renewal_window"]}}
    bad = dict(good, id="b", expect={"signals": []})
    file = tmp_path / "cases.json"

    file.write_text(json.dumps({"cases": [good]}), encoding="utf-8")
    assert main(["--cases", str(file)]) == 0
    assert "signals" in capsys.readouterr().out

    file.write_text(json.dumps({"cases": [good, bad]}), encoding="utf-8")
    assert main(["--cases", str(file), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == 1 and report["failures"][0]["case"] == "b"

    assert main(["--cases", str(tmp_path / "absent.json")]) == 2
    assert main(["--playbook", str(tmp_path / "absent.yaml"), "--cases", str(file)]) == 2


def test_golden_dataset_is_well_formed() -> None:
    cases = load_cases()
    assert 80 <= len(cases) <= 120
    assert {case.suite for case in cases} == set(SUITES)
    roots = {"churn_risk", "health", "signals", "opportunities", "not_evaluated", "warnings"}
    for case in cases:
        case.to_account()
        assert {path.split(".")[0] for path in case.expect} <= roots, case.id
    assert {case.suite for case in load_cases(suite="health")} == {"health"}
    with pytest.raises(ValueError, match="unknown suite"):
        load_cases(suite="nope")


def test_golden_dataset_passes() -> None:
    report = run_evals()
    details = "\n".join(
        f"{f.case}: {f.path} expected {f.expected!r}, got {f.actual!r}" for f in report.failures
    )
    assert report.ok, details
