"""How close `csm` runs to the floor: scoring against parsing, start-up, knowledge search.

    python -m benchmarks.perf [--sizes 20000 100000] [--repeat 3] [--skip-kb]

Every command runs as a child process in a fresh data directory; its cost is the CPU seconds
(user + system) of that process and its children, from `resource.getrusage`, so that other jobs
on a shared machine distort it less than wall time; each figure is the median of `--repeat` runs.

- Scoring: `csm sample --accounts N` writes a JSONL portfolio; the floors are a Python process
  that only parses it (`json.loads` per line) and one that parses and writes it back
  (`json.dumps` per account); `csm score --format json|csv|table` (to /dev/null) is compared
  with the parse floor (the ratio column), with its peak memory.
- Start-up: `csm --help` and `csm score` on the bundled sample (wall and CPU seconds), and the
  first answer of `csm kb search` in a new process (the index already built).
- Knowledge: `csm kb index` from scratch (CPU seconds), then the 160 questions of the retrieval
  eval (each in its own language and across) asked in this process after one warm-up query:
  latency p50 / p95.

The machine's core count and load averages (before and after) are printed with the table.
Run the script file itself (`python benchmarks/perf.py`) with PYTHONPATH pointing at another
checkout to measure that checkout's code the same way."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

CHILD = (
    "import resource, subprocess, sys, time; "
    "started = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "wall = time.perf_counter() - started; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(r.returncode, wall, u.ru_utime + u.ru_stime, u.ru_maxrss)"
)
PARSE = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as handle:\n"
    "    for line in handle:\n"
    "        json.loads(line)\n"
)
PARSE_DUMP = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as handle:\n"
    "    for line in handle:\n"
    "        json.dumps(json.loads(line))\n"
)
CSM = [sys.executable, "-m", "agent.interfaces.cli"]
QUESTION = "what do we do when a client stops logging in?"


class Run:
    """One child process: exit code, wall and CPU seconds, peak resident memory (MB)."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        done = subprocess.run([sys.executable, "-c", CHILD, *command], env=env, text=True,
                              capture_output=True, check=True)
        code, wall, cpu, peak = done.stdout.split()
        if code not in ("0", "2"):
            raise SystemExit(f"{' '.join(command)} failed: exit {code}")
        self.wall, self.cpu, self.peak_mb = float(wall), float(cpu), int(peak) / 1024


def median_run(command: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, float]:
    """(median wall, median CPU, largest peak MB) over `repeat` runs."""
    runs = [Run(command, env) for _ in range(repeat)]
    return (statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs),
            max(r.peak_mb for r in runs))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min {five:.1f})"


def scoring_rows(size: int, env: dict[str, str], folder: Path, repeat: int) -> list[list[str]]:
    """The floors and the three formats of `csm score` on N generated accounts."""
    portfolio = folder / f"accounts-{size}.jsonl"
    subprocess.run([*CSM, "sample", "--accounts", str(size), "--out", str(portfolio)], env=env,
                   check=True, capture_output=True)
    rows = []
    _, floor, floor_peak = median_run([sys.executable, "-c", PARSE, str(portfolio)], env, repeat)
    rows.append([f"{size:,}", "parse (json.loads per line)", f"{floor:.2f}", "1.0",
                 f"{size / floor:,.0f}", f"{floor_peak:.0f}"])
    _, dump, dump_peak = median_run(
        [sys.executable, "-c", PARSE_DUMP, str(portfolio)], env, repeat)
    rows.append([f"{size:,}", "parse + json.dumps", f"{dump:.2f}", f"{dump / floor:.1f}",
                 f"{size / dump:,.0f}", f"{dump_peak:.0f}"])
    for fmt in ("json", "csv", "table"):
        _, cpu, peak = median_run([*CSM, "score", str(portfolio), "--format", fmt], env, repeat)
        rows.append([f"{size:,}", f"csm score --format {fmt}", f"{cpu:.2f}", f"{cpu / floor:.1f}",
                     f"{size / cpu:,.0f}", f"{peak:.0f}"])
    return rows


def startup_rows(env: dict[str, str], repeat: int, with_kb: bool) -> list[list[str]]:
    rows = []
    for label, command in [
        ("csm --help", [*CSM, "--help"]),
        ("csm score (bundled sample, table)", [*CSM, "score"]),
    ] + ([("csm kb search, first answer (index built)", [*CSM, "kb", "search", QUESTION])]
         if with_kb else []):
        wall, cpu, _ = median_run(command, env, repeat)
        rows.append([label, f"{wall:.2f}", f"{cpu:.2f}"])
    return rows


def knowledge_rows(env: dict[str, str], repeat: int) -> list[list[str]]:
    """`csm kb index` from scratch, then the query latency in this process."""
    builds = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="csm-perf-kb-") as fresh:
            builds.append(Run([*CSM, "kb", "index"], {**env, "CSM_KNOWLEDGE_DIR": fresh}))
    rows = [["csm kb index, from scratch",
             f"{statistics.median(b.wall for b in builds):.1f} s wall, "
             f"{statistics.median(b.cpu for b in builds):.1f} s CPU"]]
    p50, p95, cpu_ms = query_latency(Path(env["CSM_KNOWLEDGE_DIR"]))
    rows.append(["query (160 questions, k=10, in process)",
                 f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, {cpu_ms:.1f} ms CPU each"])
    return rows


def query_latency(index: Path) -> tuple[float, float, float]:
    import resource

    from evals.retrieval import OTHER, load_questions
    from tools.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(path=index)
    kb.search("warm-up: how is the health score computed?", k=10)
    latencies = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for q in load_questions():
        for lang in (q.lang, OTHER[q.lang]):
            started = time.perf_counter()
            kb.search(q.question, k=10, lang=lang)
            latencies.append((time.perf_counter() - started) * 1000)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered), p95, cpu * 1000 / len(latencies)


def table(
    title: str, header: list[str], rows: list[list[str]], write: Callable[[str], None]
) -> None:
    """A Markdown table (it pastes into the README as it is)."""
    write(f"\n{title}\n\n| " + " | ".join(header) + " |\n|" + " --- |" * len(header) + "\n")
    for row in rows:
        write("| " + " | ".join(row) + " |\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--skip-kb", action="store_true", help="leave out the knowledge base")
    args = parser.parse_args(argv)
    write = sys.stdout.write
    write(f"{os.cpu_count()} cores; load average at the start {load()}; "
          f"CSM_EMBED_THREADS={os.environ.get('CSM_EMBED_THREADS', 'default')}\n")
    with tempfile.TemporaryDirectory(prefix="csm-perf-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "CSM_DATA_DIR": str(folder / "data"),
               "CSM_KNOWLEDGE_DIR": str(folder / "knowledge-index")}
        if not args.skip_kb:
            subprocess.run([*CSM, "kb", "index"], env=env, check=True, capture_output=True)
        rows = [row for size in args.sizes for row in scoring_rows(size, env, folder, args.repeat)]
        table("Scoring (CPU seconds, median; ratio to the parse floor)",
              ["accounts", "process", "CPU s", "x parse", "accounts/s", "peak MB"], rows, write)
        table("Start-up (median)", ["command", "wall s", "CPU s"],
              startup_rows(env, args.repeat, not args.skip_kb), write)
        if not args.skip_kb:
            table("Knowledge base (median)", ["what", "figure"],
                  knowledge_rows(env, args.repeat), write)
    write(f"\nload average at the end {load()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
