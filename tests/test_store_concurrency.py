"""Several readers and one sweep at a time on the same store, as real processes, on both stores:
while a sweep writes, readers that do what the web app, MCP and chat do (list the accounts with
their scores, one account's history, the whole history streamed) keep getting answers, and a
second sweep is refused with one sentence.

Every process other than the first sweep is started first and waits, its imports done, for a
line on stdin: then each one acts while the sweep runs, whatever the machine's speed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date

from agent.interfaces.cli import main
from agent.sweeps.store import open_store
from tools.portfolio.readers import write_portfolio
from tools.portfolio.sample import generate_accounts

AS_OF = "2026-11-20"
ACCOUNTS = 150
READERS = 3

READER = """
import json, os, sys, time
from agent.chat.tool_surface import READ_TOOLS
from agent.sweeps.store import open_store

db, as_of, account = os.environ["CSM_DB"], sys.argv[1], sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()
rounds = during = 0
listed = history = streamed = 0
deadline = time.monotonic() + 240
while time.monotonic() < deadline:
    store = open_store(db)
    try:
        running = store.sweep_running()
        sweep = store.sweep(as_of)  # before the reads: once complete, they see it all
        streamed = sum(1 for _ in store.history())
    finally:
        store.close()
    listed = READ_TOOLS["list_accounts"](limit=5)["total"]
    history = len(READ_TOOLS["account_history"](account_id=account)["snapshots"])
    rounds += 1
    during += running
    if sweep is not None and sweep["status"] == "complete":
        break
    time.sleep(0.2)  # a person's pace, leaving the cores to the sweep
print(json.dumps({"rounds": rounds, "during": during, "listed": listed, "history": history,
                  "streamed": streamed}), flush=True)
"""

SECOND_SWEEP = """
import sys
from agent.interfaces.cli import main
print("ready", flush=True)
sys.stdin.readline()
sys.exit(main(sys.argv[1:]))
"""


def start(code: str, *argv: str, env: dict[str, str]) -> subprocess.Popen:
    """A waiting Python process (it prints `ready`, then acts on a line on stdin)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def ready(child: subprocess.Popen) -> None:
    assert child.stdout.readline().strip() == "ready", child.stderr.read()


def go(child: subprocess.Popen) -> None:
    child.stdin.write("go\n")
    child.stdin.flush()


def test_readers_and_one_sweep_at_a_time(tmp_path, capsys, monkeypatch, store_db):
    import os

    portfolio = tmp_path / "accounts.jsonl"
    write_portfolio(generate_accounts(ACCOUNTS, 5, date.fromisoformat(AS_OF)), portfolio)
    assert main(["import", str(portfolio), "--db", str(store_db)]) == 0
    capsys.readouterr()
    store = open_store(store_db)
    first_id = next(iter(store.statuses()))
    store.close()
    env = {**os.environ, "CSM_DB": str(store_db), "CSM_AS_OF": AS_OF}
    sweep_argv = ["sweep", "--db", str(store_db), "--as-of", AS_OF, "--workers", "1",
                  "--no-reports", "--out", str(tmp_path / "out")]
    readers = [start(READER, AS_OF, first_id, env=env) for _ in range(READERS)]
    second = start(SECOND_SWEEP, *sweep_argv, env=env)
    for child in [*readers, second]:  # started together, each waits here with its imports done
        ready(child)
    sweep = subprocess.Popen([sys.executable, "-m", "agent.interfaces.cli", *sweep_argv],
                             env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        probe = open_store(store_db)
        deadline = time.monotonic() + 120
        while not probe.sweep_running():  # the first sweep holds the lock
            assert sweep.poll() is None, sweep.communicate()
            assert time.monotonic() < deadline, "the sweep never took the lock"
            time.sleep(0.02)
        probe.close()
        for child in [*readers, second]:
            go(child)
        _, refused = second.communicate(timeout=120)
        out, err = sweep.communicate(timeout=600)
        results = [json.loads(r.communicate(timeout=300)[0]) for r in readers]
    finally:
        for child in [*readers, second, sweep]:
            if child.poll() is None:
                child.kill()
                child.communicate()
    # the second sweep: refused in one sentence, while the first went on to the end
    where = str(store_db)
    assert second.returncode == 1
    lines = refused.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"csm: error: {where}: another sweep is running ("), refused
    assert lines[0].endswith("); wait for it to finish.") and "Traceback" not in refused
    assert sweep.returncode == 0, err
    assert f"swept {ACCOUNTS} accounts (0 already done)" in out
    # the readers: answers all along, some while the sweep ran, and the end state at the end
    for result in results:
        assert result["during"] >= 1, result
        assert result["listed"] == ACCOUNTS and result["history"] == 1, result
        assert result["streamed"] == ACCOUNTS, result
    store = open_store(store_db)
    try:
        row = store.sweep(AS_OF)
        assert (row["status"], row["accounts"]) == ("complete", ACCOUNTS)
        assert store.fetch("SELECT count(*) FROM sweeps")[0][0] == 1
        assert not store.sweep_running()
    finally:
        store.close()
