"""Page load times of `csm serve` for generated portfolios.

    python -m benchmarks.web_bench [--sizes 40 10000] [--workers 2] [--repeat 5]

For each size: `csm sample` writes a portfolio, `csm import` loads it and `csm sweep
--no-reports` sweeps it twice (91 days apart, the second with every MRR 5% higher, so the
portfolio has a GRR/NRR trend and every account a history); then `csm serve --db` runs as its
own process on 127.0.0.1 and each page is fetched: the first request (cold: the portfolio
report, the rows or the account's assessment computed and cached) and the median of the next
`--repeat` (warm), with the page size. Last, the same pages in Chromium (/usr/bin/chromium,
when installed): the time from navigation to the `load` event, warm."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

EARLIER, AS_OF = "2026-08-21", "2026-11-20"
CHROMIUM = Path("/usr/bin/chromium")


def csm(*args: str, env: dict[str, str]) -> None:
    """Run a csm command; stop with its stderr when it fails."""
    done = subprocess.run([sys.executable, "-m", "agent.interfaces.cli", *args], env=env,
                          capture_output=True, text=True)
    if done.returncode not in (0, 2):
        raise SystemExit(f"csm {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stderr[-2000:]}")


def store(size: int, folder: Path, workers: int, env: dict[str, str]) -> tuple[Path, float]:
    """A store with two sweeps of a generated portfolio; the seconds it took."""
    started = time.perf_counter()
    first = folder / "portfolio.jsonl"
    csm("sample", "--accounts", str(size), "--seed", "7", "--out", str(first), env=env)
    later = folder / "later.jsonl"
    with first.open(encoding="utf-8") as src, later.open("w", encoding="utf-8") as out:
        for line in src:
            row = json.loads(line)
            if row.get("mrr") is not None:
                row["mrr"] = round(row["mrr"] * 1.05, 2)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    db = folder / "csm.sqlite3"
    for day, source in ((EARLIER, first), (AS_OF, later)):
        csm("import", str(source), "--db", str(db), env=env)
        csm("sweep", "--db", str(db), "--as-of", day, "--no-reports", "--workers",
            str(workers), "--out", str(folder / day), env=env)
    return db, time.perf_counter() - started


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(client: httpx.Client, url: str, repeat: int) -> tuple[float, float, int]:
    """(cold ms, warm median ms, bytes) of one page."""
    times = []
    size = 0
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
        size = len(response.content)
    return times[0], statistics.median(times[1:]), size


def in_browser(base: str, paths: list[str], repeat: int) -> dict[str, float]:
    """Median ms from navigation to the load event in Chromium, warm (after one visit)."""
    if not CHROMIUM.exists():
        return {}
    from playwright.sync_api import sync_playwright

    found: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        for path in paths:
            page.goto(base + path)
            samples = []
            for _ in range(repeat):
                page.goto(base + path)
                samples.append(page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return n.loadEventEnd - n.startTime; }"))
            found[path] = statistics.median(samples)
        browser.close()
    return found


def run(size: int, workers: int, repeat: int, console: Console, knowledge: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"csm-web-bench-{size}-"))
    env = {**os.environ, "CSM_DATA_DIR": str(folder / "data"), "OMP_NUM_THREADS": "1",
           "CSM_KNOWLEDGE_DIR": str(knowledge)}
    env.pop("CSM_PORTFOLIO", None)
    env.pop("CSM_MODEL", None)
    try:
        db, built = store(size, folder, workers, env)
        port = _port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "agent.interfaces.cli", "serve", "--db", str(db), "--port",
             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=600) as client:
                while True:
                    try:
                        client.get("/static/app.css")
                        break
                    except httpx.TransportError:
                        if server.poll() is not None or time.perf_counter() - started > 300:
                            raise SystemExit(f"csm serve did not start: {server.stderr.read()}"
                                             ) from None
                        time.sleep(0.2)
                ready = time.perf_counter() - started
                first = client.get("/api/accounts", params={"per_page": 1}).json()
                some = first["accounts"][0]["id"]
                paths = ["/", "/?tier=critical&sort=mrr", "/?page=3",
                         f"/account?id={some}", "/sweeps", "/api/accounts?per_page=500",
                         "/api/portfolio"]
                rows = [(p, *fetch(client, p, repeat)) for p in paths]
            browser = in_browser(base, ["/", f"/account?id={some}"], repeat)
        finally:
            server.terminate()
            server.wait(timeout=30)
        table = Table(title=f"{size:,} accounts (store built in {built:.1f} s, two sweeps; "
                            f"csm serve ready in {ready:.1f} s)")
        for column in ("page", "first request ms", "warm median ms", "KB", "Chromium load ms"):
            table.add_column(column, justify="left" if column == "page" else "right")
        for path, cold, warm, size_bytes in rows:
            shown = path.replace(some, "ID")
            loaded = browser.get(path)
            table.add_row(shown, f"{cold:.0f}", f"{warm:.0f}", f"{size_bytes / 1024:.0f}",
                          f"{loaded:.0f}" if loaded is not None else "-")
        console.print(table)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 10_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    # one knowledge index for every size (built by the first sweep), unless one is configured
    given = os.environ.get("CSM_KNOWLEDGE_DIR")
    knowledge = Path(given) if given else Path(tempfile.mkdtemp(prefix="csm-web-bench-kb-"))
    try:
        for size in args.sizes:
            run(size, args.workers, args.repeat, console, knowledge)
    finally:
        if not given:
            shutil.rmtree(knowledge, ignore_errors=True)


if __name__ == "__main__":
    main()
