"""One threshold per concept: each window is one playbook key, and every step that uses the
concept moves with it (the signal, the stakeholder map, the risk plan, the proposal timing,
the success-plan milestones and the portfolio report)."""

import json
from datetime import timedelta

import pytest
import yaml

from agent.interfaces.cli import main
from tests.conftest import AS_OF, make
from tools.planning.proposal import proposal_timing
from tools.planning.risk_plan import build_risk_plan
from tools.planning.stakeholders import map_stakeholders
from tools.planning.success_plan import build_success_plan
from tools.playbook import PlaybookError, default_playbook_path, parse_playbook
from tools.scoring.score import score_account


def bundled() -> dict:
    return yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))


def with_window(signal_id: str, days: int) -> dict:
    data = bundled()
    data["signals"][signal_id]["within_days"] = days
    return data


@pytest.mark.parametrize(("ahead", "inside"), [(120, True), (121, False)])
def test_renewal_window_key_moves_every_step(ahead, inside):
    playbook = parse_playbook(with_window("renewal_window", 120))
    renewal = AS_OF + timedelta(days=ahead)
    talks = renewal - timedelta(days=120)  # AS_OF when inside, the day after when not
    account = make(renewal_date=renewal, renewal_conversation_started=False)
    score = score_account(account, playbook, AS_OF)
    assert ("renewal_window" in [s.id for s in score.signals]) is inside

    risk = build_risk_plan(account, score, playbook, AS_OF).renewal
    assert (risk.talks_start, risk.status) == (talks, "open_now" if inside else "upcoming")

    timing = proposal_timing(account, playbook, AS_OF, hold=False)
    assert (timing.basis, timing.proposal_date) == ("renewal", talks)
    assert "120 days, signals.renewal_window.within_days" in timing.rationale

    people = map_stakeholders(account, playbook, AS_OF)
    plan = build_success_plan(account, score, people, playbook, AS_OF)
    [milestone] = [m for m in plan.milestones if m.source == "signals.renewal_window.within_days"]
    assert milestone.date == talks
    assert "120 days before the renewal" in milestone.description


def test_portfolio_report_lists_renewals_in_the_same_window(tmp_path, capsys):
    book = tmp_path / "playbook.yaml"
    book.write_text(yaml.safe_dump(with_window("renewal_window", 120)), encoding="utf-8")
    accounts = [
        {"id": "in", "name": "In", "renewal_date": (AS_OF + timedelta(days=120)).isoformat()},
        {"id": "out", "name": "Out", "renewal_date": (AS_OF + timedelta(days=121)).isoformat()},
    ]
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps({"as_of": AS_OF.isoformat(), "accounts": accounts}))
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(portfolio),
            "--db",
            str(tmp_path / "csm.sqlite3"),
            "--out",
            str(out),
            "--workers",
            "1",
            "--playbook",
            str(book),
        ]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "portfolio.json").read_text("utf-8"))
    assert report["renewal_window_days"] == 120
    assert [r["id"] for r in report["renewals"]] == ["in"]


@pytest.mark.parametrize(("age", "new"), [(30, True), (31, False)])
def test_stakeholder_change_key_moves_the_signal_and_the_map(age, new):
    playbook = parse_playbook(with_window("stakeholder_change", 30))
    since = AS_OF - timedelta(days=age)
    account = make(stakeholders=[{"name": "Ivan", "primary": True, "since": since.isoformat()}])
    score = score_account(account, playbook, AS_OF)
    assert ("stakeholder_change" in [s.id for s in score.signals]) is new
    gaps = [g.id for g in map_stakeholders(account, playbook, AS_OF).gaps]
    assert ("new_primary_contact" in gaps) is new


@pytest.mark.parametrize(
    ("section", "key", "target"),
    [
        ("renewal", "talks_start_days", "signals.renewal_window.within_days"),
        ("stakeholders", "new_primary_days", "signals.stakeholder_change.within_days"),
    ],
)
def test_a_merged_key_in_an_old_playbook_copy_says_where_it_went(section, key, target):
    data = bundled()
    data.setdefault(section, {})[key] = 90
    with pytest.raises(PlaybookError) as error:
        parse_playbook(data, "old.yaml")
    assert str(error.value) == (
        f"playbook old.yaml: key '{section}.{key}' was merged into '{target}'; "
        "set the value there and delete the old key."
    )


@pytest.mark.parametrize("signal_id", ["stakeholder_change", "renewal_window"])
def test_a_window_signal_needs_its_days(signal_id):
    data = bundled()
    del data["signals"][signal_id]["within_days"]
    with pytest.raises(PlaybookError, match=f"signals.{signal_id}.within_days is required"):
        parse_playbook(data)
