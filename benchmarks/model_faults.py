"""What `csm assess` and `csm sweep` do when the model server fails: the fault table.

    python -m benchmarks.model_faults [--scenarios hang 401 ...] [--commands assess sweep]
        [--timeout 2] [--code DIR] [-- extra csm options]

Each scenario of `tests.fake_openai.SCENARIOS` (a hanging server, a rejected key (401), a
refused model (403), a rate limit with Retry-After, 30% of 500s, a model that never stops
emitting tokens, a connection cut mid-answer) is served on 127.0.0.1, and each command runs
against it as its own process with CSM_MODEL_TIMEOUT=--timeout: `csm assess --account acc-037`
and `csm sweep` over the 40 accounts of the bundled sample with `--with-model`. A row gives the
requests the server saw, the wall time, the exit code, what stderr said (its `csm:` lines,
shortened) and whether the reports and `portfolio.md` say a summary fell back. `--code` runs
another checkout (an older commit in a `git worktree`) for a before/after comparison; options
after `--` go to both commands."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fake_openai import SCENARIOS, FakeOpenAI

AS_OF = "2026-11-20"
ROOT = Path(__file__).resolve().parent.parent
NOTE = ("This summary is the deterministic one", "составлено без модели")  # a report's note


def csm(code: Path, args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str, float]:
    """Run `csm ARGS` from the checkout `code`: exit code, stdout, stderr, seconds."""
    command = [sys.executable, "-c", "import sys; from agent.interfaces.cli import main; "
               "sys.exit(main())", *args]
    started = time.monotonic()
    done = subprocess.run(command, env={**env, "PYTHONPATH": str(code)}, cwd=cwd, text=True,
                          capture_output=True, timeout=4 * 3600)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def said(stderr: str, width: int = 150) -> str:
    """The distinct `csm:` lines of stderr, the first three, shortened; `-` when none."""
    lines: list[str] = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("csm") and line not in lines:
            lines.append(line)
    shown = " / ".join(line[:width] for line in lines[:3])
    return (shown + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else "")) or "-"


def run(scenario: str, command: str, code: Path, timeout: float, extra: list[str],
        work: Path, knowledge: Path) -> dict[str, object]:
    """One row of the table."""
    folder = work / f"{scenario}-{command}"
    folder.mkdir()
    with FakeOpenAI(SCENARIOS[scenario](), lifetime=4 * 3600) as server:
        env = {**os.environ, "CSM_MODEL": "openai:fake-model", "OPENAI_API_KEY": "test",
               "OPENAI_BASE_URL": server.base_url, "CSM_MODEL_TIMEOUT": str(timeout),
               "CSM_DATA_DIR": str(folder / "data"), "CSM_KNOWLEDGE_DIR": str(knowledge),
               "NO_PROXY": "127.0.0.1,localhost"}
        if command == "assess":
            args = ["assess", "--account", "acc-037", "--as-of", AS_OF, *extra]
        else:
            sample = ROOT / "knowledge" / "sample_portfolio.json"
            args = ["sweep", str(sample), "--with-model", "--as-of", AS_OF, "--out",
                    str(folder / "reports"), "--db", str(folder / "csm.sqlite3"), *extra]
        code_, out, err, seconds = csm(code, args, env, folder)
        requests = len(server.requests)
    reports = out if command == "assess" else "".join(
        p.read_text("utf-8") for p in (folder / "reports").glob("acc-*.md"))
    portfolio = folder / "reports" / "portfolio.md"
    return {
        "scenario": scenario, "command": command, "requests": requests,
        "seconds": round(seconds, 1), "exit": code_, "stderr": said(err),
        "notes": sum(reports.count(n) for n in NOTE),
        "portfolio": ("fell back to the deterministic" in portfolio.read_text("utf-8"))
        if portfolio.exists() else "-",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", choices=sorted(SCENARIOS),
                        default=["hang", "401", "403", "429", "flaky", "babble", "cut"])
    parser.add_argument("--commands", nargs="+", default=["assess", "sweep"],
                        choices=["assess", "sweep"])
    parser.add_argument("--timeout", type=float, default=2.0, help="CSM_MODEL_TIMEOUT, seconds")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("extra", nargs="*", help="options for both commands (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csm-faults-") as tmp:
        work = Path(tmp)
        knowledge = work / "knowledge-index"
        warm = {**os.environ, "CSM_DATA_DIR": str(work / "warm"),
                "CSM_KNOWLEDGE_DIR": str(knowledge), "CSM_MODEL": "none"}
        csm(args.code, ["assess", "--account", "acc-037", "--as-of", AS_OF], warm, work)
        print("| scenario | command | requests | seconds | exit | stderr | report notes "
              "| portfolio.md |\n| --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
        for scenario in args.scenarios:
            for command in args.commands:
                row = run(scenario, command, args.code.resolve(), args.timeout, args.extra,
                          work, knowledge)
                print("| " + " | ".join(str(v).replace("|", "\\|") for v in row.values())
                      + " |", flush=True)


if __name__ == "__main__":
    main()
