"""The sweep's executors: the local process pool and Ray actors give the same store rows, report
files and portfolio report on the same input; `--executor ray` without Ray says what to install.

Ray starts once for the session (a local cluster of two CPUs, as on this machine's CI)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from agent.interfaces.cli import main

AS_OF = "2026-11-20"
ACCOUNTS = 500
TIMES = {"started_at", "finished_at", "updated_at", "applied_at"}  # when: differ by run


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster for the session; the sweeps join it (and leave it running)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ray
    ray.shutdown()


def rows(db: Path) -> dict[str, list[tuple]]:
    """Every table of the store, its rows sorted, without the columns that hold times."""
    tables: dict[str, list[tuple]] = {}
    with sqlite3.connect(db) as reader:
        names = [n for (n,) in reader.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for name in names:
            cursor = reader.execute(f"SELECT * FROM {name}")  # noqa: S608 - our own table names
            keep = [i for i, c in enumerate(cursor.description) if c[0] not in TIMES]
            tables[name] = sorted(tuple(r[i] for i in keep) for r in cursor)
    return tables


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_local_and_ray_sweeps_write_identical_outputs(ray_cluster, tmp_path, capsys):
    portfolio = tmp_path / "p.jsonl"
    assert main(["sample", "--accounts", str(ACCOUNTS), "--seed", "11", "--as-of", AS_OF,
                 "--out", str(portfolio)]) == 0
    with portfolio.open("a", encoding="utf-8") as handle:  # a bad row: rejected by both
        handle.write(json.dumps({"id": "bad-1", "name": "Bad", "mrr": -5}) + "\n")
    out = tmp_path / "out"
    outputs = {}
    for executor in ("local", "ray"):
        db = tmp_path / f"{executor}.sqlite3"
        code = main(["sweep", str(portfolio), "--as-of", AS_OF, "--db", str(db), "--out",
                     str(out), "--workers", "2", "--executor", executor])
        err = capsys.readouterr().err
        assert code == 2, err  # the bad row, named
        assert "bad-1" in err and "Traceback" not in err
        outputs[executor] = (rows(db), files(out))
        shutil.move(out, tmp_path / f"out-{executor}")
    (local_rows, local_files), (ray_rows, ray_files) = outputs["local"], outputs["ray"]
    # every account's report, and portfolio.json, portfolio.md and portfolio.html
    assert len(local_rows["snapshots"]) == ACCOUNTS and len(local_files) == ACCOUNTS + 3
    assert local_rows == ray_rows
    assert local_files.keys() == ray_files.keys()
    assert [n for n in local_files if local_files[n] != ray_files[n]] == []


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
