"""Wall time of `csm backtest` and `csm learn` on a synthetic history of a given size.

    python -m benchmarks.backtest_bench [--snapshots 10000] [--months 24] [--seed 0]

Writes a synthetic history (tools.learning.synthetic: monthly snapshots, a known churn model)
with at least the number of snapshots asked for, then runs `csm backtest --format json`,
`csm backtest --out DIR` (the reliability plots too) and `csm learn` as separate processes, as a
user would, and prints each wall time with the backtest's test AUC of every model."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.learning.history import write_history
from tools.learning.synthetic import synthetic_history


def history_of(snapshots: int, months: int, seed: int, path: Path) -> int:
    """Write a synthetic history of at least `snapshots` rows; returns its size."""
    accounts = max(10, int(snapshots / months / 1.3))
    while True:
        history = synthetic_history(accounts=accounts, months=months, seed=seed)
        if len(history.rows) >= snapshots:
            return write_history(history.rows, path)
        accounts = int(accounts * snapshots / len(history.rows)) + 1


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and stdout of a command (which must succeed)."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    csm = [sys.executable, "-m", "agent.interfaces.cli"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {**os.environ, "CSM_DATA_DIR": str(root / "data")}
        path = root / "history.jsonl"
        started = time.perf_counter()
        size = history_of(args.snapshots, args.months, args.seed, path)
        print(f"history: {size:,} snapshots over {args.months} months "
              f"({path.stat().st_size / 1e6:.1f} MB) written in "
              f"{time.perf_counter() - started:.1f}s")
        seconds, out = timed([*csm, "backtest", str(path), "--format", "json"], env)
        result = json.loads(out)
        aucs = ", ".join(f"{m} {v['auc']}" for m, v in result["models"].items())
        print(f"csm backtest --format json: {seconds:.1f}s (test AUC: {aucs})")
        seconds, _ = timed([*csm, "backtest", str(path), "--out", str(root / "plots")], env)
        print(f"csm backtest --out DIR (markdown and 4 PNG plots): {seconds:.1f}s")
        seconds, out = timed([*csm, "learn", str(path), "--out", str(root / "model.json")], env)
        print(f"csm learn: {seconds:.1f}s; {out.strip()}")


if __name__ == "__main__":
    main()
