"""Throughput and memory of `csm score` and `csm sweep` on generated portfolios.

    python -m benchmarks.sweep_bench [--sizes 1000 10000 100000] [--workers 2]

For each size: `csm sample` writes a JSONL portfolio, then `csm score --format csv`, `csm sweep`
with every account's report written, and (above 10,000 accounts) `csm sweep --no-reports`
run as separate processes; each row gives wall time, accounts per second and the peak
resident memory of the largest process. Last, the share of an assessment's time that is
LangGraph overhead rather than the tools and the writer, measured in this process."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

AS_OF = "2026-11-20"
PEAK = (
    "import resource, subprocess, sys; "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of a command and its worker processes."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *command], env=env, text=True, capture_output=True, check=True
    )
    seconds = time.perf_counter() - started
    code, peak = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(command)} failed: exit {code}\n{done.stderr[-2000:]}")
    return seconds, int(peak)


def graph_overhead(accounts: int = 500) -> tuple[float, float, float]:
    """(ms per account through the graph, share of LangGraph overhead, share of retrieval)."""
    import json

    from agent.assessment.context import AssessmentContext
    from agent.assessment.graph import build_graph
    from agent.assessment.prose import ProseWriter
    from agent.assessment.writer import write_reports
    from tools.planning.forecast import forecast_account
    from tools.planning.proposal import build_expansion_proposal
    from tools.planning.risk_plan import build_risk_plan
    from tools.planning.stakeholders import map_stakeholders
    from tools.planning.success_plan import build_success_plan
    from tools.playbook import load_playbook
    from tools.portfolio.account import Account
    from tools.portfolio.sample import generate_accounts
    from tools.scoring.score import score_account

    day = date.fromisoformat(AS_OF)
    playbook = load_playbook()
    batch = [
        Account.model_validate(json.loads(json.dumps(a)))
        for a in generate_accounts(accounts, seed=11, as_of=day)
    ]
    graph = build_graph(checkpointer=None)
    context = AssessmentContext(as_of=day, model="none")
    for account in batch[:50]:  # warm the knowledge cache, as a long sweep does
        graph.invoke({"account": account}, context=context)
    started = time.perf_counter()
    for account in batch:
        graph.invoke({"account": account}, context=context)
    through_graph = time.perf_counter() - started
    offline = AssessmentContext(as_of=day, model="none", search=lambda *a, **k: [])
    started = time.perf_counter()
    for account in batch:
        graph.invoke({"account": account}, context=offline)
    no_retrieval = time.perf_counter() - started
    started = time.perf_counter()
    for account in batch:
        score = score_account(account, playbook, day)
        people = map_stakeholders(account, playbook, day)
        plan = build_success_plan(account, score, people, playbook, day)
        state = {
            "account": account,
            "score": score,
            "stakeholders": people,
            "success_plan": plan,
            "citations": [],
            "expansion": build_expansion_proposal(
                account, score, playbook, day, next_qbr=plan.qbr.date
            ),
            "risk_plan": build_risk_plan(account, score, playbook, day),
            "forecast": forecast_account(account, score, playbook),
        }
        write_reports(state, playbook, day, "en", ProseWriter())
    direct = time.perf_counter() - started
    overhead = max(0.0, no_retrieval - direct) / through_graph
    retrieval = max(0.0, through_graph - no_retrieval) / through_graph
    return through_graph / accounts * 1000, overhead, retrieval


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sweep_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--overhead-only", action="store_true", help="only measure the share of LangGraph overhead"
    )
    args = parser.parse_args(argv)
    if args.overhead_only:
        args.sizes = []
    csm = shutil.which("csm") or str(Path(sys.executable).with_name("csm"))
    table = Table(
        title=f"csm on generated portfolios ({os.cpu_count()} cores, "
        f"sweep with {args.workers} workers)"
    )
    for column in ("accounts", "command", "seconds", "accounts/s", "peak memory MB"):
        table.add_column(column, justify="left" if column == "command" else "right")
    with tempfile.TemporaryDirectory(prefix="csm-bench-") as tmp:
        env = {**os.environ, "CSM_DATA_DIR": str(Path(tmp) / "data")}
        subprocess.run([csm, "kb", "index"], env=env, check=True, capture_output=True)
        for size in args.sizes:
            portfolio = Path(tmp) / f"p{size}.jsonl"
            subprocess.run(
                [
                    csm,
                    "sample",
                    "--accounts",
                    str(size),
                    "--seed",
                    "7",
                    "--as-of",
                    AS_OF,
                    "--out",
                    str(portfolio),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            runs = [("score --format csv", [csm, "score", str(portfolio), "--format", "csv"])]
            sweep = [
                csm,
                "sweep",
                str(portfolio),
                "--workers",
                str(args.workers),
                "--db",
                str(Path(tmp) / f"s{size}.sqlite3"),
            ]
            if size <= 10000:
                runs.append(
                    ("sweep, every report written", [*sweep, "--out", str(Path(tmp) / f"r{size}")])
                )
            else:
                runs.append(("sweep --no-reports", [*sweep, "--no-reports"]))
            for label, command in runs:
                seconds, peak = measure(command, env)
                table.add_row(
                    f"{size:,}",
                    label,
                    f"{seconds:.1f}",
                    f"{size / seconds:,.0f}",
                    f"{peak / 1024:,.0f}",
                )
                Console().print(f"  {size:,} {label}: {seconds:.1f}s", style="dim")
    per_account, overhead, retrieval = graph_overhead()
    Console().print(table)
    Console().print(
        f"One assessment through the graph: {per_account:.2f} ms per account: "
        f"LangGraph overhead {overhead:.0%}, knowledge retrieval {retrieval:.0%}, the "
        f"tools and the writer {1 - overhead - retrieval:.0%} (500 generated accounts, "
        "one process, no model)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
