"""How close `csm` runs to the floor, goal by goal (issue 15): scoring against parsing, sweeps,
the assessment graph's own cost, start-up and knowledge search, side by side with the goals.

    python -m benchmarks.perf [--sizes 20000 100000] [--sweep-size 10000] [--repeat 3]
                              [--baseline DIR] [--skip-score] [--skip-sweep] [--skip-kb]
                              [--instructions]

Every command runs as a child process in a fresh data directory; its cost is the CPU seconds
(user + system) of that process and its children, from `resource.getrusage`, so that other jobs
on a shared machine distort it less than wall time; each figure is the median of `--repeat` runs.
`--baseline DIR` runs every command a second time on the code of another checkout (a worktree
of an older commit: PYTHONPATH=DIR) and shows both figures side by side.

- Scoring: `csm sample --accounts N` writes a JSONL portfolio; the floors are a Python process
  that only parses it (`json.loads` per line) and one that parses and writes it back
  (`json.dumps` per account); `csm score --format json|csv|table` (to /dev/null) is compared
  with the parse floor (the ratio column), with its peak memory. They run in rounds, each
  process once per round, and a ratio is the median of the rounds' ratios: this machine's speed
  drifts by 10-30% over minutes, which medians taken one command after another mistake for
  differences between the commands. `--instructions` also counts each stage's instructions and
  first-level data-cache misses per account under valgrind's cachegrind, figures that do not
  drift (500 and 1,500 accounts; the difference over 1,000).
- Sweep: `csm sweep` of `--sweep-size` generated accounts with every report, in one process
  (`--workers 1`, so that all its CPU is counted), and of the first 40 of them: the difference
  over the difference in accounts is the CPU per account, the rest the start-up.
- Graph: in this process, the assessment of 300 generated accounts through the seven step
  functions called in turn, through the graph over batches of 100 accounts (as a sweep's
  workers run it), one account a run (no checkpointer; an in-memory checkpointer, as `csm
  assess`), and a graph of the same state with seven steps that do nothing (LangGraph's own
  floor, per run): CPU ms per account, the best of five passes.
- Start-up: `csm --help` and `csm score` on the bundled sample (wall and CPU seconds), and the
  first answer of `csm kb search` in a new process (the index already built, and the embedding
  model's cache written by that build: the figure of every run after a user's first).
- Knowledge: `csm kb index` from scratch (CPU seconds), then the 160 questions of the retrieval
  eval (each in its own language and across) asked in this process after one warm-up query:
  latency p50 / p95.

The machine's core count and load averages (before and after) are printed with the tables."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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
# `csm score` cut short after each of its stages, on its own functions (the ladder of costs)
STAGE = (
    "import os, sys\n"
    "from agent.interfaces.cli import MATH_THREADS\n"
    "for name, value in MATH_THREADS.items():\n"
    "    os.environ.setdefault(name, value)\n"
    "from datetime import date\n"
    "from pathlib import Path\n"
    "from agent.interfaces.commands.score import _active, _scores, quiet_collector\n"
    "from agent.interfaces.render import only_scores\n"
    "from tools.playbook import load_playbook\n"
    "from tools.portfolio.account import Account\n"
    "from tools.portfolio.plausibility import review\n"
    "from tools.portfolio.readers import stream_accounts\n"
    "stage = sys.argv[2]\n"
    "playbook = load_playbook(None)\n"
    "quiet_collector()\n"
    "file_as_of, rows = stream_accounts(Path(sys.argv[1]), [])\n"
    "as_of = file_as_of or date.today()\n"
    "if stage == 'start':\n"
    "    pass\n"
    "elif stage == 'read':\n"
    "    for row in rows:\n"
    "        pass\n"
    "elif stage == 'review':\n"
    "    for row in rows:\n"
    "        if isinstance(row, Account):\n"
    "            review(row, as_of)\n"
    "else:\n"
    "    full = stage == 'explain'\n"
    "    for score in only_scores(_scores(_active(rows, []), playbook, as_of, [], full), []):\n"
    "        pass\n"
)
STAGES = {
    "start": "start-up: imports, the playbook (no row read)",
    "read": "read and validate every row (the accounts dropped)",
    "review": "... and review each account's plausibility",
    "summaries": "... and score it as a table or CSV row shows it (no output)",
    "explain": "... or with every explanation, as JSON shows it (no output)",
}
CSM = [sys.executable, "-m", "agent.interfaces.cli"]
QUESTION = "what do we do when a client stops logging in?"
AS_OF = "2026-11-20"
SMALL = 40  # the sweep that measures start-up


class Run:
    """One child process: exit code, wall and CPU seconds, peak resident memory (MB)."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        done = subprocess.run([sys.executable, "-c", CHILD, *command], env=env, text=True,
                              capture_output=True, check=True, cwd=cwd)
        code, wall, cpu, peak = done.stdout.split()
        if code not in ("0", "2"):
            raise SystemExit(f"{' '.join(command)} failed: exit {code}")
        self.wall, self.cpu, self.peak_mb = float(wall), float(cpu), int(peak) / 1024


class Bench:
    """Where the commands run: the data directory, the working folder (never a checkout: `-m`
    would put it first on the path) and, for a baseline, the other checkout."""

    def __init__(self, folder: Path, repeat: int, code: str | None = None) -> None:
        self.folder, self.repeat = folder, repeat
        self.label = "before" if code else "this checkout"
        self.env = {**os.environ, "CSM_DATA_DIR": str(folder / "data"),
                    "CSM_KNOWLEDGE_DIR": str(folder / "knowledge-index")}
        if code:
            self.env["PYTHONPATH"] = code

    def median(self, command: list[str], env: dict[str, str] | None = None
               ) -> tuple[float, float, float]:
        """(median wall, median CPU, largest peak MB) over `repeat` runs."""
        runs = [Run(command, env or self.env, self.folder) for _ in range(self.repeat)]
        return (statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs),
                max(r.peak_mb for r in runs))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min {five:.1f})"


def portfolio(bench: Bench, size: int) -> Path:
    """A generated JSONL portfolio of `size` accounts (made once, by this checkout)."""
    path = bench.folder / f"accounts-{size}.jsonl"
    if not path.exists():
        subprocess.run([*CSM, "sample", "--accounts", str(size), "--seed", "7", "--as-of", AS_OF,
                        "--out", str(path)], env=bench.env, check=True, capture_output=True,
                       cwd=bench.folder)
    return path


def _python(code: str, *argv: str) -> list[str]:
    """A Python process running `code` (the floors, the stages) with `argv`."""
    return [sys.executable, "-c", code, *argv]


def _score(path: str, fmt: str) -> list[str]:
    return [*CSM, "score", path, "--format", fmt]


def scoring(benches: list[Bench], size: int, figures: dict[str, Any]) -> list[list[str]]:
    """The floors and the three formats of `csm score` on N generated accounts, run in rounds
    (every process once per round, in turn) so that a machine whose speed drifts over minutes
    slows the floor and the commands alike; each ratio is the median of the rounds' ratios."""
    path = portfolio(benches[0], size)
    floors = {"parse (json.loads per line)": PARSE, "parse + json.dumps": PARSE_DUMP}
    commands = {name: (benches[0], _python(code, str(path))) for name, code in floors.items()}
    for fmt in ("json", "csv", "table"):
        for bench in benches:
            commands[f"csm score --format {fmt}|{bench.label}"] = (bench, _score(str(path), fmt))
    for stage in STAGES:
        commands[stage] = (benches[-1], _python(STAGE, str(path), stage))
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(benches[0].repeat):
        for name, (bench, command) in commands.items():
            runs[name].append(Run(command, bench.env, bench.folder))
    parse = runs["parse (json.loads per line)"]

    def figures_of(name: str) -> tuple[float, float, float]:
        """Median CPU, median ratio to the same round's parse, largest peak."""
        cpu = statistics.median(r.cpu for r in runs[name])
        ratio = statistics.median(r.cpu / f.cpu for r, f in zip(runs[name], parse, strict=True))
        return cpu, ratio, max(r.peak_mb for r in runs[name])

    rows = []
    for name in floors:
        cpu, ratio, peak = figures_of(name)
        rows.append([f"{size:,}", name, f"{cpu:.2f}", f"{ratio:.1f}", f"{size / cpu:,.0f}",
                     f"{peak:.0f}"])
    for fmt in ("json", "csv", "table"):
        measured = [figures_of(f"csm score --format {fmt}|{b.label}") for b in benches]
        cpu, ratio, peak = measured[-1]
        figures[f"score {fmt} {size}"] = ratio
        rows.append([f"{size:,}", f"csm score --format {fmt}",
                     " / ".join(f"{m[0]:.2f}" for m in measured),
                     " / ".join(f"{m[1]:.1f}" for m in measured),
                     f"{size / cpu:,.0f}", f"{peak:.0f}"])
    start = figures_of("start")[0]
    for stage, what in STAGES.items():
        cpu, ratio, _ = figures_of(stage)
        each = "" if stage == "start" else f"{(cpu - start) * 1e6 / size:.1f}"
        figures.setdefault("stages", []).append([f"{size:,}", what, f"{cpu:.2f}", f"{ratio:.1f}",
                                                 each])
    return rows


def instructions(bench: Bench, sizes: tuple[int, int] = (500, 1_500)) -> list[list[str]]:
    """Instructions and first-level data-cache misses per account of the parse floor, each
    stage and each format, counted by cachegrind (valgrind's simulator of this processor: the
    same count on every run, where CPU time drifts with the machine): the difference between
    two portfolio sizes over the difference in accounts, so start-up drops out."""
    paths = [str(portfolio(bench, n)) for n in sizes]
    processes: dict[str, Callable[[str], list[str]]] = {
        "parse (json.loads per line)": lambda p: _python(PARSE, p),
        **{what: (lambda p, s=stage: _python(STAGE, p, s))
           for stage, what in STAGES.items() if stage != "start"},
        **{f"csm score --format {fmt}": (lambda p, f=fmt: _score(p, f))
           for fmt in ("csv", "table", "json")},
    }
    # the caches a first run writes (the playbook's) are written before anything is counted
    subprocess.run(_score(paths[0], "csv"), env=bench.env, check=True, cwd=bench.folder,
                   capture_output=True)
    counted: dict[str, tuple[float, float]] = {}
    for name, command in processes.items():
        counts = [_cachegrind(command(path), bench) for path in paths]
        accounts = sizes[1] - sizes[0]
        counted[name] = ((counts[1][0] - counts[0][0]) / accounts,
                         (counts[1][1] - counts[0][1]) / accounts)
    floor = counted["parse (json.loads per line)"]
    return [[name, f"{ir / 1000:,.0f}k", f"{ir / floor[0]:.1f}", f"{miss:,.0f}",
             f"{miss / floor[1]:.1f}"] for name, (ir, miss) in counted.items()]


def _cachegrind(command: list[str], bench: Bench) -> tuple[int, int]:
    """(instructions, first-level data-cache misses) of one process under cachegrind."""
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes",
                           "--cachegrind-out-file=/dev/null", *command], env=bench.env,
                          cwd=bench.folder, capture_output=True, text=True, check=True)
    refs = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    misses = re.search(r"D1\s+misses:\s+([\d,]+)", done.stderr)
    if refs is None or misses is None:
        raise SystemExit(f"cachegrind printed no counts for {' '.join(command)}")
    return int(refs.group(1).replace(",", "")), int(misses.group(1).replace(",", ""))


def sweeping(benches: list[Bench], size: int, figures: dict[str, Any]) -> list[list[str]]:
    """CPU per account and start-up of a one-process sweep with every report."""
    big = portfolio(benches[0], size)
    small = benches[0].folder / f"accounts-{SMALL}.jsonl"
    small.write_text("".join(big.read_text(encoding="utf-8").splitlines(True)[:SMALL]),
                     encoding="utf-8")
    rows = []
    per_account = []
    for bench in benches:
        costs = {}
        for path, n in ((small, SMALL), (big, size)):
            runs = [Run(sweep_command(bench, path), bench.env, bench.folder)
                    for _ in range(bench.repeat)]
            costs[n] = (statistics.median(r.cpu for r in runs), max(r.peak_mb for r in runs))
        each = (costs[size][0] - costs[SMALL][0]) / (size - SMALL)
        per_account.append(each)
        start = costs[SMALL][0] - SMALL * each
        rows.append([bench.label, f"{size:,}", f"{costs[size][0]:.1f}", f"{each * 1000:.2f}",
                     f"{start:.2f}", f"{costs[size][1]:.0f}"])
    figures["sweep ms"] = per_account[-1] * 1000
    if len(per_account) > 1:
        figures["sweep ratio"] = per_account[-1] / per_account[0]
    return rows


def sweep_command(bench: Bench, path: Path) -> list[str]:
    """`csm sweep` of a portfolio in one process, into a fresh store and reports folder."""
    run = tempfile.mkdtemp(dir=bench.folder, prefix="sweep-")
    return [*CSM, "sweep", str(path), "--as-of", AS_OF, "--workers", "1",
            "--out", f"{run}/out", "--db", f"{run}/store.sqlite3"]


def graph_costs(accounts: int = 300, passes: int = 5) -> dict[str, float]:
    """CPU ms per account: the step functions in turn, the graph without and with an in-memory
    checkpointer, and a graph of the same state whose steps do nothing."""
    from datetime import date

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    from agent.assessment.context import AssessmentContext, RunSettings
    from agent.assessment.graph import (
        NODES,
        STEPS,
        build_batch_graph,
        build_graph,
        checkpoint_serializer,
    )
    from agent.assessment.state import AssessmentInput, AssessmentState, applied, start_item
    from agent.sweeps.sweep import BATCH as SWEEP_BATCH
    from agent.sweeps.sweep import playbook_answers
    from tools.playbook import load_playbook
    from tools.portfolio.account import Account
    from tools.portfolio.sample import generate_accounts

    day = date.fromisoformat(AS_OF)
    batch = [Account.model_validate(json.loads(json.dumps(a)))
             for a in generate_accounts(accounts, seed=11, as_of=day)]
    context = AssessmentContext(as_of=day, model="none",
                                search=playbook_answers(load_playbook(), "en"))

    class Runtime:  # what a step reads of its runtime
        def __init__(self) -> None:
            self.context = context

    def direct(account: Account) -> None:
        state = start_item(account)
        for node in NODES:
            state = applied(state, node(state, Runtime()))

    skeleton = StateGraph(AssessmentState, context_schema=RunSettings,
                          input_schema=AssessmentInput, output_schema=AssessmentState)
    for step in STEPS:
        skeleton.add_node(step, lambda state, step=step: {"steps": [step]})
    for before, after in zip((START, *STEPS), (*STEPS, END), strict=True):
        skeleton.add_edge(before, after)
    nothing = skeleton.compile(checkpointer=None)
    plain, saved = build_graph(checkpointer=None), build_graph(
        checkpointer=InMemorySaver(serde=checkpoint_serializer()))
    batched = build_batch_graph()

    def each(run: Callable[[Account, int], Any]) -> Callable[[list[Account], int], Any]:
        return lambda accounts, first: [run(a, first + i) for i, a in enumerate(accounts)]

    def in_batches(accounts: list[Account], _: int) -> None:
        for start in range(0, len(accounts), SWEEP_BATCH):
            items = [start_item(a) for a in accounts[start:start + SWEEP_BATCH]]
            batched.invoke({"items": items}, context=context)

    ways: dict[str, Callable[[list[Account], int], Any]] = {
        "step functions called in turn": each(lambda a, i: direct(a)),
        f"graph over batches of {SWEEP_BATCH} (sweep workers)": in_batches,
        "graph, no checkpointer (one account a run)":
            each(lambda a, i: plain.invoke({"account": a}, context=context)),
        "graph, in-memory checkpointer (csm assess)":
            each(lambda a, i: saved.invoke({"account": a}, context=context,
                                           config={"configurable": {"thread_id": str(i)}})),
        "graph of the same state, steps doing nothing":
            each(lambda a, i: nothing.invoke({"account_id": a.id}, context=context)),
    }
    best: dict[str, float] = {}
    for label, way in ways.items():
        way(batch[:30], -1000)  # warm caches
        times = []
        for _ in range(passes):
            started = time.process_time()
            way(batch, 0)
            times.append((time.process_time() - started) * 1000 / len(batch))
        best[label] = min(times)
    return best


def startup(benches: list[Bench], with_kb: bool, figures: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, label, command in [
        ("help", "csm --help", [*CSM, "--help"]),
        ("score", "csm score (bundled sample, table)", [*CSM, "score"]),
    ] + ([("kb", "csm kb search, first answer (index built)", [*CSM, "kb", "search", QUESTION])]
         if with_kb else []):
        measured = [b.median(command) for b in benches]
        figures[f"start {key}"] = measured[-1]
        rows.append([label, " / ".join(f"{m[0]:.2f}" for m in measured),
                     " / ".join(f"{m[1]:.2f}" for m in measured)])
    return rows


def knowledge(bench: Bench, figures: dict[str, Any]) -> list[list[str]]:
    """`csm kb index` from scratch, then the query latency in this process."""
    builds = []
    for _ in range(bench.repeat):
        with tempfile.TemporaryDirectory(prefix="csm-perf-kb-") as fresh:
            builds.append(Run([*CSM, "kb", "index"], {**bench.env, "CSM_KNOWLEDGE_DIR": fresh},
                              bench.folder))
    wall = statistics.median(b.wall for b in builds)
    cpu = statistics.median(b.cpu for b in builds)
    p50, p95, cpu_ms = query_latency(Path(bench.env["CSM_KNOWLEDGE_DIR"]))
    figures.update({"kb index": cpu, "kb p50": p50, "kb p95": p95})
    return [["csm kb index, from scratch", f"{wall:.1f} s wall, {cpu:.1f} s CPU"],
            ["query (160 questions, k=10, in process)",
             f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, {cpu_ms:.1f} ms CPU each"]]


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


def goals(figures: dict[str, Any], sizes: list[int]) -> list[list[str]]:
    """Each goal of issue 15 with its target and the figure measured here."""
    rows = []

    def add(goal: str, target: str, value: float | None, shown: str, limit: float) -> None:
        if value is not None:
            rows.append([goal, target, shown, "yes" if value <= limit else "no"])

    for size in sizes:
        for fmt, limit in (("json", 5.0), ("csv", 3.0), ("table", 3.0)):
            ratio = figures.get(f"score {fmt} {size}")
            add(f"csm score --format {fmt}, {size:,} accounts", f"<= {limit:.0f}x parse", ratio,
                f"{ratio:.1f}x" if ratio else "", limit)
    ratio = figures.get("sweep ratio")
    if ratio is not None:
        add("sweep CPU per account", "<= 0.5x before", ratio, f"{ratio:.2f}x "
            f"({figures['sweep ms']:.2f} ms)", 0.5)
    elif "sweep ms" in figures:
        rows.append(["sweep CPU per account", "<= 0.5x before", f"{figures['sweep ms']:.2f} ms",
                     "(no --baseline)"])
    for key, goal, limit in (("kb p50", "knowledge query p50", 5.0),
                             ("kb p95", "knowledge query p95", 10.0)):
        value = figures.get(key)
        add(goal, f"<= {limit:.0f} ms", value, f"{value:.1f} ms" if value else "", limit)
    value = figures.get("kb index")
    add("csm kb index from scratch", "<= 6 s CPU", value, f"{value:.1f} s CPU" if value else "",
        6.0)
    for key, goal, limit in (("start help", "csm --help", 0.15),
                             ("start score", "csm score, bundled sample", 0.2),
                             ("start kb", "csm kb search, first answer", 1.0)):
        found = figures.get(key)
        if found is not None:
            wall, cpu, _ = found
            add(goal, f"<= {limit} s wall, idle (judged by CPU here)", cpu,
                f"{wall:.2f} s wall, {cpu:.2f} s CPU", limit)
    return rows


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
    parser.add_argument("--sweep-size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="another checkout whose code runs every command too (before)")
    parser.add_argument("--skip-kb", action="store_true", help="leave out the knowledge base")
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the sweep")
    parser.add_argument("--skip-score", action="store_true", help="leave out `csm score`")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions and cache misses per account of each "
                        "scoring stage under cachegrind (needs valgrind; some minutes)")
    args = parser.parse_args(argv)
    write = sys.stdout.write
    write(f"{os.cpu_count()} cores; load average at the start {load()}; "
          f"CSM_EMBED_THREADS={os.environ.get('CSM_EMBED_THREADS', 'default')}\n")
    both = " (before / this checkout)" if args.baseline else ""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="csm-perf-") as tmp:
        folder = Path(tmp)
        benches = [Bench(folder, args.repeat)]
        if args.baseline:
            benches.insert(0, Bench(folder, args.repeat, str(args.baseline.resolve())))
        subprocess.run([*CSM, "kb", "index"], env=benches[-1].env, check=True,
                       capture_output=True, cwd=folder)
        os.environ.update({k: benches[-1].env[k] for k in ("CSM_DATA_DIR", "CSM_KNOWLEDGE_DIR")})
        if not args.skip_score:
            rows = [row for size in args.sizes for row in scoring(benches, size, figures)]
            table(f"Scoring (CPU seconds{both}, median; x parse: median of the rounds' ratios)",
                  ["accounts", "process", "CPU s", "x parse", "accounts/s", "peak MB"], rows,
                  write)
            table("Where `csm score` spends it: its own functions stopped after each stage, in "
                  "the same rounds (CPU, median)",
                  ["accounts", "stage", "CPU s", "x parse", "CPU us per account after start-up"],
                  figures["stages"], write)
            if args.instructions:
                if shutil.which("valgrind") is None:
                    write("\n(--instructions: valgrind is not installed; apt-get install "
                          "valgrind)\n")
                else:
                    table("The same, counted by cachegrind (per account, 500 to 1,500 "
                          "accounts)", ["process", "instructions", "x parse",
                                        "L1 data misses", "x parse"],
                          instructions(benches[-1]), write)
        if not args.skip_sweep:
            table("Sweep, every report, one process (CPU, median)",
                  ["code", "accounts", "CPU s", "CPU ms per account", "start-up CPU s",
                   "peak MB"], sweeping(benches, args.sweep_size, figures), write)
            costs = graph_costs()
            floor = costs["step functions called in turn"]
            table("Assessment graph, in this process (CPU ms per account, best of 5)",
                  ["how the seven steps run", "ms", "x steps alone"],
                  [[k, f"{v:.2f}", f"{v / floor:.2f}"] for k, v in costs.items()], write)
        table(f"Start-up (median{both})", ["command", "wall s", "CPU s"],
              startup(benches, not args.skip_kb, figures), write)
        if not args.skip_kb:
            table("Knowledge base (median)", ["what", "figure"],
                  knowledge(benches[-1], figures), write)
        table("Goals (issue 15)", ["goal", "target", "measured", "met"],
              goals(figures, args.sizes), write)
    write(f"\nload average at the end {load()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
