"""SIGTERM and SIGINT sent to the main process of a real `csm sweep` mid-run: no worker survives,
no model call or report follows, the sweep is stored `incomplete` and `--resume` finishes it.
The model is the loopback fake OpenAI server, slow enough that the sweep is caught mid-way."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.interfaces.cli import main
from agent.sweeps.store import open_store
from tests.fake_openai import SUMMARY, FakeOpenAI, Reply, always
from tests.procs import descendants
from tools.portfolio.readers import sample_portfolio_path

AS_OF = "2026-11-20"
ACCOUNTS = 12


def alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def stored(db: Path) -> int:
    """Snapshots in the store so far (0 while it is being created)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as reader:
            return int(reader.execute("SELECT count(*) FROM snapshots").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_main_process_ends_the_workers_and_the_sweep_resumes(
    signum, tmp_path, monkeypatch
):
    sample = json.loads(sample_portfolio_path().read_text("utf-8"))
    portfolio = tmp_path / "p.json"
    portfolio.write_text(json.dumps({**sample, "accounts": sample["accounts"][:ACCOUNTS]}))
    db, out = tmp_path / "s.db", tmp_path / "out"
    argv = ["sweep", str(portfolio), "--with-model", "--workers", "2", "--as-of", AS_OF,
            "--db", str(db), "--out", str(out)]
    with FakeOpenAI(always(Reply(SUMMARY, delay=0.5)), lifetime=600) as server:
        for name, value in {"CSM_MODEL": "openai:fake-model", "OPENAI_API_KEY": "test",
                            "OPENAI_BASE_URL": server.base_url, "CSM_MODEL_TIMEOUT": "30",
                            "NO_PROXY": "127.0.0.1,localhost"}.items():
            monkeypatch.setenv(name, value)
        child = subprocess.Popen([sys.executable, "-m", "agent.interfaces.cli", *argv],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)  # the signal goes to it alone
        try:
            deadline = time.monotonic() + 300
            workers: set[int] = set()
            while stored(db) == 0 or len(workers) < 3:  # the forkserver and two workers
                assert child.poll() is None, child.stderr.read() if child.stderr else ""
                assert time.monotonic() < deadline, "the sweep stored nothing in 300 s"
                time.sleep(0.05)
                workers = descendants(child.pid)
            before = descendants(child.pid)
            child.send_signal(signum)
            code = child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        calls, reports = len(server.requests), len(list(out.glob("*.en.md")))
        err = child.stderr.read() if child.stderr else ""
        gone = time.monotonic() + 20
        while any(alive(pid) for pid in before) and time.monotonic() < gone:
            time.sleep(0.1)
        time.sleep(1)
        # no process of the sweep outlived it: no model call or report after its exit
        assert not [pid for pid in before if alive(pid)], "a process of the sweep survived"
        assert (len(server.requests), len(list(out.glob("*.en.md")))) == (calls, reports)
        assert code == 128 + signum, err

        store = open_store(db)
        row = store.sweep(AS_OF)
        done = len(store.done_ids(row["id"]))
        store.close()
        assert row["status"] == "incomplete" and 0 < done < ACCOUNTS
        name = signal.Signals(signum).name
        assert f"csm: stopped by {name}; the {done} finished accounts are stored and the " \
               "sweep is marked incomplete; finish it with: csm sweep " in err
        assert "--resume" in err and "Traceback" not in err

        assert main([*argv, "--resume"]) == 0
    store = open_store(db)
    row = store.sweep(AS_OF)
    store.close()
    assert (row["status"], row["accounts"]) == ("complete", ACCOUNTS)
    assert len(list(out.glob("*.en.md"))) == ACCOUNTS and not list(out.glob(".*"))
