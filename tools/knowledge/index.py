"""The knowledge base in Chroma: an index that is whole or rebuilt; hybrid (dense + BM25) search.

The index lives in one folder (`CSM_KNOWLEDGE_DIR`, else `knowledge-index` in the data
directory). A build fills a new collection and, only once every document is in, atomically
writes a manifest naming that collection and the content hash of every document; opening checks
the manifest against the documents and the collection, so an interrupted, partial or stale
index is rebuilt, never searched. A build embeds only new and changed documents (unchanged ones
keep their stored embeddings) and then deletes the previous collection and any left by an
interrupted build. A lock file keeps concurrent processes from building at the same time.
The current collection's chunks are also copied beside the manifest (corpus.py), from which a
new process answers its first question without importing Chroma (quick.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import chromadb
from chromadb.config import Settings

from tools.knowledge.corpus import DENSE_WEIGHT, Corpus, corpus_path, read_corpus, write_corpus
from tools.knowledge.documents import Chunk, KnowledgeDoc, chunk_doc, knowledge_root, load_docs
from tools.knowledge.embeddings import DEFAULT_EMBEDDINGS, embed_threads, embedding_from_setting
from tools.knowledge.layout import (
    CHUNKER_VERSION,
    MANIFEST_FORMAT,
    doc_version,
    knowledge_dir,
    manifest_path,
    read_manifest,
    write_json,
)
from tools.knowledge.passage import Passage, Question

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: builds are not serialised across processes
    fcntl = None  # type: ignore[assignment]

ANSWERS_FORMAT = 1
ANSWER_CACHE = 4096

Progress = Callable[[int, int, str], None]
"""Told (0, total, why) before a build, then (done, total, source) after each document."""


@dataclass
class IndexReport:
    """What `index` did."""

    embedded_docs: list[str] = field(default_factory=list)
    unchanged_docs: int = 0
    removed_docs: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0


class KnowledgeBase:
    """A persistent Chroma index of the knowledge chunks, one per embedding function."""

    def __init__(
        self, path: Path | None = None, root: Path | None = None, embeddings: str | None = None
    ) -> None:
        self.path = path or knowledge_dir()
        self.root = root or knowledge_root()
        self.embedding = embedding_from_setting(embeddings)
        self.path.mkdir(parents=True, exist_ok=True)
        self.client = chromadb.PersistentClient(
            path=str(self.path), settings=Settings(anonymized_telemetry=False)
        )
        self.name = f"knowledge-{self.embedding.name()}"
        self.manifest_path = manifest_path(self.path, self.embedding.name())
        self.collection: Any = None  # the whole, current collection, once checked or built
        self._corpus_cache: Corpus | None = None
        self._answers: dict[tuple[Any, ...], list[Passage]] = {}

    def _wanted(self, docs: list[KnowledgeDoc]) -> dict[str, str]:
        name, config = self.embedding.name(), self.embedding.get_config()
        return {doc.source: doc_version(doc.sha, name, config) for doc in docs}

    def _open(self, name: str) -> Any:
        try:
            return self.client.get_collection(name, embedding_function=self.embedding)  # type: ignore[arg-type]
        except (chromadb.errors.NotFoundError, ValueError):
            return None

    def _whole(self, manifest: dict[str, Any] | None) -> Any:
        """The manifest's collection when it holds every chunk the manifest counts, else None."""
        if manifest is None:
            return None
        collection = self._open(str(manifest.get("collection", "")))
        if collection is None or collection.count() != manifest.get("chunks"):
            return None
        return collection

    def check(self) -> str | None:
        """None when the index is whole and matches the documents, else why it must be built.

        A whole, current index becomes `self.collection`."""
        manifest = read_manifest(self.manifest_path)
        if manifest is None:
            return "first use" if not self._builds() else "the last build did not finish"
        collection = self._whole(manifest)
        if collection is None:
            return "the index is incomplete"
        if manifest.get("docs") != self._wanted(load_docs(self.root)):
            return "the knowledge documents changed"
        if self.collection is None or self.collection.name != collection.name:
            self.collection = collection
            self._forget()
        return None

    def ensure_index(self, progress: Progress | None = None) -> IndexReport | None:
        """Build the index unless it is whole and current (checked once per instance)."""
        if self.collection is not None:
            return None
        if self.check() is None:
            return None
        with self._build_lock():
            why = self.check()  # another process may have built it meanwhile
            return None if why is None else self._build(why, progress, rebuild=False)

    def index(self, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Bring the index up to date: embed new and changed documents, drop removed ones
        (`rebuild`: embed everything again); nothing at all when it is whole and current."""
        started = time.perf_counter()
        with self._build_lock():
            why = "a rebuild was asked for" if rebuild else self.check()
            if why is not None:
                return self._build(why, progress, rebuild)
            self._drop_orphans()
            if not corpus_path(self.path, self.collection.name).exists():
                self._corpus()  # an index built before corpus copies were kept gets one
            manifest = read_manifest(self.manifest_path) or {}
            return IndexReport(unchanged_docs=len(manifest.get("docs", {})),
                               seconds=time.perf_counter() - started)

    def _build(self, why: str, progress: Progress | None, rebuild: bool) -> IndexReport:
        """Fill a new collection, then switch to it by writing the manifest (the lock is held)."""
        started = time.perf_counter()
        docs = load_docs(self.root)
        report = IndexReport()
        previous = None if rebuild else read_manifest(self.manifest_path)
        old = self._whole(previous)
        kept = _by_source(old) if old is not None else {}
        known: dict[str, str] = dict(previous.get("docs", {})) if old is not None else {}
        name = f"{self.name}-{uuid.uuid4().hex[:12]}"
        fresh = self.client.create_collection(
            name,
            embedding_function=self.embedding,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )
        wanted = self._wanted(docs)
        if progress:
            progress(0, len(docs), why)
        try:
            for done, doc in enumerate(docs, start=1):
                stored = kept.get(doc.source)
                if stored is not None and known.get(doc.source) == wanted[doc.source]:
                    fresh.add(**stored)
                    report.unchanged_docs += 1
                else:
                    chunks = chunk_doc(doc)
                    if chunks:
                        fresh.add(
                            ids=[c.id for c in chunks],
                            documents=[c.embedding_text() for c in chunks],
                            metadatas=[_metadata(c, wanted[doc.source]) for c in chunks],
                        )
                    report.embedded_docs.append(doc.source)
                    report.chunks_embedded += len(chunks)
                if progress:
                    progress(done, len(docs), doc.source)
            write_json(self.manifest_path, {
                "format": MANIFEST_FORMAT,
                "collection": name,
                "embedding": self.embedding.name(),
                "chunker": CHUNKER_VERSION,
                "chunks": fresh.count(),
                "docs": wanted,
            })
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)
            raise
        report.removed_docs = sorted(set(known) - set(wanted))
        self.collection = fresh
        self._forget()
        self._drop_orphans()
        self._corpus()  # and its copy, so that the next process searches without Chroma
        report.seconds = time.perf_counter() - started
        return report

    def _builds(self) -> list[str]:
        """Every collection of this embedding function: the current one, an earlier one, the
        remains of an interrupted build or of an index written before manifests."""
        names = [c.name for c in self.client.list_collections()]
        return [n for n in names if n == self.name or n.startswith(f"{self.name}-")]

    def _drop_orphans(self) -> None:
        """Delete every collection of this embedding function but the current one (the lock is
        held, so none of them is being built)."""
        for name in self._builds():
            if self.collection is None or name != self.collection.name:
                with contextlib.suppress(Exception):
                    self.client.delete_collection(name)
        for copy in self.path.glob(f"corpus-{self.name}-*.json"):
            if self.collection is None or copy != corpus_path(self.path, self.collection.name):
                with contextlib.suppress(OSError):
                    copy.unlink()
        self._remove_stale_segments()

    def _remove_stale_segments(self) -> None:
        """Chroma 1.x leaves a deleted collection's vector files on disk (chroma-core/chroma
        issue 5259): remove every segment folder its database no longer lists."""
        database = self.path / "chroma.sqlite3"
        try:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
        except sqlite3.Error:
            return
        for entry in self.path.iterdir():
            if entry.is_dir() and _is_uuid(entry.name) and entry.name not in live:
                shutil.rmtree(entry, ignore_errors=True)

    @contextlib.contextmanager
    def _build_lock(self) -> Iterator[None]:
        with open(self.path / "build.lock", "a+") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _forget(self) -> None:
        self._corpus_cache = None
        self._answers.clear()

    def _corpus(self) -> Corpus:
        """The collection's chunks, read once: texts, metadata, BM25 and the stored vectors;
        copied beside the manifest (corpus.py) when the copy is missing and the manifest still
        names this collection. A copy that cannot be written is left out."""
        if self._corpus_cache is None:
            got = self.collection.get(include=["documents", "metadatas", "embeddings"])
            ids, metas, texts = got["ids"], got["metadatas"] or [], got["documents"] or []
            self._corpus_cache = Corpus.of(
                ids=list(ids), metas=[dict(m) for m in metas], texts=list(texts),
                vectors=got["embeddings"],
            )
            name = self.collection.name
            manifest = read_manifest(self.manifest_path) or {}
            if manifest.get("collection") == name and read_corpus(
                self.path, name, len(ids)
            ) is None:
                with contextlib.suppress(OSError):
                    write_corpus(self.path, name, self._corpus_cache)
        return self._corpus_cache

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
            try:
                found = self._search(query, k, topic, lang, hybrid, dense_weight)
            except chromadb.errors.NotFoundError:
                # another process rebuilt the index and deleted the collection open here
                self.collection = None
                self._forget()
                found = self._search(query, k, topic, lang, hybrid, dense_weight)
            self._answers[key] = found
        return list(self._answers[key])

    def answers(self, questions: list[Question]) -> dict[Question, list[Passage]]:
        """The passages of each question (query, k, topic, lang), as `search` finds them, kept
        in a file beside the manifest for the index they came from: read from it when it holds
        them, searched (the embedding model loads) and written back when not. A rebuilt index,
        another embedding setting or thread count invalidates the file."""
        self.ensure_index()
        path = self.path / f"answers-{self.embedding.name()}.json"
        version = {"format": ANSWERS_FORMAT, "collection": self.collection.name,
                   "threads": embed_threads()}
        known: dict[Question, list[Passage]] = {}
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            if {k: stored.get(k) for k in version} == version:
                for query, k, topic, lang, found in stored["answers"]:
                    known[(query, k, topic, lang)] = [Passage.model_validate(p) for p in found]
        except (OSError, ValueError, KeyError, TypeError):
            known = {}
        missing = [q for q in dict.fromkeys(questions) if q not in known]
        for query, k, topic, lang in missing:
            known[(query, k, topic, lang)] = self.search(query, k=k, topic=topic, lang=lang)
        if missing:
            rows = [[*q, [p.model_dump() for p in found]] for q, found in known.items()]
            write_json(path, {**version, "answers": rows})
        return {q: known[q] for q in questions}

    def _search(
        self, query: str, k: int, topic: str | None, lang: str | None, hybrid: bool,
        dense_weight: float,
    ) -> list[Passage]:
        self.ensure_index()
        return self._corpus().search(
            query, lambda text: self.embedding.embed_query([text])[0], k, topic, lang, hybrid,
            dense_weight,
        )


def _metadata(chunk: Chunk, version: str) -> dict[str, str]:
    return {
        "topic": chunk.topic,
        "lang": chunk.lang,
        "source": chunk.source,
        "heading": chunk.heading,
        "version": version,
    }


def _by_source(collection: Any) -> dict[str, dict[str, list[Any]]]:
    """A collection's stored chunks, embeddings included, grouped by source document."""
    got = collection.get(include=["embeddings", "documents", "metadatas"])
    grouped: dict[str, dict[str, list[Any]]] = {}
    rows = zip(got["ids"], got["embeddings"], got["documents"], got["metadatas"], strict=True)
    for chunk_id, vector, document, meta in rows:
        batch = grouped.setdefault(
            str(meta["source"]), {"ids": [], "embeddings": [], "documents": [], "metadatas": []}
        )
        batch["ids"].append(chunk_id)
        batch["embeddings"].append(vector)
        batch["documents"].append(document)
        batch["metadatas"].append(meta)
    return grouped


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


class TerminalProgress:
    """Build progress on stderr: a line when the build starts and one when it ends, and on a
    terminal a count of the documents in between, rewritten in place."""

    def __init__(self, stream: TextIO | None = None, where: Path | None = None) -> None:
        self.stream = stream or sys.stderr
        self.where = where
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int, note: str) -> None:
        live = getattr(self.stream, "isatty", lambda: False)()
        if done == 0:
            self.started = time.perf_counter()
            place = f" in {self.where}" if self.where else ""
            line = f"csm: building the knowledge index ({note}), {total} documents{place}"
        elif done < total:
            if not live:
                return
            line = f"csm: building the knowledge index: {done}/{total} documents ({note})"
        else:
            seconds = time.perf_counter() - self.started
            line = f"csm: knowledge index built: {total} documents in {seconds:.1f} s"
        if live and done:  # the count is one line, rewritten in place; the last one ends it
            self.stream.write("\r" + line + "\x1b[K" + ("\n" if done == total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


_OPEN: dict[tuple[str, str, str, int], KnowledgeBase] = {}


def cached_knowledge_base(path: Path, root: Path, embeddings: str) -> KnowledgeBase:
    """One KnowledgeBase per index folder, documents folder and embedding setting (function and
    threads) in a process, so its answer cache is never shared between different indexes."""
    key = (str(path.expanduser().resolve()), str(root.resolve()), embeddings, embed_threads())
    if key not in _OPEN:
        _OPEN[key] = KnowledgeBase(path=Path(key[0]), root=root, embeddings=embeddings)
    return _OPEN[key]


def open_knowledge_base() -> KnowledgeBase:
    """The default knowledge base (`knowledge_dir()`, the bundled documents, `CSM_EMBEDDINGS`,
    `CSM_EMBED_THREADS`), whole and current: built first, with progress on stderr, if not."""
    embeddings = (os.environ.get("CSM_EMBEDDINGS") or "").strip() or DEFAULT_EMBEDDINGS
    kb = cached_knowledge_base(knowledge_dir(), knowledge_root(), embeddings)
    kb.ensure_index(progress=TerminalProgress(where=kb.path))
    return kb


def search_knowledge(
    query: str, k: int = 5, topic: str | None = None, lang: str | None = None
) -> list[Passage]:
    """Search the default knowledge base (built on first use, see `open_knowledge_base`)."""
    return open_knowledge_base().search(query, k=k, topic=topic, lang=lang)
