"""The chunks of the current index held in memory, the hybrid (dense + BM25) search over them,
and their copy beside the manifest, so that a new process can search without Chroma.

Chroma is the store of record: a corpus is read from the collection the manifest names, and its
copy (`corpus-<collection>.json`) is written from that read; the collection's name is new at
every build, so a copy never outlives its index."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tools.knowledge.layout import write_json
from tools.knowledge.lexical import BM25, query_language
from tools.knowledge.passage import Passage

CORPUS_FORMAT = 1
DENSE_WEIGHT = 0.7  # hybrid score = 0.7 x cosine similarity + 0.3 x BM25 / best BM25


@dataclass
class Corpus:
    """The chunks of one collection, held in memory for search."""

    ids: list[str]
    metas: list[dict[str, Any]]
    texts: list[str]
    bm25: BM25
    vectors: np.ndarray  # one unit-length float32 row per chunk
    _kept: dict[tuple[str | None, str | None], np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, ids: list[str], metas: list[dict[str, Any]], texts: list[str],
           vectors: Any) -> Corpus:
        """The corpus of a collection's stored chunks (ids, metadata, texts, embeddings)."""
        return cls(ids=ids, metas=metas, texts=texts, bm25=BM25(texts),
                   vectors=np.asarray(vectors if vectors is not None else [], dtype=np.float32))

    def kept(self, topic: str | None, lang: str | None) -> np.ndarray:
        """The positions of the chunks of one topic and/or language (all when None), cached."""
        key = (topic, lang)
        if key not in self._kept:
            self._kept[key] = np.array([
                i for i, m in enumerate(self.metas)
                if (topic is None or m["topic"] == topic) and (lang is None or m["lang"] == lang)
            ], dtype=np.intp)
        return self._kept[key]

    def search(
        self, query: str, embed_query: Callable[[str], Any], k: int, topic: str | None = None,
        lang: str | None = None, hybrid: bool = True, dense_weight: float = DENSE_WEIGHT,
    ) -> list[Passage]:
        """The k best passages for a question (`embed_query` gives its vector, asked only when
        some chunk can match), optionally within one topic and/or language."""
        keep = self.kept(topic, lang)
        if not len(keep) or not query.strip():
            return []
        # Cosine similarity against every kept chunk, in this process: the collection is small
        # (a few hundred chunks), so an exact scan costs microseconds where a Chroma query cost
        # milliseconds. Stored and query vectors are unit length (cosine space); Chroma's
        # distance, 1 - dot, is a float32, and so is this one.
        query_vector = np.asarray(embed_query(query), dtype=np.float32)
        distance = np.float32(1.0) - self.vectors[keep] @ query_vector
        similarity = 1.0 - distance.astype(np.float64)
        # Lexical matching only helps within one language: across languages it only sees shared
        # ids and numbers, so a question asked of the other language's documents is dense only.
        same_language = lang is None or lang == query_language(query)
        lexical = self.bm25.scores(query)[keep] if hybrid and same_language else None
        best = float(lexical.max()) if lexical is not None else 0.0
        weight = dense_weight if best > 0 else 1.0
        lex = lexical / best if lexical is not None and best > 0 else 0.0
        combined = weight * similarity + (1 - weight) * lex
        scored = sorted(zip(combined.tolist(), keep.tolist(), strict=True), reverse=True)
        return [_passage(self.metas[i], self.texts[i], score) for score, i in scored[:k]]


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


def corpus_path(path: Path, collection: str) -> Path:
    """The copy of a collection's corpus in the index folder."""
    return path / f"corpus-{collection}.json"


def write_corpus(path: Path, collection: str, corpus: Corpus) -> None:
    """Copy a collection's corpus beside the manifest, whole or not at all: its chunks, their
    term counts (BM25) and their vectors (the float32 bytes, so they read back equal)."""
    vectors = np.ascontiguousarray(corpus.vectors, dtype="<f4")
    write_json(corpus_path(path, collection), {
        "format": CORPUS_FORMAT,
        "collection": collection,
        "ids": corpus.ids,
        "metas": corpus.metas,
        "texts": corpus.texts,
        "terms": [dict(counts) for counts in corpus.bm25.docs],
        "shape": list(vectors.shape),
        "vectors": base64.b64encode(vectors.tobytes()).decode("ascii"),
    }, compact=True)


def read_corpus(path: Path, collection: str, chunks: int) -> Corpus | None:
    """The copy of a collection's corpus when it is there, whole and of `chunks` chunks, else
    None (missing, damaged, of another format)."""
    try:
        stored = json.loads(corpus_path(path, collection).read_text(encoding="utf-8"))
        if stored["format"] != CORPUS_FORMAT or stored["collection"] != collection:
            return None
        ids, metas, texts, terms = (stored["ids"], stored["metas"], stored["texts"],
                                    stored["terms"])
        shape = tuple(stored["shape"])
        vectors = np.frombuffer(base64.b64decode(stored["vectors"], validate=True), dtype="<f4")
        if not len(ids) == len(metas) == len(texts) == len(terms) == chunks == shape[0]:
            return None
        return Corpus(ids=ids, metas=metas, texts=texts,
                      bm25=BM25.of_counts([Counter(counts) for counts in terms]),
                      vectors=vectors.reshape(shape).astype(np.float32))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
