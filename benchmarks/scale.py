"""How a sweep scales: stores x executors on generated portfolios, and a projection to 10 million.

    python -m benchmarks.scale [--sizes 2000 10000] [--large] [--workers 2]
                               [--executors local ray] [--postgres URL] [--code DIR]

For each size, `csm sample` writes a JSONL portfolio; each {store} x {executor} sweeps it with
every report written, as a separate process (`csm sweep ... --workers N --executor E`), and so
does a sweep of BASE accounts of the same kind, so that the main process's fixed costs (imports,
opening the knowledge index, the portfolio report's setup) drop out of its per-account figure
(the index is built, and the playbook's questions answered, by a warm-up sweep before any of
them):

- accounts/s: accounts over the sweep's own time (as `csm sweep` prints it);
- main ms/account: the main process's CPU time (all its threads) beyond the small sweep's,
  per extra account;
- peak RSS: the main process, the largest worker, the largest other process (Ray's services);
- store bytes/account (the SQLite file; PostgreSQL: the database's size) and report
  bytes/account (the accounts' report files).

`--large` adds 100,000 accounts (long). PostgreSQL runs when `--postgres URL` is given and the
store takes such a URL (`--db`); without one, a throwaway server is started as the tests do
(`tests/pg.py`, Debian's PostgreSQL), else PostgreSQL is left out and the reason said.
`--code DIR` runs another checkout's `csm` (a before/after comparison). Last, the projection
of the wall time of a sweep of 10 million accounts on N workers, from the measured per-account
costs, with its assumptions."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.procs import descendants

AS_OF = "2026-11-20"
BASE = 200
PROJECTED = 10_000_000
RUNNER = (
    "import json, resource, sys; from agent.interfaces.cli import main; "
    "before = resource.getrusage(resource.RUSAGE_SELF); code = main(sys.argv[1:]); "
    "after = resource.getrusage(resource.RUSAGE_SELF); "
    "print('BENCH ' + json.dumps({'code': code, 'cpu': after.ru_utime + after.ru_stime "
    "- before.ru_utime - before.ru_stime, 'rss_kb': after.ru_maxrss}), file=sys.stderr)"
)
SWEPT = re.compile(r"swept (\d+) accounts .* in ([\d.]+)s")


class Peaks:
    """The peak RSS (VmHWM) of every process below a pid, sampled from /proc while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peaks, self.names = pid, {}, {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(0.5):
            for pid in descendants(self.pid):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                found = re.search(r"VmHWM:\s+(\d+) kB", status)
                if found:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), int(found.group(1)))
                    self.names[pid] = cmd.decode(errors="replace")

    def stop(self) -> tuple[int, int]:
        """(largest worker, largest other process) in KB."""
        self.done.set()
        self.thread.join()
        workers = [kb for pid, kb in self.peaks.items() if _is_worker(self.names[pid])]
        others = [kb for pid, kb in self.peaks.items() if not _is_worker(self.names[pid])]
        return max(workers, default=0), max(others, default=0)


def _is_worker(cmdline: str) -> bool:
    return "multiprocessing" in cmdline or "ray::" in cmdline or "default_worker" in cmdline


def sweep(portfolio: Path, db: str, out: Path, executor: str, workers: int, code: Path,
          env: dict[str, str]) -> dict[str, float]:
    """One `csm sweep` in its own process: its figures."""
    argv = [sys.executable, "-c", RUNNER, "sweep", str(portfolio), "--as-of", AS_OF, "--db", db,
            "--out", str(out), "--workers", str(workers)]
    if executor != "local":  # the default (and a checkout from before the executors)
        argv += ["--executor", executor]
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=code, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    peaks = Peaks(child.pid)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    worker_kb, other_kb = peaks.stop()
    bench = next((json.loads(line[6:]) for line in stderr.splitlines()
                  if line.startswith("BENCH ")), None)
    done = SWEPT.search(stdout)
    if bench is None or bench["code"] not in (0, 2) or done is None:
        raise SystemExit(f"the sweep failed ({' '.join(argv[3:])}):\n{stderr[-3000:]}")
    reports = [p for p in out.glob("*.md") if p.name != "portfolio.md"]
    return {"accounts": int(done.group(1)), "seconds": float(done.group(2)), "wall": wall,
            "cpu": bench["cpu"], "main_kb": bench["rss_kb"], "worker_kb": worker_kb,
            "other_kb": other_kb, "report_bytes": sum(p.stat().st_size for p in reports)}


def store_bytes(db: str) -> int:
    """The store's size on disk: the SQLite file (and its journal), or a PostgreSQL database."""
    if db.startswith("postgres"):
        import psycopg

        with psycopg.connect(db) as connection:
            return int(connection.execute(
                "SELECT pg_database_size(current_database())").fetchone()[0])
    return sum(p.stat().st_size for p in Path(db).parent.glob(Path(db).name + "*"))


def sample(folder: Path, accounts: int, code: Path, env: dict[str, str]) -> Path:
    path = folder / f"p{accounts}.jsonl"
    subprocess.run([sys.executable, "-m", "agent.interfaces.cli", "sample", "--accounts",
                    str(accounts), "--seed", "7", "--as-of", AS_OF, "--out", str(path)],
                   cwd=code, env=env, check=True, capture_output=True)
    return path


def fresh_db(store: str, folder: Path, name: str, postgres: str | None, server: object) -> str:
    """A new empty store for one sweep: a SQLite file, or a new database on the server."""
    if store == "sqlite":
        return str(folder / f"{name}.sqlite3")
    if server is not None:
        return server.new_database()  # type: ignore[attr-defined]
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--large", action="store_true", help="add 100,000 accounts (long)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executors", nargs="+", default=["local", "ray"])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to measure too")
    parser.add_argument("--code", type=Path, default=Path.cwd(), help="the checkout to run")
    args = parser.parse_args()
    sizes = args.sizes + ([100_000] if args.large else [])
    console = Console(width=180)
    server = None
    if not args.postgres and "postgres" in args.stores:
        try:
            from tests import pg

            server = pg.start()
        except Exception as error:  # noqa: BLE001 - said, and the SQLite rows still run
            console.print(f"PostgreSQL: not measured ({error})")
    stores = ["sqlite"] * ("sqlite" in args.stores) + (
        ["postgres"] if args.postgres or server is not None else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="csm-scale-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "CSM_DATA_DIR": str(folder / "data"), "PYTHONUNBUFFERED": "1"}
        env.pop("RAY_ADDRESS", None)
        subprocess.run([sys.executable, "-m", "agent.interfaces.cli", "kb", "index"], cwd=args.code,
                       env=env, check=True, capture_output=True)  # built once, before any timing
        base = sample(folder, BASE, args.code, env)
        # the playbook's questions answered once for this index (kept beside it), before timing
        sweep(base, fresh_db("sqlite", folder, "warm-up", None, None), folder / "warm-up",
              "local", 1, args.code, env)
        for size in sizes:
            portfolio = sample(folder, size, args.code, env)
            for store in stores:
                for executor in args.executors:
                    name = f"{store}_{executor}_{size}"
                    small = sweep(base, fresh_db(store, folder, name + "_base", args.postgres,
                                                   server),
                                  folder / (name + "_base"), executor, args.workers, args.code,
                                  env)
                    db = fresh_db(store, folder, name, args.postgres, server)
                    big = sweep(portfolio, db, folder / name, executor, args.workers,
                                args.code, env)
                    main_ms = (big["cpu"] - small["cpu"]) / (size - BASE) * 1000
                    rows.append({"size": size, "store": store, "executor": executor, **big,
                                 "main_ms": main_ms, "store_bytes": store_bytes(db) / size})
                    console.print(f"{name}: {json.dumps(rows[-1])}")
    table = Table(title=f"csm sweep, {args.workers} workers, every report written")
    for column in ("accounts", "store", "executor", "accounts/s", "main ms/acct",
                   "peak RSS main / worker / other MB", "store B/acct", "report B/acct"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(f"{r['size']:,}", r["store"], r["executor"],
                      f"{r['accounts'] / r['seconds']:.1f}", f"{r['main_ms']:.3f}",
                      f"{r['main_kb'] / 1024:.0f} / {r['worker_kb'] / 1024:.0f} / "
                      f"{r['other_kb'] / 1024:.0f}",
                      f"{r['store_bytes']:.0f}", f"{r['report_bytes'] / r['size']:.0f}")
    if server is not None:
        server.stop()
    console.print(table)
    projection(console, rows, args.workers)


def projection(console: Console, rows: list[dict], workers: int) -> None:
    """The wall time of a 10-million-account sweep on N workers, per store and executor, from
    the largest measured sweep of each."""
    largest: dict[tuple[str, str], dict] = {}
    for r in rows:
        largest[(r["store"], r["executor"])] = r
    counts = (2, 8, 32, 128, 512)
    table = Table(title=f"projected wall time of a sweep of {PROJECTED:,} accounts")
    table.add_column("store / executor")
    table.add_column("worker s/acct", justify="right")
    table.add_column("main ms/acct", justify="right")
    for n in counts:
        table.add_column(f"{n} workers", justify="right")
    for (store, executor), r in largest.items():
        per_account = workers * r["seconds"] / r["accounts"]  # worker-seconds per account
        main_s = max(r["main_ms"], 0) / 1000
        cells = []
        for n in counts:
            seconds = PROJECTED * max(per_account / n, main_s)
            cells.append(f"{seconds / 3600:.1f} h" + (" (main)" if main_s > per_account / n
                                                      else ""))
        table.add_row(f"{store} / {executor}", f"{per_account:.4f}", f"{r['main_ms']:.3f}",
                      *cells)
    console.print(table)
    console.print(
        "Assumptions: every worker is busy all the time, so the worker time per account is "
        "workers x sweep seconds / accounts as measured here (one core per worker, this "
        "machine's speed); the work scales linearly with N until the main process, which reads, "
        "batches and stores every account on one core, is the limit (marked '(main)'); the main "
        "process's cost per account stays as measured, with the store on local disk (a remote "
        "database adds its round trips per batch); no model calls (prose is deterministic); "
        "start-up (Ray, the knowledge index, the workers' set-up) and the portfolio report are "
        "left out; the report files are written by the main process on Ray (on the local "
        "executor by the workers)."
    )


if __name__ == "__main__":
    main()
