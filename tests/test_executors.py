"""The sweep's executors on the two stores: the local process pool and Ray actors, each into a
SQLite file and into a PostgreSQL database, give the same store rows, report files and
portfolio report on the same input; `--executor ray` without Ray says what to install.

Ray starts once for the session (a local cluster of two CPUs, as on this machine's CI), and so
does the PostgreSQL server (tests/pg.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from agent.interfaces.cli import main
from agent.sweeps.store import open_store
from agent.sweeps.store.base import TABLE_ORDER
from tests.conftest import new_store
from tools.portfolio.readers import sample_portfolio_path

AS_OF = "2026-11-20"
ACCOUNTS = 500
TIMES = {"started_at", "finished_at", "updated_at", "applied_at"}  # when: differ by run
COMBOS = [(store, executor) for store in ("sqlite", "postgres") for executor in ("local", "ray")]


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster for the session; the sweeps join it (and leave it running)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ray
    ray.shutdown()


def rows(db: Path | str) -> dict[str, list[list[tuple[str, object]]]]:
    """Every table of the store, its rows in key order, each value with its type's name,
    without the columns that hold times.

    No value is converted: the schema keeps numbers as 8-byte floats (SQLite REAL, PostgreSQL
    double precision), counts and ids as integers and times, dates and JSON as text in both
    dialects (agent/sweeps/store/migrations.py), so psycopg gives the same float, int, str and
    None as sqlite3 (no Decimal, no datetime) and a type that differed would fail the test.
    The only difference left out is `accounts_revision`, PostgreSQL's own change counter for
    the readers of accounts (SQLite has `PRAGMA data_version` instead), which the store's
    tables (TABLE_ORDER) do not list."""
    store = open_store(db)
    try:
        tables = {}
        for table in TABLE_ORDER:
            found = store.fetch_dicts(f"SELECT * FROM {table} ORDER BY {TABLE_ORDER[table]}")
            tables[table] = [[(type(v).__name__, v) for k, v in row.items() if k not in TIMES]
                             for row in found]
        return tables
    finally:
        store.close()


def table_names(db: Path | str) -> set[str]:
    """The tables a store holds, as its own catalogue lists them."""
    if isinstance(db, Path):
        with sqlite3.connect(db) as reader:
            return {n for (n,) in reader.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%'")}
    store = open_store(db)
    try:
        return {n for (n,) in store.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        store.close()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_local_and_ray_sweeps_write_identical_outputs_on_both_stores(
    ray_cluster, tmp_path, capsys, request
):
    """Four sweeps of the same 500 accounts, {SQLite, PostgreSQL} x {local, Ray}: every row of
    every table (times left out), every account's report file and portfolio.json, .md and
    .html are the same. Each sweep writes to the same --out folder in turn (the stored report
    paths are then the same), moved aside after it."""
    portfolio = tmp_path / "p.jsonl"
    assert main(["sample", "--accounts", str(ACCOUNTS), "--seed", "11", "--as-of", AS_OF,
                 "--out", str(portfolio)]) == 0
    with portfolio.open("a", encoding="utf-8") as handle:  # a bad row: rejected by all
        handle.write(json.dumps({"id": "bad-1", "name": "Bad", "mrr": -5}) + "\n")
    out = tmp_path / "out"
    outputs = {}
    for kind, executor in COMBOS:
        folder = tmp_path / f"{kind}-{executor}"
        folder.mkdir()
        db = new_store(kind, folder, request)
        code = main(["sweep", str(portfolio), "--as-of", AS_OF, "--db", str(db), "--out",
                     str(out), "--workers", "2", "--executor", executor])
        err = capsys.readouterr().err
        assert code == 2, err  # the bad row, named
        assert "bad-1" in err and "Traceback" not in err
        outputs[kind, executor] = (rows(db), files(out), table_names(db))
        shutil.move(out, folder / "out")
    first_rows, first_files, sqlite_tables = outputs["sqlite", "local"]
    # every account's report, and portfolio.json, portfolio.md and portfolio.html
    assert len(first_rows["snapshots"]) == ACCOUNTS and len(first_files) == ACCOUNTS + 3
    assert len(first_rows["alerts"]) == 0 and len(first_rows["reports"]) == ACCOUNTS
    assert sqlite_tables == set(TABLE_ORDER)  # no table left out of the comparison
    assert outputs["postgres", "local"][2] == set(TABLE_ORDER) | {"accounts_revision"}
    for combo in COMBOS[1:]:
        combo_rows, combo_files, _ = outputs[combo]
        assert combo_rows == first_rows, combo
        assert combo_files.keys() == first_files.keys(), combo
        assert [n for n in first_files if first_files[n] != combo_files[n]] == [], combo


def test_ray_workers_read_a_shipped_copy_of_the_knowledge_index(ray_cluster, tmp_path):
    from agent.sweeps.executors.ray import pack

    portfolio = tmp_path / "p.jsonl"
    assert main(["sample", "--accounts", "4", "--seed", "2", "--as-of", AS_OF,
                 "--out", str(portfolio)]) == 0
    assert main(["sweep", str(portfolio), "--as-of", AS_OF, "--db", str(tmp_path / "s.db"),
                 "--out", str(tmp_path / "out"), "--workers", "1", "--executor", "ray"]) == 0
    index = Path(os.environ["CSM_KNOWLEDGE_DIR"])  # built by the sweep, before the workers
    digest, _ = pack(index)
    shipped = Path(tempfile.gettempdir()) / f"csm-shipped-{digest}" / index.name
    assert sorted(p.name for p in shipped.rglob("*")) == sorted(p.name for p in index.rglob("*"))


def test_a_node_keeps_one_copy_per_digest_and_drops_copies_unused_for_a_week(tmp_path):
    from agent.sweeps.executors.ray import STALE_DAYS, pack, unpack

    index = tmp_path / "index"
    (index / "part").mkdir(parents=True)
    (index / "part" / "vectors.bin").write_bytes(b"\x00\x01")
    temp = tmp_path / "temp"
    temp.mkdir()
    old, recent = temp / "csm-shipped-0ld", temp / "csm-shipped-recent"
    for folder, days in ((old, STALE_DAYS + 1), (recent, STALE_DAYS - 1)):
        folder.mkdir()
        when = time.time() - days * 86400
        os.utime(folder, (when, when))
    digest, data = pack(index)
    path = Path(unpack(digest, data, "index", str(temp)))
    assert (path / "part" / "vectors.bin").read_bytes() == b"\x00\x01"
    assert not old.exists() and recent.exists()  # another sweep may still use the recent one
    # a second actor of the node reuses the copy and marks it used
    stamp = time.time() - 86400 * (STALE_DAYS + 2)
    os.utime(path.parent, (stamp, stamp))
    assert Path(unpack(digest, data, "index", str(temp))) == path
    assert path.parent.stat().st_mtime > stamp + 86400
    assert sorted(p.name for p in temp.iterdir()) == [path.parent.name, recent.name]


def test_executor_ray_without_ray_names_the_extra(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps({"accounts": [{"id": "a", "name": "A", "mrr": 1}]}))
    code = main(["sweep", str(portfolio), "--db", str(tmp_path / "s.db"), "--executor", "ray"])
    err = capsys.readouterr().err
    assert code == 1
    assert "--executor ray needs Ray, which is not installed; install it with pip install " \
           "'csm-agent[ray]', or use --executor local." in err
    assert "Traceback" not in err and not (tmp_path / "s.db").exists()


# Ray workers and a model -------------------------------------------------------------------

NOTE = "This summary is the deterministic one: "


def with_model_on_ray(tmp_path: Path, name: str, server: Any, monkeypatch, *extra: str) -> int:
    """`csm sweep --with-model --executor ray --workers 2` of four sample accounts, the model
    being the fake OpenAI server on 127.0.0.1 (its settings reach the actors through the
    environment the sweep passes them)."""
    for key, value in {"CSM_MODEL": "openai:fake-model", "OPENAI_BASE_URL": server.base_url,
                       "OPENAI_API_KEY": "test", "CSM_MODEL_TIMEOUT": "30",
                       "NO_PROXY": "127.0.0.1,localhost"}.items():
        monkeypatch.setenv(key, value)
    sample = json.loads(sample_portfolio_path().read_text("utf-8"))
    portfolio = tmp_path / "four.json"
    portfolio.write_text(json.dumps({**sample, "accounts": sample["accounts"][:4]}), "utf-8")
    return main(["sweep", str(portfolio), "--with-model", "--as-of", AS_OF, "--db",
                 str(tmp_path / f"{name}.db"), "--out", str(tmp_path / name), "--workers", "2",
                 "--executor", "ray", *extra])


def test_ray_workers_write_the_models_prose_and_fall_back_on_their_own_budget(
    ray_cluster, tmp_path, capsys, monkeypatch
):
    from tests.fake_openai import SUMMARY, FakeOpenAI, Reply, Status, always

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "CSM_MODEL_DEADLINE",
                 "CSM_MODEL_RUN_DEADLINE", "CSM_MODEL_CONCURRENCY", "CSM_MODEL_MAX_FAILURES"):
        monkeypatch.delenv(name, raising=False)
    prose = json.loads(SUMMARY)["summary"]
    with FakeOpenAI(always(Reply(SUMMARY)), lifetime=300) as server:
        code = with_model_on_ray(tmp_path, "answered", server, monkeypatch)
        asked = len(server.requests)
    err = capsys.readouterr().err
    assert code == 0, err
    reports = sorted((tmp_path / "answered").glob("acc-*.en.md"))
    assert len(reports) == 4 and asked == 20  # five summaries per account, each from the model
    for path in reports:
        text = path.read_text("utf-8")
        assert text.count(prose) == 5 and NOTE not in text, path.name
    summaries = json.loads((tmp_path / "answered" / "portfolio.json").read_text("utf-8"))[
        "model_summaries"]
    assert (summaries["reports_asked"], summaries["reports_fell_back"]) == (20, 0)

    # a key the server rejects: each actor's breaker opens at its own first answer (one call in
    # flight per worker), every summary falls back and says why, as with local workers
    with FakeOpenAI(always(Status(401, "no")), lifetime=300) as server:
        code = with_model_on_ray(tmp_path, "rejected", server, monkeypatch,
                                 "--model-concurrency", "1")
        asked = len(server.requests)
    err = capsys.readouterr().err
    assert code == 0, err
    assert asked == 2  # one per actor: each has a budget of its own (a shared one: 1)
    reports = sorted((tmp_path / "rejected").glob("acc-*.en.md"))
    assert len(reports) == 4
    for path in reports:
        text = path.read_text("utf-8")
        assert prose not in text and text.count(NOTE) == 5, path.name
    report = json.loads((tmp_path / "rejected" / "portfolio.json").read_text("utf-8"))
    assert (report["model_summaries"]["reports_asked"],
            report["model_summaries"]["reports_fell_back"]) == (20, 20)
    # the first summary of each actor was rejected, its others met that actor's open breaker
    assert report["model_summaries"]["reasons"] == {"auth": 2, "breaker": 18}
    assert "csm: 20 of 20 model summaries fell back" in err and "Traceback" not in err
