"""The sweep's forecast calibration reads only the accounts with a history: the same calibration
as over every valid account, for a file (duplicates, bad rows) and for the store."""

from __future__ import annotations

import json
from datetime import date

from agent.interfaces.commands.sweep import _accounts
from agent.sweeps.store import open_store
from tools.planning.forecast import calibrate
from tools.portfolio.account import Account
from tools.portfolio.readers import iter_rows, validated_rows

AS_OF = date(2026, 11, 20)


def points(risk: float, churned: bool, n: int = 4) -> list[dict]:
    return [{"date": f"2025-0{m}-01", "churn_risk": risk, "churned": churned}
            for m in range(1, n + 1)]


ROWS = [
    {"id": "a", "name": "A", "mrr": 10, "history": points(80, True)},
    {"id": "b", "name": "B", "mrr": 10},
    {"id": "a", "name": "A again", "mrr": 10, "history": points(10, False)},  # duplicate id
    {"id": "c", "name": "C", "mrr": -1, "history": points(50, True)},  # invalid
    {"id": "d", "name": "D", "mrr": 10, "history": points(50, False, 2)},
]


def every_valid(path):
    return [a for _, _, a in validated_rows(path.name, iter_rows(path)[1])
            if isinstance(a, Account)]


def test_a_file_with_histories_counts_every_valid_account_once(tmp_path, playbook):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), "utf-8")
    expected = calibrate(every_valid(path), playbook, AS_OF)
    assert expected.points == 6  # a's first row and d: not the duplicate, not the bad row
    assert calibrate(_accounts(path, None), playbook, AS_OF) == expected


def test_a_file_without_histories_is_not_validated(tmp_path, playbook, monkeypatch):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "history"}) + "\n"
                            for r in ROWS), "utf-8")
    import tools.portfolio.readers as readers

    calls = []
    real = readers.parse_row
    monkeypatch.setattr(readers, "parse_row", lambda *a: calls.append(a) or real(*a))
    assert list(_accounts(path, None)) == [] and calls == []


def test_the_store_validates_only_its_accounts_with_a_history(tmp_path, playbook):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), "utf-8")
    store = open_store(tmp_path / "s.db")
    try:
        valid = every_valid(path)
        store.import_accounts((i, a.model_dump(mode="json", exclude_none=True))
                              for i, a in enumerate(valid, 1))
        found = list(_accounts(None, store))
        assert [a.id for a in found] == ["a", "d"]
        assert calibrate(found, playbook, AS_OF) == calibrate(valid, playbook, AS_OF)
    finally:
        store.close()
