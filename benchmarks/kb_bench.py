"""Knowledge index build and query latency, in a fresh data directory.

    python -m benchmarks.kb_bench [--repeat 3]

Runs `csm kb index` as a separate process in a new data directory (wall and CPU seconds,
CPU of all its threads), then again (incremental: nothing to embed), then asks every question
of the retrieval eval (in its own language and across) in this process and prints the query
latency p50 / p95 (after one warm-up query, which loads the model). `CSM_EMBED_THREADS` and
`CSM_EMBEDDINGS` apply as usual."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

CHILD = (
    "import resource, subprocess, sys; "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(r.returncode, u.ru_utime + u.ru_stime)"
)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of a command run as a child process."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *command], env=env, text=True,
                          capture_output=True, check=True)
    wall = time.perf_counter() - started
    code, cpu = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(command)} failed: exit {code}")
    return wall, float(cpu)


def query_latency(data: Path) -> tuple[float, float, float, float]:
    """(warm-up ms, p50 ms, p95 ms, CPU ms per query) over the retrieval questions."""
    from evals.retrieval import OTHER, load_questions
    from tools.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(path=data / "knowledge-index")
    started = time.perf_counter()
    kb.search("warm-up: how is the health score computed?", k=10)
    warm = (time.perf_counter() - started) * 1000
    latencies = []
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    for q in load_questions():
        for lang in (q.lang, OTHER[q.lang]):
            started = time.perf_counter()
            kb.search(q.question, k=10, lang=lang)
            latencies.append((time.perf_counter() - started) * 1000)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime)
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return warm, statistics.median(ordered), p95, cpu * 1000 / len(latencies)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kb_bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="fresh builds to time (default 3)")
    args = parser.parse_args(argv)
    csm = [sys.executable, "-m", "agent.interfaces.cli"]
    threads = os.environ.get("CSM_EMBED_THREADS", "default")
    print(f"CSM_EMBED_THREADS={threads}, {os.cpu_count()} cores")
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="csm-kb-bench-") as tmp:
            env = {**os.environ, "CSM_DATA_DIR": tmp}
            wall, cpu = timed([*csm, "kb", "index"], env)
            again_wall, again_cpu = timed([*csm, "kb", "index"], env)
            print(f"run {run + 1}: fresh `csm kb index` {wall:.1f} s wall, {cpu:.1f} s CPU; "
                  f"second (nothing to embed) {again_wall:.1f} s wall, {again_cpu:.1f} s CPU")
            if run == args.repeat - 1:
                os.environ["CSM_DATA_DIR"] = tmp
                warm, p50, p95, cpu_ms = query_latency(Path(tmp))
                print(f"queries: warm-up {warm:.0f} ms; p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                      f"{cpu_ms:.1f} ms CPU per query (160 questions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
