"""Shared fixtures: the bundled playbook and a fixed as-of date."""

from datetime import date

import pytest

from tools.account import Account
from tools.playbook import Playbook, load_playbook

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook()


def make(**fields: object) -> Account:
    """An account with only the given inputs known."""
    return Account(id=str(fields.pop("id", "t-1")), name=str(fields.pop("name", "Test")), **fields)


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Tests never touch the user's data directory."""
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path_factory.mktemp("csm-data")))
