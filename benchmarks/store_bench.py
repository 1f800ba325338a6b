"""The two stores side by side: how fast each writes snapshots, and what a sweep costs the main
process on each.

    python -m benchmarks.store_bench [--rows 100000] [--accounts 2000] [--workers 2]
                                     [--postgres URL]

Without `--postgres`, a throwaway PostgreSQL server is started as the tests start one
(tests/pg.py: Debian's initdb and pg_ctl, fsync off) and removed at the end; with it, the
benchmark uses a fresh database on that server's URL (it must be empty: it is filled).

- Snapshot writes: real snapshots (a sweep of 200 generated accounts, copied under new ids to
  `--rows`) stored with `Store.record` in batches of 100 (the sweep's batch) and of 1,000:
  rows per second; PostgreSQL writes them with COPY, SQLite with one prepared INSERT.
- A sweep: `csm import` then `csm sweep` (every report written, `--workers` processes) of
  `--accounts` generated accounts, run in this process so that its CPU time (user + system,
  `resource.getrusage(RUSAGE_SELF)`) is the main process's alone (the workers are other
  processes): ms per account, wall seconds, and the store's size per account (SQLite: the
  file after a checkpoint; PostgreSQL: the tables with their indexes and TOAST).

CPU time is what the main process spends whatever else the machine runs; wall time is not."""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

AS_OF = "2026-11-20"
TABLES = ("accounts", "sweeps", "snapshots", "alerts", "reports", "schema_version")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def real_snapshots(count: int, folder: Path) -> list[dict[str, Any]]:
    """`count` snapshots as a sweep stores them: 200 real ones, repeated under new ids."""
    from agent.sweeps.store import open_store
    from agent.sweeps.sweep import SweepOptions, run_sweep
    from tools.planning.forecast import calibrate
    from tools.playbook import load_playbook
    from tools.portfolio.readers import read_portfolio, write_portfolio
    from tools.portfolio.sample import generate_accounts

    portfolio = folder / "seed.jsonl"
    write_portfolio(generate_accounts(200, 11, date.fromisoformat(AS_OF)), portfolio)
    playbook = load_playbook()
    accounts = read_portfolio(portfolio).accounts
    store = open_store(folder / "seed.sqlite3")
    try:
        options = SweepOptions(as_of=date.fromisoformat(AS_OF), source=portfolio, workers=1)
        result = run_sweep(options, store, playbook,
                           calibrate(accounts, playbook, options.as_of))
        seed = list(store.snapshots(result.sweep_id))
        inputs = {a.id: a.model_dump(mode="json", exclude_none=True) for a in accounts}
    finally:
        store.close()
    return [
        {**seed[n % len(seed)], "id": f"row-{n:07d}", "inputs": inputs[seed[n % len(seed)]["id"]]}
        for n in range(count)
    ]


def write_rate(db: Any, rows: list[dict[str, Any]], batch: int) -> float:
    """Rows per second that `Store.record` stores in batches of `batch`."""
    from agent.sweeps.store import open_store

    store = open_store(db)
    try:
        sweep = store.start_sweep(f"2000-01-{batch % 28 + 1:02d}", "daily", "bench", "h", "1")
        started = time.perf_counter()
        for first in range(0, len(rows), batch):
            store.record(sweep, rows[first : first + batch], [], [])
        return len(rows) / (time.perf_counter() - started)
    finally:
        store.close()


def store_bytes(db: Any) -> int:
    """The store's size on disk: the SQLite file after a checkpoint, or the PostgreSQL tables
    with their indexes and TOAST."""
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return db.stat().st_size
    import psycopg

    with psycopg.connect(db) as conn:
        return int(conn.execute(
            "SELECT sum(pg_total_relation_size(c)) FROM unnest(%s::regclass[]) AS c",
            (list(TABLES),),
        ).fetchone()[0])


def sweep_costs(db: Any, accounts: int, workers: int, folder: Path) -> dict[str, float]:
    """Import then sweep `accounts` generated accounts in this process: main-process CPU ms per
    account for each, the sweep's wall seconds, and the store's bytes per account."""
    from agent.interfaces.cli import main
    from tools.portfolio.readers import write_portfolio
    from tools.portfolio.sample import generate_accounts

    portfolio = folder / f"accounts-{accounts}.jsonl"
    if not portfolio.exists():
        write_portfolio(generate_accounts(accounts, 7, date.fromisoformat(AS_OF)), portfolio)
    out = folder / f"reports-{abs(hash(str(db)))}"
    spent = cpu()
    if main(["import", str(portfolio), "--db", str(db)]) != 0:
        raise SystemExit(f"csm import into {db} failed")
    imported = cpu() - spent
    spent, started = cpu(), time.perf_counter()
    code = main(["sweep", "--db", str(db), "--as-of", AS_OF, "--workers", str(workers),
                 "--out", str(out)])
    wall = time.perf_counter() - started
    swept = cpu() - spent
    if code != 0:
        raise SystemExit(f"csm sweep on {db} failed (exit {code})")
    return {
        "import_ms": 1000 * imported / accounts,
        "sweep_ms": 1000 * swept / accounts,
        "wall": wall,
        "bytes": store_bytes(db) / accounts,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", metavar="URL", help="a server's empty database")
    args = parser.parse_args(argv)
    os.environ.setdefault("CSM_DATA_DIR", tempfile.mkdtemp(prefix="csm-store-bench-"))
    server = None
    if args.postgres is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests import pg

        server = pg.start()
    try:
        folder = Path(tempfile.mkdtemp(prefix="csm-store-bench-"))

        def postgres() -> str:
            return args.postgres if server is None else server.new_database()

        from agent.interfaces.commands.kb import knowledge_ready

        knowledge_ready()  # the index, once, before anything is timed
        rows = real_snapshots(args.rows, folder)
        print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        print("\n| store | snapshots written | batch | rows/s |\n| --- | --- | --- | --- |")
        for batch in (100, 1000):
            for kind, db in (("SQLite", folder / f"w{batch}.sqlite3"), ("PostgreSQL", postgres())):
                rate = write_rate(db, rows, batch)
                print(f"| {kind} | {len(rows):,} | {batch:,} | {rate:,.0f} |", flush=True)
        print("\n| store | accounts | import, main ms/account | sweep, main ms/account | "
              "sweep wall s | store bytes/account |\n| --- | --- | --- | --- | --- | --- |")
        for kind, db in (("SQLite", folder / "sweep.sqlite3"), ("PostgreSQL", postgres())):
            got = sweep_costs(db, args.accounts, args.workers, folder)
            print(f"| {kind} | {args.accounts:,} | {got['import_ms']:.2f} | "
                  f"{got['sweep_ms']:.2f} | {got['wall']:.1f} | {got['bytes']:,.0f} |",
                  flush=True)
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
