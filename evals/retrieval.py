"""Retrieval eval: do CSM-style questions find the topic that answers them, in both languages?

`python -m evals.retrieval [--embeddings use|e5|openai:MODEL] [--mode hybrid|dense]` builds a
temporary index, asks every question of `data/retrieval_questions.json` in its own language
and across languages (an English question against the Russian documents and the reverse), and
prints recall@1, recall@3, MRR (first 10 results) and query latency."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from tools.knowledge.index import KnowledgeBase

DEPTH = 10
OTHER = {"en": "ru", "ru": "en"}


class Question(BaseModel):
    """One labelled question."""

    id: str
    lang: str
    topic: str
    question: str


class Row(BaseModel):
    """Figures for one slice of the questions."""

    slice: str
    questions: int
    recall_at_1: float
    recall_at_3: float
    mrr: float


class RetrievalReport(BaseModel):
    """The whole run."""

    embeddings: str
    mode: str
    index_seconds: float
    index_bytes: int
    chunks: int
    latency_p50_ms: float
    latency_p95_ms: float
    rows: list[Row]
    misses: list[str]


def load_questions() -> list[Question]:
    """The bundled question set."""
    text = resources.files("evals").joinpath("data/retrieval_questions.json").read_text("utf-8")
    return [Question.model_validate(q) for q in json.loads(text)["questions"]]


def _rank(kb: KnowledgeBase, q: Question, lang: str, hybrid: bool, latencies: list[float]) -> int:
    started = time.perf_counter()
    passages = kb.search(q.question, k=DEPTH, lang=lang, hybrid=hybrid)
    latencies.append((time.perf_counter() - started) * 1000)
    return next((i + 1 for i, p in enumerate(passages) if p.topic == q.topic), 0)


def _row(name: str, ranks: list[int]) -> Row:
    n = len(ranks) or 1
    return Row(
        slice=name,
        questions=len(ranks),
        recall_at_1=round(sum(r == 1 for r in ranks) / n, 3),
        recall_at_3=round(sum(1 <= r <= 3 for r in ranks) / n, 3),
        mrr=round(sum(1 / r for r in ranks if r) / n, 3),
    )


def run_retrieval_eval(
    embeddings: str = "use", mode: str = "hybrid", questions: Sequence[Question] | None = None
) -> RetrievalReport:
    """Index into a temporary Chroma directory and measure every question."""
    questions = list(questions or load_questions())
    hybrid = mode == "hybrid"
    with tempfile.TemporaryDirectory(prefix="csm-retrieval-") as tmp:
        kb = KnowledgeBase(path=Path(tmp), embeddings=embeddings)
        built = kb.index()
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        latencies: list[float] = []
        same: dict[str, list[int]] = {"en": [], "ru": []}
        cross: dict[str, list[int]] = {"en": [], "ru": []}
        misses = []
        for q in questions:
            rank = _rank(kb, q, q.lang, hybrid, latencies)
            same[q.lang].append(rank)
            if not 1 <= rank <= 3:
                misses.append(f"{q.id} ({q.topic}, rank {rank or '>10'}): {q.question}")
            cross[q.lang].append(_rank(kb, q, OTHER[q.lang], hybrid, latencies))
    ordered = sorted(latencies)
    return RetrievalReport(
        embeddings=embeddings,
        mode=mode,
        index_seconds=round(built.seconds, 2),
        index_bytes=size,
        chunks=built.chunks_embedded,
        latency_p50_ms=round(statistics.median(ordered), 1),
        latency_p95_ms=round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        rows=[
            _row("en -> en", same["en"]),
            _row("ru -> ru", same["ru"]),
            _row("en -> ru docs", cross["en"]),
            _row("ru -> en docs", cross["ru"]),
        ],
        misses=misses,
    )


def print_report(report: RetrievalReport, console: Console) -> None:
    """A table of the figures, then the same-language misses."""
    table = Table(
        title=f"Retrieval eval: embeddings {report.embeddings}, {report.mode}; index "
        f"{report.chunks} chunks in {report.index_seconds}s, {report.index_bytes / 1e6:.1f} MB; "
        f"query p50 {report.latency_p50_ms} ms, p95 {report.latency_p95_ms} ms"
    )
    for column in ("slice", "questions", "recall@1", "recall@3", "MRR"):
        table.add_column(column, justify="left" if column == "slice" else "right")
    for row in report.rows:
        table.add_row(
            row.slice,
            str(row.questions),
            f"{row.recall_at_1:.3f}",
            f"{row.recall_at_3:.3f}",
            f"{row.mrr:.3f}",
        )
    console.print(table)
    for miss in report.misses:
        console.print(f"  miss: {miss}")


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; exit 1 when same-language recall@3 is below --min-recall."""
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval", description=__doc__)
    parser.add_argument("--embeddings", default="use", help="use (default), e5, or openai:MODEL")
    parser.add_argument("--mode", choices=["hybrid", "dense"], default="hybrid")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument(
        "--min-recall",
        type=float,
        default=0.9,
        help="fail when recall@3 of either language is below this (default 0.9)",
    )
    args = parser.parse_args(argv)
    report = run_retrieval_eval(args.embeddings, args.mode)
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    else:
        print_report(report, Console())
    worst = min(r.recall_at_3 for r in report.rows[:2])
    return 0 if worst >= args.min_recall else 1


if __name__ == "__main__":
    sys.exit(main())
