"""Shared fixtures: the bundled playbook, a fixed as-of date, a fresh data directory per test and
one knowledge index per session."""

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

from tools.playbook import Playbook, load_playbook
from tools.portfolio.account import Account

AS_OF = date(2026, 11, 20)


_SESSION_DATA = pytest.StashKey[tuple[str, str | None]]()


def pytest_configure(config: pytest.Config) -> None:
    """Some test modules load the playbook when they are collected, before any fixture runs,
    and loading the bundled one caches it in the data directory: from the start of the
    session, that is a temporary one (each test then gets its own, below)."""
    folder = tempfile.mkdtemp(prefix="csm-test-data-")
    config.stash[_SESSION_DATA] = (folder, os.environ.get("CSM_DATA_DIR"))
    os.environ["CSM_DATA_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder, before = config.stash[_SESSION_DATA]
    shutil.rmtree(folder, ignore_errors=True)
    if before is None:
        os.environ.pop("CSM_DATA_DIR", None)
    else:
        os.environ["CSM_DATA_DIR"] = before


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook()


def make(**fields: object) -> Account:
    """An account with only the given inputs known."""
    return Account(id=str(fields.pop("id", "t-1")), name=str(fields.pop("name", "Test")), **fields)


@pytest.fixture(scope="session")
def knowledge_index_dir(tmp_path_factory) -> Path:
    """The session's knowledge index of the bundled documents, built once by the first test that
    searches and only read after that; a test of indexing itself uses its own folder."""
    return tmp_path_factory.mktemp("knowledge-index")


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory) -> Path:
    """The session's cache of the embedding model's fast-loading copies (written once)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch, knowledge_index_dir, model_cache_dir):
    """Tests never touch the user's data directory: each gets a fresh one (store, chat threads,
    reports) and shares the session's knowledge index and model cache, with the default
    embeddings."""
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path_factory.mktemp("csm-data")))
    monkeypatch.setenv("CSM_KNOWLEDGE_DIR", str(knowledge_index_dir))
    monkeypatch.setenv("CSM_CACHE_DIR", str(model_cache_dir))
    monkeypatch.delenv("CSM_EMBEDDINGS", raising=False)
    monkeypatch.delenv("CSM_MODEL_FILE", raising=False)
    monkeypatch.delenv("CSM_DB", raising=False)  # the store: the data directory's, or the test's


# the store: every store test runs on SQLite and on PostgreSQL -----------------------------

STORES = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_server():
    """The session's throwaway PostgreSQL server (tests/pg.py), started on first use; when it
    cannot start, every test that needs it fails with the reason (never a skip)."""
    from tests import pg

    try:
        server = pg.start()
    except pg.ServerError as error:
        pytest.fail(f"the PostgreSQL store's tests need a server: {error}", pytrace=False)
    yield server
    server.stop()


def new_store(kind: str, folder: Path, request) -> Path | str:
    """A fresh, empty store of a kind for one test: a SQLite file in `folder` (not created
    yet), or a new database on the session's server (dropped when the test's scope ends)."""
    if kind == "sqlite":
        return folder / "csm.sqlite3"
    server = request.getfixturevalue("pg_server")
    url = server.new_database()
    request.addfinalizer(lambda: server.drop_database(url))
    return url


@pytest.fixture(params=STORES)
def store_db(request, tmp_path) -> Path | str:
    """A fresh store for the test, once on each backend: what `--db` takes."""
    return new_store(request.param, tmp_path, request)
