"""The knowledge base in Chroma: incremental indexing and hybrid (dense + BM25) search."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings
from pydantic import BaseModel

from tools.embeddings import embedding_from_setting
from tools.kb_docs import Chunk, chunk_doc, knowledge_root, load_docs
from tools.lexical import BM25, query_language
from tools.paths import data_dir

CHUNKER_VERSION = "1"
ANSWER_CACHE = 4096
DENSE_WEIGHT = 0.7  # hybrid score = 0.7 x cosine similarity + 0.3 x BM25 / best BM25


class Passage(BaseModel):
    """A retrieved section of the knowledge base."""

    topic: str
    lang: str
    source: str
    heading: str
    text: str
    score: float


@dataclass
class IndexReport:
    """What `index` did."""

    embedded_docs: list[str] = field(default_factory=list)
    unchanged_docs: int = 0
    removed_docs: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0


class KnowledgeBase:
    """A persistent Chroma collection of knowledge chunks, one per embedding function."""

    def __init__(
        self, path: Path | None = None, root: Path | None = None, embeddings: str | None = None
    ) -> None:
        self.path = path or data_dir() / "knowledge-index"
        self.root = root or knowledge_root()
        self.embedding = embedding_from_setting(embeddings)
        self.path.mkdir(parents=True, exist_ok=True)
        self.client = chromadb.PersistentClient(
            path=str(self.path), settings=Settings(anonymized_telemetry=False)
        )
        self.name = f"knowledge-{self.embedding.name()}"
        self.collection = self._collection()
        self._lexical: tuple[list[str], list[dict[str, Any]], list[str], BM25] | None = None
        self._answers: dict[tuple[Any, ...], list[Passage]] = {}

    def _collection(self) -> Any:
        return self.client.get_or_create_collection(
            self.name,
            embedding_function=self.embedding,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )

    def _version(self, chunk_sha: str) -> str:
        key = f"{chunk_sha}:{CHUNKER_VERSION}:{self.embedding.name()}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def index(self, rebuild: bool = False) -> IndexReport:
        """Embed new and changed documents, delete removed ones; unchanged ones are skipped."""
        started = time.perf_counter()
        report = IndexReport()
        if rebuild:
            self.client.delete_collection(self.name)
            self.collection = self._collection()
        stored: dict[str, str] = {}
        existing = self.collection.get(include=["metadatas"])
        for meta in existing["metadatas"] or []:
            stored[str(meta["source"])] = str(meta["version"])
        docs = load_docs(self.root)
        current = {doc.source for doc in docs}
        for source in sorted(set(stored) - current):
            self.collection.delete(where={"source": source})
            report.removed_docs.append(source)
        for doc in docs:
            version = self._version(doc.sha)
            if stored.get(doc.source) == version:
                report.unchanged_docs += 1
                continue
            if doc.source in stored:
                self.collection.delete(where={"source": doc.source})
            chunks = chunk_doc(doc)
            self.collection.add(
                ids=[c.id for c in chunks],
                documents=[c.embedding_text() for c in chunks],
                metadatas=[_metadata(c, version) for c in chunks],
            )
            report.embedded_docs.append(doc.source)
            report.chunks_embedded += len(chunks)
        if report.embedded_docs or report.removed_docs:
            self._lexical = None
            self._answers.clear()
        report.seconds = time.perf_counter() - started
        return report

    def ensure_index(self) -> IndexReport | None:
        """Build the index on first use."""
        return self.index() if self.collection.count() == 0 else None

    def _corpus(self) -> tuple[list[str], list[dict[str, Any]], list[str], BM25]:
        if self._lexical is None:
            got = self.collection.get(include=["documents", "metadatas"])
            ids, metas, texts = got["ids"], got["metadatas"] or [], got["documents"] or []
            self._lexical = (list(ids), [dict(m) for m in metas], list(texts), BM25(texts))
        return self._lexical

    def search(
        self,
        query: str,
        k: int = 5,
        topic: str | None = None,
        lang: str | None = None,
        hybrid: bool = True,
        dense_weight: float = DENSE_WEIGHT,
    ) -> list[Passage]:
        """The k best passages for a question, optionally within one topic and/or language.

        Answers are remembered per question and filters until the index changes: a portfolio
        sweep asks the same few questions of thousands of accounts."""
        key = (query, k, topic, lang, hybrid, dense_weight)
        if key not in self._answers:
            if len(self._answers) >= ANSWER_CACHE:
                self._answers.clear()
            self._answers[key] = self._search(query, k, topic, lang, hybrid, dense_weight)
        return list(self._answers[key])

    def _search(
        self, query: str, k: int, topic: str | None, lang: str | None, hybrid: bool,
        dense_weight: float,
    ) -> list[Passage]:
        self.ensure_index()
        ids, metas, texts, bm25 = self._corpus()
        keep = [
            i
            for i, m in enumerate(metas)
            if (topic is None or m["topic"] == topic) and (lang is None or m["lang"] == lang)
        ]
        if not keep or not query.strip():
            return []
        where = _where(topic, lang)
        dense = self.collection.query(
            query_embeddings=self.embedding.embed_query([query]),
            n_results=len(keep),
            where=where,
            include=["distances"],
        )
        similarity = {
            i: 1.0 - d for i, d in zip(dense["ids"][0], dense["distances"][0], strict=True)
        }
        # Lexical matching only helps within one language: across languages it only sees shared
        # ids and numbers, so a question asked of the other language's documents is dense only.
        same_language = lang is None or lang == query_language(query)
        lexical = bm25.scores(query) if hybrid and same_language else [0.0] * len(ids)
        best = max((lexical[i] for i in keep), default=0.0)
        weight = dense_weight if best > 0 else 1.0
        scored = []
        for i in keep:
            lex = lexical[i] / best if best > 0 else 0.0
            scored.append((weight * similarity.get(ids[i], 0.0) + (1 - weight) * lex, i))
        scored.sort(reverse=True)
        return [_passage(metas[i], texts[i], score) for score, i in scored[:k]]


def _metadata(chunk: Chunk, version: str) -> dict[str, str]:
    return {
        "topic": chunk.topic,
        "lang": chunk.lang,
        "source": chunk.source,
        "heading": chunk.heading,
        "version": version,
    }


def _where(topic: str | None, lang: str | None) -> dict[str, Any] | None:
    clauses = [{"topic": topic}] if topic else []
    clauses += [{"lang": lang}] if lang else []
    if len(clauses) > 1:
        return {"$and": clauses}
    return clauses[0] if clauses else None


def _passage(meta: dict[str, Any], document: str, score: float) -> Passage:
    heading = str(meta["heading"])
    text = document.removeprefix(heading).lstrip("\n")
    return Passage(
        topic=str(meta["topic"]),
        lang=str(meta["lang"]),
        source=str(meta["source"]),
        heading=heading,
        text=text,
        score=round(score, 4),
    )


_DEFAULT: dict[tuple[str, str | None], KnowledgeBase] = {}


def search_knowledge(
    query: str, k: int = 5, topic: str | None = None, lang: str | None = None
) -> list[Passage]:
    """Search the default knowledge base (built on first use in the data directory)."""
    key = (str(data_dir()), os.environ.get("CSM_EMBEDDINGS"))
    if key not in _DEFAULT:
        _DEFAULT[key] = KnowledgeBase()
    return _DEFAULT[key].search(query, k=k, topic=topic, lang=lang)
